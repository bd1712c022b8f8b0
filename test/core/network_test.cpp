// VL2 end to end: a root, a controller node and three members in one process over the simulated
// underlay of lab.hpp, using the `rich` capture's identities, network id and network record.
// Everything but the UDP is real: the members' Networks, the rules engine, credentials,
// multicast, and the controller node's NetworkController over an in-memory ControllerStore.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "controller/controller.hpp"
#include "crypto/armor.hpp"
#include "lab.hpp"
#include "node.hpp"
#include "vl1/world.hpp"
#include "vl2/credentials.hpp"
#include "vl2/mac.hpp"
#include "vl2/multicast.hpp"
#include "vl2/ndp.hpp"
#include "vl2/netconf.hpp"
#include "vl2/rules.hpp"
#include "wire/packet.hpp"
#include "wire/verbs_vl1.hpp"
#include "wire/verbs_vl2.hpp"

namespace zt {
namespace {

using nlohmann::json;
using lab::Datagram;
using lab::DeliveredFrame;
using lab::LabHost;
using lab::labAddress;

const std::string kRich = std::string(ZT_VECTORS) + "/rich/";
constexpr uint64_t kNetworkId = 0x315595f4f8c0ffeeULL;
constexpr uint16_t kIpv4 = 0x0800, kArp = 0x0806, kIpv6 = 0x86dd;

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string richSecret(const std::string& name) { return readText(kRich + name + ".identity.secret"); }

Identity richIdentity(const std::string& name) {
  Result<Identity> id = Identity::fromString(richSecret(name));
  EXPECT_TRUE(id.ok());
  return *id;
}

// ------------------------------------------------------------------------------------------------
// Frames a host would send
// ------------------------------------------------------------------------------------------------

std::array<uint8_t, 4> ipv4Of(const VirtualNetworkConfig& c) {
  for (const InetAddress& a : c.assignedAddresses)
    if (a.family == InetAddress::Family::V4) return {a.ip[0], a.ip[1], a.ip[2], a.ip[3]};
  ADD_FAILURE() << "no IPv4 address";
  return {};
}

InetAddress ipv6Of(const VirtualNetworkConfig& c, uint8_t firstByte, uint16_t prefix) {
  for (const InetAddress& a : c.assignedAddresses)
    if (a.family == InetAddress::Family::V6 && a.ip[0] == firstByte && a.port == prefix) return a;
  ADD_FAILURE() << "no IPv6 address of that kind";
  return {};
}

// IPv4 header (no checksum: nobody checks it here) + `upper` bytes.
Bytes ipv4Packet(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint8_t protocol, const Bytes& upper) {
  Bytes p(20, 0);
  p[0] = 0x45;
  storeU16(p.data() + 2, uint16_t(20 + upper.size()));
  p[8] = 64;
  p[9] = protocol;
  std::copy(src.begin(), src.end(), p.begin() + 12);
  std::copy(dst.begin(), dst.end(), p.begin() + 16);
  p.insert(p.end(), upper.begin(), upper.end());
  return p;
}

Bytes icmpEcho(size_t dataLength) {
  Bytes b(8 + dataLength, 0xab);
  b[0] = 8, b[1] = 0;
  return b;
}

Bytes transportHeader(uint16_t srcPort, uint16_t dstPort, bool tcp) {
  Bytes b(tcp ? 20 : 8, 0);
  storeU16(b.data(), srcPort);
  storeU16(b.data() + 2, dstPort);
  if (tcp) b[12] = 0x50, b[13] = 0x02;  // SYN
  return b;
}

Bytes ipv6Packet(const InetAddress& src, const InetAddress& dst, uint8_t next, const Bytes& upper) {
  Bytes p(40, 0);
  p[0] = 0x60;
  storeU16(p.data() + 4, uint16_t(upper.size()));
  p[6] = next;
  p[7] = 255;
  std::copy(src.ip.begin(), src.ip.end(), p.begin() + 8);
  std::copy(dst.ip.begin(), dst.ip.end(), p.begin() + 24);
  p.insert(p.end(), upper.begin(), upper.end());
  return p;
}

Bytes arpPacket(uint16_t op, uint64_t senderMac, std::array<uint8_t, 4> senderIp, uint64_t targetMac,
                std::array<uint8_t, 4> targetIp) {
  Bytes p(28, 0);
  storeU16(p.data(), 1);
  storeU16(p.data() + 2, 0x0800);
  p[4] = 6, p[5] = 4;
  storeU16(p.data() + 6, op);
  const auto sm = macBytes(senderMac), tm = macBytes(targetMac);
  std::copy(sm.begin(), sm.end(), p.begin() + 8);
  std::copy(senderIp.begin(), senderIp.end(), p.begin() + 14);
  std::copy(tm.begin(), tm.end(), p.begin() + 18);
  std::copy(targetIp.begin(), targetIp.end(), p.begin() + 24);
  return p;
}

// ------------------------------------------------------------------------------------------------
// The lab
// ------------------------------------------------------------------------------------------------

class NetworkLab : public ::testing::Test, protected lab::Lab {
 protected:
  void SetUp() override {
    net.now = 1'795'566'153'000;  // the rich capture's time
    const lab::KeyPair signer = lab::freshKeyPair();
    planet = lab::makePlanet(richIdentity("root"), labAddress(1), 1'900'000'000'000, signer, signer.pub);

    json network = json::parse(std::ifstream(kRich + "network.json"));
    network["multicastLimit"] = 8;
    store.saveNetwork(network);
    for (const char* name : {"member-1233366eb5.json", "member-89fafc907b.json", "member-64a5e01ea0.json"}) {
      json m = json::parse(std::ifstream(kRich + name));
      m["activeBridge"] = false;
      m["lastDeauthorizedTime"] = 0;
      if (m["address"] != "1233366eb5") m["ipAssignments"] = json::array();  // picked from the pools
      store.saveMember(m);
    }
    root = &addHost(1, richSecret("root"), {.rootMode = true});
    ctl = &addHost(2, richSecret("ctl"));
    controller = std::make_unique<NetworkController>(ctl->identity, store);
    ctl->node->setNetconfMaster(controller.get());
    m1 = &addHost(3, richSecret("m1"));
    m2 = &addHost(4, richSecret("m2"));
    m3 = &addHost(5, richSecret("m3"));
  }

