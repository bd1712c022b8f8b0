// The rules engine (vl2-frames-multicast-rules.md §5.2-5.5): every match type on constructed
// frames, the list walk and its combination with capabilities, and the `rich` capture's network
// (44 rules, capability 1000, tag 100) against what 1.14 let through, dropped and copied.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "vl2/dictionary.hpp"
#include "vl2/netconf.hpp"
#include "vl2/rules_engine.hpp"

namespace zt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Dir = FrameDirection;

constexpr uint16_t kIpv4 = 0x0800, kArp = 0x0806, kIpv6 = 0x86dd;
const Address kSender{0x1111111111}, kReceiver{0x2222222222}, kOther{0x3333333333};
const MacAddress kSenderMac{0x02, 0x11, 0x11, 0x11, 0x11, 0x11}, kReceiverMac{0x02, 0x22, 0x22, 0x22, 0x22, 0x22};

// ---- frames ----------------------------------------------------------------------------------

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;
const Ip4 kSrc4{10, 99, 1, 2}, kDst4{10, 98, 1, 7};
const Ip6 kSrc6{0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Ip6 kDst6{0xfd, 0x98, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// An IPv4 packet with `optionWords` 4-byte words of options (IHL = 5 + optionWords).
Bytes ipv4(uint8_t protocol, ByteView l4, Ip4 src = kSrc4, Ip4 dst = kDst4, uint8_t tos = 0, size_t optionWords = 0) {
  Writer w;
  w.u8(uint8_t(0x45 + optionWords)).u8(tos).u16(uint16_t(20 + 4 * optionWords + l4.size())).u32(0);
  w.u8(64).u8(protocol).u16(0).bytes(src).bytes(dst);
  for (size_t i = 0; i < optionWords; ++i) w.u32(0x01010101);  // NOP options
  w.bytes(l4);
  return w.take();
}

// An IPv6 packet; `extensions` are the types of 8-byte extension headers before the payload.
Bytes ipv6(uint8_t protocol, ByteView l4, std::vector<uint8_t> extensions = {}, Ip6 src = kSrc6, Ip6 dst = kDst6,
           uint8_t trafficClass = 0) {
  Writer w;
  w.u32(0x60000000u | uint32_t(trafficClass) << 20).u16(uint16_t(8 * extensions.size() + l4.size()));
  w.u8(extensions.empty() ? protocol : extensions[0]).u8(64).bytes(src).bytes(dst);
  for (size_t i = 0; i < extensions.size(); ++i)
    w.u8(i + 1 < extensions.size() ? extensions[i + 1] : protocol).u8(0).u16(0).u32(0);
  w.bytes(l4);
  return w.take();
}

// A 20-byte TCP header; `flags` holds the 8 flag bits and NS as 0x100.
Bytes tcp(uint16_t sport, uint16_t dport, uint16_t flags) {
  Writer w;
  w.u16(sport).u16(dport).u32(1).u32(0).u8(uint8_t(0x50 | (flags >> 8))).u8(uint8_t(flags)).u16(0xffff).u32(0);
  return w.take();
}
Bytes udp(uint16_t sport, uint16_t dport, std::string_view data = "x") {
  Writer w;
  w.u16(sport).u16(dport).u16(uint16_t(8 + data.size())).u16(0).bytes(asBytes(data));
  return w.take();
}
Bytes icmp(uint8_t type, uint8_t code, size_t dataLength = 8) {
  Bytes out(8 + dataLength, 0xab);
  out[0] = type, out[1] = code, out[2] = out[3] = 0;
  return out;
}
// An ARP request from sender IP `spa`.
Bytes arp(Ip4 spa) {
  Writer w;
  w.u16(1).u16(kIpv4).u8(6).u8(4).u16(1).bytes(kSenderMac).bytes(spa).bytes(MacAddress{}).bytes(kDst4);
  return w.take();
}

constexpr uint16_t kSyn = 0x02, kAck = 0x10, kNs = 0x100;

FrameMeta meta(const Bytes& payload, uint16_t etherType, Dir direction = Dir::Outbound) {
  FrameMeta m;
  m.networkId = 0x315595f4f8c0ffeeULL;
  m.direction = direction;
  m.sender = kSender;
  m.receiver = kReceiver;
  m.sourceMac = kSenderMac;
  m.destMac = kReceiverMac;
  m.etherType = etherType;
  m.payload = payload;
  return m;
}

// ---- rules -----------------------------------------------------------------------------------

std::vector<Rule> rules(const json& j) {
  auto r = rulesFromJson(j);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : std::vector<Rule>{};
}

struct FixedRandom final : RandomSource {
  uint32_t value = 0;
  int calls = 0;
  uint32_t next32() override { return ++calls, value; }
};

ListResult walk(const json& list, const FrameMeta& f, const RulesContext& ctx = {}) {
  FixedRandom random;
  auto parsed = rules(list);
  return evaluateRuleList(f, parsed, ctx, random).result;
}

// How a match comes out with and without its NOT bit: plain yes/no flip, hard ones do not.
enum class Probe { Yes, No, HardYes, HardNo };
std::ostream& operator<<(std::ostream& o, Probe p) {
  const char* names[] = {"Yes", "No", "HardYes", "HardNo"};
  return o << names[int(p)];
}

Probe probe(json rule, const FrameMeta& f, const RulesContext& ctx = {}) {
  auto hit = [&](bool negate) {
    rule["not"] = negate;
    return walk(json::array({rule, {{"type", "ACTION_ACCEPT"}}}), f, ctx) == ListResult::Accept;
  };
  bool plain = hit(false), negated = hit(true);
  if (plain != negated) return plain ? Probe::Yes : Probe::No;
  return plain ? Probe::HardYes : Probe::HardNo;
}

// ---- parsing ---------------------------------------------------------------------------------

TEST(Vl2RulesParse, EthernetFrameWithAndWithoutVlanTag) {
  Bytes payload = ipv4(17, udp(1, 2));
  Bytes plain = concat({kReceiverMac, kSenderMac, Bytes{0x08, 0x00}, payload});
  auto m = parseEthernetFrame(plain);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->destMac, kReceiverMac);
  EXPECT_EQ(m->sourceMac, kSenderMac);
  EXPECT_EQ(m->etherType, kIpv4);
  EXPECT_EQ(m->vlanId, 0);
  EXPECT_TRUE(std::equal(m->payload.begin(), m->payload.end(), payload.begin(), payload.end()));

  Bytes tagged = concat({kReceiverMac, kSenderMac, Bytes{0x81, 0x00, 0xb0, 0x07, 0x86, 0xdd}, payload});
  m = parseEthernetFrame(tagged);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->vlanPcp, 5);
  EXPECT_EQ(m->vlanDei, 1);
  EXPECT_EQ(m->vlanId, 7);
  EXPECT_EQ(m->etherType, kIpv6);
  EXPECT_EQ(m->payload.size(), payload.size());

  EXPECT_FALSE(parseEthernetFrame(ByteView(plain.data(), 13)));
  EXPECT_FALSE(parseEthernetFrame(ByteView(tagged.data(), 17)));
  EXPECT_TRUE(parseEthernetFrame(ByteView(plain.data(), 14)));
}

TEST(Vl2RulesParse, Ipv4HeaderLengthIncludesOptions) {
  Bytes p = ipv4(6, tcp(1, 22, kSyn), kSrc4, kDst4, 0, 3);
  IpLayout l = inspectIp(kIpv4, p);
  EXPECT_EQ(l.kind, IpLayout::Kind::Ipv4);
  EXPECT_EQ(l.protocol, 6);
  EXPECT_EQ(l.upperLayerOffset, 32u);
  EXPECT_EQ(inspectIp(kIpv4, ByteView(p.data(), 19)).kind, IpLayout::Kind::None);
  EXPECT_EQ(inspectIp(kArp, p).kind, IpLayout::Kind::None);
}

