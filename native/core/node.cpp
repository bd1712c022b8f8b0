#include "node.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "controller/controller.hpp"
#include "crypto/armor.hpp"
#include "vl1/expected_replies.hpp"
#include "vl1/topology.hpp"
#include "vl1/whois_queue.hpp"
#include "vl1/world.hpp"
#include "vl2/network.hpp"
#include "wire/compress.hpp"
#include "wire/fragment.hpp"
#include "wire/verbs_vl1.hpp"
#include "wire/verbs_vl2.hpp"

namespace zt {

using namespace vl1;
using wire::Verb;

constexpr uint8_t kProtocolVersion = 12;
constexpr uint8_t kMinProtocolVersion = 4;
constexpr NodeHost::StateId kSingleton{0, 0};

const char* eventName(Event e) {
  switch (e) {
    case Event::Up: return "UP";
    case Event::Offline: return "OFFLINE";
    case Event::Online: return "ONLINE";
    case Event::Down: return "DOWN";
    case Event::FatalErrorIdentityCollision: return "FATAL_ERROR_IDENTITY_COLLISION";
    case Event::Trace: return "TRACE";
    case Event::UserMessage: return "USER_MESSAGE";
    case Event::RemoteTrace: return "REMOTE_TRACE";
  }
  return "UNKNOWN";
}

const char* dropReasonName(DropReason r) {
  static constexpr const char* names[] = {
      "truncated", "badFragment", "notAuthenticated", "replay", "unknownPeerQueueFull",
      "whoisTimeout", "badHello", "hopLimit", "unexpectedOk", "unsupported", "badCompression",
      "malformed", "fromSelf", "untrustedRelay", "noRoute", "rateLimited", "notFromRoot"};
  static_assert(std::size(names) == size_t(DropReason::kCount));
  return size_t(r) < std::size(names) ? names[size_t(r)] : "unknown";
}

// Budget of proof-of-work checks for HELLOs from unknown identities, per source IP.
class IdentityCheckLimiter {
 public:
  static constexpr int kPerSecond = 16;
  bool allow(const InetAddress& from, int64_t now) {
    InetAddress ip = from;
    ip.port = 0;
    Bucket& b = buckets_[ip];
    if (now - b.windowStart >= 1000) b = {now, 0};
    return ++b.count <= kPerSecond;
  }
  void clear() { buckets_.clear(); }

 private:
  struct Bucket {
    int64_t windowStart = 0;
    int count = 0;
  };
  std::unordered_map<InetAddress, Bucket, InetAddressHash> buckets_;
};

struct Node::Impl {
  Impl(NodeHost& h, const NodeOptions& o, Identity id)
      : host(h), options(o), self(std::move(id)), selfPublic(self.publicOnly()), topology(self),
        rootMode(o.rootMode) {
    tx.reserve(wire::kMaxPacketLength);
  }

  NodeHost& host;
  NodeOptions options;
  Identity self;
  Identity selfPublic;
  Topology topology;
  WhoisQueue whois;
  ExpectedReplies expected;
  wire::Reassembler reassembler;
  IdentityCheckLimiter identityChecks;
  Counters counters;
  std::vector<InetAddress> localAddresses;
  std::map<uint64_t, Address> orbits;                  // moon id → seed root
  std::map<std::pair<uint64_t, uint64_t>, int64_t> rendezvousSent;  // pair → last time (root)
  std::unordered_map<InetAddress, int64_t, InetAddressHash> hintHellos;  // endpoint → last HELLO
  std::vector<HeldPacket> released;  // held packets whose identity arrived, run after the current one

  // ---- VL2
  std::map<uint64_t, std::unique_ptr<Network>> networks;
  // LIKEs recorded for networks we have not joined, as a root or as their controller.
  std::map<uint64_t, MulticastState> upstreamMulticast;
  NetworkController* master = nullptr;
  std::unordered_map<Address, int64_t> lastCredentials;  // per sender: 1 NETWORK_CREDENTIALS/s

  std::array<uint8_t, wire::kMaxPacketLength> rx{};     // dearmoring in place
  std::array<uint8_t, wire::kMaxPacketLength> plain{};  // decompressed packet
  Bytes tx;                                             // packet being built
  RandomPool packetIds;

  bool rootMode = false;
  bool online = false;
  int64_t onlineUntil = 0;          // while online: when the most recently heard root falls silent
  uint64_t onlineRootsGeneration = 0;  // the roots onlineUntil was computed from
  bool down = false;
  bool fatal = false;
  int64_t lastNow = 0;
  int64_t nextPingCheck = 0;
  int64_t nextHousekeeping = 0;

  // Where a request came from, for answering it the same way.
  struct Reply {
    int64_t sock;
    InetAddress from;
    bool direct;      // hop count 0: answer on this path
    uint64_t wireId;  // the request's packet id as it arrived (quoted in OK/ERROR)
  };
  struct Route {
    int64_t sock;
    InetAddress to;
    Path* path;  // the peer's or the relaying root's path, or nullptr for an endpoint hint
  };

  // ---- state
  Result<bool> loadWorlds();
  void persistPeers();
  void loadPeerCache();

  // ---- receive
  void receive(int64_t now, int64_t sock, const InetAddress& from, ByteView data);
  bool trustedPath(int64_t sock, const InetAddress& from, int64_t now);
  void relay(int64_t now, int64_t sock, const InetAddress& from, ByteView data, bool fragment);
  void learnPath(int64_t now, Peer& peer, int64_t sock, const InetAddress& from);
  void handlePacket(int64_t now, int64_t sock, const InetAddress& from, ByteView pkt, uint8_t* opened);
  void dispatch(int64_t now, int64_t sock, const InetAddress& from, Peer& peer, ByteView pkt, uint64_t wireId);
  void handleHello(int64_t now, int64_t sock, const InetAddress& from, MutableByteView pkt);
  void answerCollision(int64_t now, int64_t sock, const InetAddress& from, MutableByteView pkt,
                       const Identity& offered, uint8_t protocol);
  Bytes worldUpdatesFor(const wire::Hello& hello);
  void handleOk(int64_t now, const Reply& reply, Peer& peer, ByteView payload);
  void measureLatency(int64_t now, const Reply& reply, Peer& peer, int64_t sentAt);
  void handleOkHello(int64_t now, const Reply& reply, Peer& peer, const wire::OkHello& ok);
  void acceptWorld(const Peer& from, bool fromRoot, World world);
  void handleOkWhois(ByteView body);
  void handleError(int64_t now, Peer& peer, ByteView payload);
  void handleWhois(int64_t now, const Reply& reply, Peer& peer, ByteView payload);
  void handleEcho(int64_t now, const Reply& reply, Peer& peer, ByteView payload);
  void handleRendezvous(int64_t now, Peer& peer, ByteView payload);
  void handlePushDirectPaths(int64_t now, Peer& peer, ByteView payload);
  void helloHint(int64_t now, Peer& peer, int64_t sock, const InetAddress& to);
  void peerLearned(Peer& peer);
  void runReleased(int64_t now);

  // ---- send
  Writer startPacket(Address destination, Verb verb);
  // Compresses (not HELLO), flags for fragmentation, encrypts the HELLO moon list (HELLO),
  // armors, sends; returns the packet id as on the wire.
  uint64_t sealAndTransmit(int64_t now, Writer&& w, PeerCipher& cipher, Cipher suite, int64_t sock,
                           const InetAddress& to, bool compress = true);
  void transmit(int64_t now, int64_t sock, const InetAddress& to, ByteView pkt);
  std::optional<Route> route(int64_t now, Peer& peer);
  template <class Body>
  bool sendVia(int64_t now, Peer& peer, const Route& r, Verb verb, const Body& body, bool expectReply);
  template <class Body>
  bool send(int64_t now, Peer& peer, Verb verb, const Body& body, bool expectReply);
  template <class Body>
  void sendReply(int64_t now, const Reply& reply, Peer& peer, Verb verb, const Body& body);
  void sendHelloTo(int64_t now, Peer& peer, int64_t sock, const InetAddress& to);
  void sendHello(int64_t now, Peer& peer);
  void sendEcho(int64_t now, Peer& peer, const std::optional<Route>& via);
  void askWhois(int64_t now);
  void rendezvous(int64_t now, Peer& a, Peer& b);