  uint64_t macOf(const LabHost& h) const { return memberMac(h.identity.address(), kNetworkId); }
  VirtualNetworkConfig configOf(const LabHost& h) const { return *h.node->networkConfig(kNetworkId); }

  // Joins, lets configs arrive, and subscribes each port to its address-resolution groups (what
  // the host's 5 s scan does).
  void joinAll(std::initializer_list<LabHost*> members) {
    net.run(2000);  // HELLOs to the root
    for (LabHost* h : members) ASSERT_EQ(h->node->join(net.now, kNetworkId), ResultCode::Ok);
    net.run(12000);
    for (LabHost* h : members) subscribeResolutionGroups(*h);
    net.run(1000);
  }

  // Joins and runs only until every member has its config (as a host reacting to it at once).
  void joinUntilConfigured(std::initializer_list<LabHost*> members) {
    net.run(2000);  // HELLOs to the root
    for (LabHost* h : members) ASSERT_EQ(h->node->join(net.now, kNetworkId), ResultCode::Ok);
    auto configured = [&] {
      return std::all_of(members.begin(), members.end(),
                         [&](LabHost* h) { return configOf(*h).status == VirtualNetworkStatus::Ok; });
    };
    for (int64_t waited = 0; waited < 15000 && !configured(); waited += 10) net.run(10);
    ASSERT_TRUE(configured());
  }

  void subscribeResolutionGroups(LabHost& h) {
    const VirtualNetworkConfig c = configOf(h);
    for (const InetAddress& a : c.assignedAddresses) {
      const MulticastGroup g = a.family == InetAddress::Family::V4 ? arpGroup(a.ip.data()) : solicitedNodeGroup(a.ip.data());
      h.node->multicastSubscribe(net.now, kNetworkId, g.mac, g.adi);
    }
  }

  void sendFrame(LabHost& from, uint64_t dstMac, uint16_t etherType, const Bytes& payload) {
    from.node->processVirtualNetworkFrame(net.now, kNetworkId, macOf(from), dstMac, etherType, 0, payload);
    net.run(200);
  }

  // A record change through the controller, its messages sent by the controller node.
  void setMember(LabHost& h, json fields) {
    fields["nwid"] = "315595f4f8c0ffee";
    fields["id"] = h.identity.address().toString();
    Result<std::vector<ControllerMessage>> messages = controller->setMember(uint64_t(net.now), fields);
    ASSERT_TRUE(messages.ok()) << (messages.ok() ? "" : messages.error());
    ctl->node->sendControllerMessages(net.now, *messages);
  }

