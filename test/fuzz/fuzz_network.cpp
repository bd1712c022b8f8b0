// One joined network's receive and host paths on arbitrary input. A Network holds a public
// config (accept-all rules, multicast limit 8, NDP emulation, RFC 4193 and IPv4 addresses), so
// every peer is gated in and frames reach the delivery checks. The first byte picks the verb the
// rest is parsed as (FRAME, EXT_FRAME, MULTICAST_FRAME, LIKE, GATHER, OK(GATHER), config chunk,
// NETWORK_CREDENTIALS) or a host frame (destination MAC, ethertype, payload) to send. Sends are
// written into a scratch Writer and dropped.
#include <cstdint>
#include <cstring>
#include <optional>

#include "node.hpp"
#include "vl2/network.hpp"

namespace {

// Identities recorded from 1.14 (identities.json): ours and the peer's.
constexpr const char* kSelf =
    "cb85b2f0b0:0:5bed99bf6e91768a36a39722aa01cd18c14beeae070771425e37c4e537a68b5bb75cb370ca5d35847048e9d488a8a44c"
    "007efb457b9fb7c48aa7d748216457bd:197c6dcdf227c91c5f073c70eb0c21e17c707832bcc0acbf09a84e94e6e284a6804277c45aa5"
    "8c09fb3357bf19519de9d80e3307240d45a5b3edcd7aff8bcf2b";
constexpr const char* kPeer =
    "7c6dfd4f11:0:0983b8fa1a5b888e53aff80c0a151611a5a5aa1c5f8c522d7b664687914ffa7c585bd8d8ca27432c661a9919f8e14605"
    "1619a17b7791f5e585120c0ee475d5e9:4fcd7b58373dd0974d84e203887a3151f0b6ef7b85d2835d48fd86c4a5133198b9b749928bfd"
    "9d70a51e0e26eff50cba121e7b132bf447487d49ebabf3f2e3e7";
constexpr uint64_t kNetworkId = 0x7c6dfd4f11000001ULL;  // controlled by the peer

struct Host : zt::NodeHost {
  std::optional<zt::Bytes> stateGet(zt::StateObject type, const StateId&) override {
    if (type == zt::StateObject::NetworkConfig) return config;
    return std::nullopt;
  }
  void statePut(zt::StateObject, const StateId&, std::optional<zt::ByteView>) override {}
  void onEvent(zt::Event, std::string_view) override {}
  bool wirePacketSend(int64_t, const zt::InetAddress&, zt::ByteView, unsigned) override { return true; }
  zt::Bytes config;
};

struct Environment : zt::NetworkEnvironment {
  zt::Identity self = *zt::Identity::fromString(kSelf);
  zt::Identity peer = zt::Identity::fromString(kPeer)->publicOnly();
  Host host_;
  const zt::Identity& selfIdentity() const override { return self; }
  std::optional<zt::Identity> peerIdentity(int64_t, zt::Address a) override {
    if (a == peer.address()) return peer;
    return std::nullopt;
  }
  bool rootMode() const override { return false; }
  std::vector<zt::Address> rootAddresses() const override { return {peer.address()}; }
  zt::Address bestRoot(int64_t) override { return peer.address(); }
  uint64_t send(int64_t, zt::Address, zt::wire::Verb, zt::FunctionRef<void(zt::Writer&)> body,
                zt::SendOptions) override {
    zt::Writer w;
    body(w);
    return 1;
  }
  void requestOwnConfig(int64_t, uint64_t, zt::ByteView) override {}
  zt::NodeHost& host() override { return host_; }
};

zt::Bytes publicConfig(const zt::Identity& self) {
  zt::NetworkConfig c;
  c.networkId = kNetworkId;
  c.timestamp = 1;
  c.credentialTimeMaxDelta = 7200000;
  c.issuedTo = self.address();
  c.flags = zt::NetworkConfig::kFlagBroadcast | zt::NetworkConfig::kFlagNdpEmulation;
  c.multicastLimit = 8;
  c.type = zt::NetworkType::Public;
  c.assignedAddresses.push_back(*zt::InetAddress::parse("10.1.2.3/24"));
  std::array<uint8_t, 16> rfc{0xfd};
  zt::storeU64(rfc.data() + 1, kNetworkId);
  rfc[9] = 0x99, rfc[10] = 0x93;
  zt::storeU40(rfc.data() + 11, self.address().value);
  c.assignedAddresses.push_back(zt::InetAddress::v6(rfc, 88));
  c.rules.push_back(zt::Rule{.type = zt::RuleType::ActionAccept});
  return c.toDictionary().serialize();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Environment* env = [] {
    auto* e = new Environment;
    e->host_.config = publicConfig(e->self);
    return e;
  }();
  static zt::Network* network = [] {
    auto* n = new zt::Network(*env, kNetworkId);
    n->start(1000);
    return n;
  }();
  static int64_t now = 1000;
  if (size == 0) return 0;
  now += 100;
  const zt::ByteView payload(data + 1, size - 1);
  const zt::Identity& peer = env->peer;
  using namespace zt::wire;
  switch (data[0] % 10) {
    case 0:
      if (auto f = Frame::parse(payload)) network->receiveFrame(now, peer, 1, *f);
      break;
    case 1:
      if (auto f = ExtFrame::parse(payload)) network->receiveExtFrame(now, peer, 1, *f);
      break;
    case 2:
      if (auto f = MulticastFrame::parse(payload)) network->receiveMulticastFrame(now, peer, 1, *f);
      break;
    case 3:
      if (auto like = MulticastLike::parse(payload))
        for (const MulticastSubscription& s : like->subscriptions) network->receiveLike(now, peer, s.group);
      break;
    case 4:
      if (auto g = MulticastGather::parse(payload)) network->receiveGather(now, peer, 1, *g);
      break;
    case 5:
      if (auto ok = OkMulticastGather::parse(payload)) network->receiveGatherResults(now, ok->group, ok->results);
      break;
    case 6:
      if (auto chunk = NetworkConfigChunk::parse(payload)) network->receiveConfigChunk(now, peer.address(), 1, *chunk, data[0] & 0x80);
      break;
    case 7:
      if (auto bundle = zt::CredentialBundle::read(payload)) {
        for (const auto& com : bundle->coms) network->receiveCom(now, peer.address(), com);
        for (const auto& cap : bundle->capabilities) network->receiveCapability(now, peer.address(), cap);
        for (const auto& tag : bundle->tags) network->receiveTag(now, peer.address(), tag);
        for (const auto& r : bundle->revocations) network->receiveRevocation(now, peer.address(), r);
        for (const auto& coo : bundle->coos) network->receiveCoo(now, peer.address(), coo);
      }
      break;
    case 8:
      network->tick(now += 5000);
      break;
    default: {
      zt::Reader r(payload);
      const uint64_t dst = r.u64() & 0xffffffffffffULL;
      const uint16_t etherType = r.u16();
      if (!r.failed()) network->sendFromHost(now, network->mac(), dst, etherType, payload.subspan(10));
      break;
    }
  }
  return 0;
}