  // ---- timers
  void pingCheck(int64_t now);
  void housekeeping(int64_t now);
  void updateOnline(int64_t now);
  int64_t nextDeadline() const;

  // ---- VL2 (vl2/network.hpp does the work; this routes verbs to it)
  Network* network(uint64_t id) {
    auto it = networks.find(id);
    return it == networks.end() ? nullptr : it->second.get();
  }
  // Whether we keep the network's subscriptions for `sender` and answer its GATHERs without being
  // a member: as a root, or as its controller when we recently authorised the sender (§3.3-3.4).
  bool servesMulticast(int64_t now, uint64_t networkId, Address sender) const {
    if (rootMode) return true;
    return master && controllerOf(networkId) == self.address() && master->recentlyAuthorized(uint64_t(now), networkId, sender);
  }
  void dispatchVl2(int64_t now, const Reply& reply, Peer& peer, Verb verb, ByteView payload);
  void handleCredentials(int64_t now, Address sender, ByteView payload);
  void handleConfigRequest(int64_t now, const Reply& reply, Peer& peer, ByteView payload);
  void handleUpstreamGather(int64_t now, Peer& peer, const wire::MulticastGather& gather, uint64_t wireId);
  bool handleVl2Ok(int64_t now, Peer& peer, const wire::OkHeader& ok);
  bool handleVl2Error(int64_t now, Peer& peer, const wire::ErrorReply& error);
  void sendNetconf(int64_t now, const std::vector<ControllerMessage>& messages);
  void deliverNetconfToSelf(int64_t now, ControllerMessage::Kind kind, ByteView payload);

  uint64_t sendVl2(int64_t now, Address to, Verb verb, FunctionRef<void(Writer&)> body, SendOptions options);
  void requestOwnConfig(int64_t now, uint64_t networkId, ByteView metadata);

  // What the networks see of this node.
  struct Environment final : NetworkEnvironment {
    explicit Environment(Impl& n) : node(n) {}
    Impl& node;
    const Identity& selfIdentity() const override { return node.self; }
    std::optional<Identity> peerIdentity(int64_t now, Address a) override;
    bool rootMode() const override { return node.rootMode; }
    std::vector<Address> rootAddresses() const override;
    Address bestRoot(int64_t now) override;
    uint64_t send(int64_t now, Address to, Verb verb, FunctionRef<void(Writer&)> body, SendOptions options) override {
      return node.sendVl2(now, to, verb, body, options);
    }
    void requestOwnConfig(int64_t now, uint64_t networkId, ByteView metadata) override {
      node.requestOwnConfig(now, networkId, metadata);
    }
    NodeHost& host() override { return node.host; }
  };
  Environment environment{*this};

