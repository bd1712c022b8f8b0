// VL1 end to end: a root and leaves in one process over the simulated underlay of lab.hpp.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "crypto/armor.hpp"
#include "lab.hpp"
#include "node.hpp"
#include "vl1/world.hpp"
#include "wire/compress.hpp"
#include "wire/packet.hpp"
#include "wire/verbs_vl1.hpp"

namespace zt {
namespace {

using nlohmann::json;
using lab::Datagram;
using lab::KeyPair;
using lab::LabHost;
using lab::freshKeyPair;
using lab::labAddress;
using lab::makePlanet;

// Identities recorded from 1.14 (valid, with secrets): instant to load, unlike generation.
std::string vectorIdentity(size_t i) {
  static const json valid = [] {
    std::ifstream in(std::string(ZT_VECTORS) + "/identities.json");
    return json::parse(in)["valid"];
  }();
  return valid.at(i)["secret"].get<std::string>();
}

Bytes bytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }

Identity identityOf(const std::string& secretText) {
  Result<Identity> id = Identity::fromString(secretText);
  EXPECT_TRUE(id.ok());
  return *id;
}

std::string impostorOf(Address taken) {
  // Same address, fresh key pair: its proof of work fails, but a root that already knows the
  // address checks the MAC with the offered key before any proof of work, so it answers
  // IDENTITY_COLLISION (vl1-packets.md 7.1 step 2).
  KeyPair k = freshKeyPair();
  return taken.toString() + ":0:" + toHex(k.pub) + ":" + toHex(k.secret);
}

// A root on .1 with a planet naming it, three leaves on .2-.4 using that planet.
class NodeLab : public ::testing::Test, protected lab::Lab {
 protected:
  void SetUp() override {
    signer = freshKeyPair();
    rootIdentity = identityOf(vectorIdentity(0));
    planet = makePlanet(rootIdentity, labAddress(1), 1'800'000'000'000, signer, signer.pub);
    root = &addHost(1, vectorIdentity(0), {.rootMode = true});
    leafA = &addHost(2, vectorIdentity(1));
    leafB = &addHost(3, vectorIdentity(2));
    leafC = &addHost(4, vectorIdentity(3));
  }

  const PeerInfo* peerOf(LabHost& h, Address a) {
    peersCache = h.node->peers();
    for (const PeerInfo& p : peersCache)
      if (p.address == a) return &p;
    return nullptr;
  }

  ResultCode echo(LabHost& h, Address to) {
    ProcessResult r = h.node->echo(net.now, to);
    h.deadline = std::min(h.deadline, r.nextDeadline);
    return r.code;
  }

  uint64_t dropped(LabHost& h, DropReason r) { return h.node->counters().dropped[size_t(r)]; }

  // Datagrams carrying a packet (not a fragment) from one ZeroTier address to another.
  std::vector<Datagram> packetsBetween(Address src, Address dst) {
    std::vector<Datagram> out;
    for (const Datagram& d : net.log)
      if (wire::classify(d.data) == wire::DatagramKind::Packet && d.data.size() >= wire::kMinPacketLength &&
          wire::source(d.data) == src && wire::destination(d.data) == dst)
        out.push_back(d);
    return out;
  }

