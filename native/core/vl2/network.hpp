// One joined virtual network (vl2-config-controller.md §2-3, §5.4, §7; vl2-frames-multicast-rules.md
// §1-4): asks its controller for a config, assembles and applies it, keeps the memberships of
// the peers it talks to, carries Ethernet frames both ways through the rules engine, and runs
// multicast (LIKE, GATHER, MULTICAST_FRAME) and NDP emulation. Sans-I/O: it sends through its
// NetworkEnvironment (the Node) and reports to the host through the environment's NodeHost.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "crypto/identity.hpp"
#include "util/function_ref.hpp"
#include "vl2/mac.hpp"
#include "vl2/membership.hpp"
#include "vl2/multicast.hpp"
#include "vl2/netconf.hpp"
#include "vl2/rules_engine.hpp"
#include "vl2/virtual_network_config.hpp"
#include "wire/verbs_vl1.hpp"
#include "wire/verbs_vl2.hpp"

namespace zt {

struct NodeHost;

struct SendOptions {
  bool compress = false;     // offer the packet to LZ4
  bool expectReply = false;  // record the packet id for its OK/ERROR
};

// What a Network needs from its Node.
class NetworkEnvironment {
 public:
  virtual ~NetworkEnvironment() = default;
  virtual const Identity& selfIdentity() const = 0;
  // A peer's identity if known; otherwise starts a WHOIS and returns nullopt.
  virtual std::optional<Identity> peerIdentity(int64_t now, Address peer) = 0;
  virtual bool rootMode() const = 0;
  virtual std::vector<Address> rootAddresses() const = 0;
  virtual Address bestRoot(int64_t now) = 0;
  // Builds a packet to `to` whose payload `body` writes, then sends it (holding it for WHOIS
  // when the peer is unknown). Returns the packet id, 0 when it was not sent now.
  virtual uint64_t send(int64_t now, Address to, wire::Verb verb, FunctionRef<void(Writer&)> body,
                        SendOptions options) = 0;
  // Our own request, for a network we are the controller of: handed to our controller directly.
  virtual void requestOwnConfig(int64_t now, uint64_t networkId, ByteView metadata) = 0;
  virtual NodeHost& host() = 0;
};

class Network {
 public:
  static constexpr int64_t kRequestIntervalUnconfigured = 5000;
  static constexpr int64_t kRequestIntervalConfigured = 60000;
  static constexpr int64_t kLikeInterval = 60000;
  static constexpr size_t kConfigCapacity = 256 * 1024;
  static constexpr size_t kAssemblySlots = 3;

  Network(NetworkEnvironment& env, uint64_t networkId);
  ~Network();

  // Join or start-up: loads a saved config (applied at once) and reports UP to the host; without a
  // saved config, requests one at once.
  void start(int64_t now);
  // Node shutdown (DOWN) or leave (DESTROY, and the saved config is deleted).
  void stop(bool destroy);

  uint64_t id() const { return id_; }
  uint64_t mac() const { return mac_; }
  const NetworkConfig* config() const { return config_ ? &*config_ : nullptr; }
  VirtualNetworkConfig describe() const;

  // The 5 s tick: config requests, LIKE announcements, expiry.
  void tick(int64_t now);

  // ---- from the host
  void sendFromHost(int64_t now, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload);
  void subscribe(int64_t now, const MulticastGroup& group);
  void unsubscribe(const MulticastGroup& group);

  // ---- from the wire (the node has authenticated `sender`)
  void receiveConfigChunk(int64_t now, Address sender, uint64_t packetId, const wire::NetworkConfigChunk& chunk,
                          bool push);
  void receiveControllerError(int64_t now, Address sender, wire::ErrorCode code);
  void receiveNeedCertificate(int64_t now, Address sender);
  void receiveFrame(int64_t now, const Identity& sender, uint64_t packetId, const wire::Frame& frame);
  void receiveExtFrame(int64_t now, const Identity& sender, uint64_t packetId, const wire::ExtFrame& frame);
  void receiveLike(int64_t now, const Identity& sender, const MulticastGroup& group);
  void receiveGather(int64_t now, const Identity& sender, uint64_t packetId, const wire::MulticastGather& gather);
  void receiveGatherResults(int64_t now, const MulticastGroup& group, const wire::GatherResults& results);
  void receiveMulticastFrame(int64_t now, const Identity& sender, uint64_t packetId, const wire::MulticastFrame& frame);
  // One credential of a NETWORK_CREDENTIALS (or an embedded COM).
  void receiveCom(int64_t now, Address sender, const CertificateOfMembership& com);
  void receiveCapability(int64_t now, Address sender, const Capability& cap);
  void receiveTag(int64_t now, Address sender, const Tag& tag);
  void receiveCoo(int64_t now, Address sender, const CertificateOfOwnership& coo);
  void receiveRevocation(int64_t now, Address sender, const Revocation& revocation);