  void setAuthorized(LabHost& h, bool authorized) {
    json m = *store.member(kNetworkId, h.identity.address());
    m["authorized"] = authorized;
    store.saveMember(m);
  }

  uint64_t lastRequestOf(LabHost& h) {
    for (const MemberStatus& s : controller->memberStatus(uint64_t(net.now), kNetworkId))
      if (s.address == h.identity.address()) return s.lastSeen;
    return 0;
  }

  MemoryControllerStore store;
  std::unique_ptr<NetworkController> controller;
  LabHost *root = nullptr, *ctl = nullptr, *m1 = nullptr, *m2 = nullptr, *m3 = nullptr;
};

TEST_F(NetworkLab, AuthorisedMembersGetConfigsWithPoolAddressesAndDerivedMacs) {
  joinAll({m1, m2});
  for (LabHost* h : {m1, m2}) {
    const VirtualNetworkConfig c = configOf(*h);
    EXPECT_EQ(c.status, VirtualNetworkStatus::Ok) << virtualNetworkStatusName(c.status);
    EXPECT_EQ(c.mac, macOf(*h));
    EXPECT_EQ(c.name, "rich-renamed");
    EXPECT_EQ(c.mtu, 2800u);
    EXPECT_TRUE(c.broadcastEnabled);
    ASSERT_EQ(c.assignedAddresses.size(), 4u);
    EXPECT_EQ(c.assignedAddresses[0].port, 88);
    EXPECT_EQ(c.assignedAddresses[1].port, 40);
    EXPECT_EQ(c.routes.size(), 3u);
    VirtualNetworkConfig told = h->lastConfig;
    told.multicastSubscriptions = c.multicastSubscriptions;  // subscribed after the config came
    EXPECT_EQ(told, c);  // the host was told exactly this
    EXPECT_EQ(h->configOps.front(), VirtualNetworkConfigOperation::Up);
    EXPECT_EQ(h->configOps.back(), VirtualNetworkConfigOperation::ConfigUpdate);
    EXPECT_TRUE(h->store.count({StateObject::NetworkConfig, {kNetworkId, 0}}));
  }
  // Pool addresses are distinct and from the pools.
  EXPECT_NE(ipv4Of(configOf(*m1)), ipv4Of(configOf(*m2)));
  EXPECT_EQ(ipv4Of(configOf(*m1))[2], 1);
  EXPECT_EQ(configOf(*m1).assignedAddresses[0].ip[11], uint8_t(m1->identity.address().value >> 32));
  // The reported MACs match the capture's (derivation from address and network id).
  const json listed = json::parse(std::ifstream(kRich + "listnetworks-m1.json"));
  EXPECT_EQ(wire::macToString(configOf(*m1).mac), listed[0]["mac"].get<std::string>());
  // Configured: the next request comes after 60 s, not 5 s.
  const uint64_t before = lastRequestOf(*m1);
  ASSERT_NE(before, 0u);
  net.run(30000);
  EXPECT_EQ(lastRequestOf(*m1), before);
  net.run(35000);
  EXPECT_GT(lastRequestOf(*m1), before);
}

TEST_F(NetworkLab, UnicastIpv4AndIpv6FramesArrive) {
  joinAll({m1, m2});
  const VirtualNetworkConfig c1 = configOf(*m1), c2 = configOf(*m2);
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 1, icmpEcho(56)));
  EXPECT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 1u);
  EXPECT_EQ(m2->frames.back().dstMac, macOf(*m2));
  // A 2000-byte IPv4 payload travels fragmented at VL1.
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 1, icmpEcho(1972)));
  ASSERT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 2u);
  EXPECT_EQ(m2->frames.back().payload.size(), 2000u);
  for (auto [first, prefix] : {std::pair{uint8_t(0xfd), uint16_t(88)}, {uint8_t(0xfc), uint16_t(40)}}) {
    sendFrame(*m2, macOf(*m1), kIpv6,
              ipv6Packet(ipv6Of(c2, first, prefix), ipv6Of(c1, first, prefix), 58, Bytes{128, 0, 0, 0, 0, 1, 0, 1}));
  }
  EXPECT_EQ(m1->framesFrom(macOf(*m2), kIpv6), 2u);
}

