// Arbitrary datagrams through the receive path: classify, reassemble, dearmor with a fixed key,
// decompress, then every verb codec. Parsed payloads must write back to bytes that parse to the
// same bytes again, and describe to JSON that serializes.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "crypto/armor.hpp"
#include "wire/compress.hpp"
#include "wire/fragment.hpp"
#include "wire/verbs.hpp"

using namespace zt;
using namespace zt::wire;

namespace {

void checkCodecs(uint8_t verb, ByteView payload) {
  auto parsed = parsePayload(verb, payload);
  if (!parsed) return;
  Writer once;
  writePayload(*parsed, once);
  (void)describePayload(*parsed).dump();
  auto again = parsePayload(verb, once.data());
  if (!again) std::abort();
  Writer twice;
  writePayload(*again, twice);
  if (twice.data() != once.data()) std::abort();
}

void receivePacket(MutableByteView packet) {
  static const SymmetricKey key = [] {
    SymmetricKey k;
    for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(i * 7 + 1);
    return k;
  }();
  static PeerCipher peer(key);
  static Bytes plaintext(kMaxPacketLength);

  // Codecs on the bytes as they are (an authentic packet is just as arbitrary to them).
  checkCodecs(packet[kVerbOffset], ByteView(packet).subspan(kPayloadOffset));
  auto decompressAndParse = [&] {
    auto n = decompressPacket(packet, plaintext);
    if (!n) return;
    MutableByteView p(plaintext.data(), *n);
    if (verb(p) == uint8_t(Verb::Hello)) cryptHelloMoons(p, key);
    checkCodecs(p[kVerbOffset], ByteView(p).subspan(kPayloadOffset));
  };
  decompressAndParse();
  if (peer.dearmor(packet)) decompressAndParse();
}

}  // namespace

// Input: datagrams, each a 2-byte length then that many bytes (the last one takes what is left).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Reassembler reassembler;
  static int64_t now = 0;
  static Bytes packet;
  Reader r(ByteView(data, size));
  while (r.remaining()) {
    size_t length = r.remaining() >= 2 ? r.u16() : r.remaining();
    ByteView datagram = r.bytes(std::min(length, r.remaining()));
    now += 700;  // every few datagrams an incomplete packet expires
    if (classify(datagram) == DatagramKind::Packet && !fragmented(datagram)) {
      packet.assign(datagram.begin(), datagram.end());
      receivePacket(packet);
    } else if (auto whole = reassembler.add(datagram, now)) {
      receivePacket(*whole);
    }
  }
  return 0;
}
