#include "vl2/rules_engine.hpp"

#include <algorithm>
#include <cstring>

#include <sodium.h>

namespace zt {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherArp = 0x0806, kEtherIpv6 = 0x86dd, kEtherVlan = 0x8100;
constexpr size_t kEthernetHeader = 14, kVlanTag = 4;
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoSctp = 0x84, kProtoUdpLite = 0x88,
                  kProtoIcmpv6 = 58;
constexpr uint8_t kNeighborSolicitation = 135, kNeighborAdvertisement = 136;

constexpr uint64_t kCharInbound = 0x8000000000000000ULL, kCharMulticast = 0x4000000000000000ULL,
                   kCharBroadcast = 0x2000000000000000ULL, kCharIpAuthenticated = 0x1000000000000000ULL,
                   kCharMacAuthenticated = 0x0800000000000000ULL;

// A byte of the payload, 0 past its end (where §5.5 says missing bytes count as 0).
uint8_t byteAt(ByteView p, size_t i) { return i < p.size() ? p[i] : 0; }

bool isIpv6ExtensionHeader(uint8_t next) { return next == 0 || next == 43 || next == 60 || next == 135; }
bool hasPorts(uint8_t protocol) {
  return protocol == kProtoTcp || protocol == kProtoUdp || protocol == kProtoSctp || protocol == kProtoUdpLite;
}

// How one match came out before the NOT bit: plain results, or "hard" ones that NOT cannot flip.
enum class Match : uint8_t { No, Yes, HardNo, HardYes };
Match plain(bool r) { return r ? Match::Yes : Match::No; }

std::optional<uint32_t> findTag(std::span<const TagValue> tags, uint32_t id) {
  for (const TagValue& t : tags)
    if (t.id == id) return t.value;
  return std::nullopt;
}

// Does `addr` (len bytes) lie in the prefix (address + bits in `port`)? Longer prefixes than the
// address are taken as the whole address.
bool inPrefix(const uint8_t* addr, const InetAddress& prefix, size_t len) {
  size_t bits = std::min<size_t>(prefix.port, len * 8);
  size_t whole = bits / 8;
  if (std::memcmp(addr, prefix.ip.data(), whole) != 0) return false;
  if (bits % 8 == 0) return true;
  uint8_t mask = uint8_t(0xff << (8 - bits % 8));
  return (addr[whole] & mask) == (prefix.ip[whole] & mask);
}

// Is an IPv6 address inside the RFC 4193 /88 or 6PLANE /40 prefix of one of our addresses (§4)?
bool inNdpEmulatedPrefix(const uint8_t* ip, std::span<const InetAddress> ours, uint64_t networkId) {
  uint32_t h = uint32_t(networkId ^ (networkId >> 32));
  const uint8_t sixPlane[5] = {0xfc, uint8_t(h >> 24), uint8_t(h >> 16), uint8_t(h >> 8), uint8_t(h)};
  for (const InetAddress& a : ours) {
    if (a.family != InetAddress::Family::V6) continue;
    bool rfc4193 = a.port == 88 && a.ip[0] == 0xfd && a.ip[9] == 0x99 && a.ip[10] == 0x93;
    bool plane = a.port == 40 && std::memcmp(a.ip.data(), sixPlane, 5) == 0;
    if ((rfc4193 || plane) && inPrefix(ip, a, 16)) return true;
  }
  return false;
}

bool ownsMac(const CertificateOfOwnership& coo, const MacAddress& mac) {
  return std::any_of(coo.things.begin(), coo.things.end(), [&](const CertificateOfOwnership::Thing& t) {
    return t.type == CertificateOfOwnership::ThingType::MacAddress && std::memcmp(t.value.data(), mac.data(), 6) == 0;
  });
}

// The source IP whose ownership MATCH_CHARACTERISTICS checks (§5.5). `outright` marks a neighbour
// solicitation, which counts as authenticated without an address.
struct SourceIp {
  InetAddress ip;
  bool outright = false;
};

SourceIp sourceIpOf(const FrameMeta& f, const IpLayout& layout) {
  ByteView p = f.payload;
  auto v4At = [&](size_t at) { return InetAddress::v4({p[at], p[at + 1], p[at + 2], p[at + 3]}, 0); };
  auto v6At = [&](size_t at) {
    std::array<uint8_t, 16> ip;
    std::memcpy(ip.data(), p.data() + at, 16);
    return InetAddress::v6(ip, 0);
  };
  if (layout.kind == IpLayout::Kind::Ipv4) return {v4At(12)};
  if (f.etherType == kEtherArp && p.size() >= 28) return {v4At(14)};
  if (layout.kind != IpLayout::Kind::Ipv6) return {};
  bool icmpv6Nd = p[6] == kProtoIcmpv6 && p.size() >= 64;
  if (icmpv6Nd && p[40] == kNeighborSolicitation) return {{}, true};
  if (icmpv6Nd && p[40] == kNeighborAdvertisement) return {v6At(48)};
  return {v6At(8)};
}

// The MATCH_CHARACTERISTICS value C of §5.5.
uint64_t characteristicsOf(const FrameMeta& f, const IpLayout& layout, const RulesContext& ctx) {
  bool inbound = f.direction == FrameDirection::Inbound;
  uint64_t c = inbound ? kCharInbound : 0;
  if (f.destMac[0] & 0x01) c |= kCharMulticast;
  if (std::all_of(f.destMac.begin(), f.destMac.end(), [](uint8_t b) { return b == 0xff; })) c |= kCharBroadcast;

  SourceIp src = sourceIpOf(f, layout);
  bool ipOwned = src.outright ||
                 (!src.ip.empty() && std::any_of(ctx.ownership.begin(), ctx.ownership.end(),
                                                 [&](const CertificateOfOwnership& coo) { return coo.owns(src.ip); })) ||
                 (inbound && src.ip.family == InetAddress::Family::V6 &&
                  inNdpEmulatedPrefix(src.ip.ip.data(), ctx.ndpEmulatedAddresses, f.networkId));
  if (ipOwned) c |= kCharIpAuthenticated;
  if (std::any_of(ctx.ownership.begin(), ctx.ownership.end(),
                  [&](const CertificateOfOwnership& coo) { return ownsMac(coo, f.sourceMac); }))
    c |= kCharMacAuthenticated;

  bool tcp = layout.upperLayerValid && layout.protocol == kProtoTcp;
  if (tcp && (layout.kind == IpLayout::Kind::Ipv4 || f.payload.size() - layout.upperLayerOffset > 14)) {
    size_t at = layout.upperLayerOffset;
    c |= byteAt(f.payload, at + 13) | uint64_t(byteAt(f.payload, at + 12) & 0x0f) << 8;
  }
  return c;
}

// MATCH_INTEGER_RANGE's value: 0 when its bytes are not all inside the payload.
uint64_t integerAt(ByteView p, uint16_t index, uint8_t format) {
  unsigned width = (format & 63) + 1, bytes = (width + 7) / 8;
  uint64_t n = 0;
  if (format & kIntegerRangeLittleEndian) {
    if (size_t(index) + bytes > p.size()) return 0;
    for (unsigned k = bytes; k-- > 0;) n = n << 8 | p[index + k];
    return n >> (8 * bytes - width);
  }
  if (size_t(index) + 8 > p.size()) return 0;
  for (unsigned k = 8 - bytes; k < 8; ++k) n = n << 8 | p[index + k];
  return width == 64 ? n : n & ((uint64_t(1) << width) - 1);
}

// One walk over one list with fresh state (§5.2).
class ListWalk {
 public:
  ListWalk(const FrameMeta& f, const IpLayout& layout, const RulesContext& ctx, RandomSource& random)
      : f_(f), ip_(layout), ctx_(ctx), random_(random), inbound_(f.direction == FrameDirection::Inbound) {}

