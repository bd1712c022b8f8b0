// The VL1 engine's embedding API (vl1-peers-worlds-api.md section 5): a sans-I/O Node driven by
// its host. The host feeds it datagrams and the time; the node answers through NodeHost
// callbacks, always synchronously and on the calling thread. One Node is single-threaded: the
// host must not call into it concurrently (it holds no locks).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "crypto/identity.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"
#include "vl2/virtual_network_config.hpp"

namespace zt {

class NetworkController;
struct ControllerMessage;

// State object types and their values (section 5.1).
enum class StateObject : uint8_t {
  IdentityPublic = 1, IdentitySecret = 2, Planet = 3, Moon = 4, Peer = 5, NetworkConfig = 6,
};

enum class Event : uint8_t {
  Up = 0, Offline = 1, Online = 2, Down = 3, FatalErrorIdentityCollision = 4, Trace = 5,
  UserMessage = 6, RemoteTrace = 7,
};
const char* eventName(Event e);  // "UP", "OFFLINE", …

enum class ResultCode : int {
  Ok = 0, OkIgnored = 1,
  FatalOutOfMemory = 100, FatalDataStoreFailed = 101, FatalInternal = 102,
  NetworkNotFound = 1000, UnsupportedOperation = 1001, BadParameter = 1002,
};

enum class PeerRole : uint8_t { Leaf = 0, Moon = 1, Planet = 2 };

// Why a received datagram was dropped. Counted per reason (Node::counters()).
enum class DropReason : uint8_t {
  Truncated,             // too short for what its header announces
  BadFragment,           // fragment numbering out of range, or reassembly overflow
  NotAuthenticated,      // MAC failed, suite 2, or suite 0 for anything but HELLO
  Replay,                // packet id already seen from this peer
  UnknownPeerQueueFull,  // sender unknown and the WHOIS hold queue is full
  WhoisTimeout,          // held for a WHOIS that got no answer in time
  BadHello,              // malformed HELLO, wrong address, bad proof of work, old protocol
  HopLimit,              // relaying would exceed the hop limit
  UnexpectedOk,          // OK or ERROR answering a packet id we are not waiting for
  Unsupported,           // unknown or ignored verb
  BadCompression,        // LZ4 payload that does not decompress
  Malformed,             // a verb's payload does not parse, or a datagram over 10,024 bytes
  FromSelf,              // claims to come from our own address
  UntrustedRelay,        // not for us, and we do not relay from that path
  NoRoute,               // not for us, and no way to reach its destination
  RateLimited,           // identity checks from this IP exceed the budget
  NotFromRoot,           // RENDEZVOUS or world update from a non-root
  kCount
};
const char* dropReasonName(DropReason r);  // "truncated", "badFragment", …

struct Counters {
  std::array<uint64_t, size_t(DropReason::kCount)> dropped{};
  uint64_t packetsReceived = 0;  // authenticated packets processed
  uint64_t packetsSent = 0;      // datagrams handed to wirePacketSend
  uint64_t packetsRelayed = 0;
  uint64_t echoRepliesReceived = 0;  // OK(ECHO) answering one of our ECHOs
  uint64_t whoisAnswered = 0;        // identities accepted from OK(WHOIS)
};

// Implemented by the host. Every callback runs synchronously inside a Node call.
//
// State is read synchronously: a host whose store is remote (for example Kubernetes Secrets)
// loads the node's objects into memory before creating the Node and serves stateGet from that
// copy; statePut may write through asynchronously. This keeps the engine free of suspended
// operations and lets creation report a broken identity at once.
struct NodeHost {
  virtual ~NodeHost() = default;
  using StateId = std::array<uint64_t, 2>;
  virtual std::optional<Bytes> stateGet(StateObject type, const StateId& id) = 0;
  // nullopt deletes the object.
  virtual void statePut(StateObject type, const StateId& id, std::optional<ByteView> data) = 0;
  // Ids of the stored objects of a type (MOON, PEER); a host without listing returns none.
  virtual std::vector<StateId> stateList(StateObject type) {
    (void)type;
    return {};
  }
  // detail: empty except for TRACE (a dictionary-style "key=value" text) and fatal events.
  virtual void onEvent(Event event, std::string_view detail) = 0;
  // localSocket -1: any suitable socket. ttl 0: the default. False if it could not be sent.
  virtual bool wirePacketSend(int64_t localSocket, const InetAddress& remote, ByteView data,
                              unsigned ttl) = 0;
  // VL2 (vl2-frames-multicast-rules.md 6.1): a frame for the network's port (MACs as 48-bit
  // values, VLAN always 0)...
  virtual void virtualNetworkFrame(uint64_t networkId, uint64_t srcMac, uint64_t dstMac,
                                   uint16_t etherType, uint16_t vlanId, ByteView payload) {
    (void)networkId, (void)srcMac, (void)dstMac, (void)etherType, (void)vlanId, (void)payload;
  }
  // ...and the port's life: UP on join (or start-up), CONFIG_UPDATE on every new config or
  // status, DOWN at shutdown, DESTROY on leave. A non-zero return is the port error (the
  // network's status becomes PORT_ERROR).
  virtual int virtualNetworkConfig(uint64_t networkId, VirtualNetworkConfigOperation op,
                                   const VirtualNetworkConfig& config) {
    (void)networkId, (void)op, (void)config;
    return 0;
  }
  // May veto a physical path for a peer (default: allowed).
  virtual bool pathCheck(Address peer, int64_t localSocket, const InetAddress& remote) {
    (void)peer, (void)localSocket, (void)remote;
    return true;
  }
  // May suggest an endpoint for a peer we have no path to (family None: any).
  virtual std::optional<InetAddress> pathLookup(Address peer, InetAddress::Family family) {
    (void)peer, (void)family;
    return std::nullopt;
  }
};

struct NodeOptions {
  int64_t peerActivityTimeout = 500000;  // ONLINE while a root was heard within this (1.14)
  size_t physicalMtu = 1432;             // UDP payload size above which packets are fragmented
  bool loadPeerCache = false;            // read PEER objects (listed by stateList) on creation
  bool rootMode = false;                 // same as calling setRootMode(true) after creation
  // Software version we announce (protocol version is always 12).
  uint8_t versionMajor = 1, versionMinor = 14;
  uint16_t versionRevision = 1;
};

struct PathInfo {
  int64_t localSocket = -1;
  InetAddress remote;
  int64_t lastSend = 0, lastReceive = 0;
  bool preferred = false;  // the path we send on
  bool alive = false;
};

struct PeerInfo {
  Address address;
  int protocolVersion = -1;  // -1: unknown until its HELLO or OK(HELLO)
  int versionMajor = -1, versionMinor = -1, versionRevision = -1;
  int64_t latency = -1;      // ms, -1 unknown
  PeerRole role = PeerRole::Leaf;
  std::vector<PathInfo> paths;
};

struct NodeStatus {
  Address address;
  std::string publicIdentity;
  bool online = false;
};

struct ProcessResult {
  ResultCode code = ResultCode::Ok;
  int64_t nextDeadline = 0;  // call processBackgroundTasks no later than this
};

class Node {
 public:
  // Reads IDENTITY_SECRET: generates and stores both identity objects when it is missing; an
  // error when it is stored but unreadable (never a silent new identity). The proof of work of
  // our own identity is not re-checked (peers check it). Then loads PLANET (else the built-in
  // default; the default replaces a stored planet only by the world update rules), the MOONs
  // that stateList names and, with options.loadPeerCache, PEER objects. Fires UP.
  static Result<std::unique_ptr<Node>> create(NodeHost& host, int64_t now, NodeOptions options = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  ProcessResult processWirePacket(int64_t now, int64_t localSocket, const InetAddress& remote,
                                  ByteView data);
  ProcessResult processBackgroundTasks(int64_t now);

  Address address() const;
  const Identity& identity() const;
  NodeStatus status() const;
  std::vector<PeerInfo> peers() const;
  Counters counters() const;

  // Sends an ECHO to a peer (after a WHOIS if it is unknown); its OK(ECHO) counts in
  // counters().echoRepliesReceived and measures latency. The deadline is sooner while a WHOIS
  // is outstanding.
  ProcessResult echo(int64_t now, Address peer);
  void addLocalInterfaceAddress(const InetAddress& address);
  // Orbits a moon: HELLOs the seed root (WHOIS first if unknown) announcing the moon, and
  // accepts the moon from the seed's OK(HELLO); its roots then join ours. Stored as MOON.
  ProcessResult orbit(int64_t now, uint64_t moonId, Address seed);
  ResultCode deorbit(uint64_t moonId);
  // A root relays for everyone, answers WHOIS from its peer table and is always online.
  void setRootMode(bool root);
  // ---- VL2 (vl2-frames-multicast-rules.md 6.1)
  // Joins a network: UP at once (status REQUESTING_CONFIGURATION, or the saved config) and, without
  // a saved config, the first NETWORK_CONFIG_REQUEST at once (then at every 5 s tick until configured). Networks with a saved NETWORK_CONFIG object
  // (listed by stateList) are joined again by create(). Joining twice is a no-op.
  ResultCode join(int64_t now, uint64_t networkId);
  // Leaves: DESTROY, and the saved config is deleted.
  ResultCode leave(int64_t now, uint64_t networkId);
  // A frame from the network's port (VLAN must be 0).
  ProcessResult processVirtualNetworkFrame(int64_t now, uint64_t networkId, uint64_t srcMac, uint64_t dstMac,
                                           uint16_t etherType, uint16_t vlanId, ByteView payload);
  ResultCode multicastSubscribe(int64_t now, uint64_t networkId, uint64_t mac, uint32_t adi = 0);
  ResultCode multicastUnsubscribe(uint64_t networkId, uint64_t mac, uint32_t adi = 0);
  std::vector<uint64_t> networks() const;
  std::optional<VirtualNetworkConfig> networkConfig(uint64_t networkId) const;
  // The network controller this node runs (not owned; null: none, and NETWORK_CONFIG_REQUESTs get
  // ERROR UNSUPPORTED_OPERATION). Requests for our networks go to it and its answers are sent;
  // our own request for a network we control is handed to it directly.
  void setNetconfMaster(NetworkController* controller);
  // Sends what the controller returned for host-driven record changes (setNetwork, setMember,
  // deletions: pushes and revocations). Messages to ourselves are applied directly.
  void sendControllerMessages(int64_t now, const std::vector<ControllerMessage>& messages);

  // Persists the peer cache, fires DOWN; afterwards every call is ignored.
  void shutdown(int64_t now);

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zt