TEST(Vl2RulesParse, Ipv6ExtensionHeaderChain) {
  Bytes p = ipv6(17, udp(1, 2), {0, 43, 60});
  IpLayout l = inspectIp(kIpv6, p);
  EXPECT_EQ(l.kind, IpLayout::Kind::Ipv6);
  EXPECT_TRUE(l.upperLayerValid);
  EXPECT_EQ(l.protocol, 17);
  EXPECT_EQ(l.upperLayerOffset, 64u);

  // The fragment header (44) is itself the upper layer.
  l = inspectIp(kIpv6, ipv6(17, udp(1, 2), {44}));
  EXPECT_EQ(l.protocol, 44);
  EXPECT_EQ(l.upperLayerOffset, 40u);

  // A header whose length runs past the end, and one cut short: invalid.
  Bytes longHeader = ipv6(17, udp(1, 2), {0});
  longHeader[41] = 10;
  EXPECT_FALSE(inspectIp(kIpv6, longHeader).upperLayerValid);
  Bytes cut = ipv6(17, {}, {0});
  EXPECT_FALSE(inspectIp(kIpv6, ByteView(cut.data(), 47)).upperLayerValid);
  EXPECT_EQ(inspectIp(kIpv6, ByteView(cut.data(), 39)).kind, IpLayout::Kind::None);
  // A chain that ends exactly at the end of the payload is valid (upper layer empty).
  EXPECT_TRUE(inspectIp(kIpv6, cut).upperLayerValid);
}

// ---- the walk --------------------------------------------------------------------------------

const json kAccept = {{"type", "ACTION_ACCEPT"}}, kDrop = {{"type", "ACTION_DROP"}}, kBreak = {{"type", "ACTION_BREAK"}};
json ethertype(uint16_t t, bool negate = false, bool orWith = false) {
  return {{"type", "MATCH_ETHERTYPE"}, {"etherType", t}, {"not", negate}, {"or", orWith}};
}
json protocol(uint8_t p, bool negate = false, bool orWith = false) {
  return {{"type", "MATCH_IP_PROTOCOL"}, {"ipProtocol", p}, {"not", negate}, {"or", orWith}};
}

TEST(Vl2RulesWalk, EndOfListAndEmptyListGiveNoVerdict) {
  Bytes p = ipv4(17, udp(1, 2));
  EXPECT_EQ(walk(json::array(), meta(p, kIpv4)), ListResult::NoMatch);
  EXPECT_EQ(walk({ethertype(kIpv6), kAccept}, meta(p, kIpv4)), ListResult::NoMatch);
  EXPECT_EQ(walk({ethertype(kIpv4), kAccept}, meta(p, kIpv4)), ListResult::Accept);
  // With no rules and no capability the frame is dropped (no implicit accept).
  FixedRandom random;
  EXPECT_EQ(evaluateRules(meta(p, kIpv4), {}, random).action, RulesAction::Drop);
}

TEST(Vl2RulesWalk, AndOrNotChaining) {
  Bytes p = ipv4(17, udp(1, 2));
  FrameMeta f = meta(p, kIpv4);
  // AND: both must hold.
  EXPECT_EQ(walk({ethertype(kIpv4), protocol(17), kAccept}, f), ListResult::Accept);
  EXPECT_EQ(walk({ethertype(kIpv4), protocol(6), kAccept}, f), ListResult::NoMatch);
  // OR rescues a false group, and a false AND after it sinks it again.
  EXPECT_EQ(walk({protocol(6), protocol(17, false, true), kAccept}, f), ListResult::Accept);
  EXPECT_EQ(walk({protocol(6), protocol(1, false, true), kAccept}, f), ListResult::NoMatch);
  EXPECT_EQ(walk({protocol(6), protocol(17, false, true), ethertype(kArp), kAccept}, f), ListResult::NoMatch);
  // NOT flips.
  EXPECT_EQ(walk({protocol(6, true), kAccept}, f), ListResult::Accept);
  EXPECT_EQ(walk({protocol(17, true), protocol(6, true, true), kAccept}, f), ListResult::Accept);
  // The head of `rich`: NOT IPv4, NOT ARP, NOT IPv6 → DROP.
  json head = {ethertype(kIpv4, true), ethertype(kArp, true), ethertype(kIpv6, true), kDrop, kAccept};
  EXPECT_EQ(walk(head, f), ListResult::Accept);
  Bytes other(60, 0);
  EXPECT_EQ(walk(head, meta(other, 0x88cc)), ListResult::Drop);
}

TEST(Vl2RulesWalk, ActionNotTakenResetsTheGroup) {
  Bytes p = ipv4(17, udp(1, 2));
  FrameMeta f = meta(p, kIpv4);
  EXPECT_EQ(walk({protocol(6), kDrop, kAccept}, f), ListResult::Accept);
  EXPECT_EQ(walk({protocol(6), kDrop, protocol(17), kDrop, kAccept}, f), ListResult::Drop);
}

TEST(Vl2RulesWalk, MatchesAfterAFalseAndAreNotEvaluated) {
  Bytes p = ipv4(17, udp(1, 2));
  FixedRandom random;
  auto list = rules({protocol(6), {{"type", "MATCH_RANDOM"}, {"probability", 0xffffffffu}}, kAccept});
  EXPECT_EQ(evaluateRuleList(meta(p, kIpv4), list, {}, random).result, ListResult::NoMatch);
  EXPECT_EQ(random.calls, 0);
  auto orList = rules({protocol(6), {{"type", "MATCH_RANDOM"}, {"probability", 0xffffffffu}, {"or", true}}, kAccept});
  EXPECT_EQ(evaluateRuleList(meta(p, kIpv4), orList, {}, random).result, ListResult::Accept);
  EXPECT_EQ(random.calls, 1);
}

TEST(Vl2RulesWalk, BreakPriorityAndReservedActions) {
  Bytes p = ipv4(17, udp(1, 2));
  FrameMeta f = meta(p, kIpv4);
  EXPECT_EQ(walk({kBreak, kAccept}, f), ListResult::NoMatch);
  EXPECT_EQ(walk({protocol(6), kBreak, kAccept}, f), ListResult::Accept);
  EXPECT_EQ(walk({{{"type", "ACTION_PRIORITY"}}, kDrop}, f), ListResult::Accept);
  // A reserved action (type 9) read from the wire does nothing, and the walk goes on.
  auto list = parseRules(Bytes{0x09, 0x02, 0xaa, 0xbb, 0x00, 0x00});
  ASSERT_TRUE(list);
  FixedRandom random;
  EXPECT_EQ(evaluateRuleList(f, *list, {}, random).result, ListResult::Drop);
}

// ---- matches ---------------------------------------------------------------------------------

TEST(Vl2RulesMatch, ZeroTierAddressesVlanAndMacs) {
  Bytes p = ipv4(17, udp(1, 2));
  FrameMeta f = meta(p, kIpv4);
  EXPECT_EQ(probe({{"type", "MATCH_SOURCE_ZEROTIER_ADDRESS"}, {"zt", "1111111111"}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_SOURCE_ZEROTIER_ADDRESS"}, {"zt", "2222222222"}}, f), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_DEST_ZEROTIER_ADDRESS"}, {"zt", "2222222222"}}, f), Probe::Yes);
  f.receiver = Address{};
  EXPECT_EQ(probe({{"type", "MATCH_DEST_ZEROTIER_ADDRESS"}, {"zt", "2222222222"}}, f), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_VLAN_ID"}, {"vlanId", 0}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_VLAN_ID"}, {"vlanId", 7}}, f), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_VLAN_PCP"}, {"vlanPcp", 3}}, f), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_VLAN_DEI"}, {"vlanDei", 0}}, f), Probe::Yes);
  f.vlanId = 7, f.vlanPcp = 3;
  EXPECT_EQ(probe({{"type", "MATCH_VLAN_ID"}, {"vlanId", 7}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_VLAN_PCP"}, {"vlanPcp", 3}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_MAC_SOURCE"}, {"mac", "02:11:11:11:11:11"}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_MAC_SOURCE"}, {"mac", "02:22:22:22:22:22"}}, f), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_MAC_DEST"}, {"mac", "02:22:22:22:22:22"}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_MAC_DEST"}, {"mac", "02:11:11:11:11:11"}}, f), Probe::No);
}

