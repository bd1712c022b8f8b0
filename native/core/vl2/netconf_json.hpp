// Network-config dictionaries as JSON, for `ztkube netconf decode` and tests (issue 4 point 3).
#pragma once
#include <nlohmann/json.hpp>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt {

struct NetworkConfig;
struct CertificateOfMembership;
struct Capability;
struct Tag;
struct CertificateOfOwnership;
struct Revocation;

// JSON object: networkId, name, type, mtu, multicastLimit, flags, revision, issuedTo,
// assignedAddresses, routes, dns, credentials (ids, values, timestamps, signers) and rules (the
// JSON form 1.14's controller records: type, not, or and per-type fields).
Result<nlohmann::json> decodeNetconf(ByteView dictionary);

// The pieces decodeNetconf is made of, for other inspectors (e.g. NETWORK_CREDENTIALS).
// Addresses are 10 hex digits, network ids 16; 64-bit COM qualifier values and deltas are
// 16-digit hex text (they exceed JSON's exact integer range).
nlohmann::json networkConfigToJson(const NetworkConfig& config);
nlohmann::json credentialToJson(const CertificateOfMembership& com);
nlohmann::json credentialToJson(const Capability& cap);
nlohmann::json credentialToJson(const Tag& tag);
nlohmann::json credentialToJson(const CertificateOfOwnership& coo);
nlohmann::json credentialToJson(const Revocation& revocation);

}  // namespace zt