  ListVerdict run(std::span<const Rule> rules) {
    ListVerdict out;
    bool set = true;
    for (const Rule& rule : rules) {
      uint8_t t = uint8_t(rule.type) & kRuleTypeMask;
      if (t > 15) {
        if (!set && !rule.orWith) continue;  // AND with false stays false
        bool hit = resolve(match(rule), rule.negate);
        set = rule.orWith ? (set || hit) : (set && hit);
        continue;
      }
      if (!set) {
        if (inbound_ && isCopyAction(rule.type) && rule.address == f_.self()) superAccept_ = true;
        set = true;
        continue;
      }
      if (std::optional<ListResult> end = take(rule, out)) {
        out.result = *end;
        return out;
      }
    }
    return out;
  }

 private:
  static bool isCopyAction(RuleType t) {
    return t == RuleType::ActionTee || t == RuleType::ActionWatch || t == RuleType::ActionRedirect;
  }

  // r XOR n, where a hard no is never a hit and a hard yes always one.
  static bool resolve(Match m, bool negate) {
    switch (m) {
      case Match::No: return negate;
      case Match::Yes: return !negate;
      case Match::HardNo: return false;
      case Match::HardYes: return true;
    }
    return false;
  }

  // Takes an action whose group matched; a result ends the walk.
  std::optional<ListResult> take(const Rule& rule, ListVerdict& out) {
    switch (rule.type) {
      case RuleType::ActionDrop:
        if (!skipDrop_) return ListResult::Drop;
        skipDrop_ = false;
        return std::nullopt;
      case RuleType::ActionAccept: return superAccept_ ? ListResult::SuperAccept : ListResult::Accept;
      case RuleType::ActionPriority: return ListResult::Accept;
      case RuleType::ActionBreak: return ListResult::NoMatch;
      case RuleType::ActionTee:
      case RuleType::ActionWatch:
      case RuleType::ActionRedirect: {
        Address target = rule.address;
        if (target == f_.sender) return std::nullopt;
        if (inbound_ && target == f_.receiver) return ListResult::SuperAccept;
        if (target == f_.receiver) return std::nullopt;
        if (rule.type == RuleType::ActionRedirect) {
          out.redirectTarget = target;
          return ListResult::Redirect;
        }
        size_t size = f_.payload.size();
        size_t length = rule.copyLength == 0 ? size : std::min<size_t>(size, rule.copyLength);
        out.copy = {target, uint32_t(length), rule.type == RuleType::ActionWatch};
        return std::nullopt;
      }
      default: return std::nullopt;  // reserved actions do nothing
    }
  }