  KeyPair signer;
  Identity rootIdentity;
  LabHost *root = nullptr, *leafA = nullptr, *leafB = nullptr, *leafC = nullptr;
  std::vector<PeerInfo> peersCache;
};

TEST_F(NodeLab, RootAndLeavesComeOnline) {
  EXPECT_TRUE(root->fired(Event::Up));
  EXPECT_TRUE(root->node->status().online);  // a root is always online
  for (LabHost* leaf : {leafA, leafB, leafC}) EXPECT_FALSE(leaf->node->status().online);
  net.run(1000);
  for (LabHost* leaf : {leafA, leafB, leafC}) {
    NodeStatus s = leaf->node->status();
    EXPECT_TRUE(s.online);
    EXPECT_EQ(leaf->events, (std::vector<Event>{Event::Up, Event::Online}));
    const PeerInfo* r = peerOf(*leaf, rootIdentity.address());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->role, PeerRole::Planet);
    EXPECT_EQ(r->protocolVersion, 12);
    EXPECT_GE(r->latency, 0);
    ASSERT_EQ(r->paths.size(), 1u);
    EXPECT_EQ(r->paths[0].remote, labAddress(1));
    EXPECT_TRUE(r->paths[0].preferred);
    // The root knows the leaf by its HELLO, on the leaf's address.
    const PeerInfo* l = peerOf(*root, s.address);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->role, PeerRole::Leaf);
    ASSERT_EQ(l->paths.size(), 1u);
    EXPECT_EQ(l->paths[0].remote, leaf->addr());
  }
  EXPECT_EQ(root->node->peers().size(), 3u);
  // Keepalives hold the state for minutes; nothing is dropped in a clean lab.
  net.run(120000);
  for (LabHost* leaf : {leafA, leafB, leafC}) {
    EXPECT_TRUE(leaf->node->status().online);
    Counters c = leaf->node->counters();
    for (size_t i = 0; i < c.dropped.size(); ++i) EXPECT_EQ(c.dropped[i], 0u) << dropReasonName(DropReason(i));
  }
}

TEST_F(NodeLab, WhoisViaRootThenRelayedThenDirect) {
  net.run(1000);
  const Address a = leafA->node->address(), c = leafC->node->address();
  ASSERT_EQ(peerOf(*leafA, c), nullptr);
  ASSERT_EQ(echo(*leafA, c), ResultCode::Ok);
  net.run(2000);
  EXPECT_EQ(leafA->node->counters().whoisAnswered, 1u);
  EXPECT_NE(peerOf(*leafC, a), nullptr);  // by WHOIS or by A's direct HELLO, whichever came first
  EXPECT_EQ(leafA->node->counters().echoRepliesReceived, 1u);
  EXPECT_GT(root->node->counters().packetsRelayed, 0u);

  // The first A→C packet went to the root (relayed); RENDEZVOUS then made A HELLO C directly.
  std::vector<Datagram> aToC = packetsBetween(a, c);
  ASSERT_GE(aToC.size(), 2u);
  EXPECT_EQ(aToC.front().to, labAddress(1));
  bool directHello = false;
  for (const Datagram& d : aToC) directHello |= d.to == leafC->addr() && wire::cipher(d.data) == Cipher::Poly1305;
  EXPECT_TRUE(directHello);

  const PeerInfo* cAtA = peerOf(*leafA, c);
  ASSERT_NE(cAtA, nullptr);
  ASSERT_EQ(cAtA->paths.size(), 1u);
  EXPECT_EQ(cAtA->paths[0].remote, leafC->addr());
  EXPECT_TRUE(cAtA->paths[0].preferred);
  EXPECT_EQ(cAtA->role, PeerRole::Leaf);

  // Now direct: a second ECHO round trip does not touch the root.
  uint64_t relayed = root->node->counters().packetsRelayed;
  size_t logged = net.log.size();
  ASSERT_EQ(echo(*leafA, c), ResultCode::Ok);
  net.run(100);
  EXPECT_EQ(leafA->node->counters().echoRepliesReceived, 2u);
  EXPECT_EQ(root->node->counters().packetsRelayed, relayed);
  for (size_t i = logged; i < net.log.size(); ++i) EXPECT_NE(net.log[i].to, labAddress(1));
  EXPECT_GE(peerOf(*leafA, c)->latency, 0);
}