  void drop(DropReason r) { ++counters.dropped[size_t(r)]; }
  void fire(Event e, std::string_view detail = {}) { host.onEvent(e, detail); }
};


// ================================================================================================
// Creation and state
// ================================================================================================

static std::string_view asText(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

static Result<Identity> loadOrCreateIdentity(NodeHost& host) {
  std::optional<Bytes> stored = host.stateGet(StateObject::IdentitySecret, kSingleton);
  if (!stored) {
    Identity fresh = Identity::generate();
    std::string pub = fresh.toString(false), secret = fresh.toString(true);
    host.statePut(StateObject::IdentitySecret, kSingleton, asBytes(secret));
    host.statePut(StateObject::IdentityPublic, kSingleton, asBytes(pub));
    return fresh;
  }
  std::string_view text = asText(*stored);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  Result<Identity> id = Identity::fromString(text);
  if (!id) return fail("stored IDENTITY_SECRET is unreadable (" + id.error() + "); refusing to replace it");
  if (!id->hasSecret()) return fail("stored IDENTITY_SECRET holds no secret key; refusing to replace it");
  // Keep the public object in step with the secret (it may be missing after a partial restore).
  std::string pub = id->toString(false);
  std::optional<Bytes> storedPublic = host.stateGet(StateObject::IdentityPublic, kSingleton);
  if (!storedPublic || asText(*storedPublic).substr(0, pub.size()) != pub)
    host.statePut(StateObject::IdentityPublic, kSingleton, asBytes(pub));
  return id;
}

Result<bool> Node::Impl::loadWorlds() {
  Result<World> builtIn = World::parse(defaultPlanet());
  if (!builtIn) return fail("built-in planet does not parse: " + builtIn.error());
  World planet = *builtIn;
  if (std::optional<Bytes> stored = host.stateGet(StateObject::Planet, kSingleton)) {
    Result<World> parsed = World::parse(*stored);
    if (parsed && parsed->type == World::Planet) {
      planet = std::move(*parsed);
      if (shouldReplace(planet, *builtIn)) {
        planet = *builtIn;
        host.statePut(StateObject::Planet, kSingleton, planet.serialize());
      }
    }
  }
  topology.setPlanet(std::move(planet));
  for (const NodeHost::StateId& id : host.stateList(StateObject::Moon)) {
    std::optional<Bytes> stored = host.stateGet(StateObject::Moon, id);
    if (!stored) continue;
    Result<World> moon = World::parse(*stored);
    if (!moon || moon->type != World::Moon || moon->id != id[0] || moon->roots.empty()) continue;
    orbits[moon->id] = moon->roots.front().identity.address();
    topology.setMoon(std::move(*moon));
  }
  return true;
}

// PEER object: the peer's identity (binary, public), a path count, then each path's remote
// address (wire form). Only a hint for first contact: paths come back as not alive.
void Node::Impl::persistPeers() {
  for (auto& [address, peer] : topology.peers()) {
    if (peer->paths().empty()) continue;
    Writer w;
    peer->identity().write(w);
    w.u8(uint8_t(peer->paths().size()));
    for (const Path& p : peer->paths()) p.remote.write(w);
    host.statePut(StateObject::Peer, {address.value, 0}, w.data());
  }
}

void Node::Impl::loadPeerCache() {
  for (const NodeHost::StateId& id : host.stateList(StateObject::Peer)) {
    std::optional<Bytes> stored = host.stateGet(StateObject::Peer, id);
    if (!stored) continue;
    Reader r(*stored);
    Result<Identity> identity = Identity::read(r);
    if (!identity || identity->address().value != id[0] || !topology.identityValid(*identity)) continue;
    Peer* peer = topology.add(*identity);
    if (!peer) continue;
    for (unsigned n = r.u8(); n > 0 && !r.failed(); --n) {
      InetAddress remote = InetAddress::read(r);
      if (!r.failed() && !remote.empty()) peer->remember(-1, remote);
    }
  }
}

Result<std::unique_ptr<Node>> Node::create(NodeHost& host, int64_t now, NodeOptions options) {
  Result<Identity> id = loadOrCreateIdentity(host);
  if (!id) return fail(id.error());
  auto impl = std::make_unique<Impl>(host, options, std::move(*id));
  if (Result<bool> worlds = impl->loadWorlds(); !worlds) return fail(worlds.error());
  if (options.loadPeerCache) impl->loadPeerCache();
  for (const NodeHost::StateId& id : host.stateList(StateObject::NetworkConfig)) {
    auto network = std::make_unique<Network>(impl->environment, id[0]);
    Network& joined = *impl->networks.emplace(id[0], std::move(network)).first->second;
    joined.start(now);
  }
  impl->lastNow = now;
  impl->nextPingCheck = now;
  impl->nextHousekeeping = now + kHousekeepingInterval;
  std::unique_ptr<Node> node(new Node(std::move(impl)));
  node->impl_->fire(Event::Up);
  node->impl_->updateOnline(now);
  return node;
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

// ================================================================================================
// Receiving
// ================================================================================================

void Node::Impl::receive(int64_t now, int64_t sock, const InetAddress& from, ByteView data) {
  if (data.size() > wire::kMaxPacketLength) return drop(DropReason::Malformed);  // no valid datagram is larger
  switch (wire::classify(data)) {
    case wire::DatagramKind::Short:
      // Under 16 bytes: 1.14's NAT keepalives. 16 to 27: too short for a header.
      if (data.size() >= wire::kMinFragmentLength) drop(DropReason::Truncated);
      return;
    case wire::DatagramKind::Fragment: {
      Result<wire::FragmentHeader> header = wire::FragmentHeader::parse(data);
      if (!header) return drop(DropReason::BadFragment);
      if (header->destination != self.address()) return relay(now, sock, from, data, true);
      if (std::optional<MutableByteView> whole = reassembler.addFragment(data, now))
        handlePacket(now, sock, from, *whole, whole->data());
      return;
    }
    case wire::DatagramKind::Packet:
      break;
  }
  if (wire::destination(data) != self.address()) return relay(now, sock, from, data, false);
  if (wire::fragmented(data)) {
    if (std::optional<MutableByteView> whole = reassembler.addHead(data, now))
      handlePacket(now, sock, from, *whole, whole->data());
    return;
  }
  handlePacket(now, sock, from, data, rx.data());
}

bool Node::Impl::trustedPath(int64_t sock, const InetAddress& from, int64_t now) {
  for (auto& [address, peer] : topology.peers())
    if (const Path* p = peer->findPath(sock, from); p && p->alive(now)) return true;
  return false;
}

// Forwards a packet or fragment addressed to someone else (vl1-packets.md section 5). Only the
// destination and hop count are read: the relay cannot authenticate what it forwards.
void Node::Impl::relay(int64_t now, int64_t sock, const InetAddress& from, ByteView data, bool fragment) {
  if (!rootMode && !trustedPath(sock, from, now)) return drop(DropReason::UntrustedRelay);
  const size_t hopOffset = fragment ? 15 : wire::kFlagsOffset;
  const unsigned hops = data[hopOffset] & 7;
  if (hops >= wire::kMaxHops) return drop(DropReason::HopLimit);
  Address dst{loadU40(data.data() + wire::kDestinationOffset)};
  Peer* target = topology.find(dst);
  Path* path = target ? target->bestPath(now) : nullptr;
  if (!path && !rootMode) {
    Peer* root = topology.bestRoot(now);
    path = root && root != target ? root->bestPath(now) : nullptr;
  }
  if (!path || path->is(sock, from)) return drop(DropReason::NoRoute);
  std::copy(data.begin(), data.end(), rx.begin());
  rx[hopOffset] = uint8_t((rx[hopOffset] & 0xf8) | (hops + 1));
  if (host.wirePacketSend(path->localSocket, path->remote, ByteView(rx.data(), data.size()), 0)) {
    ++counters.packetsSent;
    path->lastSend = now;
  }
  ++counters.packetsRelayed;
  if (rootMode && !fragment && hops == 0 && target && target->bestPath(now) == path) {
    if (Peer* source = topology.find(wire::source(data))) rendezvous(now, *source, *target);
  }
}

void Node::Impl::learnPath(int64_t now, Peer& peer, int64_t sock, const InetAddress& from) {
  if (Path* p = peer.findPath(sock, from)) {
    p->lastReceive = now;
  } else if (host.pathCheck(peer.address(), sock, from)) {
    peer.received(now, sock, from);
  }
}

// pkt: the packet as it arrived; opened: where it is decrypted (pkt.size() bytes, which may be
// pkt's own, as for reassembled packets).
void Node::Impl::handlePacket(int64_t now, int64_t sock, const InetAddress& from, ByteView pkt, uint8_t* opened) {
  const Address src = wire::source(pkt);
  if (src == self.address()) return drop(DropReason::FromSelf);
  if (src.reserved()) return drop(DropReason::Malformed);
  if (wire::cipher(pkt) == Cipher::Poly1305 && wire::verb(pkt) == uint8_t(Verb::Hello)) {
    if (opened != pkt.data()) std::copy(pkt.begin(), pkt.end(), opened);
    return handleHello(now, sock, from, MutableByteView(opened, pkt.size()));
  }
  Peer* peer = topology.find(src);
  if (!peer) {
    if (!whois.hold(now, {src, false, Bytes(pkt.begin(), pkt.end()), sock, from}))
      return drop(DropReason::UnknownPeerQueueFull);
    return askWhois(now);
  }
  const uint64_t wireId = wire::packetId(pkt);
  const unsigned hops = wire::hops(pkt);
  const Cipher cipher = wire::cipher(pkt);
  // Only HELLO may travel unencrypted; everything else must be suite 1 or 3.
  if (cipher == Cipher::Poly1305 || !peer->cipher().dearmor(pkt, opened)) return drop(DropReason::NotAuthenticated);
  if (!peer->replay().accept(wireId)) return drop(DropReason::Replay);
  ByteView packet(opened, pkt.size());
  if (wire::compressed(packet)) {
    Result<size_t> length = wire::decompressPacket(packet, plain);
    if (!length) return drop(DropReason::BadCompression);
    packet = ByteView(plain.data(), *length);
  }
  ++counters.packetsReceived;
  peer->lastReceive = now;
  if (hops == 0) learnPath(now, *peer, sock, from);
  dispatch(now, sock, from, *peer, packet, wireId);
}

void Node::Impl::dispatch(int64_t now, int64_t sock, const InetAddress& from, Peer& peer, ByteView pkt,
                          uint64_t wireId) {
  const ByteView payload = pkt.subspan(wire::kPayloadOffset);
  const Reply reply{sock, from, wire::hops(pkt) == 0, wireId};
  switch (Verb(wire::verb(pkt))) {
    case Verb::Nop:
      return;
    case Verb::Ok:
      return handleOk(now, reply, peer, payload);
    case Verb::Error:
      return handleError(now, peer, payload);
    case Verb::Whois:
      return handleWhois(now, reply, peer, payload);
    case Verb::Echo:
      return handleEcho(now, reply, peer, payload);
    case Verb::Rendezvous:
      return handleRendezvous(now, peer, payload);
    case Verb::PushDirectPaths:
      return handlePushDirectPaths(now, peer, payload);
    case Verb::UserMessage: {
      Result<wire::UserMessage> m = wire::UserMessage::parse(payload);
      if (!m) return drop(DropReason::Malformed);
      return fire(Event::UserMessage, "source=" + peer.address().toString() + "\ntype=" +
                                          wire::hex64(m->typeId) + "\npayload=" + toHex(m->data));
    }
    case Verb::RemoteTrace:
      return;  // diagnostic only
    case Verb::Frame:
    case Verb::ExtFrame:
    case Verb::MulticastLike:
    case Verb::NetworkCredentials:
    case Verb::NetworkConfigRequest:
    case Verb::NetworkConfig:
    case Verb::MulticastGather:
    case Verb::MulticastFrame:
      return dispatchVl2(now, reply, peer, Verb(wire::verb(pkt)), payload);
    default:
      return drop(DropReason::Unsupported);  // HELLO not in suite 0, multipath, unknown
  }
}

// HELLO (vl1-packets.md 7.1), in 1.14's order: cheap checks, MAC with the known or the offered
// identity, proof of work last and only for new identities.
void Node::Impl::handleHello(int64_t now, int64_t sock, const InetAddress& from, MutableByteView pkt) {
  const ByteView payload = pkt.subspan(wire::kPayloadOffset);
  Reader head(payload);
  const uint8_t protocol = head.u8();
  head.skip(12);  // versions and timestamp
  Result<Identity> offered = Identity::read(head);
  if (head.failed() || !offered || protocol < kMinProtocolVersion || offered->address() != wire::source(pkt))
    return drop(DropReason::BadHello);
  const uint64_t wireId = wire::packetId(pkt);
  Peer* peer = topology.find(offered->address());
  if (peer && !(peer->identity() == *offered)) return answerCollision(now, sock, from, pkt, *offered, protocol);
  if (!peer) {
    if (!identityChecks.allow(from, now)) return drop(DropReason::RateLimited);
    std::optional<SymmetricKey> key = self.agree(*offered);
    if (!key) return drop(DropReason::BadHello);
    if (!PeerCipher(*key).dearmor(pkt)) return drop(DropReason::NotAuthenticated);
    if (!topology.identityValid(*offered)) return drop(DropReason::BadHello);
    peer = topology.add(*offered);
    if (!peer) return drop(DropReason::BadHello);
  } else if (!peer->cipher().dearmor(pkt)) {
    return drop(DropReason::NotAuthenticated);
  }
  if (!peer->replay().accept(wireId)) return drop(DropReason::Replay);
  if (wire::compressed(pkt) || !wire::cryptHelloMoons(pkt, peer->cipher().key())) return drop(DropReason::BadHello);
  Result<wire::Hello> hello = wire::Hello::parse(payload);
  if (!hello) return drop(DropReason::BadHello);

  ++counters.packetsReceived;
  peer->setVersions(hello->protocolVersion, hello->versionMajor, hello->versionMinor, hello->versionRevision);
  peer->lastReceive = now;
  const bool direct = wire::hops(pkt) == 0;
  if (direct) learnPath(now, *peer, sock, from);
  peerLearned(*peer);

  wire::OkReply<wire::OkHello> ok;
  ok.inReVerb = uint8_t(Verb::Hello);
  ok.inRePacketId = wireId;
  ok.body.timestampEcho = hello->timestamp;
  ok.body.protocolVersion = kProtocolVersion;
  ok.body.versionMajor = options.versionMajor;
  ok.body.versionMinor = options.versionMinor;
  ok.body.versionRevision = options.versionRevision;
  if (direct) ok.body.physicalSource = from;
  const Bytes updates = worldUpdatesFor(*hello);
  ok.body.worldUpdates = updates;
  sendReply(now, Reply{sock, from, direct, wireId}, *peer, Verb::Ok, ok);
}

// A HELLO under a known address from a different identity: if the offered identity's own key
// authenticates it, tell the sender its address is taken (it will stop); otherwise it is noise.
void Node::Impl::answerCollision(int64_t now, int64_t sock, const InetAddress& from, MutableByteView pkt,
                                 const Identity& offered, uint8_t protocol) {
  drop(DropReason::BadHello);
  std::optional<SymmetricKey> key = self.agree(offered);
  if (!key) return;
  PeerCipher cipher(*key);
  const uint64_t wireId = wire::packetId(pkt);
  if (!cipher.dearmor(pkt)) return;
  wire::ErrorReply error;
  error.inReVerb = uint8_t(Verb::Hello);
  error.inRePacketId = wireId;
  error.code = wire::ErrorCode::IdentityCollision;
  Writer w = startPacket(offered.address(), Verb::Error);
  error.write(w);
  const Cipher suite = protocol >= kAesMinProtocolVersion ? Cipher::AesGmacSiv : Cipher::Salsa2012Poly1305;
  sealAndTransmit(now, std::move(w), cipher, suite, sock, from);
}

// The worlds a HELLO's sender lacks, if we serve them: our planet when we are a root of it (or
// run as a root) and it is newer than the sender's, and moons we are a root of.
Bytes Node::Impl::worldUpdatesFor(const wire::Hello& hello) {
  Writer w;
  auto serves = [&](const World& world) {
    return rootMode || std::any_of(world.roots.begin(), world.roots.end(),
                                   [&](const World::Root& r) { return r.identity.address() == self.address(); });
  };
  const World& planet = topology.planet();
  if (hello.planetId == planet.id && hello.planetTimestamp < planet.timestamp && serves(planet)) planet.write(w);
  for (const wire::HelloMoon& wanted : hello.moons) {
    auto it = topology.moons().find(wanted.id);
    if (it != topology.moons().end() && wanted.timestamp < it->second.timestamp && serves(it->second))
      it->second.write(w);
  }
  return w.take();
}

void Node::Impl::handleOk(int64_t now, const Reply& reply, Peer& peer, ByteView payload) {
  Result<wire::OkHeader> ok = wire::OkHeader::parse(payload);
  if (!ok) return drop(DropReason::Malformed);
  if (handleVl2Ok(now, peer, *ok)) return;
  if (!expected.take(ok->inRePacketId, ok->inReVerb, now)) return drop(DropReason::UnexpectedOk);
  switch (Verb(ok->inReVerb)) {
    case Verb::Hello: {
      Result<wire::OkHello> hello = wire::OkHello::parse(ok->body);
      if (!hello) return drop(DropReason::Malformed);
      return handleOkHello(now, reply, peer, *hello);
    }
    case Verb::Whois:
      return handleOkWhois(ok->body);
    case Verb::Echo: {
      ++counters.echoRepliesReceived;
      Result<wire::Echo> echo = wire::Echo::parse(ok->body);
      if (echo && echo->data.size() == 8) measureLatency(now, reply, peer, int64_t(loadU64(echo->data.data())));
      return;
    }
    default:
      return;  // VL2 answers come with the next layer
  }
}

void Node::Impl::measureLatency(int64_t now, const Reply& reply, Peer& peer, int64_t sentAt) {
  if (!reply.direct || sentAt > now) return;
  peer.latency = now - sentAt;
  if (Path* p = peer.findPath(reply.sock, reply.from)) p->latency = peer.latency;
}

void Node::Impl::handleOkHello(int64_t now, const Reply& reply, Peer& peer, const wire::OkHello& ok) {
  measureLatency(now, reply, peer, int64_t(ok.timestampEcho));
  peer.setVersions(ok.protocolVersion, ok.versionMajor, ok.versionMinor, ok.versionRevision);
  if (ok.worldUpdates.empty()) return;
  const bool fromRoot = topology.isRoot(peer.address());
  Reader r(ok.worldUpdates);
  while (r.remaining() > 0) {
    Result<World> world = World::read(r);
    if (!world) return drop(DropReason::Malformed);
    acceptWorld(peer, fromRoot, std::move(*world));
  }
}

// World update rules (vl1-peers-worlds-api.md section 4): a planet or known moon only as a valid
// update from a root; a first moon only from the seed we asked, and only if it is self-signed.
void Node::Impl::acceptWorld(const Peer& from, bool fromRoot, World world) {
  if (world.type == World::Planet) {
    if (!fromRoot) return drop(DropReason::NotFromRoot);
    if (!shouldReplace(topology.planet(), world)) return;
    host.statePut(StateObject::Planet, kSingleton, world.serialize());
    topology.setPlanet(std::move(world));
    return;
  }
  auto orbit = orbits.find(world.id);
  if (orbit == orbits.end()) return;
  auto held = topology.moons().find(world.id);
  const bool accept = held != topology.moons().end()
                          ? fromRoot && shouldReplace(held->second, world)
                          : orbit->second == from.address() && world.verifySignature(world.updatesMustBeSignedBy);
  if (!accept) return;
  host.statePut(StateObject::Moon, {world.id, 0}, world.serialize());
  topology.setMoon(std::move(world));
}

void Node::Impl::handleOkWhois(ByteView body) {
  Result<wire::OkWhois> answer = wire::OkWhois::parse(body);
  if (!answer) return drop(DropReason::Malformed);
  for (const Identity& identity : answer->identities) {
    // Only identities we asked for, proven by their own proof of work.
    if (!whois.pending(identity.address()) || topology.find(identity.address())) continue;
    if (!topology.identityValid(identity)) continue;
    if (Peer* peer = topology.add(identity)) {
      ++counters.whoisAnswered;
      peerLearned(*peer);
    }
  }
}

void Node::Impl::handleError(int64_t now, Peer& peer, ByteView payload) {
  Result<wire::ErrorReply> error = wire::ErrorReply::parse(payload);
  if (!error) return drop(DropReason::Malformed);
  if (handleVl2Error(now, peer, *error)) return;
  if (!expected.take(error->inRePacketId, error->inReVerb, now)) return drop(DropReason::UnexpectedOk);
  if (error->code == wire::ErrorCode::IdentityCollision && error->inReVerb == uint8_t(Verb::Hello) &&
      topology.isRoot(peer.address())) {
    fatal = true;
    fire(Event::FatalErrorIdentityCollision,
         "root=" + peer.address().toString() + "\naddress=" + self.address().toString());
  }
}

void Node::Impl::handleWhois(int64_t now, const Reply& reply, Peer& peer, ByteView payload) {
  if (!rootMode) return;  // only roots answer from their table
  Result<wire::Whois> whoisRequest = wire::Whois::parse(payload);
  if (!whoisRequest) return drop(DropReason::Malformed);
  wire::OkReply<wire::OkWhois> ok;
  ok.inReVerb = uint8_t(Verb::Whois);
  ok.inRePacketId = reply.wireId;
  for (Address a : whoisRequest->addresses)
    if (const Peer* known = topology.find(a)) ok.body.identities.push_back(known->identity());
  if (!ok.body.identities.empty()) sendReply(now, reply, peer, Verb::Ok, ok);
}

void Node::Impl::handleEcho(int64_t now, const Reply& reply, Peer& peer, ByteView payload) {
  wire::OkReply<wire::Echo> ok;
  ok.inReVerb = uint8_t(Verb::Echo);
  ok.inRePacketId = reply.wireId;
  ok.body.data = payload;
  sendReply(now, reply, peer, Verb::Ok, ok);
}

void Node::Impl::handleRendezvous(int64_t now, Peer& peer, ByteView payload) {
  if (!topology.isRoot(peer.address())) return drop(DropReason::NotFromRoot);
  Result<wire::Rendezvous> r = wire::Rendezvous::parse(payload);
  if (!r) return drop(DropReason::Malformed);
  Peer* other = topology.find(r->with);
  if (other && !r->endpoint.empty()) helloHint(now, *other, -1, r->endpoint);
}

void Node::Impl::handlePushDirectPaths(int64_t now, Peer& peer, ByteView payload) {
  Result<wire::PushDirectPaths> push = wire::PushDirectPaths::parse(payload);
  if (!push) return drop(DropReason::Malformed);
  for (const wire::DirectPath& p : push->paths)
    if (!(p.flags & wire::DirectPath::kForget) && !p.endpoint.empty()) helloHint(now, peer, -1, p.endpoint);
}

// A hinted endpoint (RENDEZVOUS, PUSH_DIRECT_PATHS): HELLO it, rate-limited per endpoint; the
// path is used only once an authenticated packet arrives on it.
void Node::Impl::helloHint(int64_t now, Peer& peer, int64_t sock, const InetAddress& to) {
  if (std::find(localAddresses.begin(), localAddresses.end(), to) != localAddresses.end()) return;
  if (!host.pathCheck(peer.address(), sock, to)) return;
  int64_t& last = hintHellos[to];
  if (last != 0 && now - last < kHintHelloInterval) return;
  last = now;
  sendHelloTo(now, peer, sock, to);
}

void Node::Impl::peerLearned(Peer& peer) {
  for (HeldPacket& held : whois.release(peer.address())) released.push_back(std::move(held));
}

// Held packets whose sender or recipient became known: processed after the packet that taught
// us the identity, since that one still occupies the receive buffer.
void Node::Impl::runReleased(int64_t now) {
  while (!released.empty()) {
    std::vector<HeldPacket> batch = std::move(released);
    released.clear();
    for (const HeldPacket& held : batch) {
      Peer* peer = topology.find(held.peer);
      if (!peer) continue;
      if (held.outbound) {
        send(now, *peer, Verb(held.data[0]), wire::Opaque{ByteView(held.data).subspan(1)}, held.expectReply);
      } else {
        handlePacket(now, held.localSocket, held.remote, held.data, rx.data());
      }
    }
  }
}

// ================================================================================================
// Sending
// ================================================================================================

Writer Node::Impl::startPacket(Address destination, Verb verb) {
  tx.clear();
  Writer w(std::move(tx));
  uint8_t header[wire::kPayloadOffset] = {};  // id, destination, source, flags and MAC (0), verb: one append
  storeU64(header, packetIds.next());
  storeU40(header + wire::kDestinationOffset, destination.value);
  storeU40(header + wire::kSourceOffset, self.address().value);
  header[wire::kVerbOffset] = uint8_t(verb);
  w.bytes(header);
  return w;
}

uint64_t Node::Impl::sealAndTransmit(int64_t now, Writer&& w, PeerCipher& cipher, Cipher suite, int64_t sock,
                                     const InetAddress& to, bool compress) {
  tx = w.take();
  size_t length = tx.size();
  if (suite != Cipher::Poly1305 && compress) length = wire::compressPacket(tx);
  MutableByteView pkt(tx.data(), length);
  if (length > options.physicalMtu) pkt[wire::kFlagsOffset] |= wire::kFlagFragmented;
  if (suite == Cipher::Poly1305) wire::cryptHelloMoons(pkt, cipher.key());
  cipher.armor(pkt, suite);
  transmit(now, sock, to, pkt);
  return wire::packetId(pkt);
}

void Node::Impl::transmit(int64_t now, int64_t sock, const InetAddress& to, ByteView pkt) {
  (void)now;
  wire::fragmentPacket(pkt, options.physicalMtu, [&](ByteView datagram) {
    if (host.wirePacketSend(sock, to, datagram, 0)) ++counters.packetsSent;
  });
}

// Where to send to a peer: its best live direct path; else through our best root (unless we
// are a root, or it is the root); else a remembered path, a stable endpoint or the host's hint.
std::optional<Node::Impl::Route> Node::Impl::route(int64_t now, Peer& peer) {
  if (Path* p = peer.bestPath(now)) return Route{p->localSocket, p->remote, p};
  if (!rootMode) {
    Peer* root = topology.bestRoot(now);
    if (root && root != &peer)
      if (Path* p = root->bestPath(now)) return Route{p->localSocket, p->remote, p};
  }
  if (Path* p = peer.anyPath(now)) return Route{p->localSocket, p->remote, p};
  if (const RootEntry* r = topology.root(peer.address()); r && !r->stableEndpoints.empty())
    return Route{-1, r->stableEndpoints.front(), nullptr};
  if (std::optional<InetAddress> hint = host.pathLookup(peer.address(), InetAddress::Family::None))
    return Route{-1, *hint, nullptr};
  return std::nullopt;
}

template <class Body>
bool Node::Impl::sendVia(int64_t now, Peer& peer, const Route& r, Verb verb, const Body& body, bool expectReply) {
  Writer w = startPacket(peer.address(), verb);
  body.write(w);
  const uint64_t id = sealAndTransmit(now, std::move(w), peer.cipher(), peer.sendCipher(), r.sock, r.to);
  if (expectReply) expected.expect(id, uint8_t(verb), now);
  if (r.path) r.path->lastSend = now;
  else if (Path* p = peer.findPath(r.sock, r.to)) p->lastSend = now;
  return true;
}

template <class Body>
bool Node::Impl::send(int64_t now, Peer& peer, Verb verb, const Body& body, bool expectReply) {
  std::optional<Route> r = route(now, peer);
  return r && sendVia(now, peer, *r, verb, body, expectReply);
}

// Answers go back on the path the request came in on when it came directly, else by route.
template <class Body>
void Node::Impl::sendReply(int64_t now, const Reply& reply, Peer& peer, Verb verb, const Body& body) {
  if (reply.direct) sendVia(now, peer, Route{reply.sock, reply.from, peer.findPath(reply.sock, reply.from)}, verb, body, false);
  else send(now, peer, verb, body, false);
}

void Node::Impl::sendHelloTo(int64_t now, Peer& peer, int64_t sock, const InetAddress& to) {
  wire::Hello hello;
  hello.protocolVersion = kProtocolVersion;
  hello.versionMajor = options.versionMajor;
  hello.versionMinor = options.versionMinor;
  hello.versionRevision = options.versionRevision;
  hello.timestamp = uint64_t(now);
  hello.identity = selfPublic;
  hello.physicalDestination = to;
  hello.planetId = topology.planet().id;
  hello.planetTimestamp = topology.planet().timestamp;
  for (const auto& [id, seed] : orbits) {
    auto held = topology.moons().find(id);
    hello.moons.push_back({World::Moon, id, held == topology.moons().end() ? 0 : held->second.timestamp});
  }
  Writer w = startPacket(peer.address(), Verb::Hello);
  hello.write(w);
  const uint64_t id = sealAndTransmit(now, std::move(w), peer.cipher(), Cipher::Poly1305, sock, to);
  expected.expect(id, uint8_t(Verb::Hello), now);
  peer.lastHelloSent = now;
  if (Path* p = peer.findPath(sock, to)) p->lastSend = now;
}

void Node::Impl::sendHello(int64_t now, Peer& peer) {
  if (std::optional<Route> r = route(now, peer)) sendHelloTo(now, peer, r->sock, r->to);
}

void Node::Impl::sendEcho(int64_t now, Peer& peer, const std::optional<Route>& via) {
  std::array<uint8_t, 8> stamp;
  storeU64(stamp.data(), uint64_t(now));
  const wire::Echo echo{ByteView(stamp)};
  if (via) sendVia(now, peer, *via, Verb::Echo, echo, true);
  else send(now, peer, Verb::Echo, echo, true);
}

void Node::Impl::askWhois(int64_t now) {
  std::vector<Address> due = whois.due(now, [this](const HeldPacket&) { drop(DropReason::WhoisTimeout); });
  if (due.empty() || rootMode) return;
  Peer* root = topology.bestRoot(now);
  if (!root) return;
  std::erase(due, root->address());
  if (!due.empty()) send(now, *root, Verb::Whois, wire::Whois{due}, true);
}

// Roots introduce two peers they relay between (vl1-packets.md 7.6), at most every 10 s a pair.
void Node::Impl::rendezvous(int64_t now, Peer& a, Peer& b) {
  Path* pa = a.bestPath(now);
  Path* pb = b.bestPath(now);
  if (!pa || !pb) return;
  const uint64_t x = a.address().value, y = b.address().value;
  const std::pair<uint64_t, uint64_t> key{std::min(x, y), std::max(x, y)};
  int64_t& last = rendezvousSent[key];
  if (last != 0 && now - last < kRendezvousInterval) return;
  last = now;
  sendVia(now, a, Route{pa->localSocket, pa->remote, pa}, Verb::Rendezvous, wire::Rendezvous{0, b.address(), pb->remote}, false);
  sendVia(now, b, Route{pb->localSocket, pb->remote, pb}, Verb::Rendezvous, wire::Rendezvous{0, a.address(), pa->remote}, false);
}

// ================================================================================================
// Timers
// ================================================================================================

void Node::Impl::pingCheck(int64_t now) {
  for (const RootEntry& root : topology.roots()) {
    Peer* peer = topology.find(root.identity.address());
    if (!peer) continue;
    if (peer->bestPath(now)) {
      if (now - peer->lastHelloSent >= kRootHelloInterval) sendHello(now, *peer);
    } else {
      for (const InetAddress& endpoint : root.stableEndpoints) sendHelloTo(now, *peer, -1, endpoint);
      if (root.stableEndpoints.empty()) sendHello(now, *peer);
    }
  }
  for (auto& [address, peer] : topology.peers()) {
    const bool isRoot = topology.isRoot(address);
    if (rootMode && !isRoot) continue;  // leaves keep their paths to us alive
    const bool helloDue = !isRoot && now - peer->lastHelloSent >= kPingPeriod;
    for (Path& path : peer->paths()) {
      if (!path.alive(now)) continue;
      if (helloDue || (path.needsKeepalive(now) && !peer->versionKnown())) {
        sendHelloTo(now, *peer, path.localSocket, path.remote);
      } else if (path.needsKeepalive(now)) {
        sendEcho(now, *peer, Route{path.localSocket, path.remote, &path});
      }
    }
  }
  for (const auto& [moonId, seed] : orbits) {
    if (topology.moons().count(moonId)) continue;
    if (Peer* peer = topology.find(seed)) sendHello(now, *peer);
    else whois.ask(now, seed);
  }
}

void Node::Impl::housekeeping(int64_t now) {
  topology.forget([&](Peer& peer) {
    peer.forgetExpiredPaths(now);
    const bool idle = now - peer.lastReceive >= kPeerExpiry && peer.paths().empty();
    return idle && !topology.isRoot(peer.address()) && !whois.pending(peer.address());
  });
  identityChecks.clear();
  std::erase_if(hintHellos, [now](const auto& e) { return now - e.second >= kHintHelloInterval; });
  std::erase_if(rendezvousSent, [now](const auto& e) { return now - e.second >= kRendezvousInterval; });
}

// Runs after every wire packet: while a root was heard recently enough, nothing but a change of
// roots or root mode can turn us offline before onlineUntil, so the roots are only looked at
// again then.
void Node::Impl::updateOnline(int64_t now) {
  if (fatal || down) return;  // no events after the last one
  if (online && now < onlineUntil && onlineRootsGeneration == topology.rootsGeneration()) return;
  onlineRootsGeneration = topology.rootsGeneration();
  bool on = rootMode;
  onlineUntil = rootMode ? std::numeric_limits<int64_t>::max() : 0;
  for (const RootEntry& root : topology.roots()) {
    const Peer* peer = topology.find(root.identity.address());
    if (!peer || peer->lastReceive <= 0 || now - peer->lastReceive >= options.peerActivityTimeout) continue;
    on = true;
    onlineUntil = std::max(onlineUntil, peer->lastReceive + options.peerActivityTimeout);
  }
  if (on == online) return;
  online = on;
  fire(on ? Event::Online : Event::Offline);
  if (on) {
    whois.retryNow();
    askWhois(now);
  }
}

int64_t Node::Impl::nextDeadline() const {
  return std::min({nextPingCheck, nextHousekeeping, whois.nextDeadline()});
}

// ================================================================================================
// Public API
// ================================================================================================

ProcessResult Node::processWirePacket(int64_t now, int64_t localSocket, const InetAddress& remote, ByteView data) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return {ResultCode::OkIgnored, now + kPingCheckInterval};
  n.lastNow = now;
  n.receive(now, localSocket, remote, data);
  n.runReleased(now);
  n.updateOnline(now);
  return {ResultCode::Ok, n.nextDeadline()};
}

ProcessResult Node::processBackgroundTasks(int64_t now) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return {ResultCode::OkIgnored, now + kPingCheckInterval};
  n.lastNow = now;
  if (now >= n.nextPingCheck) {
    n.nextPingCheck = now + kPingCheckInterval;
    n.pingCheck(now);
    for (auto& [id, network] : n.networks) network->tick(now);
    for (auto& [id, state] : n.upstreamMulticast) state.expire(now);
  }
  n.askWhois(now);
  if (now >= n.nextHousekeeping) {
    n.nextHousekeeping = now + kHousekeepingInterval;
    n.housekeeping(now);
  }
  n.runReleased(now);
  n.updateOnline(now);
  return {ResultCode::Ok, n.nextDeadline()};
}

Address Node::address() const { return impl_->self.address(); }
const Identity& Node::identity() const { return impl_->self; }

NodeStatus Node::status() const {
  return {impl_->self.address(), impl_->selfPublic.toString(false), impl_->online && !impl_->fatal};
}

Counters Node::counters() const { return impl_->counters; }

std::vector<PeerInfo> Node::peers() const {
  Impl& n = *impl_;
  std::vector<PeerInfo> out;
  for (auto& [address, peer] : n.topology.peers()) {
    PeerInfo info;
    info.address = address;
    info.protocolVersion = peer->protocolVersion();
    auto [major, minor, revision] = peer->softwareVersion();
    info.versionMajor = major, info.versionMinor = minor, info.versionRevision = revision;
    info.latency = peer->latency;
    info.role = n.topology.roleOf(address);
    const Path* best = peer->bestPath(n.lastNow);
    for (const Path& p : peer->paths())
      info.paths.push_back({p.localSocket, p.remote, p.lastSend, p.lastReceive, &p == best, p.alive(n.lastNow)});
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const PeerInfo& a, const PeerInfo& b) { return a.address < b.address; });
  return out;
}

