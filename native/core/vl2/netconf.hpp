// The network config a controller sends (vl2-config-controller.md §5, §6): every key of 1.14's
// format 7, read from and written to a Dictionary in 1.14's key order.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "address.hpp"
#include "inet_address.hpp"
#include "vl2/credentials.hpp"
#include "vl2/dictionary.hpp"
#include "vl2/rules.hpp"

namespace zt {

// Managed route (`RT`): target with prefix length in `port`, via empty when on-link.
struct Route {
  InetAddress target;
  InetAddress via;
  uint16_t flags = 0;
  uint16_t metric = 0;
  bool operator==(const Route&) const = default;
};

// `DNS`: search domain and up to 4 servers (port 0).
struct DnsConfig {
  static constexpr size_t kDomainLength = 128, kMaxServers = 4;
  std::string domain;
  std::vector<InetAddress> servers;
  bool operator==(const DnsConfig&) const = default;
};

// `S` entries: node address in bits 39..0, role bits above.
struct Specialist {
  static constexpr uint64_t kActiveBridge = 0x0000020000000000ULL, kAnchor = 0x0000040000000000ULL,
                            kMulticastReplicator = 0x0000080000000000ULL;
  uint64_t raw = 0;
  Address address() const { return Address{raw & 0xffffffffffULL}; }
  uint64_t roles() const { return raw & ~0xffffffffffULL; }
  bool operator==(const Specialist&) const = default;
};

enum class NetworkType : uint8_t { Private = 0, Public = 1 };

struct NetworkConfig {
  static constexpr uint64_t kFormatVersion = 7;
  static constexpr uint64_t kFlagBroadcast = 0x02, kFlagNdpEmulation = 0x04, kFlagRulesUnknownMatch = 0x08,
                            kFlagDisableCompression = 0x10;
  static constexpr unsigned kMinMtu = 1280, kMaxMtu = 10000, kDefaultMtu = 2800;
  static constexpr size_t kMaxNameLength = 127, kMaxAddresses = 32, kMaxRoutes = 128, kMaxCapabilities = 128,
                          kMaxTags = 128, kMaxSpecialists = 256, kMaxCoos = 4;

  uint64_t version = kFormatVersion;              // v
  uint64_t networkId = 0;                         // nwid
  uint64_t timestamp = 0;                         // ts
  uint64_t credentialTimeMaxDelta = 0;            // ctmd
  uint64_t revision = 0;                          // r
  Address issuedTo;                               // id
  Address remoteTraceTarget;                      // tt
  uint64_t remoteTraceLevel = 0;                  // tl
  uint64_t flags = 0;                             // f
  uint64_t multicastLimit = 0;                    // ml
  NetworkType type = NetworkType::Private;        // t
  std::string name;                               // n
  unsigned mtu = kDefaultMtu;                     // mtu
  std::optional<CertificateOfMembership> com;     // C
  std::vector<Capability> capabilities;           // CAP
  std::vector<Tag> tags;                          // TAG
  std::vector<CertificateOfOwnership> coos;       // COO
  std::vector<Specialist> specialists;            // S
  std::vector<Route> routes;                      // RT
  std::vector<InetAddress> assignedAddresses;     // I (port = prefix length)
  std::vector<Rule> rules;                        // R (absent: no rules, everything dropped)
  DnsConfig dns;                                  // DNS
  // SSO (ztkube never enables it, but configs carry the keys).
  uint64_t ssoVersion = 0;                        // ssov
  bool ssoEnabled = false;                        // ssoe
  std::string authenticationUrl;                  // aurl (version 0)
  uint64_t authenticationExpiryTime = 0;          // aexpt (version 0)
  std::string issuerUrl, centralEndpointUrl, ssoNonce, ssoState, ssoClientId;  // iurl ssoce sson ssos ssocid
  std::string ssoProvider = "default";            // ssop

  bool broadcastEnabled() const { return flags & kFlagBroadcast; }
  bool ndpEmulation() const { return flags & kFlagNdpEmulation; }
  bool isPublic() const { return type == NetworkType::Public; }

  // Applies 1.14's reader rules: missing or zero nwid/id, v < 6, or a malformed COM, COO list,
  // rule list, route list, address list or DNS value make the config invalid; a malformed
  // capability or tag ends its list; limits of §5.1; capabilities and tags sorted by id; MTU
  // clamped.
  static Result<NetworkConfig> fromDictionary(const Dictionary& dict);
  // Keys in 1.14's controller order; re-serializing a captured config gives its exact bytes.
  Dictionary toDictionary() const;

  bool operator==(const NetworkConfig&) const = default;
};

}  // namespace zt