// A WHOIS wanted before any root answered (a pod's node joins its network at once) goes out as
// soon as the root answers, not one retry interval (500 ms) later.
TEST_F(NodeLab, WhoisAskedBeforeReachingTheRootGoesOutWhenItAnswers) {
  ASSERT_FALSE(leafA->node->status().online);
  ASSERT_EQ(echo(*leafA, leafC->node->address()), ResultCode::Ok);
  net.run(100);
  EXPECT_TRUE(leafA->node->status().online);
  EXPECT_EQ(leafA->node->counters().whoisAnswered, 1u);
  EXPECT_EQ(leafA->node->counters().echoRepliesReceived, 1u);
}

TEST_F(NodeLab, EchoToUnknownAddressGivesUpAfterWhoisTimeout) {
  net.run(1000);
  ASSERT_EQ(echo(*leafA, Address{0x0123456789}), ResultCode::Ok);
  net.run(6000);
  EXPECT_EQ(dropped(*leafA, DropReason::WhoisTimeout), 1u);
  EXPECT_EQ(leafA->node->counters().echoRepliesReceived, 0u);
  // WHOIS was retried every 500 ms until it gave up: A sent that many more packets to the root
  // than B, which asked nothing.
  size_t fromA = packetsBetween(leafA->node->address(), rootIdentity.address()).size();
  size_t fromB = packetsBetween(leafB->node->address(), rootIdentity.address()).size();
  EXPECT_GE(fromA, fromB + 9);

}

TEST_F(NodeLab, IdentityCollisionReportedByRootIsFatal) {
  net.run(1000);
  LabHost& impostor = addHost(9, impostorOf(leafA->node->address()));
  EXPECT_EQ(impostor.node->address(), leafA->node->address());
  net.run(1000);
  EXPECT_TRUE(impostor.fired(Event::FatalErrorIdentityCollision));
  EXPECT_NE(impostor.lastDetail.find(rootIdentity.address().toString()), std::string::npos);
  EXPECT_FALSE(impostor.node->status().online);
  EXPECT_FALSE(leafA->fired(Event::FatalErrorIdentityCollision));
  EXPECT_TRUE(leafA->node->status().online);
  // The root still knows the real A on its own address.
  const PeerInfo* a = peerOf(*root, leafA->node->address());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->paths.back().remote, leafA->addr());
  // After the fatal event the node ignores traffic.
  EXPECT_EQ(impostor.node->processBackgroundTasks(net.now).code, ResultCode::OkIgnored);
}

TEST_F(NodeLab, PlanetUpdateFromRootIsAcceptedFragmentedAndStored) {
  // The root serves revision 2 (signed by revision 1's update key) with a small MTU, so its
  // OK(HELLO) carrying the planet travels as head + fragments. Leaves start on revision 1.
  KeyPair next = freshKeyPair();
  World rev1 = makePlanet(rootIdentity, labAddress(1), 1'800'000'000'000, signer, next.pub);
  World rev2 = makePlanet(rootIdentity, labAddress(1), 1'800'000'000'001, next, next.pub);
  lab::Underlay& n = net;
  n.hosts.clear();
  owned.clear();
  root = &addHost(1, vectorIdentity(0), {.physicalMtu = 200, .rootMode = true}, rev2);
  leafA = &addHost(2, vectorIdentity(1), {}, rev1);
  net.run(1000);
  EXPECT_TRUE(leafA->node->status().online);
  Bytes stored = leafA->store.at({StateObject::Planet, {0, 0}});
  EXPECT_EQ(stored, rev2.serialize());
  bool fragmentSeen = false;
  for (const Datagram& d : net.log) fragmentSeen |= wire::classify(d.data) == wire::DatagramKind::Fragment;
  EXPECT_TRUE(fragmentSeen);

  // A forged revision 3 (signed by a key the world does not name) is not accepted.
  World forged = makePlanet(rootIdentity, labAddress(1), 1'800'000'000'002, freshKeyPair(), next.pub);
  LabHost& leafB2 = addHost(3, vectorIdentity(2), {}, rev1);
  net.hosts.erase(root->addr().toString());
  LabHost& fakeRoot = addHost(1, vectorIdentity(0), {.rootMode = true}, forged);
  (void)fakeRoot;
  net.run(1000);
  EXPECT_EQ(leafB2.store.at({StateObject::Planet, {0, 0}}), rev1.serialize());
}