// FRAME send and receive on a warm path (peers, credentials and gating settled) allocate nothing:
// the packet is built, armored and fragmented in the node's buffers.
TEST_F(NetworkLab, FrameSendAndReceiveDoNotAllocate) {
  joinAll({m1, m2});
  const Bytes small = ipv4Packet(ipv4Of(configOf(*m1)), ipv4Of(configOf(*m2)), 17, transportHeader(5000, 5000, false));
  Bytes big = small;
  big.resize(2000, 0x5a);  // fragmented at VL1
  for (const Bytes* payload : {&small, static_cast<const Bytes*>(&big)}) {
    sendFrame(*m1, macOf(*m2), kIpv4, *payload);  // warm-up: credentials pushed, gating cached
    m2->recordFrames = false;
    net.inFlight.clear();
    lab::countingAllocations = true;
    lab::allocationsCounted = 0;
    m1->node->processVirtualNetworkFrame(net.now, kNetworkId, macOf(*m1), macOf(*m2), kIpv4, 0, *payload);
    lab::countingAllocations = false;
    EXPECT_EQ(lab::allocationsCounted, 0u) << "send of " << payload->size() << " bytes";
    std::vector<Datagram> datagrams(net.inFlight.begin(), net.inFlight.end());
    net.inFlight.clear();
    ASSERT_EQ(datagrams.size(), payload == &big ? 2u : 1u);
    lab::countingAllocations = true;
    lab::allocationsCounted = 0;
    for (const Datagram& d : datagrams) m2->node->processWirePacket(net.now, 0, d.from, d.data);
    lab::countingAllocations = false;
    EXPECT_EQ(lab::allocationsCounted, 0u) << "receive of " << payload->size() << " bytes";
    m2->recordFrames = true;
    net.inFlight.clear();
  }
  // And it was delivered (the receive above is the real path).
  m2->frames.clear();
  sendFrame(*m1, macOf(*m2), kIpv4, small);
  EXPECT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 1u);
}

TEST_F(NetworkLab, ArpRequestReachesOnlyTheOwnerAndTheReplyComesBack) {
  setAuthorized(*m3, true);
  joinAll({m1, m2, m3});
  const VirtualNetworkConfig c1 = configOf(*m1), c2 = configOf(*m2);
  sendFrame(*m1, kBroadcastMac, kArp, arpPacket(1, macOf(*m1), ipv4Of(c1), 0, ipv4Of(c2)));
  net.run(1000);  // gather, then the queued request goes to the owner
  ASSERT_EQ(m2->framesFrom(macOf(*m1), kArp), 1u);
  EXPECT_EQ(m2->frames.back().dstMac, kBroadcastMac);
  EXPECT_EQ(m3->framesFrom(macOf(*m1), kArp), 0u);
  sendFrame(*m2, macOf(*m1), kArp, arpPacket(2, macOf(*m2), ipv4Of(c2), macOf(*m1), ipv4Of(c1)));
  EXPECT_EQ(m1->framesFrom(macOf(*m2), kArp), 1u);
}

// As a host does it: each port subscribes the moment its config arrives (no settling time), frames
// flow between members, then addresses are resolved. Each request reaches its owner only. The
// askers are chosen so that the rules let the request through (m1, tag 1, and m3, tag 4, differ
// by more than 2); m1's request for m3 is dropped by that rule.
TEST_F(NetworkLab, ArpRequestsReachTheirOwnersWhenPortsSubscribeAsConfigsArrive) {
  setAuthorized(*m3, true);
  joinUntilConfigured({m1, m2, m3});
  for (LabHost* h : {m1, m2, m3}) subscribeResolutionGroups(*h);
  const VirtualNetworkConfig c1 = configOf(*m1), c2 = configOf(*m2);
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 1, icmpEcho(56)));
  ASSERT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 1u);

  auto resolve = [&](LabHost& asker, LabHost& target) {
    const Bytes request = arpPacket(1, macOf(asker), ipv4Of(configOf(asker)), 0, ipv4Of(configOf(target)));
    for (int attempt = 0; attempt < 5 && target.framesFrom(macOf(asker), kArp) == 0; ++attempt)
      sendFrame(asker, kBroadcastMac, kArp, request);
    return request;
  };
  auto got = [](const LabHost& h, const Bytes& request) {
    return std::count_if(h.frames.begin(), h.frames.end(),
                         [&](const DeliveredFrame& f) { return f.etherType == kArp && f.payload == request; });
  };
  const Bytes forM2 = resolve(*m1, *m2);
  EXPECT_EQ(got(*m2, forM2), 1);
  EXPECT_EQ(got(*m3, forM2), 0);
  const Bytes forM3 = resolve(*m2, *m3);
  EXPECT_EQ(got(*m3, forM3), 1);
  EXPECT_EQ(got(*m1, forM3), 0);
  EXPECT_EQ(got(*m3, resolve(*m1, *m3)), 0) << "tags 1 and 4 differ by more than 2";
}