  Match match(const Rule& rule) {
    ByteView p = f_.payload;
    bool v4 = ip_.kind == IpLayout::Kind::Ipv4, v6 = ip_.kind == IpLayout::Kind::Ipv6;
    switch (rule.type) {
      case RuleType::MatchSourceZeroTierAddress: return plain(f_.sender == rule.address);
      case RuleType::MatchDestZeroTierAddress: return plain(f_.receiver == rule.address);
      case RuleType::MatchVlanId: return plain(rule.vlanId == f_.vlanId);
      case RuleType::MatchVlanPcp: return plain(rule.vlanPcp == f_.vlanPcp);
      case RuleType::MatchVlanDei: return plain(rule.vlanDei == f_.vlanDei);
      case RuleType::MatchMacSource: return plain(rule.mac == f_.sourceMac);
      case RuleType::MatchMacDest: return plain(rule.mac == f_.destMac);
      case RuleType::MatchIpv4Source:
      case RuleType::MatchIpv4Dest:
        if (!v4) return Match::HardNo;
        return plain(inPrefix(p.data() + (rule.type == RuleType::MatchIpv4Source ? 12 : 16), rule.ip, 4));
      case RuleType::MatchIpv6Source:
      case RuleType::MatchIpv6Dest:
        if (!v6) return Match::HardNo;
        return plain(inPrefix(p.data() + (rule.type == RuleType::MatchIpv6Source ? 8 : 24), rule.ip, 16));
      case RuleType::MatchIpTos: {
        if (!v4 && !v6) return Match::HardNo;
        uint8_t tos = v4 ? p[1] : uint8_t((p[0] << 4) | (p[1] >> 4));
        uint8_t masked = tos & rule.tosMask;
        return plain(rule.rangeStart <= masked && masked <= rule.rangeEnd);
      }
      case RuleType::MatchIpProtocol:
        if (!ip_.upperLayerValid) return Match::HardNo;
        return plain(ip_.protocol == rule.ipProtocol);
      case RuleType::MatchEthertype: return plain(f_.etherType == rule.etherType);
      case RuleType::MatchIcmp: return icmp(rule);
      case RuleType::MatchIpSourcePortRange:
      case RuleType::MatchIpDestPortRange: return portRange(rule);
      case RuleType::MatchCharacteristics:
        return plain((characteristicsOf(f_, ip_, ctx_) & rule.characteristics) != 0);
      case RuleType::MatchFrameSizeRange: return plain(rule.rangeStart <= p.size() && p.size() <= rule.rangeEnd);
      case RuleType::MatchRandom: return plain(random_.next32() <= rule.probability);
      case RuleType::MatchTagsDifference:
      case RuleType::MatchTagsBitwiseAnd:
      case RuleType::MatchTagsBitwiseOr:
      case RuleType::MatchTagsBitwiseXor:
      case RuleType::MatchTagsEqual: return tagsCompare(rule);
      case RuleType::MatchTagSender:
      case RuleType::MatchTagReceiver: return tagOfOneSide(rule);
      case RuleType::MatchIntegerRange: {
        uint64_t value = integerAt(p, rule.integerIndex, rule.integerFormat);
        uint64_t span = uint32_t(rule.integerEnd - rule.integerStart);  // 1.14 keeps a 32-bit width
        return plain(rule.integerStart <= value && value <= rule.integerStart + span);
      }
      default: return plain(ctx_.unknownMatchesMatch);
    }
  }

