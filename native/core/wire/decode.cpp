#include "wire/decode.hpp"

#include "crypto/armor.hpp"
#include "wire/compress.hpp"
#include "wire/fragment.hpp"
#include "wire/verbs.hpp"

namespace zt::wire {

using nlohmann::json;

namespace {

// The one packet the datagrams carry: a whole packet, or a head and its fragments reassembled. A
// lone head with the fragmented flag is taken as already reassembled (head followed by the
// fragments' payloads, as captures record it): the flag stays set after reassembly.
Result<Bytes> collectPacket(std::span<const ByteView> datagrams) {
  bool alone = datagrams.size() == 1;
  std::optional<Reassembler> reassembler;  // its buffers only when there are pieces to join
  std::optional<Bytes> packet;
  for (ByteView d : datagrams) {
    std::optional<ByteView> whole;
    if (classify(d) == DatagramKind::Packet && (alone || !fragmented(d))) {
      whole = d;
    } else {
      if (!reassembler) reassembler.emplace();
      if (auto done = reassembler->add(d, 0)) whole = *done;
    }
    if (!whole) continue;
    if (packet) return fail("decode: the datagrams hold more than one packet");
    packet = Bytes(whole->begin(), whole->end());
  }
  if (!packet) return fail("decode: no complete packet in the datagrams (short, malformed or missing fragments)");
  return *packet;
}

json header(ByteView packet) {
  return {{"packetId", hex64(packetId(packet))},
          {"destination", destination(packet).toString()},
          {"source", source(packet).toString()},
          {"hops", hops(packet)},
          {"cipher", uint8_t(cipher(packet))},
          {"fragmented", fragmented(packet)}};
}

// The verb's fields, or the reason they could not be decoded.
void describeFields(json& out, Bytes plaintext, const SymmetricKey& key) {
  uint8_t verb = plaintext[kVerbOffset] & 0x1f;
  if (verb == uint8_t(Verb::Hello) && !cryptHelloMoons(plaintext, key)) {
    out["fieldsError"] = "HELLO: malformed before its moon list";
    return;
  }
  auto payload = parsePayload(verb, ByteView(plaintext).subspan(kPayloadOffset));
  if (payload) {
    out["fields"] = describePayload(*payload);
  } else {
    out["fieldsError"] = payload.error();
  }
}

}  // namespace

Result<json> decodePacket(const Identity& receiver, const Identity& sender, std::span<const ByteView> datagrams) {
  auto packet = collectPacket(datagrams);
  if (!packet) return fail(packet.error());
  json out = header(*packet);
  auto key = receiver.agree(sender);
  bool authentic = key && PeerCipher(*key).dearmor(*packet);
  out["authenticated"] = authentic;
  if (!authentic) return out;

  Bytes plaintext(kMaxPacketLength);
  auto length = decompressPacket(*packet, plaintext);
  if (!length) {
    out["error"] = length.error();
    return out;
  }
  plaintext.resize(*length);
  uint8_t verb = plaintext[kVerbOffset] & 0x1f;
  out["verb"] = verb;
  out["verbName"] = verbName(verb);
  out["plaintextHex"] = toHex(plaintext);
  describeFields(out, std::move(plaintext), *key);
  return out;
}

}  // namespace zt::wire