TEST(Vl2RulesMatch, Ipv4AndIpv6Prefixes) {
  Bytes p4 = ipv4(17, udp(1, 2)), p6 = ipv6(17, udp(1, 2));
  FrameMeta f4 = meta(p4, kIpv4), f6 = meta(p6, kIpv6);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_SOURCE"}, {"ip", "10.99.0.0/16"}}, f4), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_SOURCE"}, {"ip", "10.98.0.0/16"}}, f4), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_DEST"}, {"ip", "10.98.1.0/24"}}, f4), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_DEST"}, {"ip", "10.98.1.6/31"}}, f4), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_DEST"}, {"ip", "10.98.1.6/32"}}, f4), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_DEST"}, {"ip", "0.0.0.0/0"}}, f4), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_IPV4_SOURCE"}, {"ip", "10.99.0.0/16"}}, f6), Probe::HardNo);
  EXPECT_EQ(probe({{"type", "MATCH_IPV6_SOURCE"}, {"ip", "fd99::/48"}}, f6), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_IPV6_SOURCE"}, {"ip", "fd98::/48"}}, f6), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_IPV6_DEST"}, {"ip", "fd98::1/128"}}, f6), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_IPV6_DEST"}, {"ip", "fd98::2/127"}}, f6), Probe::No);
  EXPECT_EQ(probe({{"type", "MATCH_IPV6_DEST"}, {"ip", "fd98::1/128"}}, f4), Probe::HardNo);
}

TEST(Vl2RulesMatch, TosProtocolAndEthertype) {
  Bytes p4 = ipv4(17, udp(1, 2), kSrc4, kDst4, 0xb8), p6 = ipv6(6, tcp(1, 2, kSyn), {0, 60}, kSrc6, kDst6, 0xb8);
  FrameMeta f4 = meta(p4, kIpv4), f6 = meta(p6, kIpv6);
  json tos = {{"type", "MATCH_IP_TOS"}, {"mask", 0xfc}, {"start", 0xb0}, {"end", 0xb8}};
  EXPECT_EQ(probe(tos, f4), Probe::Yes);
  EXPECT_EQ(probe(tos, f6), Probe::Yes);
  tos["end"] = 0xb4;
  EXPECT_EQ(probe(tos, f4), Probe::No);
  EXPECT_EQ(probe(tos, f6), Probe::No);
  Bytes a = arp(kSrc4);
  EXPECT_EQ(probe(tos, meta(a, kArp)), Probe::HardNo);

  EXPECT_EQ(probe(protocol(17), f4), Probe::Yes);
  EXPECT_EQ(probe(protocol(6), f4), Probe::No);
  EXPECT_EQ(probe(protocol(6), f6), Probe::Yes);  // behind hop-by-hop and destination options
  EXPECT_EQ(probe(protocol(0), f6), Probe::No);
  EXPECT_EQ(probe(protocol(6), meta(a, kArp)), Probe::HardNo);
  Bytes broken = p6;
  broken[41] = 200;  // hop-by-hop header longer than the packet
  EXPECT_EQ(probe(protocol(6), meta(broken, kIpv6)), Probe::HardNo);

  EXPECT_EQ(probe(ethertype(kIpv4), f4), Probe::Yes);
  EXPECT_EQ(probe(ethertype(kIpv4), f6), Probe::No);
}

TEST(Vl2RulesMatch, Icmp) {
  Bytes echo = ipv4(1, icmp(8, 0)), unreachable = ipv4(1, icmp(3, 1), kSrc4, kDst4, 0, 2);
  Bytes echo6 = ipv6(58, icmp(128, 0), {60}), udpPacket = ipv4(17, udp(1, 2));
  json anyCode = {{"type", "MATCH_ICMP"}, {"icmpType", 8}, {"icmpCode", nullptr}};
  json withCode = {{"type", "MATCH_ICMP"}, {"icmpType", 3}, {"icmpCode", 1}};
  // Type equal without a code: a hard yes (NOT cannot undo it); type differs: a hard no.
  EXPECT_EQ(probe(anyCode, meta(echo, kIpv4)), Probe::HardYes);
  EXPECT_EQ(probe(anyCode, meta(unreachable, kIpv4)), Probe::HardNo);
  EXPECT_EQ(probe(withCode, meta(unreachable, kIpv4)), Probe::Yes);  // with IPv4 options
  withCode["icmpCode"] = 0;
  EXPECT_EQ(probe(withCode, meta(unreachable, kIpv4)), Probe::No);
  EXPECT_EQ(probe(anyCode, meta(udpPacket, kIpv4)), Probe::HardNo);
  json v6 = {{"type", "MATCH_ICMP"}, {"icmpType", 128}, {"icmpCode", 0}};
  EXPECT_EQ(probe(v6, meta(echo6, kIpv6)), Probe::Yes);
  // ICMP needs type and code inside the payload.
  EXPECT_EQ(probe(anyCode, meta(echo, kIpv4)), Probe::HardYes);
  Bytes shortEcho(echo.begin(), echo.begin() + 21);
  EXPECT_EQ(probe(anyCode, meta(shortEcho, kIpv4)), Probe::HardNo);
}

TEST(Vl2RulesMatch, PortRanges) {
  json dport = {{"type", "MATCH_IP_DEST_PORT_RANGE"}, {"start", 9990}, {"end", 9999}};
  json sport = {{"type", "MATCH_IP_SOURCE_PORT_RANGE"}, {"start", 1000}, {"end", 2000}};
  Bytes u = ipv4(17, udp(1500, 9995)), t = ipv4(6, tcp(2001, 9990, kSyn), kSrc4, kDst4, 0, 1);
  EXPECT_EQ(probe(dport, meta(u, kIpv4)), Probe::Yes);
  EXPECT_EQ(probe(sport, meta(u, kIpv4)), Probe::Yes);
  EXPECT_EQ(probe(dport, meta(t, kIpv4)), Probe::Yes);
  EXPECT_EQ(probe(sport, meta(t, kIpv4)), Probe::No);
  for (uint8_t proto : {0x84, 0x88}) {
    Bytes other = ipv4(proto, udp(1500, 9999));
    EXPECT_EQ(probe(dport, meta(other, kIpv4)), Probe::Yes) << int(proto);
  }
  // IPv4 without ports (ICMP) or too short: a plain no, so NOT matches.
  Bytes e = ipv4(1, icmp(8, 0));
  EXPECT_EQ(probe(dport, meta(e, kIpv4)), Probe::No);
  Bytes cut = ipv4(17, Bytes{0x05, 0xdc, 0x27, 0x0b});  // payload = ihl + 4 exactly
  EXPECT_EQ(probe(dport, meta(cut, kIpv4)), Probe::No);
  // IPv6: via the extension chain; port 0 never matches; an invalid chain is a hard no.
  Bytes u6 = ipv6(17, udp(1500, 9995), {43});
  EXPECT_EQ(probe(dport, meta(u6, kIpv6)), Probe::Yes);
  Bytes zero6 = ipv6(17, udp(0, 9995));
  json zeroRange = {{"type", "MATCH_IP_SOURCE_PORT_RANGE"}, {"start", 0}, {"end", 10}};
  EXPECT_EQ(probe(zeroRange, meta(zero6, kIpv6)), Probe::No);
  Bytes zero4 = ipv4(17, udp(0, 9995));
  EXPECT_EQ(probe(zeroRange, meta(zero4, kIpv4)), Probe::Yes);
  Bytes broken = u6;
  broken[41] = 100;
  EXPECT_EQ(probe(dport, meta(broken, kIpv6)), Probe::HardNo);
  Bytes a = arp(kSrc4);
  EXPECT_EQ(probe(dport, meta(a, kArp)), Probe::HardNo);
}