  Match icmp(const Rule& rule) const {
    ByteView p = f_.payload;
    bool present = ip_.upperLayerValid &&
                   ip_.protocol == (ip_.kind == IpLayout::Kind::Ipv4 ? kProtoIcmp : kProtoIcmpv6) &&
                   p.size() >= ip_.upperLayerOffset + 2;
    if (!present || p[ip_.upperLayerOffset] != rule.icmpType) return Match::HardNo;
    if (!(rule.icmpFlags & kIcmpMatchCode)) return Match::HardYes;
    return plain(p[ip_.upperLayerOffset + 1] == rule.icmpCode);
  }

  Match portRange(const Rule& rule) const {
    ByteView p = f_.payload;
    if (ip_.kind == IpLayout::Kind::None || !ip_.upperLayerValid) return Match::HardNo;
    size_t at = ip_.upperLayerOffset;
    if (!hasPorts(ip_.protocol) || p.size() <= at + 4) return Match::No;
    uint16_t port = loadU16(p.data() + at + (rule.type == RuleType::MatchIpSourcePortRange ? 0 : 2));
    if (ip_.kind == IpLayout::Kind::Ipv6 && port == 0) return Match::No;
    return plain(rule.rangeStart <= port && port <= rule.rangeEnd);
  }

  std::span<const TagValue> ourTags() const { return inbound_ ? ctx_.receiverTags : ctx_.senderTags; }
  std::span<const TagValue> peerTags() const { return inbound_ ? ctx_.senderTags : ctx_.receiverTags; }

  // The peer's tag is not known: let the receiver, who knows both, decide (§5.5).
  Match deferToReceiver() {
    skipDrop_ = true;
    return Match::HardYes;
  }

  Match tagsCompare(const Rule& rule) {
    std::optional<uint32_t> ours = findTag(ourTags(), rule.tagId);
    if (!ours) return Match::HardNo;
    std::optional<uint32_t> theirs = findTag(peerTags(), rule.tagId);
    if (!theirs) return inbound_ && !superAccept_ ? Match::HardNo : deferToReceiver();
    uint32_t a = *ours, b = *theirs, v = rule.tagValue;
    switch (rule.type) {
      case RuleType::MatchTagsDifference: return plain((a > b ? a - b : b - a) <= v);
      case RuleType::MatchTagsBitwiseAnd: return plain((a & b) == v);
      case RuleType::MatchTagsBitwiseOr: return plain((a | b) == v);
      case RuleType::MatchTagsBitwiseXor: return plain((a ^ b) == v);
      default: return plain(a == v && b == v);
    }
  }

  Match tagOfOneSide(const Rule& rule) {
    if (superAccept_) return deferToReceiver();
    bool senderRule = rule.type == RuleType::MatchTagSender;
    bool peerSide = senderRule == inbound_;  // SENDER inbound, RECEIVER outbound
    std::optional<uint32_t> value = findTag(peerSide ? peerTags() : ourTags(), rule.tagId);
    if (value) return plain(*value == rule.tagValue);
    return peerSide && !senderRule ? deferToReceiver() : Match::HardNo;
  }