ProcessResult Node::echo(int64_t now, Address target) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return {ResultCode::OkIgnored, now + kPingCheckInterval};
  if (target == n.self.address() || target.reserved()) return {ResultCode::BadParameter, n.nextDeadline()};
  n.lastNow = now;
  if (Peer* peer = n.topology.find(target)) {
    n.sendEcho(now, *peer, std::nullopt);
    return {ResultCode::Ok, n.nextDeadline()};
  }
  // Unknown: hold an ECHO (verb byte, then the timestamp payload) until WHOIS answers.
  Bytes request(9);
  request[0] = uint8_t(Verb::Echo);
  storeU64(request.data() + 1, uint64_t(now));
  if (!n.whois.hold(now, {target, true, std::move(request), -1, {}, true})) return {ResultCode::OkIgnored, n.nextDeadline()};
  n.askWhois(now);
  return {ResultCode::Ok, n.nextDeadline()};
}

void Node::addLocalInterfaceAddress(const InetAddress& address) {
  auto& list = impl_->localAddresses;
  if (std::find(list.begin(), list.end(), address) == list.end()) list.push_back(address);
}

ProcessResult Node::orbit(int64_t now, uint64_t moonId, Address seed) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return {ResultCode::OkIgnored, now + kPingCheckInterval};
  if (seed.reserved() || seed == n.self.address()) return {ResultCode::BadParameter, n.nextDeadline()};
  n.lastNow = now;
  n.orbits[moonId] = seed;
  if (Peer* peer = n.topology.find(seed)) {
    n.sendHello(now, *peer);
  } else {
    n.whois.ask(now, seed);
    n.askWhois(now);
  }
  return {ResultCode::Ok, n.nextDeadline()};
}

