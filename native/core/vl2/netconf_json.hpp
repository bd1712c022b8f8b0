// Network-config dictionaries as JSON, for `ztkube netconf decode` and tests (issue 4 point 3).
#pragma once
#include <nlohmann/json.hpp>

#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt {

// JSON object: networkId, name, type, mtu, multicastLimit, flags, revision, issuedTo,
// assignedAddresses, routes, dns, credentials (ids, values, timestamps, signers) and rules (the
// JSON form 1.14's controller records: type, not, or and per-type fields).
Result<nlohmann::json> decodeNetconf(ByteView dictionary);

}  // namespace zt