TEST_F(NodeLab, PeerCacheIsWrittenOnShutdownAndReadBack) {
  net.run(1000);
  const Address c = leafC->node->address();
  echo(*leafA, c);
  net.run(2000);
  ASSERT_NE(peerOf(*leafA, c), nullptr);
  leafA->node->shutdown(net.now);
  EXPECT_EQ(leafA->events.back(), Event::Down);
  ASSERT_TRUE(leafA->store.count({StateObject::Peer, {c.value, 0}}));
  // Shut down, the node ignores traffic.
  EXPECT_EQ(leafA->node->processBackgroundTasks(net.now).code, ResultCode::OkIgnored);

  leafA->node.reset();
  Result<std::unique_ptr<Node>> again = Node::create(*leafA, net.now, {.loadPeerCache = true});
  ASSERT_TRUE(again.ok()) << again.error();
  leafA->node = std::move(*again);
  const PeerInfo* cached = peerOf(*leafA, c);
  ASSERT_NE(cached, nullptr);
  ASSERT_EQ(cached->paths.size(), 1u);
  EXPECT_EQ(cached->paths[0].remote, leafC->addr());
  EXPECT_FALSE(cached->paths[0].alive);  // a hint, until something arrives on it
  // Without the option the cache is not read.
  Result<std::unique_ptr<Node>> plain = Node::create(*leafA, net.now);
  ASSERT_TRUE(plain.ok());
  for (const PeerInfo& p : (*plain)->peers()) EXPECT_NE(p.address, c);
}

TEST_F(NodeLab, OrbitingAMoonAddsItsRootAndSurvivesRestart) {
  // M (on .5) is a root of a moon whose id is its address; it holds the moon in its state.
  LabHost& moonRoot = addHost(5, vectorIdentity(6));
  const Identity m = identityOf(vectorIdentity(6));
  KeyPair moonKey = freshKeyPair();
  World moon;
  moon.type = World::Moon;
  moon.id = m.address().value;
  moon.timestamp = 1;
  moon.updatesMustBeSignedBy = moonKey.pub;
  moon.roots.push_back({m.publicOnly(), {labAddress(5)}});
  moon.sign(moonKey.secret, moonKey.pub);
  moonRoot.store[{StateObject::Moon, {moon.id, 0}}] = moon.serialize();
  moonRoot.node.reset();
  moonRoot.node = std::move(*Node::create(moonRoot, net.now));
  net.run(1000);

  // A orbits it knowing only M's address: WHOIS via the planet root, HELLO, moon in OK(HELLO).
  ProcessResult r = leafA->node->orbit(net.now, moon.id, m.address());
  EXPECT_EQ(r.code, ResultCode::Ok);
  leafA->deadline = std::min(leafA->deadline, r.nextDeadline);
  net.run(6000);
  ASSERT_TRUE(leafA->store.count({StateObject::Moon, {moon.id, 0}}));
  EXPECT_EQ(leafA->store.at({StateObject::Moon, {moon.id, 0}}), moon.serialize());
  const PeerInfo* atA = peerOf(*leafA, m.address());
  ASSERT_NE(atA, nullptr);
  EXPECT_EQ(atA->role, PeerRole::Moon);
  ASSERT_FALSE(atA->paths.empty());
  EXPECT_EQ(atA->paths[0].remote, labAddress(5));
  // B did not orbit: M is nothing special there.
  const PeerInfo* atB = peerOf(*leafB, m.address());
  EXPECT_TRUE(atB == nullptr || atB->role == PeerRole::Leaf);

  // After a restart the stored moon is loaded again.
  leafA->node->shutdown(net.now);
  leafA->node = std::move(*Node::create(*leafA, net.now));
  EXPECT_EQ(peerOf(*leafA, m.address())->role, PeerRole::Moon);

  EXPECT_EQ(leafA->node->deorbit(moon.id), ResultCode::Ok);
  EXPECT_FALSE(leafA->store.count({StateObject::Moon, {moon.id, 0}}));
  EXPECT_EQ(peerOf(*leafA, m.address())->role, PeerRole::Leaf);
}