ResultCode Node::deorbit(uint64_t moonId) {
  Impl& n = *impl_;
  if (!n.orbits.erase(moonId)) return ResultCode::BadParameter;
  n.topology.removeMoon(moonId);
  n.host.statePut(StateObject::Moon, {moonId, 0}, std::nullopt);
  return ResultCode::Ok;
}

void Node::setRootMode(bool root) {
  impl_->rootMode = root;
  impl_->onlineUntil = 0;
  impl_->updateOnline(impl_->lastNow);
}

void Node::shutdown(int64_t now) {
  Impl& n = *impl_;
  if (n.down) return;
  n.lastNow = now;
  n.persistPeers();
  for (auto& [id, network] : n.networks) network->stop(false);
  n.down = true;
  n.fire(Event::Down);
}

// ================================================================================================
// VL2: verbs to the networks, the controller seam, the public calls
// ================================================================================================

std::optional<Identity> Node::Impl::Environment::peerIdentity(int64_t now, Address a) {
  if (a == node.self.address()) return node.selfPublic;
  if (Peer* p = node.topology.find(a)) return p->identity();
  node.whois.ask(now, a);
  return std::nullopt;
}

std::vector<Address> Node::Impl::Environment::rootAddresses() const {
  std::vector<Address> out;
  for (const RootEntry& r : node.topology.roots()) out.push_back(r.identity.address());
  return out;
}