// A member on the network for minutes resolves the address of one that has just joined: its first
// ARP request reaches the newcomer (gathered from the root, which has the newcomer's LIKE) and the
// reply comes back, within a second.
TEST_F(NetworkLab, ArpRequestReachesAMemberThatJustJoined) {
  joinUntilConfigured({m1});
  subscribeResolutionGroups(*m1);
  net.run(180000);
  ASSERT_EQ(m2->node->join(net.now, kNetworkId), ResultCode::Ok);
  for (int64_t waited = 0; waited < 15000 && configOf(*m2).status != VirtualNetworkStatus::Ok; waited += 10) net.run(10);
  ASSERT_EQ(configOf(*m2).status, VirtualNetworkStatus::Ok);
  subscribeResolutionGroups(*m2);
  const VirtualNetworkConfig c1 = configOf(*m1), c2 = configOf(*m2);
  m1->node->processVirtualNetworkFrame(net.now, kNetworkId, macOf(*m1), kBroadcastMac, kArp, 0,
                                       arpPacket(1, macOf(*m1), ipv4Of(c1), 0, ipv4Of(c2)));
  net.run(1000);
  ASSERT_EQ(m2->framesFrom(macOf(*m1), kArp), 1u);
  sendFrame(*m2, macOf(*m1), kArp, arpPacket(2, macOf(*m2), ipv4Of(c2), macOf(*m1), ipv4Of(c1)));
  EXPECT_EQ(m1->framesFrom(macOf(*m2), kArp), 1u);
}

// A config that enables broadcast makes (ff:ff:ff:ff:ff:ff, 0) a group of the member's at once,
// announced at once: a broadcast right after the configs arrive is not held up until the next
// periodic announcement.
TEST_F(NetworkLab, BroadcastReachesMembersRightAfterTheirConfigsArrive) {
  setAuthorized(*m3, true);
  joinUntilConfigured({m1, m2, m3});
  sendFrame(*m2, kBroadcastMac, kIpv4,
            ipv4Packet(ipv4Of(configOf(*m2)), {198, 19, 1, 255}, 17, transportHeader(5000, 5000, false)));
  EXPECT_EQ(m1->framesFrom(macOf(*m2), kIpv4), 1u);
  EXPECT_EQ(m3->framesFrom(macOf(*m2), kIpv4), 1u);
}

// The host's neighbour solicitation for another member's RFC 4193 or 6PLANE address is answered
// locally with that member's MAC (frames file §4); nothing goes on the wire.
TEST_F(NetworkLab, NdpEmulationAnswersForRfc4193AndSixPlane) {
  joinAll({m1, m2});
  const VirtualNetworkConfig c1 = configOf(*m1), c2 = configOf(*m2);
  for (auto [first, prefix] : {std::pair{uint8_t(0xfd), uint16_t(88)}, {uint8_t(0xfc), uint16_t(40)}}) {
    const InetAddress target = ipv6Of(c2, first, prefix), mine = ipv6Of(c1, first, prefix);
    Bytes ns(24, 0);
    ns[0] = 135;
    std::copy(target.ip.begin(), target.ip.end(), ns.begin() + 8);
    InetAddress solicited = target;
    solicited.ip = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target.ip[13], target.ip[14], target.ip[15]};
    const size_t sent = net.log.size();
    m1->frames.clear();
    sendFrame(*m1, solicitedNodeGroup(target.ip.data()).mac, kIpv6, ipv6Packet(mine, solicited, 58, ns));
    EXPECT_EQ(net.log.size(), sent);
    ASSERT_EQ(m1->frames.size(), 1u);
    const DeliveredFrame& na = m1->frames[0];
    EXPECT_EQ(na.srcMac, macOf(*m2));
    EXPECT_EQ(na.dstMac, macOf(*m1));
    ASSERT_EQ(na.payload.size(), kNeighborAdvertisementLength);
    EXPECT_EQ(na.payload[40], 136);
    EXPECT_TRUE(std::equal(target.ip.begin(), target.ip.end(), na.payload.begin() + 48));
    EXPECT_EQ(macFromBytes(na.payload.data() + 66), macOf(*m2));
    // The checksum verifies: the ones'-complement sum over pseudo-header and message is 0xffff.
    uint32_t sum = 32 + 58;
    for (size_t i = 8; i < 40; i += 2) sum += loadU16(na.payload.data() + i);
    for (size_t i = 40; i < 72; i += 2) sum += loadU16(na.payload.data() + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    EXPECT_EQ(sum, 0xffffu);
  }
}