// Online only by root mode (a root's own planet lists no other root): leaving root mode takes
// it offline at once, not once some earlier deadline passes.
TEST_F(NodeLab, LeavingRootModeGoesOfflineAtOnce) {
  net.run(1000);
  ASSERT_TRUE(root->node->status().online);
  root->node->setRootMode(false);
  EXPECT_FALSE(root->node->status().online);
  EXPECT_EQ(root->events.back(), Event::Offline);
}

TEST_F(NodeLab, GoesOfflineWhenRootsFallSilentAndOnlineAgain) {
  owned.clear();
  net.hosts.clear();
  root = &addHost(1, vectorIdentity(0), {.rootMode = true});
  leafA = &addHost(2, vectorIdentity(1), {.peerActivityTimeout = 30000});
  net.run(1000);
  ASSERT_TRUE(leafA->node->status().online);
  bool rootReachable = false;
  net.filter = [&](const Datagram& d) { return rootReachable || (d.from != labAddress(1) && d.to != labAddress(1)); };
  net.run(35000);
  EXPECT_FALSE(leafA->node->status().online);
  EXPECT_EQ(leafA->events, (std::vector<Event>{Event::Up, Event::Online, Event::Offline}));
  rootReachable = true;
  net.run(6000);  // the next ping check HELLOs the root's stable endpoint
  EXPECT_TRUE(leafA->node->status().online);
  EXPECT_EQ(leafA->events.back(), Event::Online);
}

// --- packets that must be dropped, by reason -------------------------------------------------

class NodeDrops : public NodeLab {
 protected:
  // A packet from the root to leaf A armored with their real key.
  // sender: index of the sending node's vector identity (0 the root, 2 leaf B).
  Bytes craft(uint8_t verb, ByteView payload, Cipher suite = Cipher::AesGmacSiv, size_t sender = 0) {
    Identity a = identityOf(vectorIdentity(1));
    Identity r = identityOf(vectorIdentity(sender));
    PeerCipher cipher(*r.agree(a));
    Writer w;
    w.u64(randomU64()).u40(a.address().value).u40(r.address().value).u8(0).u64(0).u8(verb).bytes(payload);
    Bytes pkt = w.take();
    cipher.armor(pkt, suite);
    return pkt;
  }
};

