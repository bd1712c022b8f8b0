// Several Nodes in one process over a simulated underlay (198.18.0.0/24, port 9993): every
// wirePacketSend is delivered to the node at that address's processWirePacket, time advances in
// 10 ms steps and processBackgroundTasks runs at each node's deadline. Everything but the UDP is
// real. Shared by the node and network tests and by bench/frames_bench.cpp (no GoogleTest here:
// failures throw, with the host they concern).
#pragma once
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.hpp"
#include "node.hpp"
#include "vl1/world.hpp"

namespace zt::lab {

InetAddress labAddress(uint8_t host);

// Heap allocations are counted while countingAllocations is set (lab.cpp replaces operator
// new). The underlay's own copies of sent datagrams are never counted: they are the simulated
// network's, not the node's.
inline bool countingAllocations = false;
inline size_t allocationsCounted = 0;

struct Datagram {
  InetAddress from, to;
  Bytes data;
};

struct DeliveredFrame {
  uint64_t networkId, srcMac, dstMac;
  uint16_t etherType;
  Bytes payload;
};

class Underlay;

// One node and its host: an in-memory state store, the events it fired, the frames and network
// configs it was given.
class LabHost : public NodeHost {
 public:
  LabHost(Underlay& net, InetAddress addr) : net_(net), addr_(addr) {}

  std::optional<Bytes> stateGet(StateObject type, const StateId& id) override;
  void statePut(StateObject type, const StateId& id, std::optional<ByteView> data) override;
  std::vector<StateId> stateList(StateObject type) override;
  void onEvent(Event e, std::string_view detail) override;
  bool wirePacketSend(int64_t, const InetAddress& to, ByteView data, unsigned) override;
  void virtualNetworkFrame(uint64_t networkId, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, uint16_t,
                           ByteView payload) override;
  int virtualNetworkConfig(uint64_t, VirtualNetworkConfigOperation op, const VirtualNetworkConfig& config) override;

  bool fired(Event e) const;
  // Frames the host got with this ethertype from this source MAC.
  size_t framesFrom(uint64_t srcMac, uint16_t etherType) const;
  const InetAddress& addr() const { return addr_; }

  std::map<std::pair<StateObject, StateId>, Bytes> store;
  std::map<StateObject, int> puts;
  std::vector<Event> events;
  std::string lastDetail;
  std::vector<DeliveredFrame> frames;
  bool recordFrames = true;
  // When set, frames go here instead of into `frames` (a benchmark counts them without copies).
  std::function<void(uint16_t etherType, ByteView payload)> onFrame;
  std::vector<VirtualNetworkConfigOperation> configOps;
  VirtualNetworkConfig lastConfig;
  std::unique_ptr<Node> node;
  Identity identity;  // empty unless the lab was given one
  int64_t deadline = 0;

 private:
  Underlay& net_;
  InetAddress addr_;
};

class Underlay {
 public:
  int64_t now = 1'700'000'000'000;
  std::deque<Datagram> inFlight;
  std::vector<Datagram> log;  // everything ever sent
  std::map<std::string, LabHost*> hosts;  // by "ip/port"
  std::function<bool(const Datagram&)> filter;  // false: lose the datagram
  // When set and it returns true, a sent datagram was handled by it (neither queued nor logged):
  // a benchmark hands datagrams straight to the receiving node.
  std::function<bool(const LabHost& from, const InetAddress& to, ByteView data)> intercept;

  void send(const LabHost& from, const InetAddress& to, ByteView data);
  void deliverAll();
  // Advances simulated time in 10 ms steps, delivering traffic and running background tasks.
  void run(int64_t ms);
  // Feeds one datagram directly (a crafted or replayed packet).
  void inject(LabHost& to, const InetAddress& from, ByteView data);
};

struct KeyPair {
  SecretKey secret;
  PublicKey pub;
};
KeyPair freshKeyPair();

// A planet whose one root is `root` at `endpoint`, signed by `signer`, naming `nextKey` for updates.
World makePlanet(const Identity& root, const InetAddress& endpoint, uint64_t timestamp, const KeyPair& signer,
                 const PublicKey& nextKey);

// Hosts on one underlay, owned by the lab, all starting from `planet`.
class Lab {
 public:
  // A host on 198.18.0.<host> with this secret identity (text; none: the node generates one) and
  // the lab's planet unless `world` is given. Its node is created at once.
  LabHost& addHost(uint8_t host, const std::optional<std::string>& secret, NodeOptions options = {},
                   const std::optional<World>& world = std::nullopt);
  // (Re)creates the host's node over its current store.
  void boot(LabHost& h, NodeOptions options = {});

  Underlay net;
  World planet;
  std::vector<std::unique_ptr<LabHost>> owned;
};

}  // namespace zt::lab
