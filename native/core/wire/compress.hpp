// LZ4 payload compression (vl1-packets.md section 4): only the bytes after the verb byte, as one
// raw LZ4 block, flagged by verb bit 7. Done before armoring, undone after dearmoring.
#pragma once
#include "util/result.hpp"
#include "wire/packet.hpp"

namespace zt::wire {

constexpr size_t kMinCompressiblePayload = 65;  // 1.14 compresses only payloads over 64 bytes

inline bool compressed(ByteView packet) { return packet[kVerbOffset] & kVerbCompressed; }

// Compresses packet's payload in place when it is over 64 bytes and LZ4 makes it shorter,
// setting verb bit 7. Returns the packet's new length (unchanged when not compressed).
size_t compressPacket(MutableByteView packet);

// Writes the packet with its payload decompressed and verb bit 7 cleared into out (copied as is
// when it is not compressed). The result is bounded by kMaxPacketLength and out.size(); an
// error (drop the packet) when the block is corrupt or would exceed that.
Result<size_t> decompressPacket(ByteView packet, MutableByteView out);

}  // namespace zt::wire