json characteristics(uint64_t mask) { return {{"type", "MATCH_CHARACTERISTICS"}, {"mask", mask}}; }

TEST(Vl2RulesMatch, CharacteristicsDirectionMulticastAndTcpFlags) {
  Bytes syn = ipv4(6, tcp(1, 22, kSyn | kNs), kSrc4, kDst4, 0, 2), ack6 = ipv6(6, tcp(1, 22, kAck), {0});
  FrameMeta f = meta(syn, kIpv4);
  EXPECT_EQ(probe(characteristics(0x02), f), Probe::Yes);
  EXPECT_EQ(probe(characteristics(0x100), f), Probe::Yes);
  EXPECT_EQ(probe(characteristics(0x10), f), Probe::No);
  EXPECT_EQ(probe(characteristics(0x10), meta(ack6, kIpv6)), Probe::Yes);
  EXPECT_EQ(probe(characteristics(0x02), meta(ack6, kIpv6)), Probe::No);
  EXPECT_EQ(probe(characteristics(0x8000000000000000ULL), f), Probe::No);
  f.direction = Dir::Inbound;
  EXPECT_EQ(probe(characteristics(0x8000000000000000ULL), f), Probe::Yes);
  EXPECT_EQ(probe(characteristics(0x4000000000000000ULL), f), Probe::No);
  f.destMac = {0x33, 0x33, 0, 0, 0, 1};
  EXPECT_EQ(probe(characteristics(0x4000000000000000ULL), f), Probe::Yes);
  EXPECT_EQ(probe(characteristics(0x2000000000000000ULL), f), Probe::No);
  f.destMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(probe(characteristics(0x2000000000000000ULL), f), Probe::Yes);
  // A TCP header cut short: its missing flag bytes count as 0.
  Bytes cut(syn.begin(), syn.begin() + 28 + 12);
  EXPECT_EQ(probe(characteristics(0xfff), meta(cut, kIpv4)), Probe::No);
  // Not TCP: no flags.
  Bytes u = ipv4(17, udp(0x0202, 0x0202, std::string(16, '\x02')));
  EXPECT_EQ(probe(characteristics(0xfff), meta(u, kIpv4)), Probe::No);
}

TEST(Vl2RulesMatch, CharacteristicsOwnershipOfSourceIpAndMac) {
  constexpr uint64_t kIpAuth = 0x1000000000000000ULL, kMacAuth = 0x0800000000000000ULL;
  CertificateOfOwnership coo;
  coo.things = {CertificateOfOwnership::ipThing(InetAddress::v4(kSrc4, 0)),
                CertificateOfOwnership::ipThing(InetAddress::v6(kSrc6, 0)),
                CertificateOfOwnership::macThing(kSenderMac)};
  RulesContext ctx;
  ctx.ownership = std::span(&coo, 1);

  Bytes p4 = ipv4(17, udp(1, 2)), other4 = ipv4(17, udp(1, 2), kDst4, kSrc4), p6 = ipv6(17, udp(1, 2));
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(p4, kIpv4), ctx), Probe::Yes);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(other4, kIpv4), ctx), Probe::No);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(p6, kIpv6), ctx), Probe::Yes);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(p4, kIpv4)), Probe::No);
  Bytes a = arp(kSrc4), otherArp = arp(kDst4);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(a, kArp), ctx), Probe::Yes);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(otherArp, kArp), ctx), Probe::No);

  FrameMeta f = meta(p4, kIpv4);
  EXPECT_EQ(probe(characteristics(kMacAuth), f, ctx), Probe::Yes);
  f.sourceMac = kReceiverMac;
  EXPECT_EQ(probe(characteristics(kMacAuth), f, ctx), Probe::No);

  // Neighbour solicitations count as authenticated outright; advertisements by their target.
  Bytes ns = ipv6(58, icmp(135, 0, 24), {}, kDst6), na = ipv6(58, icmp(136, 0, 24), {}, kDst6);
  std::copy(kSrc6.begin(), kSrc6.end(), na.begin() + 48);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(ns, kIpv6)), Probe::Yes);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(na, kIpv6), ctx), Probe::Yes);
  std::copy(kDst6.begin(), kDst6.end(), na.begin() + 48);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(na, kIpv6), ctx), Probe::No);
}

TEST(Vl2RulesMatch, CharacteristicsNdpEmulatedPrefixesInboundOnly) {
  constexpr uint64_t kIpAuth = 0x1000000000000000ULL;
  // rich's network 315595f4f8c0ffee: our RFC 4193 /88 and 6PLANE /40 addresses (m1's).
  auto ours4193 = InetAddress::parse("fd31:5595:f4f8:c0ff:ee99:9312:3336:6eb5/88");
  auto oursPlane = InetAddress::parse("fcc9:956a:1a12:3336:6eb5::1/40");
  ASSERT_TRUE(ours4193 && oursPlane);
  std::array<InetAddress, 2> ours{*ours4193, *oursPlane};
  RulesContext ctx;
  ctx.ndpEmulatedAddresses = ours;
  auto from = [](const char* text) {
    Ip6 ip;
    auto a = InetAddress::parse(text);
    std::copy(a->ip.begin(), a->ip.end(), ip.begin());
    return ipv6(17, udp(1, 2), {}, ip);
  };
  Bytes m2rfc = from("fd31:5595:f4f8:c0ff:ee99:9389:fafc:907b"), m2plane = from("fcc9:956a:1a89:fafc:907b::1"),
        pool = from("fd00:1234::e6");
  FrameMeta in = meta(m2rfc, kIpv6, Dir::Inbound);
  EXPECT_EQ(probe(characteristics(kIpAuth), in, ctx), Probe::Yes);
  in.payload = m2plane;
  EXPECT_EQ(probe(characteristics(kIpAuth), in, ctx), Probe::Yes);
  in.payload = pool;
  EXPECT_EQ(probe(characteristics(kIpAuth), in, ctx), Probe::No);
  EXPECT_EQ(probe(characteristics(kIpAuth), meta(m2rfc, kIpv6, Dir::Outbound), ctx), Probe::No);
}