TEST_F(NodeDrops, BadPacketsAreCountedByReason) {
  net.run(1000);
  const Address a = leafA->node->address();
  const InetAddress fromRoot = labAddress(1);

  Bytes truncated(20, 0x11);  // not a fragment (byte 13 is not 0xff), shorter than a header
  net.inject(*leafA, fromRoot, truncated);
  EXPECT_EQ(dropped(*leafA, DropReason::Truncated), 1u);

  Bytes badFragment(40, 0);
  storeU40(badFragment.data() + 8, a.value);
  badFragment[13] = 0xff;
  badFragment[14] = 0x90;  // total 9 > 7
  net.inject(*leafA, fromRoot, badFragment);
  EXPECT_EQ(dropped(*leafA, DropReason::BadFragment), 1u);

  Bytes forged = craft(uint8_t(wire::Verb::Echo), asBytes("hello"));
  forged.back() ^= 1;  // one flipped ciphertext bit
  net.inject(*leafA, fromRoot, forged);
  EXPECT_EQ(dropped(*leafA, DropReason::NotAuthenticated), 1u);

  // Wrong key: a packet claiming the root as source, armored with another pair's key.
  {
    Identity other = identityOf(vectorIdentity(5));
    Identity self = identityOf(vectorIdentity(1));
    PeerCipher wrong(*other.agree(self));
    Writer w;
    w.u64(randomU64()).u40(a.value).u40(rootIdentity.address().value).u8(0).u64(0).u8(8).bytes(asBytes("x"));
    Bytes pkt = w.take();
    wrong.armor(pkt, Cipher::AesGmacSiv);
    net.inject(*leafA, fromRoot, pkt);
    EXPECT_EQ(dropped(*leafA, DropReason::NotAuthenticated), 2u);
  }

  // Suite 0 is only for HELLO.
  net.inject(*leafA, fromRoot, craft(uint8_t(wire::Verb::Echo), asBytes("x"), Cipher::Poly1305));
  EXPECT_EQ(dropped(*leafA, DropReason::NotAuthenticated), 3u);

  Bytes echo = craft(uint8_t(wire::Verb::Echo), asBytes("ping"));
  net.inject(*leafA, fromRoot, echo);
  net.inject(*leafA, fromRoot, echo);
  EXPECT_EQ(dropped(*leafA, DropReason::Replay), 1u);

  Writer ok;
  ok.u8(uint8_t(wire::Verb::Echo)).u64(0x1122334455667788).bytes(asBytes("ping"));
  net.inject(*leafA, fromRoot, craft(uint8_t(wire::Verb::Ok), ok.data()));
  EXPECT_EQ(dropped(*leafA, DropReason::UnexpectedOk), 1u);

  net.inject(*leafA, fromRoot, craft(0x1f, {}));
  EXPECT_EQ(dropped(*leafA, DropReason::Unsupported), 1u);

  Bytes ownSource = echo;
  storeU40(ownSource.data() + wire::kSourceOffset, a.value);
  net.inject(*leafA, fromRoot, ownSource);
  EXPECT_EQ(dropped(*leafA, DropReason::FromSelf), 1u);

  // Not for A, from a path A has never authenticated anything on: A does not relay it.
  Bytes notForA = echo;
  storeU40(notForA.data() + wire::kDestinationOffset, leafB->node->address().value);
  net.inject(*leafA, labAddress(77), notForA);
  EXPECT_EQ(dropped(*leafA, DropReason::UntrustedRelay), 1u);

  // The root relays anything, but not past 3 hops.
  Bytes tooFar = notForA;
  tooFar[wire::kFlagsOffset] |= 3;
  net.inject(*root, labAddress(77), tooFar);
  EXPECT_EQ(dropped(*root, DropReason::HopLimit), 1u);

  // The real ECHO was answered once; none of the others produced anything but drops.
  EXPECT_TRUE(leafA->node->status().online);
}

TEST_F(NodeDrops, CompressedPayloadsAreDecompressedAndCorruptOnesDropped) {
  net.run(1000);
  Bytes big(600);
  for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i % 7);
  Identity a = identityOf(vectorIdentity(1));
  PeerCipher cipher(*rootIdentity.agree(a));
  auto compressedEcho = [&](ByteView payload, bool corrupt) {
    Writer w;
    w.u64(randomU64()).u40(a.address().value).u40(rootIdentity.address().value).u8(0).u64(0);
    w.u8(uint8_t(wire::Verb::Echo)).bytes(payload);
    Bytes pkt = w.take();
    pkt.resize(wire::compressPacket(pkt));
    EXPECT_TRUE(wire::compressed(pkt));
    if (corrupt) pkt.resize(pkt.size() - 4);
    cipher.armor(pkt, Cipher::AesGmacSiv);
    return pkt;
  };
  size_t before = net.log.size();
  net.inject(*leafA, labAddress(1), compressedEcho(big, false));
  // A answered OK(ECHO) with the decompressed payload: open its answer like the root would.
  bool answered = false;
  for (size_t i = before; i < net.log.size(); ++i) {
    Bytes reply = net.log[i].data;
    if (net.log[i].to != labAddress(1) || !cipher.dearmor(reply)) continue;
    std::array<uint8_t, wire::kMaxPacketLength> plain{};
    Result<size_t> n = wire::decompressPacket(reply, plain);
    ASSERT_TRUE(n.ok());
    ByteView body(plain.data() + wire::kPayloadOffset, *n - wire::kPayloadOffset);
    ASSERT_EQ(wire::verb(plain), uint8_t(wire::Verb::Ok));
    EXPECT_TRUE(std::equal(big.begin(), big.end(), body.begin() + 9, body.end()));
    answered = true;
  }
  EXPECT_TRUE(answered);
  net.inject(*leafA, labAddress(1), compressedEcho(big, true));
  EXPECT_EQ(dropped(*leafA, DropReason::BadCompression), 1u);
}