TEST_F(NetworkLab, RichRulesTagsAndCapabilityDecideWhatArrives) {
  setAuthorized(*m3, true);
  joinAll({m1, m2, m3});
  const VirtualNetworkConfig c1 = configOf(*m1), c2 = configOf(*m2), c3 = configOf(*m3);
  auto tcp22 = [&](LabHost& from, const VirtualNetworkConfig& a, LabHost& to, const VirtualNetworkConfig& b) {
    sendFrame(from, macOf(to), kIpv4, ipv4Packet(ipv4Of(a), ipv4Of(b), 6, transportHeader(40000, 22, true)));
    return to.framesFrom(macOf(from), kIpv4);
  };
  EXPECT_EQ(tcp22(*m1, c1, *m2, c2), 1u) << "m1 holds capability 1000";
  EXPECT_EQ(tcp22(*m2, c2, *m1, c1), 0u) << "m2 has no capability";
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 17, transportHeader(5000, 9995, false)));
  EXPECT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 1u) << "UDP 9995 is dropped";
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 17, transportHeader(5000, 5000, false)));
  EXPECT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 2u) << "UDP 5000 passes";
  // Tags: m3 (4) reaches m2 (3) but not m1 (1).
  sendFrame(*m3, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c3), ipv4Of(c2), 1, icmpEcho(16)));
  EXPECT_EQ(m2->framesFrom(macOf(*m3), kIpv4), 1u);
  sendFrame(*m3, macOf(*m1), kIpv4, ipv4Packet(ipv4Of(c3), ipv4Of(c1), 1, icmpEcho(16)));
  EXPECT_EQ(m1->framesFrom(macOf(*m3), kIpv4), 0u);
  // TEE: m1's echo request to m2 is copied to m3 by both ends (flags 0x02 and 0x08), cut to 128.
  // m1 and m2 never sent m3 anything, so m3 refuses the first copies (NEED_MEMBERSHIP_CERTIFICATE,
  // as in the capture); that makes them push their credentials, and later copies arrive. m3's own
  // inbound rules still apply: with tag 4 it drops m1's copy (difference 3) and takes m2's.
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 1, icmpEcho(300)));
  net.run(1500);
  m3->frames.clear();
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 1, icmpEcho(300)));
  EXPECT_EQ(m3->frames.size(), 1u);
  // With tag 2 (pushed to m3 as a new config) both copies pass m3's rules.
  setMember(*m3, {{"tags", json::array({json::array({100, 2})})}});
  net.run(1500);
  m3->frames.clear();
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c1), ipv4Of(c2), 1, icmpEcho(300)));
  ASSERT_EQ(m3->frames.size(), 2u);
  for (const DeliveredFrame& copy : m3->frames) {
    EXPECT_EQ(copy.srcMac, macOf(*m1));
    EXPECT_EQ(copy.dstMac, macOf(*m2));
    EXPECT_EQ(copy.payload.size(), 128u);
  }
}

TEST_F(NetworkLab, NeverAuthorisedMemberIsDeniedAndGetsNoFrameThrough) {
  joinAll({m1, m2, m3});
  EXPECT_EQ(configOf(*m3).status, VirtualNetworkStatus::AccessDenied);
  EXPECT_EQ(m3->lastConfig.status, VirtualNetworkStatus::AccessDenied);
  // Without a config m3 sends nothing; a crafted FRAME from it is refused by m1's gating.
  m3->node->processVirtualNetworkFrame(net.now, kNetworkId, macOf(*m3), macOf(*m1), kIpv4, 0, Bytes(40, 1));
  net.run(500);
  EXPECT_EQ(m1->framesFrom(macOf(*m3), kIpv4), 0u);
  EXPECT_FALSE(m1->node->networkConfig(kNetworkId) == std::nullopt);
}