TEST(Vl2RulesMatch, FrameSizeRandomAndUnknownTypes) {
  Bytes p(100, 0);
  FrameMeta f = meta(p, 0x88b5);
  EXPECT_EQ(probe({{"type", "MATCH_FRAME_SIZE_RANGE"}, {"start", 64}, {"end", 128}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_FRAME_SIZE_RANGE"}, {"start", 100}, {"end", 100}}, f), Probe::Yes);
  EXPECT_EQ(probe({{"type", "MATCH_FRAME_SIZE_RANGE"}, {"start", 101}, {"end", 2000}}, f), Probe::No);

  auto list = rules({{{"type", "MATCH_RANDOM"}, {"probability", 0x80000000u}}, kAccept});
  FixedRandom random;
  random.value = 0x80000000u;
  EXPECT_EQ(evaluateRuleList(f, list, {}, random).result, ListResult::Accept);
  random.value = 0x80000001u;
  EXPECT_EQ(evaluateRuleList(f, list, {}, random).result, ListResult::NoMatch);
  EXPECT_EQ(random.calls, 2);

  // An unknown match type (20, with the NOT bit) matches only with config flag 0x08.
  auto unknown = parseRules(Bytes{0x14, 0x00, 0x01, 0x00});
  auto negated = parseRules(Bytes{0x94, 0x00, 0x01, 0x00});
  ASSERT_TRUE(unknown && negated);
  RulesContext flag08;
  flag08.unknownMatchesMatch = true;
  EXPECT_EQ(evaluateRuleList(f, *unknown, {}, random).result, ListResult::NoMatch);
  EXPECT_EQ(evaluateRuleList(f, *unknown, flag08, random).result, ListResult::Accept);
  EXPECT_EQ(evaluateRuleList(f, *negated, {}, random).result, ListResult::Accept);
}

TEST(Vl2RulesMatch, IntegerRange) {
  Bytes p = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
  FrameMeta f = meta(p, 0x88b5);
  auto range = [](uint64_t start, uint64_t end, unsigned idx, unsigned bits, bool little) {
    return json{{"type", "MATCH_INTEGER_RANGE"}, {"start", start}, {"end", end}, {"idx", idx}, {"bits", bits},
                {"little", little}};
  };
  // Big-endian 16 bits at index 2: the bytes i+6, i+7 = 0x8899.
  EXPECT_EQ(probe(range(0x8899, 0x8899, 2, 16, false), f), Probe::Yes);
  EXPECT_EQ(probe(range(0x2233, 0x2233, 2, 16, false), f), Probe::No);
  // 12 bits keep the low 12 bits of the two bytes: 0x899.
  EXPECT_EQ(probe(range(0x899, 0x899, 2, 12, false), f), Probe::Yes);
  // Little-endian 16 bits at index 2: 0x3322; 12 bits: its top 12 bits, 0x332.
  EXPECT_EQ(probe(range(0x3322, 0x3322, 2, 16, true), f), Probe::Yes);
  EXPECT_EQ(probe(range(0x332, 0x332, 2, 12, true), f), Probe::Yes);
  EXPECT_EQ(probe(range(0x8899, 0x8899, 2, 16, true), f), Probe::No);
  // 64 bits big-endian at index 4: bytes 4..11.
  EXPECT_EQ(probe(range(0x445566778899aabbULL, 0x445566778899aabbULL, 4, 64, false), f), Probe::Yes);
  // Past the end: the value is 0.
  EXPECT_EQ(probe(range(0, 0, 5, 8, false), f), Probe::Yes);
  EXPECT_EQ(probe(range(1, 0xff, 5, 8, false), f), Probe::No);
  EXPECT_EQ(probe(range(0, 0, 11, 16, true), f), Probe::Yes);
  // The width end - start is truncated to 32 bits: [0, 2^32 + 5] acts as [0, 5].
  EXPECT_EQ(probe(range(0, (1ULL << 32) + 5, 0, 8, false), f), Probe::No);  // byte 7 = 0x77
  EXPECT_EQ(probe(range(0, (1ULL << 32) + 0x77, 0, 8, false), f), Probe::Yes);
}

// ---- tags ------------------------------------------------------------------------------------

json tagRule(const char* type, uint32_t id, uint32_t value) { return {{"type", type}, {"id", id}, {"value", value}}; }

TEST(Vl2RulesTags, ComparisonsWhenBothTagsAreKnown) {
  Bytes p = ipv4(17, udp(1, 2));
  std::array<TagValue, 2> senderTags{TagValue{7, 0}, TagValue{100, 6}};
  std::array<TagValue, 1> receiverTags{TagValue{100, 3}};
  RulesContext ctx;
  ctx.senderTags = senderTags;
  ctx.receiverTags = receiverTags;
  for (Dir d : {Dir::Outbound, Dir::Inbound}) {
    FrameMeta f = meta(p, kIpv4, d);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_DIFFERENCE", 100, 3), f, ctx), Probe::Yes);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_DIFFERENCE", 100, 2), f, ctx), Probe::No);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_BITWISE_AND", 100, 2), f, ctx), Probe::Yes);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_BITWISE_AND", 100, 6), f, ctx), Probe::No);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_BITWISE_OR", 100, 7), f, ctx), Probe::Yes);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_BITWISE_OR", 100, 6), f, ctx), Probe::No);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_BITWISE_XOR", 100, 5), f, ctx), Probe::Yes);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_BITWISE_XOR", 100, 7), f, ctx), Probe::No);
    EXPECT_EQ(probe(tagRule("MATCH_TAGS_EQUAL", 100, 6), f, ctx), Probe::No);
    EXPECT_EQ(probe(tagRule("MATCH_TAG_SENDER", 100, 6), f, ctx), Probe::Yes);
    EXPECT_EQ(probe(tagRule("MATCH_TAG_SENDER", 100, 3), f, ctx), Probe::No);
    EXPECT_EQ(probe(tagRule("MATCH_TAG_RECEIVER", 100, 3), f, ctx), Probe::Yes);
    EXPECT_EQ(probe(tagRule("MATCH_TAG_RECEIVER", 100, 6), f, ctx), Probe::No);
  }
  std::array<TagValue, 1> same{TagValue{100, 6}};
  ctx.receiverTags = same;
  EXPECT_EQ(probe(tagRule("MATCH_TAGS_EQUAL", 100, 6), meta(p, kIpv4), ctx), Probe::Yes);
  // The difference is taken without wrapping: |0 - 0xffffffff| = 0xffffffff.
  std::array<TagValue, 1> zero{TagValue{100, 0}}, max{TagValue{100, 0xffffffffu}};
  ctx.senderTags = zero, ctx.receiverTags = max;
  EXPECT_EQ(probe(tagRule("MATCH_TAGS_DIFFERENCE", 100, 1), meta(p, kIpv4), ctx), Probe::No);
}

TEST(Vl2RulesTags, MissingTags) {
  Bytes p = ipv4(17, udp(1, 2));
  std::array<TagValue, 1> tags{TagValue{100, 1}};
  RulesContext senderOnly, receiverOnly;
  senderOnly.senderTags = tags;
  receiverOnly.receiverTags = tags;
  FrameMeta out = meta(p, kIpv4, Dir::Outbound), in = meta(p, kIpv4, Dir::Inbound);
  json diff = tagRule("MATCH_TAGS_DIFFERENCE", 100, 0);
  // We lack the tag: a hard no in both directions.
  EXPECT_EQ(probe(diff, out, receiverOnly), Probe::HardNo);
  EXPECT_EQ(probe(diff, in, senderOnly), Probe::HardNo);
  // The peer's tag is unknown: outbound a hard yes, inbound a hard no.
  EXPECT_EQ(probe(diff, out, senderOnly), Probe::HardYes);
  EXPECT_EQ(probe(diff, in, receiverOnly), Probe::HardNo);
  // TAG_SENDER: our own side needs our tag; the peer's unknown tag is a hard no.
  EXPECT_EQ(probe(tagRule("MATCH_TAG_SENDER", 100, 1), out, senderOnly), Probe::Yes);
  EXPECT_EQ(probe(tagRule("MATCH_TAG_SENDER", 100, 1), out, receiverOnly), Probe::HardNo);
  EXPECT_EQ(probe(tagRule("MATCH_TAG_SENDER", 100, 1), in, receiverOnly), Probe::HardNo);
  // TAG_RECEIVER: the peer's (outbound) unknown tag defers to the receiver: a hard yes.
  EXPECT_EQ(probe(tagRule("MATCH_TAG_RECEIVER", 100, 1), out, senderOnly), Probe::HardYes);
  EXPECT_EQ(probe(tagRule("MATCH_TAG_RECEIVER", 100, 1), in, receiverOnly), Probe::Yes);
  EXPECT_EQ(probe(tagRule("MATCH_TAG_RECEIVER", 100, 1), in, senderOnly), Probe::HardNo);
}

