// One attached pod: its Node, the NodeHost that connects the Node to the pod's UDP socket and
// TAPs (through the worker's batches), its in-memory state and, optionally, its controller.
// Lives on one worker thread; nothing here is locked.
#pragma once
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/controller.hpp"
#include "dataplane/dataplane.hpp"
#include "dataplane/port.hpp"
#include "io/netlink.hpp"
#include "io/udp.hpp"
#include "node.hpp"

namespace zt::dataplane {

class Worker;

class Pod : public NodeHost {
 public:
  Pod(Worker& worker, DataplaneObserver& observer, PodOptions options, io::UdpSocket socket, io::Rtnl rtnl);
  ~Pod() override;

  // Creates the node (which rejoins networks with a saved config), its controller, joins.
  Result<PodInfo> start(int64_t now);
  // Node shutdown: DOWN on every network closes the TAPs.
  void stop(int64_t now);

  const std::string& key() const { return options_.key; }
  const io::UdpSocket& socket() const { return socket_; }
  Source& source() { return source_; }
  int64_t deadline() const { return deadline_; }

  // The node calls the worker makes; each tracks the deadline and settles deferred work.
  void receive(int64_t now, const InetAddress& from, ByteView datagram);
  void frameFromTap(int64_t now, Port& port, ByteView frame);
  void background(int64_t now);
  // The TAP failed outside any config change: it is closed (the next config creates it again)
  // and the host told.
  void tapFailed(Port& port, const std::string& error);
  Result<bool> join(int64_t now, uint64_t networkId);
  Result<bool> leave(int64_t now, uint64_t networkId);
  nlohmann::json status() const;
  // A record change on our controller; its messages are sent.
  using ControllerCall = std::function<Result<std::vector<ControllerMessage>>(NetworkController&)>;
  Result<bool> changeRecords(int64_t now, const ControllerCall& call);
  Result<nlohmann::json> memberStatus(int64_t now, uint64_t networkId);

  uint64_t sendDrops = 0;  // datagrams the socket refused (buffer full, unreachable)

  // NodeHost
  std::optional<Bytes> stateGet(StateObject type, const StateId& id) override;
  void statePut(StateObject type, const StateId& id, std::optional<ByteView> data) override;
  std::vector<StateId> stateList(StateObject type) override;
  void onEvent(Event event, std::string_view detail) override;
  bool wirePacketSend(int64_t localSocket, const InetAddress& remote, ByteView data, unsigned ttl) override;
  void virtualNetworkFrame(uint64_t networkId, uint64_t srcMac, uint64_t dstMac, uint16_t etherType,
                           uint16_t vlanId, ByteView payload) override;
  int virtualNetworkConfig(uint64_t networkId, VirtualNetworkConfigOperation op,
                           const VirtualNetworkConfig& config) override;

 private:
  void track(int64_t now, int64_t nextDeadline);
  // Multicast subscriptions cannot change inside a Node callback (the node is mid-call), so
  // config changes mark them and they are brought in line after the call returns.
  void settleGroups(int64_t now);
  Port* portOf(uint64_t networkId);
  Port& openPort(uint64_t networkId);
  void closePort(uint64_t networkId);
  Error failure(const std::string& what) const { return Error{options_.key + ": " + what}; }

  Worker& worker_;
  DataplaneObserver& observer_;
  PodOptions options_;
  io::UdpSocket socket_;
  io::Rtnl rtnl_;
  Source source_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<MemoryControllerStore> store_;
  std::unique_ptr<NetworkController> controller_;
  std::map<uint64_t, std::unique_ptr<Port>> ports_;
  Port* lastPort_ = nullptr;  // the frame path's lookup cache
  bool groupsDirty_ = false;
  int64_t deadline_ = std::numeric_limits<int64_t>::max();
};

}  // namespace zt::dataplane