Address Node::Impl::Environment::bestRoot(int64_t now) {
  Peer* root = node.topology.bestRoot(now);
  return root ? root->address() : Address{};
}

// Builds the packet in the node's packet buffer (no allocation when the peer is known).
uint64_t Node::Impl::sendVl2(int64_t now, Address to, Verb verb, FunctionRef<void(Writer&)> body, SendOptions options) {
  Peer* peer = topology.find(to);
  if (!peer) {
    Writer held;
    held.u8(uint8_t(verb));
    body(held);
    if (whois.hold(now, {to, true, held.take(), -1, {}, options.expectReply})) askWhois(now);
    return 0;
  }
  std::optional<Route> r = route(now, *peer);
  if (!r) return 0;
  Writer w = startPacket(to, verb);
  body(w);
  const uint64_t id = sealAndTransmit(now, std::move(w), peer->cipher(), peer->sendCipher(), r->sock, r->to,
                                      options.compress);
  if (options.expectReply) expected.expect(id, uint8_t(verb), now);
  if (r->path) r->path->lastSend = now;
  return id;
}

void Node::Impl::dispatchVl2(int64_t now, const Reply& reply, Peer& peer, Verb verb, ByteView payload) {
  const Identity& sender = peer.identity();
  const uint64_t wireId = reply.wireId;
  switch (verb) {
    case Verb::Frame: {
      Result<wire::Frame> f = wire::Frame::parse(payload);
      if (!f) return drop(DropReason::Malformed);
      if (Network* net = network(f->networkId)) net->receiveFrame(now, sender, wireId, *f);
      return;
    }
    case Verb::ExtFrame: {
      Result<wire::ExtFrame> f = wire::ExtFrame::parse(payload);
      if (!f) return drop(DropReason::Malformed);
      if (Network* net = network(f->networkId)) net->receiveExtFrame(now, sender, wireId, *f);
      return;
    }
    case Verb::MulticastFrame: {
      Result<wire::MulticastFrame> f = wire::MulticastFrame::parse(payload);
      if (!f) return drop(DropReason::Malformed);
      if (Network* net = network(f->networkId)) net->receiveMulticastFrame(now, sender, wireId, *f);
      return;
    }
    case Verb::MulticastLike: {
      Result<wire::MulticastLike> like = wire::MulticastLike::parse(payload);
      if (!like) return drop(DropReason::Malformed);
      for (const wire::MulticastSubscription& sub : like->subscriptions) {
        if (Network* net = network(sub.networkId)) net->receiveLike(now, sender, sub.group);
        else if (servesMulticast(now, sub.networkId, peer.address())) upstreamMulticast[sub.networkId].learn(now, sub.group, peer.address());
      }
      return;
    }
    case Verb::MulticastGather: {
      Result<wire::MulticastGather> gather = wire::MulticastGather::parse(payload);
      if (!gather) return drop(DropReason::Malformed);
      if (Network* net = network(gather->networkId)) net->receiveGather(now, sender, wireId, *gather);
      else if (servesMulticast(now, gather->networkId, peer.address())) handleUpstreamGather(now, peer, *gather, wireId);
      return;
    }
    case Verb::NetworkCredentials:
      return handleCredentials(now, peer.address(), payload);
    case Verb::NetworkConfigRequest:
      return handleConfigRequest(now, reply, peer, payload);
    case Verb::NetworkConfig: {
      Result<wire::NetworkConfigChunk> chunk = wire::NetworkConfigChunk::parse(payload);
      if (!chunk) return drop(DropReason::Malformed);
      if (Network* net = network(chunk->networkId)) net->receiveConfigChunk(now, peer.address(), wireId, *chunk, true);
      return;
    }
    default:
      return drop(DropReason::Unsupported);
  }
}