TEST_F(NetworkLab, DeauthorisedMemberIsCutOffByTheRevocation) {
  setAuthorized(*m3, true);
  joinAll({m1, m2, m3});
  const VirtualNetworkConfig c2 = configOf(*m2), c3 = configOf(*m3);
  sendFrame(*m3, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c3), ipv4Of(c2), 1, icmpEcho(16)));
  ASSERT_EQ(m2->framesFrom(macOf(*m3), kIpv4), 1u);
  setMember(*m3, {{"authorized", false}});
  net.run(10000);
  sendFrame(*m3, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(c3), ipv4Of(c2), 1, icmpEcho(16)));
  net.run(1000);
  EXPECT_EQ(m2->framesFrom(macOf(*m3), kIpv4), 1u) << "no frame after the revocation";
  EXPECT_FALSE(m2->node->networkConfig(kNetworkId)->status != VirtualNetworkStatus::Ok);
  net.run(60000);
  EXPECT_EQ(configOf(*m3).status, VirtualNetworkStatus::AccessDenied) << "its next request is refused";
}

TEST_F(NetworkLab, ControllerRestartOverTheSameStoreKeepsMembersAndAddresses) {
  joinAll({m1, m2});
  const VirtualNetworkConfig before1 = configOf(*m1), before2 = configOf(*m2);
  ctl->node->shutdown(net.now);
  controller = std::make_unique<NetworkController>(ctl->identity, store);
  boot(*ctl);
  ctl->node->setNetconfMaster(controller.get());
  net.run(70000);
  EXPECT_GT(lastRequestOf(*m1), 0u);
  EXPECT_EQ(configOf(*m1).assignedAddresses, before1.assignedAddresses);
  EXPECT_EQ(configOf(*m2).assignedAddresses, before2.assignedAddresses);
  EXPECT_EQ(configOf(*m1).status, VirtualNetworkStatus::Ok);
  sendFrame(*m1, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(before1), ipv4Of(before2), 1, icmpEcho(8)));
  EXPECT_EQ(m2->framesFrom(macOf(*m1), kIpv4), 1u);
}

TEST_F(NetworkLab, SavedConfigIsLoadedAtStartUp) {
  joinAll({m1});
  const VirtualNetworkConfig before = configOf(*m1);
  m1->node->shutdown(net.now);
  m1->configOps.clear();
  boot(*m1);
  ASSERT_EQ(m1->node->networks(), std::vector<uint64_t>{kNetworkId});
  EXPECT_EQ(m1->configOps, std::vector{VirtualNetworkConfigOperation::Up});
  EXPECT_EQ(m1->lastConfig.assignedAddresses, before.assignedAddresses);
  EXPECT_EQ(m1->lastConfig.status, VirtualNetworkStatus::Ok);
  m1->node->leave(net.now, kNetworkId);
  EXPECT_EQ(m1->configOps.back(), VirtualNetworkConfigOperation::Destroy);
  EXPECT_FALSE(m1->store.count({StateObject::NetworkConfig, {kNetworkId, 0}}));
}

// The controller node joining its own network asks its NetworkController directly (no packet)
// and then carries frames like any member.
TEST_F(NetworkLab, ControllerJoiningItsOwnNetworkConfiguresItselfDirectly) {
  store.saveMember({{"nwid", "315595f4f8c0ffee"}, {"id", ctl->identity.address().toString()},
                    {"address", ctl->identity.address().toString()}, {"authorized", true}, {"tags", {{100, 2}}}});
  joinAll({m2, ctl});
  const VirtualNetworkConfig mine = configOf(*ctl);
  ASSERT_EQ(mine.status, VirtualNetworkStatus::Ok) << virtualNetworkStatusName(mine.status);
  EXPECT_EQ(mine.mac, macOf(*ctl));
  EXPECT_EQ(mine.assignedAddresses.size(), 4u);
  sendFrame(*ctl, macOf(*m2), kIpv4, ipv4Packet(ipv4Of(mine), ipv4Of(configOf(*m2)), 1, icmpEcho(8)));
  EXPECT_EQ(m2->framesFrom(macOf(*ctl), kIpv4), 1u);
}

TEST_F(NetworkLab, NodeWithoutControllerAnswersUnsupportedOperation) {
  net.run(2000);
  const uint64_t orphan = (m2->identity.address().value << 24) | 0x000001;  // m2 runs no controller
  m1->node->join(net.now, orphan);
  net.run(7000);
  EXPECT_EQ(m1->node->networkConfig(orphan)->status, VirtualNetworkStatus::NotFound);
}

// ------------------------------------------------------------------------------------------------
// The captures' VL2 packets through the receive-side parsers
// ------------------------------------------------------------------------------------------------