  // Whether a peer passes gating now (tests, diagnostics).
  bool gated(int64_t now, Address peer);

 private:
  struct Assembly {
    uint64_t updateId = 0;
    std::vector<uint64_t> chunkIds;
    Bytes data;
    size_t received = 0;
    int64_t lastUsed = 0;
  };

  Address self() const { return env_.selfIdentity().address(); }
  Address controller() const { return controllerOf(id_); }
  Membership& membership(Address peer) { return members_[peer]; }
  bool isActiveBridge(Address a) const;
  std::vector<Address> activeBridges() const;
  std::vector<MulticastGroup> ownGroups() const;
  bool subscribesTo(const MulticastGroup& group) const;
  std::vector<Address> upstreams(int64_t now) const;

  // Config.
  void requestConfig(int64_t now);
  void applyDictionary(int64_t now, ByteView dictionary, Address sender, uint64_t pushPacketId, bool push);
  void applyConfig(int64_t now, NetworkConfig config);
  void adopt(int64_t now, NetworkConfig config);
  void reportToHost(VirtualNetworkConfigOperation op);
  void persist();

  // Credentials.
  std::optional<Identity> controllerIdentity(int64_t now);
  void pushCredentialsIfDue(int64_t now, Address peer, bool afterError);
  // The peer's membership if it may send to us, else nullptr; also the per-member LIKE on first contact.
  Membership* gatedIn(int64_t now, const Identity& peer);
  void needCertificate(int64_t now, Address peer, uint8_t verb, uint64_t packetId);

  // Frames.
  bool acceptsEveryFrame() const;
  RulesVerdict evaluate(FrameDirection direction, Address sender, Address receiver, uint64_t srcMac, uint64_t dstMac,
                        uint16_t etherType, ByteView payload, const Membership* peer);
  void sendCopies(int64_t now, FrameDirection direction, const RulesVerdict& verdict, uint64_t srcMac, uint64_t dstMac,
                  uint16_t etherType, ByteView payload);
  void sendExtFrame(int64_t now, Address to, uint8_t flags, uint64_t srcMac, uint64_t dstMac, uint16_t etherType,
                    ByteView payload, bool compress);
  void sendUnicast(int64_t now, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload);
  void sendBridged(int64_t now, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload);
  // Inbound rules and delivery common to FRAME and EXT_FRAME; false when the frame was rejected
  // by the MAC/bridging checks (no acknowledgement then).
  bool deliverInbound(int64_t now, const Identity& sender, const Membership& m, uint64_t srcMac, uint64_t dstMac,
                      uint16_t etherType, ByteView payload, bool checkAddressing);
  void learnBridgeRoute(uint64_t mac, Address bridge) { bridgeRoutes_[mac] = bridge; }

  // Multicast.
  void sendMulticast(int64_t now, uint64_t srcMac, const MulticastGroup& group, uint16_t etherType, ByteView payload);
  void sendMulticastTo(int64_t now, Address to, uint64_t srcMac, const MulticastGroup& group, uint16_t etherType,
                       ByteView payload, uint32_t gatherLimit);
  void sendGather(int64_t now, const MulticastGroup& group, uint32_t limit);
  void learnSubscriber(int64_t now, const MulticastGroup& group, Address member);
  void announce(int64_t now, Address to, std::span<const MulticastGroup> groups);
  void announceJoined(int64_t now, std::span<const MulticastGroup> groups);

  NetworkEnvironment& env_;
  const uint64_t id_;
  const uint64_t mac_;
  std::optional<NetworkConfig> config_;
  std::vector<TagValue> ownTags_;  // our config's tags as the rules engine reads them
  Bytes credentialPush_;           // our NETWORK_CREDENTIALS payload (§7.6)
  VirtualNetworkStatus failure_ = VirtualNetworkStatus::Ok;  // Ok: none reported
  int portError_ = 0;
  bool portUp_ = false;
  int64_t lastConfigTime_ = 0;
  int64_t lastRequest_ = 0;
  int64_t configChangedAt_ = 0;
  int64_t lastUpstreamLike_ = 0;
  std::array<Assembly, kAssemblySlots> assemblies_{};
  std::map<Address, Membership> members_;
  std::set<MulticastGroup, MulticastGroupLess> subscriptions_;
  MulticastState multicast_;
  std::map<uint64_t, Address> bridgeRoutes_;
  SystemRandom random_;
};

}  // namespace zt