TEST_F(NodeDrops, DirectPathHintsAreHelloedRendezvousOnlyFromRoots) {
  net.run(1000);
  // PUSH_DIRECT_PATHS from the root: A HELLOs the root at each hinted endpoint, once (rate
  // limit), and skips forget entries and its own interface addresses.
  wire::PushDirectPaths push;
  push.paths.push_back({0, {}, labAddress(50)});
  push.paths.push_back({wire::DirectPath::kForget, {}, labAddress(51)});
  push.paths.push_back({0, {}, labAddress(52)});
  leafA->node->addLocalInterfaceAddress(labAddress(52));
  Writer w;
  push.write(w);
  auto hellosTo = [&](const InetAddress& to) {
    size_t n = 0;
    for (const Datagram& d : net.log)
      n += d.from == leafA->addr() && d.to == to && wire::cipher(d.data) == Cipher::Poly1305;
    return n;
  };
  net.inject(*leafA, labAddress(1), craft(uint8_t(wire::Verb::PushDirectPaths), w.data()));
  net.inject(*leafA, labAddress(1), craft(uint8_t(wire::Verb::PushDirectPaths), w.data()));
  EXPECT_EQ(hellosTo(labAddress(50)), 1u);
  EXPECT_EQ(hellosTo(labAddress(51)), 0u);
  EXPECT_EQ(hellosTo(labAddress(52)), 0u);
  // The hint is not a path until something authenticated arrives on it.
  for (const PathInfo& p : peerOf(*leafA, rootIdentity.address())->paths) EXPECT_NE(p.remote, labAddress(50));

  // RENDEZVOUS from a leaf is refused; from the root it makes A HELLO the named peer.
  net.run(1000);
  echo(*leafA, leafB->node->address());  // A learns B (relayed through the root)
  net.run(500);
  wire::Rendezvous rv{0, leafB->node->address(), labAddress(60)};
  Writer rw;
  rv.write(rw);
  net.inject(*leafA, leafB->addr(), craft(uint8_t(wire::Verb::Rendezvous), rw.data(), Cipher::AesGmacSiv, 2));
  EXPECT_EQ(dropped(*leafA, DropReason::NotFromRoot), 1u);
  EXPECT_EQ(hellosTo(labAddress(60)), 0u);
  net.inject(*leafA, labAddress(1), craft(uint8_t(wire::Verb::Rendezvous), rw.data()));
  EXPECT_EQ(hellosTo(labAddress(60)), 1u);
}

TEST_F(NodeDrops, UnknownSendersAreHeldBoundedAndThenDropped) {
  net.run(1000);
  // Packets from an address nobody knows: held for WHOIS (which the root cannot answer).
  Bytes pkt(60, 0x42);
  storeU40(pkt.data() + wire::kDestinationOffset, leafA->node->address().value);
  storeU40(pkt.data() + wire::kSourceOffset, 0x0a0b0c0d0e);
  pkt[wire::kFlagsOffset] = 3 << 3;
  for (int i = 0; i < 70; ++i) {
    storeU64(pkt.data(), uint64_t(i) + 1);
    net.inject(*leafA, labAddress(1), pkt);
  }
  EXPECT_EQ(dropped(*leafA, DropReason::UnknownPeerQueueFull), 70u - 64u);
  net.run(6000);
  EXPECT_EQ(dropped(*leafA, DropReason::WhoisTimeout), 64u);
}