TEST(NetworkVectors, CapturedVl2PacketsParseAndTheirMacsFollowTheDerivation) {
  size_t frames = 0, extFrames = 0, likes = 0, gathers = 0, multicastFrames = 0, arpChecked = 0;
  for (const char* capture : {"session", "rich"}) {
    std::ifstream in(std::string(ZT_VECTORS) + "/" + capture + "/session.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const json p = json::parse(line);
      if (!p.contains("plaintextHex") || p["hops"] != 0) continue;
      const Bytes packet = *fromHex(p["plaintextHex"].get<std::string>());
      const ByteView payload = ByteView(packet).subspan(wire::kPayloadOffset);
      const Address source = wire::source(packet);
      const uint8_t verb = p["verb"];
      if (verb == uint8_t(wire::Verb::Frame)) {
        Result<wire::Frame> f = wire::Frame::parse(payload);
        ASSERT_TRUE(f.ok()) << line;
        ++frames;
        if (f->etherType == kArp && f->payload.size() >= 28) {
          EXPECT_EQ(macFromBytes(f->payload.data() + 8), memberMac(source, f->networkId));
          ++arpChecked;
        }
      } else if (verb == uint8_t(wire::Verb::ExtFrame)) {
        Result<wire::ExtFrame> f = wire::ExtFrame::parse(payload);
        ASSERT_TRUE(f.ok()) << line;
        ++extFrames;
        EXPECT_TRUE(isMemberMac(f->sourceMac, f->networkId));
        EXPECT_TRUE(isMemberMac(f->destinationMac, f->networkId));
        EXPECT_EQ(memberMac(macMember(f->sourceMac, f->networkId), f->networkId), f->sourceMac);
      } else if (verb == uint8_t(wire::Verb::MulticastLike)) {
        Result<wire::MulticastLike> like = wire::MulticastLike::parse(payload);
        ASSERT_TRUE(like.ok()) << line;
        ++likes;
      } else if (verb == uint8_t(wire::Verb::MulticastGather)) {
        Result<wire::MulticastGather> g = wire::MulticastGather::parse(payload);
        ASSERT_TRUE(g.ok()) << line;
        Reader r(g->com);
        Result<CertificateOfMembership> com = CertificateOfMembership::read(r);
        ASSERT_TRUE(com.ok());
        EXPECT_EQ(com->issuedTo(), source);
        ++gathers;
      } else if (verb == uint8_t(wire::Verb::MulticastFrame)) {
        Result<wire::MulticastFrame> f = wire::MulticastFrame::parse(payload);
        ASSERT_TRUE(f.ok()) << line;
        ++multicastFrames;
        if (f->etherType == kArp && f->group.mac == kBroadcastMac) {
          EXPECT_EQ(macFromBytes(f->payload.data() + 8), memberMac(source, f->networkId));
          EXPECT_EQ(f->group.adi, uint32_t(loadU64(f->payload.data() + 20)));  // target IPv4
          ++arpChecked;
        }
      }
    }
  }
  EXPECT_EQ(frames, 85u);
  EXPECT_EQ(extFrames, 20u);
  EXPECT_EQ(likes, 85u);
  EXPECT_EQ(gathers, 80u);
  EXPECT_EQ(multicastFrames, 25u);
  EXPECT_GT(arpChecked, 16u);
}

TEST(NetworkMac, DerivationAndReverseAgreeWithTheCaptures) {
  for (const auto& [capture, file] : {std::pair{"session", "listnetworks-m1.json"}, {"rich", "listnetworks-m2.json"}}) {
    const json listed = json::parse(std::ifstream(std::string(ZT_VECTORS) + "/" + capture + "/" + file))[0];
    const uint64_t nwid = std::stoull(listed["nwid"].get<std::string>(), nullptr, 16);
    uint64_t mac = 0;
    for (char c : listed["mac"].get<std::string>())
      if (c != ':') mac = mac << 4 | uint64_t(std::stoi(std::string(1, c), nullptr, 16));
    ASSERT_TRUE(isMemberMac(mac, nwid));
    EXPECT_EQ(memberMac(macMember(mac, nwid), nwid), mac);
  }
  EXPECT_EQ(macPrefix(0x0000000000000050ULL), 0x32);  // 0x52 is avoided
  EXPECT_TRUE(isMulticastMac(kBroadcastMac));
  EXPECT_FALSE(isMulticastMac(memberMac(Address{0x1234567890}, kNetworkId)));
}

}  // namespace
}  // namespace zt
