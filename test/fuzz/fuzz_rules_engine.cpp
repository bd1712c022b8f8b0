// Random rule lists (through the wire codec) evaluated on random frames, both directions, with
// tags, a capability and a certificate of ownership. Input layout: a control byte, a 1-byte
// length and that many bytes of network rules, a 1-byte length and the capability's rules, then
// an Ethernet frame (header + payload).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "vl2/rules_engine.hpp"

namespace {

// Deterministic MATCH_RANDOM numbers, seeded from the input.
struct XorShift final : zt::RandomSource {
  uint32_t state;
  explicit XorShift(uint32_t seed) : state(seed | 1) {}
  uint32_t next32() override {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
};

zt::ByteView take(zt::Reader& r) { return r.bytes(r.u8()); }

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zt;
  Reader r(ByteView(data, size));
  uint8_t control = r.u8();
  ByteView networkBlob = take(r), capabilityBlob = take(r);
  ByteView frameBytes = r.rest();
  if (r.failed()) return 0;

  auto networkRules = parseRules(networkBlob);
  auto capabilityRules = parseRules(capabilityBlob, kMaxCapabilityRules);
  if (!networkRules || !capabilityRules) return 0;
  auto frame = parseEthernetFrame(frameBytes);
  if (!frame) return 0;

  IpLayout layout = inspectIp(frame->etherType, frame->payload);
  if (layout.kind == IpLayout::Kind::Ipv6 && layout.upperLayerValid)
    check(layout.upperLayerOffset <= frame->payload.size());

  Capability capability;
  capability.id = 1000;
  capability.rules = *capabilityRules;
  CertificateOfOwnership coo;
  coo.things = {CertificateOfOwnership::macThing(frame->sourceMac)};
  TagValue senderTags[] = {{100, control & 0x0fu}, {101, uint32_t(frame->payload.size())}};
  TagValue receiverTags[] = {{100, uint32_t(control >> 4)}};

  RulesContext ctx;
  ctx.networkRules = *networkRules;
  ctx.capabilities = std::span(&capability, 1);
  ctx.senderTags = senderTags;
  ctx.receiverTags = (control & 0x40) ? std::span<const TagValue>() : std::span<const TagValue>(receiverTags);
  ctx.ownership = std::span(&coo, 1);
  ctx.unknownMatchesMatch = control & 0x80;

  frame->networkId = 0x315595f4f8c0ffeeULL;
  frame->sender = Address{0x1233366eb5};
  frame->receiver = Address{(control & 0x20) ? 0 : 0x89fafc907bULL};
  for (FrameDirection d : {FrameDirection::Outbound, FrameDirection::Inbound}) {
    frame->direction = d;
    XorShift random(uint32_t(size) * 2654435761u + control);
    RulesVerdict v = evaluateRules(*frame, ctx, random);
    // Copies never exceed the payload; only accepted frames carry copies or a capability id.
    check(v.networkCopy.length <= frame->payload.size() && v.capabilityCopy.length <= frame->payload.size());
    if (!v.accepted()) check(!v.capabilityId && v.networkCopy == RuleCopy{} && v.redirectTarget == Address{});
    if (v.action == RulesAction::SuperAccept) check(d == FrameDirection::Inbound);
  }
  return 0;
}