void Node::Impl::handleUpstreamGather(int64_t now, Peer& peer, const wire::MulticastGather& gather, uint64_t wireId) {
  if (gather.gatherLimit == 0) return;
  const wire::GatherResults results = gatherResults(upstreamMulticast[gather.networkId], gather.group, peer.address(),
                                                    gather.gatherLimit, self.address(), false);
  if (results.addresses.empty()) return;
  sendVl2(now, peer.address(), Verb::Ok, [&](Writer& w) {
    w.u8(uint8_t(Verb::MulticastGather)).u64(wireId);
    wire::OkMulticastGather{gather.networkId, gather.group, results}.write(w);
  }, {.compress = true});
}

// NETWORK_CREDENTIALS (vl2-config-controller.md 7.6): each credential goes to its own network.
void Node::Impl::handleCredentials(int64_t now, Address sender, ByteView payload) {
  int64_t& last = lastCredentials[sender];
  if (last != 0 && now - last < 1000) return;
  last = now;
  Result<CredentialBundle> bundle = CredentialBundle::read(payload);
  if (!bundle) return drop(DropReason::Malformed);
  for (const CertificateOfMembership& com : bundle->coms)
    if (Network* net = network(com.networkId())) net->receiveCom(now, sender, com);
  for (const Capability& cap : bundle->capabilities)
    if (Network* net = network(cap.networkId)) net->receiveCapability(now, sender, cap);
  for (const Tag& tag : bundle->tags)
    if (Network* net = network(tag.networkId)) net->receiveTag(now, sender, tag);
  for (const Revocation& revocation : bundle->revocations)
    if (Network* net = network(revocation.networkId)) net->receiveRevocation(now, sender, revocation);
  for (const CertificateOfOwnership& coo : bundle->coos)
    if (Network* net = network(coo.networkId)) net->receiveCoo(now, sender, coo);
}

void Node::Impl::handleConfigRequest(int64_t now, const Reply& reply, Peer& peer, ByteView payload) {
  Result<wire::NetworkConfigRequest> request = wire::NetworkConfigRequest::parse(payload);
  if (!request) return drop(DropReason::Malformed);
  if (!master) {
    sendVl2(now, peer.address(), Verb::Error, [&](Writer& w) {
      w.u8(uint8_t(Verb::NetworkConfigRequest)).u64(reply.wireId).u8(uint8_t(wire::ErrorCode::UnsupportedOperation));
      w.u64(request->networkId);
    }, {});
    return;
  }
  const ByteView metadata = request->metadata ? *request->metadata : ByteView{};
  sendNetconf(now, master->handleRequest(uint64_t(now), peer.identity(), request->networkId, metadata, reply.wireId,
                                         reply.direct ? reply.from : InetAddress{}));
}

