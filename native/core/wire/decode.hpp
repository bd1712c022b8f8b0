// Packet inspection for the CLI (`ztkube packet decode`) and tests: one received packet, whole or
// as head plus fragments (any order), reassembled, dearmored with the key agreed between the
// receiver's secret identity and the sender's public identity, decompressed, and described.
#pragma once
#include <nlohmann/json.hpp>
#include <span>

#include "crypto/identity.hpp"

namespace zt::wire {

// JSON object: packetId, destination, source, hops, cipher, fragmented, authenticated, verb,
// verbName, plaintextHex (whole packet after decryption and decompression, header included) and
// fields (the verb's decoded fields). An error only for input that is not a packet at all.
Result<nlohmann::json> decodePacket(const Identity& receiver, const Identity& sender,
                                    std::span<const ByteView> datagrams);

}  // namespace zt::wire