TEST(Vl2RulesTags, UnknownPeerTagSkipsTheNextDropOnly) {
  Bytes p = ipv4(17, udp(1, 2));
  std::array<TagValue, 1> tags{TagValue{100, 4}};
  RulesContext ctx;
  ctx.senderTags = tags;
  json notDiff = tagRule("MATCH_TAGS_DIFFERENCE", 100, 2);
  notDiff["not"] = true;
  FrameMeta out = meta(p, kIpv4, Dir::Outbound);
  // `rich` rules 7-8 with the receiver's tag unknown: the DROP is skipped, the receiver decides.
  EXPECT_EQ(walk({notDiff, kDrop, kAccept}, out, ctx), ListResult::Accept);
  // Only one DROP is skipped.
  EXPECT_EQ(walk({notDiff, kDrop, kDrop, kAccept}, out, ctx), ListResult::Drop);
  // The skip survives actions not taken and waits for the next DROP that is taken.
  EXPECT_EQ(walk({notDiff, protocol(6), kDrop, kDrop, kAccept}, out, ctx), ListResult::Accept);
  // The receiver knows both tags: |1 - 4| > 2 drops.
  std::array<TagValue, 1> receiverTags{TagValue{100, 1}};
  RulesContext receiver;
  receiver.senderTags = tags;
  receiver.receiverTags = receiverTags;
  EXPECT_EQ(walk({notDiff, kDrop, kAccept}, meta(p, kIpv4, Dir::Inbound), receiver), ListResult::Drop);
}

// ---- actions ---------------------------------------------------------------------------------

json copyRule(const char* type, Address target, unsigned length) {
  return {{"type", type}, {"address", target.toString()}, {"flags", 0}, {"length", length}};
}

TEST(Vl2RulesActions, TeeAndWatchCopies) {
  Bytes p = ipv4(1, icmp(8, 0, 200));
  FrameMeta f = meta(p, kIpv4);
  FixedRandom random;
  auto list = rules({copyRule("ACTION_TEE", kOther, 128), kAccept});
  ListVerdict v = evaluateRuleList(f, list, {}, random);
  EXPECT_EQ(v.result, ListResult::Accept);
  EXPECT_EQ(v.copy, (RuleCopy{kOther, 128, false}));
  EXPECT_EQ(copyFrameFlags(Dir::Outbound, v.copy), 0x02);
  EXPECT_EQ(copyFrameFlags(Dir::Inbound, v.copy), 0x08);

  // Length 0 or longer than the payload: the whole payload. A later copy replaces an earlier.
  list = rules({copyRule("ACTION_TEE", kOther, 4000), copyRule("ACTION_WATCH", Address{0x4444444444}, 0), kAccept});
  v = evaluateRuleList(f, list, {}, random);
  EXPECT_EQ(v.copy, (RuleCopy{Address{0x4444444444}, uint32_t(p.size()), true}));
  EXPECT_EQ(copyFrameFlags(Dir::Outbound, v.copy), 0x16);
  EXPECT_EQ(copyFrameFlags(Dir::Inbound, v.copy), 0x1c);

  // Copies to the sender or the receiver are not made.
  for (Address a : {kSender, kReceiver}) {
    list = rules({copyRule("ACTION_TEE", a, 0), kAccept});
    v = evaluateRuleList(f, list, {}, random);
    EXPECT_EQ(v.result, ListResult::Accept);
    EXPECT_EQ(v.copy, RuleCopy{});
  }
}

TEST(Vl2RulesActions, CopiesAreMadeOnlyWhenTheFrameIsAccepted) {
  Bytes p = ipv4(1, icmp(8, 0));
  FixedRandom random;
  auto list = rules({copyRule("ACTION_TEE", kOther, 0), kDrop});
  RulesContext ctx;
  ctx.networkRules = list;
  RulesVerdict v = evaluateRules(meta(p, kIpv4), ctx, random);
  EXPECT_EQ(v.action, RulesAction::Drop);
  EXPECT_EQ(v.networkCopy, RuleCopy{});
}

TEST(Vl2RulesActions, InboundCopyToUsSuperAccepts) {
  Bytes p = ipv4(1, icmp(8, 0));
  FrameMeta in = meta(p, kIpv4, Dir::Inbound), out = meta(p, kIpv4, Dir::Outbound);
  // Taken: the walk ends with SUPER_ACCEPT inbound; outbound (us = sender) nothing happens.
  EXPECT_EQ(walk({copyRule("ACTION_WATCH", kReceiver, 0), kDrop}, in), ListResult::SuperAccept);
  EXPECT_EQ(walk({copyRule("ACTION_WATCH", kReceiver, 0), kDrop}, out), ListResult::Drop);
  // Not taken: remembered inbound, so a later ACCEPT is a SUPER_ACCEPT.
  json notTaken = {protocol(6), copyRule("ACTION_TEE", kReceiver, 0), kAccept};
  EXPECT_EQ(walk(notTaken, in), ListResult::SuperAccept);
  EXPECT_EQ(walk(notTaken, out), ListResult::Accept);
  // While super-accepting, an unknown peer tag defers instead of failing.
  std::array<TagValue, 1> tags{TagValue{100, 1}};
  RulesContext ctx;
  ctx.receiverTags = tags;
  json notDiff = tagRule("MATCH_TAGS_DIFFERENCE", 100, 2);
  notDiff["not"] = true;
  EXPECT_EQ(walk({protocol(6), copyRule("ACTION_TEE", kReceiver, 0), notDiff, kDrop, kAccept}, in, ctx),
            ListResult::SuperAccept);
  EXPECT_EQ(walk({protocol(6), copyRule("ACTION_TEE", kReceiver, 0), tagRule("MATCH_TAG_SENDER", 100, 9), kDrop,
                  kAccept},
                 in, ctx),
            ListResult::SuperAccept);
  FixedRandom random;
  RulesContext network;
  auto list = rules(notTaken);
  network.networkRules = list;
  EXPECT_EQ(evaluateRules(in, network, random).action, RulesAction::SuperAccept);
  EXPECT_EQ(evaluateRules(out, network, random).action, RulesAction::Accept);
}

TEST(Vl2RulesActions, Redirect) {
  Bytes p = ipv4(6, tcp(1, 80, kSyn));
  FixedRandom random;
  auto list = rules({protocol(6), copyRule("ACTION_REDIRECT", kOther, 0), kAccept});
  RulesContext ctx;
  ctx.networkRules = list;
  for (Dir d : {Dir::Outbound, Dir::Inbound}) {
    RulesVerdict v = evaluateRules(meta(p, kIpv4, d), ctx, random);
    EXPECT_EQ(v.networkResult, ListResult::Redirect);
    EXPECT_EQ(v.action, RulesAction::Accept);
    EXPECT_EQ(v.redirectTarget, kOther);
  }
  EXPECT_EQ(redirectFrameFlags(Dir::Outbound), 0x04);
  EXPECT_EQ(redirectFrameFlags(Dir::Inbound), 0x0a);
  // A redirect to the receiver does nothing.
  list = rules({copyRule("ACTION_REDIRECT", kReceiver, 0), kDrop});
  EXPECT_EQ(evaluateRuleList(meta(p, kIpv4), list, {}, random).result, ListResult::Drop);
}

TEST(Vl2RulesCapabilities, ConsultedInOrderWhenTheNetworkRulesEndWithoutVerdict) {
  Bytes ssh = ipv4(6, tcp(40000, 22, kSyn)), web = ipv4(6, tcp(40000, 80, kSyn)), u = ipv4(17, udp(1, 22));
  json dport22 = {{"type", "MATCH_IP_DEST_PORT_RANGE"}, {"start", 22}, {"end", 22}};
  auto network = rules({protocol(6), dport22, kBreak, protocol(6), kDrop, copyRule("ACTION_TEE", kOther, 64), kAccept});
  std::array<Capability, 3> caps;
  caps[0].id = 1, caps[0].rules = rules({protocol(17), kAccept});
  caps[1].id = 1000, caps[1].rules = rules({protocol(6), copyRule("ACTION_WATCH", Address{0x4444444444}, 0), kAccept});
  caps[2].id = 2000, caps[2].rules = rules(json::array({kAccept}));
  RulesContext ctx;
  ctx.networkRules = network;
  ctx.capabilities = caps;
  FixedRandom random;

  RulesVerdict v = evaluateRules(meta(ssh, kIpv4), ctx, random);
  EXPECT_EQ(v.action, RulesAction::Accept);
  EXPECT_EQ(v.networkResult, ListResult::NoMatch);
  EXPECT_EQ(v.capabilityId, 1000u);
  EXPECT_EQ(v.capabilityCopy, (RuleCopy{Address{0x4444444444}, uint32_t(ssh.size()), true}));
  EXPECT_EQ(v.networkCopy, RuleCopy{});

  // The network rules' DROP is final: capabilities are not consulted.
  v = evaluateRules(meta(web, kIpv4), ctx, random);
  EXPECT_EQ(v.action, RulesAction::Drop);
  EXPECT_EQ(v.networkResult, ListResult::Drop);
  EXPECT_FALSE(v.capabilityId);

  // Accepted by the network rules: their copy, no capability.
  v = evaluateRules(meta(u, kIpv4), ctx, random);
  EXPECT_EQ(v.action, RulesAction::Accept);
  EXPECT_FALSE(v.capabilityId);
  EXPECT_EQ(v.networkCopy, (RuleCopy{kOther, uint32_t(u.size()), false}));  // shorter than 64

  // No capability accepts: dropped.
  ctx.capabilities = std::span(caps).first(1);
  EXPECT_EQ(evaluateRules(meta(ssh, kIpv4), ctx, random).action, RulesAction::Drop);
}

