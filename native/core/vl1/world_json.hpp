// Worlds (planets, moons) as JSON, for `ztkube world show|create` and tests. The JSON shape is
// that of ../shared/vectors/zt-1.14/world/*.json: type ("planet"|"moon"), id, timestamp,
// updatesMustBeSignedBy (hex), signature (hex), roots [{identity, stableEndpoints ["ip/port"]}],
// length, parsedLength.
#pragma once
#include <nlohmann/json.hpp>

#include "crypto/identity.hpp"

namespace zt {

Result<nlohmann::json> describeWorld(ByteView world);
// spec: type, id, timestamp, updatesMustBeSignedBy (defaults to the signing public key), roots.
// Signs with the given key pair (the previous revision's update key) and returns the binary world.
Result<Bytes> createWorld(const nlohmann::json& spec, const SecretKey& signingSecret,
                          const PublicKey& signingPublic);

}  // namespace zt
