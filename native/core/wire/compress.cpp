#include "wire/compress.hpp"

#include <lz4.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace zt::wire {

size_t compressPacket(MutableByteView packet) {
  if (packet.size() < kPayloadOffset || packet.size() > kMaxPacketLength) return packet.size();
  size_t payloadLength = packet.size() - kPayloadOffset;
  if (payloadLength < kMinCompressiblePayload) return packet.size();
  std::array<char, kMaxPacketLength> block;
  // Capacity one byte short of the input: LZ4 fails (returns 0) unless the result is shorter.
  int n = LZ4_compress_default(reinterpret_cast<const char*>(packet.data() + kPayloadOffset), block.data(),
                               int(payloadLength), int(payloadLength - 1));
  if (n <= 0) return packet.size();
  std::memcpy(packet.data() + kPayloadOffset, block.data(), size_t(n));
  packet[kVerbOffset] |= kVerbCompressed;
  return kPayloadOffset + size_t(n);
}

Result<size_t> decompressPacket(ByteView packet, MutableByteView out) {
  if (packet.size() < kPayloadOffset) return fail("decompress: packet shorter than its header");
  size_t limit = std::min(out.size(), kMaxPacketLength);
  if (limit < kPayloadOffset) return fail("decompress: output buffer too small");
  if (!compressed(packet)) {
    if (packet.size() > limit) return fail("decompress: packet larger than the output");
    std::memcpy(out.data(), packet.data(), packet.size());
    return packet.size();
  }
  std::memcpy(out.data(), packet.data(), kPayloadOffset);
  out[kVerbOffset] &= uint8_t(~kVerbCompressed);
  ByteView block = packet.subspan(kPayloadOffset);
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(block.data()), reinterpret_cast<char*>(out.data() + kPayloadOffset),
                              int(block.size()), int(limit - kPayloadOffset));
  if (n < 0) return fail("decompress: corrupt LZ4 block or payload over " + std::to_string(limit) + " bytes");
  return kPayloadOffset + size_t(n);
}

}  // namespace zt::wire