TEST(Vl2RulesCapabilities, NetworkCopyBeforeBreakIsKeptWhenACapabilityAccepts) {
  Bytes ssh = ipv4(6, tcp(40000, 22, kSyn));
  auto network = rules({copyRule("ACTION_TEE", kOther, 10), kBreak});
  std::array<Capability, 2> caps;
  caps[0].id = 5, caps[0].rules = rules({copyRule("ACTION_TEE", Address{0x4444444444}, 0), kDrop});
  caps[1].id = 6, caps[1].rules = rules(json::array({kAccept}));
  RulesContext ctx;
  ctx.networkRules = network;
  ctx.capabilities = caps;
  FixedRandom random;
  RulesVerdict v = evaluateRules(meta(ssh, kIpv4, Dir::Inbound), ctx, random);
  EXPECT_EQ(v.action, RulesAction::Accept);
  EXPECT_EQ(v.capabilityId, 6u);
  EXPECT_EQ(v.networkCopy, (RuleCopy{kOther, 10, false}));
  EXPECT_EQ(v.capabilityCopy, RuleCopy{});  // the dropping capability's copy is not made
}

// ---- the `rich` capture ----------------------------------------------------------------------

const fs::path kRich = fs::path(ZT_VECTORS) / "rich";
constexpr uint64_t kRichNetwork = 0x315595f4f8c0ffeeULL;
const Address kM1{0x1233366eb5}, kM2{0x89fafc907b}, kM3{0x64a5e01ea0};

Bytes readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A member's view of the network: the config 1.14's controller sent it, and its tag values.
struct Member {
  Address address;
  NetworkConfig config;
  std::vector<TagValue> tags;
};

Member loadMember(Address address) {
  Member m{address};
  // Any of its configs: the credentials did not change between them; use the first by name.
  std::vector<fs::path> dicts;
  for (const auto& e : fs::directory_iterator(kRich))
    if (e.path().filename().string().starts_with("netconf-" + address.toString())) dicts.push_back(e.path());
  std::sort(dicts.begin(), dicts.end());
  EXPECT_FALSE(dicts.empty());
  if (dicts.empty()) return m;
  auto dict = Dictionary::parse(readFile(dicts.front()));
  EXPECT_TRUE(dict) << dict.error();
  auto config = NetworkConfig::fromDictionary(*dict);
  EXPECT_TRUE(config) << config.error();
  if (!config) return m;
  m.config = *config;
  for (const Tag& t : m.config.tags) m.tags.push_back({t.id, t.value});
  return m;
}

// The member MAC of §1.
MacAddress macOf(Address a, uint64_t network) {
  MacAddress mac;
  uint8_t first = uint8_t((network & 0xfe) | 0x02);
  mac[0] = first == 0x52 ? 0x32 : first;
  for (int i = 1; i <= 5; ++i)
    mac[i] = uint8_t(a.value >> (8 * (5 - i))) ^ uint8_t(network >> (8 * i));
  return mac;
}

class Vl2RulesRich : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    members_ = new std::map<Address, Member>;
    for (Address a : {kM1, kM2, kM3}) (*members_)[a] = loadMember(a);
  }
  static void TearDownTestSuite() { delete members_; }
  static const Member& member(Address a) { return members_->at(a); }

  // The verdict of `at` (sender: outbound, receiver: inbound) on a frame from `from` to `to`,
  // each side knowing the other's tags and capabilities as pushed.
  static RulesVerdict judge(Address from, Address to, uint16_t etherType, const Bytes& payload, Dir direction) {
    const Member &sender = member(from), &receiver = member(to);
    const Member& self = direction == Dir::Outbound ? sender : receiver;
    FrameMeta f;
    f.networkId = kRichNetwork;
    f.direction = direction;
    f.sender = from;
    f.receiver = to;
    f.sourceMac = macOf(from, kRichNetwork);
    f.destMac = macOf(to, kRichNetwork);
    f.etherType = etherType;
    f.payload = payload;
    RulesContext ctx;
    ctx.networkRules = self.config.rules;
    ctx.capabilities = sender.config.capabilities;  // outbound our own, inbound the sender's
    ctx.senderTags = sender.tags;
    ctx.receiverTags = receiver.tags;
    ctx.ownership = sender.config.coos;
    if (direction == Dir::Inbound && self.config.ndpEmulation())
      ctx.ndpEmulatedAddresses = self.config.assignedAddresses;
    ctx.unknownMatchesMatch = self.config.flags & NetworkConfig::kFlagRulesUnknownMatch;
    FixedRandom random;
    return evaluateRules(f, ctx, random);
  }

  // Both ends' verdicts: 1.14 sends only what the sender's outbound pass accepts.
  static void expectFlow(Address from, Address to, uint16_t etherType, const Bytes& payload, bool passes,
                         const std::string& what) {
    for (Dir d : {Dir::Outbound, Dir::Inbound})
      EXPECT_EQ(judge(from, to, etherType, payload, d).accepted(), passes)
          << what << (d == Dir::Outbound ? " (sender)" : " (receiver)");
  }

  static Ip4 v4Of(Address a) {
    return a == kM1 ? Ip4{198, 19, 1, 5} : a == kM2 ? Ip4{198, 19, 1, 19} : Ip4{198, 19, 1, 14};
  }
  static Bytes ping4(Address from, Address to, uint8_t type, size_t size = 56) {
    return ipv4(1, icmp(type, 0, size), v4Of(from), v4Of(to));
  }

  static std::map<Address, Member>* members_;
};
std::map<Address, Member>* Vl2RulesRich::members_ = nullptr;

TEST_F(Vl2RulesRich, CredentialsAsIssued) {
  auto network = json::parse(std::ifstream(kRich / "network.json"));
  auto fromJson = rulesFromJson(network["rules"]);
  ASSERT_TRUE(fromJson) << fromJson.error();
  ASSERT_EQ(fromJson->size(), 44u);
  for (Address a : {kM1, kM2, kM3}) EXPECT_EQ(member(a).config.rules, *fromJson) << a.toString();
  ASSERT_EQ(member(kM1).config.capabilities.size(), 1u);
  EXPECT_EQ(member(kM1).config.capabilities[0].id, 1000u);
  EXPECT_EQ(member(kM1).config.capabilities[0].rules, rules(network["capabilities"][0]["rules"]));
  EXPECT_TRUE(member(kM2).config.capabilities.empty());
  EXPECT_EQ(member(kM1).tags, (std::vector<TagValue>{{100, 1}}));
  EXPECT_EQ(member(kM2).tags, (std::vector<TagValue>{{100, 3}}));
  EXPECT_EQ(member(kM3).tags, (std::vector<TagValue>{{100, 4}}));
}