// --- state --------------------------------------------------------------------------------

class NodeState : public ::testing::Test {
 protected:
  lab::Underlay net;
};

TEST_F(NodeState, RestartOnSameStateKeepsAddress) {
  LabHost host(net, labAddress(5));
  Result<std::unique_ptr<Node>> first = Node::create(host, net.now);
  ASSERT_TRUE(first.ok()) << first.error();
  const Address address = (*first)->address();
  // Both identity objects written, the secret one parses back to the same identity.
  const Bytes& secret = host.store.at({StateObject::IdentitySecret, {0, 0}});
  const Bytes& pub = host.store.at({StateObject::IdentityPublic, {0, 0}});
  Result<Identity> parsed = Identity::fromString(std::string(secret.begin(), secret.end()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->hasSecret());
  EXPECT_EQ(parsed->address(), address);
  EXPECT_TRUE(parsed->validate());
  EXPECT_EQ(std::string(pub.begin(), pub.end()), parsed->toString(false));
  (*first)->shutdown(net.now);
  EXPECT_EQ(host.events, (std::vector<Event>{Event::Up, Event::Down}));
  first->reset();

  const int identityPuts = host.puts[StateObject::IdentitySecret];
  Result<std::unique_ptr<Node>> second = Node::create(host, net.now + 1000);
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ((*second)->address(), address);
  EXPECT_EQ(host.puts[StateObject::IdentitySecret], identityPuts);
}

TEST_F(NodeState, CorruptIdentityIsAClearErrorNotANewIdentity) {
  for (std::string bad : {std::string("not an identity"), vectorIdentity(4).substr(0, 150),
                          identityOf(vectorIdentity(4)).toString(false)}) {
    LabHost host(net, labAddress(5));
    host.store[{StateObject::IdentitySecret, {0, 0}}] = Bytes(bad.begin(), bad.end());
    Result<std::unique_ptr<Node>> node = Node::create(host, net.now);
    ASSERT_FALSE(node.ok()) << bad;
    EXPECT_NE(node.error().find("IDENTITY_SECRET"), std::string::npos) << node.error();
    EXPECT_EQ(host.puts[StateObject::IdentitySecret], 0);
    EXPECT_EQ(host.store.at({StateObject::IdentitySecret, {0, 0}}), Bytes(bad.begin(), bad.end()));
    EXPECT_TRUE(host.events.empty());
  }
}

TEST_F(NodeState, StoredPlanetIsKeptOverTheBuiltInDefault) {
  KeyPair signer = freshKeyPair();
  Identity root = identityOf(vectorIdentity(0));
  World lab = makePlanet(root, labAddress(1), 1'800'000'000'000, signer, signer.pub);
  LabHost host(net, labAddress(5));
  host.store[{StateObject::IdentitySecret, {0, 0}}] = bytesOf(vectorIdentity(1));
  host.store[{StateObject::Planet, {0, 0}}] = lab.serialize();
  Result<std::unique_ptr<Node>> node = Node::create(host, net.now);
  ASSERT_TRUE(node.ok()) << node.error();
  std::vector<PeerInfo> peers = (*node)->peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].address, root.address());
  EXPECT_EQ(peers[0].role, PeerRole::Planet);
  // Without a stored planet the node uses the built-in one (the public roots).
  LabHost bare(net, labAddress(6));
  bare.store[{StateObject::IdentitySecret, {0, 0}}] = bytesOf(vectorIdentity(2));
  Result<std::unique_ptr<Node>> other = Node::create(bare, net.now);
  ASSERT_TRUE(other.ok());
  Result<World> builtIn = World::parse(defaultPlanet());
  ASSERT_TRUE(builtIn.ok());
  EXPECT_EQ((*other)->peers().size(), builtIn->roots.size());
}

}  // namespace
}  // namespace zt