void Node::Impl::requestOwnConfig(int64_t now, uint64_t networkId, ByteView metadata) {
  if (!master) {
    if (Network* net = network(networkId)) net->receiveControllerError(now, self.address(), wire::ErrorCode::UnsupportedOperation);
    return;
  }
  // Packet id 0: the controller answers with a push, which comes straight back to us.
  sendNetconf(now, master->handleRequest(uint64_t(now), selfPublic, networkId, metadata, 0, InetAddress{}));
}

void Node::Impl::sendNetconf(int64_t now, const std::vector<ControllerMessage>& messages) {
  using Kind = ControllerMessage::Kind;
  for (const ControllerMessage& m : messages) {
    for (const Bytes& payload : m.payloads) {
      if (m.to == self.address()) {
        deliverNetconfToSelf(now, m.kind, payload);
        continue;
      }
      switch (m.kind) {
        case Kind::ConfigReply:
        case Kind::Error:
          if (m.inRePacketId == 0) break;
          sendVl2(now, m.to, m.kind == Kind::Error ? Verb::Error : Verb::Ok, [&](Writer& w) {
            w.u8(uint8_t(Verb::NetworkConfigRequest)).u64(m.inRePacketId).bytes(payload);
          }, {.compress = m.kind == Kind::ConfigReply});
          break;
        case Kind::ConfigPush:
          sendVl2(now, m.to, Verb::NetworkConfig, [&](Writer& w) { w.bytes(payload); }, {.compress = true});
          break;
        case Kind::Credentials:
          sendVl2(now, m.to, Verb::NetworkCredentials, [&](Writer& w) { w.bytes(payload); }, {.compress = true});
          break;
      }
    }
  }
}

// Our controller answering our own request: no packet, the same handling as from the wire.
void Node::Impl::deliverNetconfToSelf(int64_t now, ControllerMessage::Kind kind, ByteView payload) {
  using Kind = ControllerMessage::Kind;
  if (kind == Kind::Credentials) return handleCredentials(now, self.address(), payload);
  if (kind == Kind::Error) {
    Reader r(payload);
    const auto code = wire::ErrorCode(r.u8());
    const uint64_t networkId = r.u64();
    if (Network* net = network(networkId); net && !r.failed()) net->receiveControllerError(now, self.address(), code);
    return;
  }
  Result<wire::NetworkConfigChunk> chunk = wire::NetworkConfigChunk::parse(payload);
  if (!chunk) return;
  if (Network* net = network(chunk->networkId)) net->receiveConfigChunk(now, self.address(), 0, *chunk, false);
}

// OKs answering VL2 requests. Config replies may come in several chunks, so the request stays
// expected. Returns false for OKs that are not VL2's.
bool Node::Impl::handleVl2Ok(int64_t now, Peer& peer, const wire::OkHeader& ok) {
  const Verb inRe = Verb(ok.inReVerb);
  if (inRe != Verb::NetworkConfigRequest && inRe != Verb::MulticastGather && inRe != Verb::MulticastFrame &&
      inRe != Verb::ExtFrame)
    return false;
  if (!expected.expecting(ok.inRePacketId, ok.inReVerb, now)) {
    drop(DropReason::UnexpectedOk);
    return true;
  }
  switch (inRe) {
    case Verb::NetworkConfigRequest: {
      Result<wire::NetworkConfigChunk> chunk = wire::NetworkConfigChunk::parse(ok.body);
      if (!chunk) return drop(DropReason::Malformed), true;
      if (Network* net = network(chunk->networkId)) net->receiveConfigChunk(now, peer.address(), ok.inRePacketId, *chunk, false);
      return true;
    }
    case Verb::MulticastGather: {
      Result<wire::OkMulticastGather> answer = wire::OkMulticastGather::parse(ok.body);
      if (!answer) return drop(DropReason::Malformed), true;
      if (Network* net = network(answer->networkId)) net->receiveGatherResults(now, answer->group, answer->results);
      return true;
    }
    case Verb::MulticastFrame: {
      Result<wire::OkMulticastFrame> answer = wire::OkMulticastFrame::parse(ok.body);
      if (!answer) return drop(DropReason::Malformed), true;
      Network* net = network(answer->networkId);
      if (net && (answer->flags & wire::OkMulticastFrame::kFlagGatherResults))
        net->receiveGatherResults(now, answer->group, answer->results);
      return true;
    }
    default:
      return true;  // OK(EXT_FRAME): the acknowledgement, nothing to do
  }
}

// ERRORs about VL2 verbs. Their packet ids are not checked: frames expect no reply, and 1.14
// acts on a controller's error whatever the request id (vl2-config-controller.md 3.3).
bool Node::Impl::handleVl2Error(int64_t now, Peer& peer, const wire::ErrorReply& error) {
  const Verb inRe = Verb(error.inReVerb);
  if (!error.networkId) return false;
  Network* net = network(*error.networkId);
  if (inRe == Verb::NetworkConfigRequest) {
    if (net) net->receiveControllerError(now, peer.address(), error.code);
    return true;
  }
  if ((inRe == Verb::Frame || inRe == Verb::ExtFrame || inRe == Verb::MulticastFrame) &&
      error.code == wire::ErrorCode::NeedMembershipCertificate) {
    if (net) net->receiveNeedCertificate(now, peer.address());
    return true;
  }
  return false;
}

ResultCode Node::join(int64_t now, uint64_t networkId) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return ResultCode::OkIgnored;
  if (networkId == 0) return ResultCode::BadParameter;
  n.lastNow = now;
  auto [it, added] = n.networks.emplace(networkId, nullptr);
  if (!added) return ResultCode::Ok;
  it->second = std::make_unique<Network>(n.environment, networkId);
  it->second->start(now);
  return ResultCode::Ok;
}

ResultCode Node::leave(int64_t now, uint64_t networkId) {
  Impl& n = *impl_;
  n.lastNow = now;
  auto it = n.networks.find(networkId);
  if (it == n.networks.end()) return ResultCode::NetworkNotFound;
  it->second->stop(true);
  n.networks.erase(it);
  return ResultCode::Ok;
}

ProcessResult Node::processVirtualNetworkFrame(int64_t now, uint64_t networkId, uint64_t srcMac, uint64_t dstMac,
                                               uint16_t etherType, uint16_t vlanId, ByteView payload) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return {ResultCode::OkIgnored, now + kPingCheckInterval};
  Network* net = n.network(networkId);
  if (!net) return {ResultCode::NetworkNotFound, n.nextDeadline()};
  (void)vlanId;  // 1.14 carries no VLAN tags
  n.lastNow = now;
  net->sendFromHost(now, srcMac, dstMac, etherType, payload);
  n.runReleased(now);
  return {ResultCode::Ok, n.nextDeadline()};
}

ResultCode Node::multicastSubscribe(int64_t now, uint64_t networkId, uint64_t mac, uint32_t adi) {
  Network* net = impl_->network(networkId);
  if (!net) return ResultCode::NetworkNotFound;
  impl_->lastNow = now;
  net->subscribe(now, {mac, adi});
  return ResultCode::Ok;
}

ResultCode Node::multicastUnsubscribe(uint64_t networkId, uint64_t mac, uint32_t adi) {
  Network* net = impl_->network(networkId);
  if (!net) return ResultCode::NetworkNotFound;
  net->unsubscribe({mac, adi});
  return ResultCode::Ok;
}

std::vector<uint64_t> Node::networks() const {
  std::vector<uint64_t> out;
  for (const auto& [id, net] : impl_->networks) out.push_back(id);
  return out;
}

std::optional<VirtualNetworkConfig> Node::networkConfig(uint64_t networkId) const {
  const Network* net = impl_->network(networkId);
  if (!net) return std::nullopt;
  return net->describe();
}

void Node::setNetconfMaster(NetworkController* controller) { impl_->master = controller; }

void Node::sendControllerMessages(int64_t now, const std::vector<ControllerMessage>& messages) {
  Impl& n = *impl_;
  if (n.down || n.fatal) return;
  n.lastNow = now;
  n.sendNetconf(now, messages);
  n.runReleased(now);
}

}  // namespace zt
