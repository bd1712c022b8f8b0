// The Node's receive path on arbitrary input. The first byte picks what the input becomes:
//   0: a raw datagram from the root's address (headers, fragments, relaying, HELLO parsing);
//   1, 2: a verb byte and payload armored by the root with the real key (suite 1 or 3), so
//         every verb handler sees authenticated garbage;
//   3: time passes and background tasks run.
// One Node lives across inputs, so its bounded tables (WHOIS queue, reassembly, peers) are
// exercised too. Sends go nowhere.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "crypto/armor.hpp"
#include "node.hpp"
#include "vl1/world.hpp"
#include "wire/packet.hpp"

namespace {

// Two identities recorded from 1.14 (identities.json): the root and the fuzzed node.
constexpr const char* kRoot =
    "7c6dfd4f11:0:0983b8fa1a5b888e53aff80c0a151611a5a5aa1c5f8c522d7b664687914ffa7c585bd8d8ca27432c661a9919f8e14605"
    "1619a17b7791f5e585120c0ee475d5e9:4fcd7b58373dd0974d84e203887a3151f0b6ef7b85d2835d48fd86c4a5133198b9b749928bfd"
    "9d70a51e0e26eff50cba121e7b132bf447487d49ebabf3f2e3e7";
constexpr const char* kNode =
    "cb85b2f0b0:0:5bed99bf6e91768a36a39722aa01cd18c14beeae070771425e37c4e537a68b5bb75cb370ca5d35847048e9d488a8a44c"
    "007efb457b9fb7c48aa7d748216457bd:197c6dcdf227c91c5f073c70eb0c21e17c707832bcc0acbf09a84e94e6e284a6804277c45aa5"
    "8c09fb3357bf19519de9d80e3307240d45a5b3edcd7aff8bcf2b";

struct NullHost : zt::NodeHost {
  std::optional<zt::Bytes> stateGet(zt::StateObject type, const StateId&) override {
    if (type == zt::StateObject::IdentitySecret) return zt::Bytes(kNode, kNode + std::strlen(kNode));
    if (type == zt::StateObject::Planet) return planet;
    return std::nullopt;
  }
  void statePut(zt::StateObject, const StateId&, std::optional<zt::ByteView>) override {}
  void onEvent(zt::Event, std::string_view) override {}
  bool wirePacketSend(int64_t, const zt::InetAddress&, zt::ByteView, unsigned) override { return true; }
  zt::Bytes planet;
};

struct Lab {
  Lab() : root(*zt::Identity::fromString(kRoot)), self(*zt::Identity::fromString(kNode)), cipher(*root.agree(self)) {
    zt::World w;
    w.type = zt::World::Planet;
    w.id = zt::World::kPublicPlanetId;
    w.timestamp = 1;
    w.roots.push_back({root.publicOnly(), {from}});
    zt::SecretKey key{};
    key[0] = 1;
    zt::PublicKey pub = zt::publicKeyOf(key);
    w.updatesMustBeSignedBy = pub;
    w.sign(key, pub);
    host.planet = w.serialize();
    node = std::move(*zt::Node::create(host, now));
  }
  zt::Identity root, self;
  zt::PeerCipher cipher;
  zt::InetAddress from = zt::InetAddress::v4({198, 18, 0, 1}, 9993);
  NullHost host;
  int64_t now = 1'700'000'000'000;
  uint64_t packetId = 1;
  std::unique_ptr<zt::Node> node;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Lab lab;
  if (size == 0) return 0;
  lab.now += 10;
  const uint8_t mode = data[0] % 4;
  zt::ByteView rest(data + 1, size - 1);
  if (mode == 0) {
    lab.node->processWirePacket(lab.now, 0, lab.from, rest);
  } else if (mode == 3) {
    lab.now += int64_t(rest.empty() ? 0 : rest[0]) * 100;
    lab.node->processBackgroundTasks(lab.now);
  } else if (!rest.empty() && rest.size() < zt::wire::kMaxPacketLength - zt::wire::kHeaderLength) {
    zt::Writer w;
    w.u64(lab.packetId++).u40(lab.self.address().value).u40(lab.root.address().value).u8(0).u64(0).bytes(rest);
    zt::Bytes pkt = w.take();
    lab.cipher.armor(pkt, mode == 1 ? zt::Cipher::Salsa2012Poly1305 : zt::Cipher::AesGmacSiv);
    lab.node->processWirePacket(lab.now, 0, lab.from, pkt);
  }
  return 0;
}