TEST_F(Vl2RulesRich, TcpToPort22PassesOnlyWithTheCapability) {
  Bytes m1ToM2 = ipv4(6, tcp(41000, 22, kSyn), v4Of(kM1), v4Of(kM2));
  Bytes m2ToM1 = ipv4(6, tcp(41000, 22, kSyn), v4Of(kM2), v4Of(kM1));
  expectFlow(kM1, kM2, kIpv4, m1ToM2, true, "m1 -> m2 tcp 22");
  expectFlow(kM2, kM1, kIpv4, m2ToM1, false, "m2 -> m1 tcp 22");
  RulesVerdict v = judge(kM1, kM2, kIpv4, m1ToM2, Dir::Outbound);
  EXPECT_EQ(v.networkResult, ListResult::NoMatch);  // rule 35: BREAK
  EXPECT_EQ(v.capabilityId, 1000u);
  EXPECT_EQ(judge(kM2, kM1, kIpv4, m2ToM1, Dir::Outbound).networkResult, ListResult::NoMatch);
  // The replies (ACK from port 22) are not port 22 traffic and pass on the network rules.
  Bytes reply = ipv4(6, tcp(22, 41000, kSyn | kAck), v4Of(kM2), v4Of(kM1));
  expectFlow(kM2, kM1, kIpv4, reply, true, "m2 -> m1 tcp reply from 22");
}

TEST_F(Vl2RulesRich, Udp9995IsDroppedAndUdp5000Passes) {
  Bytes u9995 = ipv4(17, udp(50000, 9995, "x"), v4Of(kM1), v4Of(kM2));
  Bytes u5000 = ipv4(17, udp(50000, 5000, "udp-pass"), v4Of(kM1), v4Of(kM2));
  expectFlow(kM1, kM2, kIpv4, u9995, false, "udp 9995");
  expectFlow(kM1, kM2, kIpv4, u5000, true, "udp 5000");
  EXPECT_EQ(judge(kM1, kM2, kIpv4, u9995, Dir::Outbound).networkResult, ListResult::Drop);
  EXPECT_EQ(judge(kM1, kM2, kIpv4, u5000, Dir::Outbound).networkResult, ListResult::Accept);
}

TEST_F(Vl2RulesRich, TagDifferenceGatesM3) {
  for (auto [peer, passes] : {std::pair{kM2, true}, std::pair{kM1, false}}) {
    expectFlow(kM3, peer, kIpv4, ping4(kM3, peer, 8), passes, "m3 -> " + peer.toString() + " echo request");
    expectFlow(peer, kM3, kIpv4, ping4(peer, kM3, 0), passes, peer.toString() + " -> m3 echo reply");
  }
  // Before m3 learns m1's tag, its own pass lets the frame go (DROP skipped) and m1 drops it.
  const Member& m3 = member(kM3);
  Bytes p = ping4(kM3, kM1, 8);
  FrameMeta f = meta(p, kIpv4, Dir::Outbound);
  f.sender = kM3, f.receiver = kM1;
  RulesContext ctx;
  ctx.networkRules = m3.config.rules;
  ctx.senderTags = m3.tags;
  FixedRandom random;
  EXPECT_TRUE(evaluateRules(f, ctx, random).accepted());
}

TEST_F(Vl2RulesRich, EchoRequestsAreTeedToM3ByBothEnds) {
  for (size_t size : {56u, 1972u}) {
    Bytes request = ping4(kM1, kM2, 8, size), reply = ping4(kM2, kM1, 0, size);
    for (Dir d : {Dir::Outbound, Dir::Inbound}) {
      RulesVerdict v = judge(kM1, kM2, kIpv4, request, d);
      EXPECT_EQ(v.action, RulesAction::Accept);
      EXPECT_EQ(v.networkCopy, (RuleCopy{kM3, uint32_t(std::min<size_t>(request.size(), 128)), false}));
      EXPECT_EQ(copyFrameFlags(d, v.networkCopy), d == Dir::Outbound ? 0x02 : 0x08);
      RulesVerdict r = judge(kM2, kM1, kIpv4, reply, d);
      EXPECT_EQ(r.action, RulesAction::Accept);
      EXPECT_EQ(r.networkCopy, RuleCopy{});
    }
  }
  // m3's own echo requests: the TEE target is the sender, so no copy.
  EXPECT_EQ(judge(kM3, kM2, kIpv4, ping4(kM3, kM2, 8), Dir::Outbound).networkCopy, RuleCopy{});
  EXPECT_EQ(judge(kM3, kM2, kIpv4, ping4(kM3, kM2, 8), Dir::Inbound).networkCopy, RuleCopy{});
}

TEST_F(Vl2RulesRich, PingsBetweenMembersPass) {
  auto v6 = [](const char* text) {
    auto a = InetAddress::parse(text);
    Ip6 ip;
    std::copy(a->ip.begin(), a->ip.end(), ip.begin());
    return ip;
  };
  Ip6 m1 = v6("fd31:5595:f4f8:c0ff:ee99:9312:3336:6eb5"), m2 = v6("fd31:5595:f4f8:c0ff:ee99:9389:fafc:907b");
  expectFlow(kM1, kM2, kIpv6, ipv6(58, icmp(128, 0, 56), {}, m1, m2), true, "ping6 request");
  expectFlow(kM2, kM1, kIpv6, ipv6(58, icmp(129, 0, 56), {}, m2, m1), true, "ping6 reply");
  expectFlow(kM2, kM1, kIpv4, ping4(kM2, kM1, 8), true, "m2 -> m1 ping");
  expectFlow(kM1, kM2, kArp, arp(v4Of(kM1)), true, "arp");
  Bytes lldp(60, 0);
  expectFlow(kM1, kM2, 0x88cc, lldp, false, "neither IPv4, ARP nor IPv6");
}

// Every FRAME of the capture was accepted by its sender's outbound pass, and the copies the rules
// predict at both ends are exactly the EXT_FRAMEs 1.14 sent (flags, MACs, ethertype, payload).
TEST_F(Vl2RulesRich, CapturedFramesAndCopiesAgree) {
  std::ifstream in(kRich / "session.jsonl");
  std::multiset<std::string> predicted, captured;
  size_t frames = 0;
  for (std::string line; std::getline(in, line);) {
    json o = json::parse(line);
    if (o["kind"] != "packet" || !o.value("authenticated", false) || o["hops"] != 0) continue;
    int verb = o["verb"];
    if (verb != 6 && verb != 7) continue;
    Bytes packet = *fromHex(o["plaintextHex"].get<std::string>());
    Address from = *Address::parse(o["source"].get<std::string>()), to = *Address::parse(o["destination"].get<std::string>());
    ByteView body = ByteView(packet).subspan(28);
    if (verb == 7) {  // network id, flags, then the frame: keep flags and what follows
      captured.insert(from.toString() + ">" + to.toString() + ":" + toHex(body.subspan(8)));
      continue;
    }
    ++frames;
    uint16_t etherType = loadU16(body.data() + 8);
    Bytes payload(body.begin() + 10, body.end());
    for (Dir d : {Dir::Outbound, Dir::Inbound}) {
      RulesVerdict v = judge(from, to, etherType, payload, d);
      EXPECT_TRUE(v.accepted()) << "frame " << from.toString() << " -> " << to.toString();
      if (v.networkCopy.target == Address{}) continue;
      Writer w;
      w.u8(copyFrameFlags(d, v.networkCopy)).bytes(macOf(to, kRichNetwork)).bytes(macOf(from, kRichNetwork));
      w.u16(etherType).bytes(ByteView(payload).first(v.networkCopy.length));
      Address copier = d == Dir::Outbound ? from : to;
      predicted.insert(copier.toString() + ">" + v.networkCopy.target.toString() + ":" + toHex(w.data()));
    }
  }
  EXPECT_EQ(frames, 67u);
  EXPECT_EQ(captured.size(), 20u);
  EXPECT_EQ(predicted, captured);
}

}  // namespace
}  // namespace zt