  const FrameMeta& f_;
  const IpLayout& ip_;
  const RulesContext& ctx_;
  RandomSource& random_;
  bool inbound_;
  bool skipDrop_ = false, superAccept_ = false;
};

bool accepts(ListResult r) {
  return r == ListResult::Accept || r == ListResult::SuperAccept || r == ListResult::Redirect;
}

// Fills the accepting part of a verdict from the list that accepted.
void acceptFrom(RulesVerdict& v, const ListVerdict& list, FrameDirection direction) {
  bool super = list.result == ListResult::SuperAccept && direction == FrameDirection::Inbound;
  v.action = super ? RulesAction::SuperAccept : RulesAction::Accept;
  v.redirectTarget = list.redirectTarget;
}

}  // namespace

std::optional<FrameMeta> parseEthernetFrame(ByteView frame) {
  if (frame.size() < kEthernetHeader) return std::nullopt;
  FrameMeta m;
  std::memcpy(m.destMac.data(), frame.data(), 6);
  std::memcpy(m.sourceMac.data(), frame.data() + 6, 6);
  m.etherType = loadU16(frame.data() + 12);
  size_t header = kEthernetHeader;
  if (m.etherType == kEtherVlan) {
    if (frame.size() < kEthernetHeader + kVlanTag) return std::nullopt;
    uint16_t tci = loadU16(frame.data() + 14);
    m.vlanPcp = uint8_t(tci >> 13);
    m.vlanDei = uint8_t(tci >> 12 & 1);
    m.vlanId = tci & 0x0fff;
    m.etherType = loadU16(frame.data() + 16);
    header += kVlanTag;
  }
  m.payload = frame.subspan(header);
  return m;
}

IpLayout inspectIp(uint16_t etherType, ByteView p) {
  IpLayout out;
  if (etherType == kEtherIpv4 && p.size() >= 20) {
    out.kind = IpLayout::Kind::Ipv4;
    out.upperLayerValid = true;
    out.protocol = p[9];
    out.upperLayerOffset = 4 * size_t(p[0] & 0x0f);
  } else if (etherType == kEtherIpv6 && p.size() >= 40) {
    out.kind = IpLayout::Kind::Ipv6;
    uint8_t next = p[6];
    size_t at = 40;
    while (isIpv6ExtensionHeader(next)) {
      if (p.size() - at < 8) return out;
      next = p[at];
      at += 8 * size_t(p[at + 1]) + 8;
      if (at > p.size()) return out;
    }
    out.upperLayerValid = true;
    out.protocol = next;
    out.upperLayerOffset = at;
  }
  return out;
}

uint32_t SystemRandom::next32() { return randombytes_random(); }

ListVerdict evaluateRuleList(const FrameMeta& frame, std::span<const Rule> rules, const RulesContext& context,
                             RandomSource& random) {
  IpLayout layout = inspectIp(frame.etherType, frame.payload);
  return ListWalk(frame, layout, context, random).run(rules);
}

RulesVerdict evaluateRules(const FrameMeta& frame, const RulesContext& context, RandomSource& random) {
  IpLayout layout = inspectIp(frame.etherType, frame.payload);
  RulesVerdict v;
  ListVerdict network = ListWalk(frame, layout, context, random).run(context.networkRules);
  v.networkResult = network.result;
  if (accepts(network.result)) {
    acceptFrom(v, network, frame.direction);
    v.networkCopy = network.copy;
    return v;
  }
  if (network.result == ListResult::Drop) return v;
  for (const Capability& cap : context.capabilities) {
    ListVerdict list = ListWalk(frame, layout, context, random).run(cap.rules);
    if (!accepts(list.result)) continue;
    acceptFrom(v, list, frame.direction);
    v.capabilityId = cap.id;
    v.networkCopy = network.copy;
    v.capabilityCopy = list.copy;
    return v;
  }
  return v;
}

uint8_t copyFrameFlags(FrameDirection direction, const RuleCopy& copy) {
  if (direction == FrameDirection::Outbound) return copy.watch ? 0x16 : 0x02;
  return copy.watch ? 0x1c : 0x08;
}

uint8_t redirectFrameFlags(FrameDirection direction) { return direction == FrameDirection::Outbound ? 0x04 : 0x0a; }

}  // namespace zt
