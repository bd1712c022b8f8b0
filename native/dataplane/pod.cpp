#include "dataplane/pod.hpp"

#include <algorithm>

#include "dataplane/worker.hpp"
#include "node_json.hpp"
#include "vl2/mac.hpp"
#include "wire/codec_util.hpp"

namespace zt::dataplane {

using nlohmann::json;

namespace {

json countersWithSendDrops(const Counters& c, uint64_t sendDrops) {
  json j = countersToJson(c);
  j["sendDrops"] = sendDrops;
  return j;
}

// A status whose config the TAP should follow: OK, or a port error on an earlier config of ours.
bool carriesConfig(const VirtualNetworkConfig& c) {
  return c.status == VirtualNetworkStatus::Ok || c.status == VirtualNetworkStatus::PortError;
}

}  // namespace

Pod::Pod(Worker& worker, DataplaneObserver& observer, PodOptions options, io::UdpSocket socket, io::Rtnl rtnl)
    : worker_(worker),
      observer_(observer),
      options_(std::move(options)),
      socket_(std::move(socket)),
      rtnl_(std::move(rtnl)),
      source_{Source::Kind::Socket, this} {}

Pod::~Pod() {
  for (auto& [id, port] : ports_)
    if (port->hasTap()) worker_.forgetTap(*port);
}

Result<PodInfo> Pod::start(int64_t now) {
  Result<std::unique_ptr<Node>> node = Node::create(*this, now, options_.node);
  if (!node) return failure("create node: " + node.error());
  node_ = std::move(*node);
  if (options_.controller) {
    store_ = std::make_unique<MemoryControllerStore>();
    if (Result<bool> loaded = store_->load(options_.controller->networks, options_.controller->members, uint64_t(now));
        !loaded)
      return failure(loaded.error());
    store_->setListener([this](const ControllerStoreChange& change) { observer_.controllerChange(key(), change); });
    controller_ = std::make_unique<NetworkController>(node_->identity(), *store_);
    node_->setNetconfMaster(controller_.get());
    options_.controller.reset();  // the store holds them now
  }
  for (uint64_t networkId : options_.networks)
    if (Result<bool> joined = join(now, networkId); !joined) return Error{joined.error()};
  track(now, now);  // the first HELLOs go out at once
  const NodeStatus status = node_->status();
  return PodInfo{status.address, status.publicIdentity, socket_.localAddress()};
}

void Pod::stop(int64_t now) {
  if (node_) node_->shutdown(now);
  while (!ports_.empty()) closePort(ports_.begin()->first);  // any the node did not take down
}

void Pod::track(int64_t now, int64_t nextDeadline) {
  deadline_ = std::min(deadline_, nextDeadline);
  settleGroups(now);
}

void Pod::receive(int64_t now, const InetAddress& from, ByteView datagram) {
  track(now, node_->processWirePacket(now, socket_.fd(), from, datagram).nextDeadline);
}

void Pod::frameFromTap(int64_t now, Port& port, ByteView frame) {
  if (frame.size() < io::kEthernetHeaderSize) return;
  const uint64_t dst = macFromBytes(frame.data()), src = macFromBytes(frame.data() + 6);
  const uint16_t etherType = loadU16(frame.data() + 12);
  const ByteView payload = frame.subspan(io::kEthernetHeaderSize);
  port.counters.packetsOut++;
  port.counters.bytesOut += payload.size();
  track(now, node_->processVirtualNetworkFrame(now, port.networkId(), src, dst, etherType, 0, payload).nextDeadline);
}

void Pod::background(int64_t now) {
  deadline_ = node_->processBackgroundTasks(now).nextDeadline;
  settleGroups(now);
}

void Pod::tapFailed(Port& port, const std::string& error) {
  const std::string message = key() + ": " + port.failure("TAP", error);
  worker_.forgetTap(port);
  port.close();
  if (std::optional<VirtualNetworkConfig> config = node_->networkConfig(port.networkId()))
    observer_.networkConfig(key(), VirtualNetworkConfigOperation::ConfigUpdate, *config, "", message);
}

Result<bool> Pod::join(int64_t now, uint64_t networkId) {
  const ResultCode code = node_->join(now, networkId);
  settleGroups(now);
  if (code != ResultCode::Ok) return failure("join network " + wire::hex64(networkId) + ": code " + std::to_string(int(code)));
  return true;
}

Result<bool> Pod::leave(int64_t now, uint64_t networkId) {
  const ResultCode code = node_->leave(now, networkId);
  if (code != ResultCode::Ok) return failure("leave network " + wire::hex64(networkId) + ": code " + std::to_string(int(code)));
  return true;
}

json Pod::status() const {
  const NodeStatus s = node_->status();
  json peers = json::array();
  for (const PeerInfo& p : node_->peers()) peers.push_back(peerInfoToJson(p));
  json networks = json::array();
  for (uint64_t id : node_->networks()) {
    json network = virtualNetworkConfigToJson(*node_->networkConfig(id));
    auto port = ports_.find(id);
    network["interface"] = port != ports_.end() && port->second->hasTap() ? port->second->interfaceName() : "";
    network["counters"] = port != ports_.end() ? port->second->counters.toJson() : PortCounters{}.toJson();
    networks.push_back(network);
  }
  return {{"pod", key()},       {"address", s.address.toString()}, {"publicIdentity", s.publicIdentity},
          {"online", s.online}, {"udpLocal", socket_.localAddress().toString()},
          {"peers", peers},     {"networks", networks},
          {"counters", countersWithSendDrops(node_->counters(), sendDrops)}};
}

Result<bool> Pod::changeRecords(int64_t now, const ControllerCall& call) {
  if (!controller_) return failure("runs no network controller");
  Result<std::vector<ControllerMessage>> messages = call(*controller_);
  if (!messages) return failure(messages.error());
  node_->sendControllerMessages(now, *messages);
  settleGroups(now);
  return true;
}

Result<json> Pod::memberStatus(int64_t now, uint64_t networkId) {
  if (!controller_) return failure("runs no network controller");
  json out = json::array();
  for (const MemberStatus& s : controller_->memberStatus(uint64_t(now), networkId)) out.push_back(memberStatusToJson(s));
  return out;
}

// ------------------------------------------------------------------------------------------------
// NodeHost

std::optional<Bytes> Pod::stateGet(StateObject type, const StateId& id) {
  auto it = options_.state.find({type, id});
  if (it == options_.state.end()) return std::nullopt;
  return it->second;
}

void Pod::statePut(StateObject type, const StateId& id, std::optional<ByteView> data) {
  if (data) options_.state[{type, id}] = Bytes(data->begin(), data->end());
  else options_.state.erase({type, id});
  observer_.statePut(key(), {type, id}, data);
}

std::vector<NodeHost::StateId> Pod::stateList(StateObject type) {
  std::vector<StateId> out;
  for (const auto& [k, value] : options_.state)
    if (k.type == type) out.push_back(k.id);
  return out;
}

void Pod::onEvent(Event event, std::string_view detail) { observer_.event(key(), event, detail); }

bool Pod::wirePacketSend(int64_t, const InetAddress& remote, ByteView data, unsigned) {
  worker_.sendDatagram(*this, remote, data);
  return true;
}

void Pod::virtualNetworkFrame(uint64_t networkId, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, uint16_t,
                              ByteView payload) {
  if (Port* port = portOf(networkId); port && port->hasTap())
    worker_.writeFrame(*port, srcMac, dstMac, etherType, payload);
}

int Pod::virtualNetworkConfig(uint64_t networkId, VirtualNetworkConfigOperation op, const VirtualNetworkConfig& config) {
  std::string error;
  if (op == VirtualNetworkConfigOperation::Down || op == VirtualNetworkConfigOperation::Destroy) {
    closePort(networkId);
  } else if (carriesConfig(config)) {
    Port& port = openPort(networkId);
    const bool hadTap = port.hasTap();
    error = port.apply(config, options_.netnsPath, rtnl_);
    if (!hadTap && port.hasTap()) {
      if (Result<bool> watched = worker_.watch(port.fd(), port.source()); !watched)
        error = port.failure("watch TAP", watched.error());
    }
    groupsDirty_ = true;
  }
  Port* port = portOf(networkId);
  observer_.networkConfig(key(), op, config, port && port->hasTap() ? port->interfaceName() : "",
                          error.empty() ? "" : key() + ": " + error);
  return error.empty() ? 0 : -1;
}

// ------------------------------------------------------------------------------------------------
// Ports

Port* Pod::portOf(uint64_t networkId) {
  if (lastPort_ && lastPort_->networkId() == networkId) return lastPort_;
  auto it = ports_.find(networkId);
  if (it == ports_.end()) return nullptr;
  lastPort_ = it->second.get();
  return lastPort_;
}

Port& Pod::openPort(uint64_t networkId) {
  if (Port* port = portOf(networkId)) return *port;
  return *ports_.emplace(networkId, std::make_unique<Port>(*this, networkId)).first->second;
}

void Pod::closePort(uint64_t networkId) {
  auto it = ports_.find(networkId);
  if (it == ports_.end()) return;
  if (it->second->hasTap()) worker_.forgetTap(*it->second);
  it->second->close();
  lastPort_ = nullptr;
  worker_.retire(std::move(it->second));
  ports_.erase(it);
}

void Pod::settleGroups(int64_t now) {
  if (!groupsDirty_) return;
  groupsDirty_ = false;
  for (auto& [id, port] : ports_) {
    const std::vector<MulticastGroup>& wanted = port->wantedGroups();
    std::vector<MulticastGroup>& subscribed = port->subscribedGroups();
    for (const MulticastGroup& g : subscribed)
      if (std::find(wanted.begin(), wanted.end(), g) == wanted.end()) node_->multicastUnsubscribe(id, g.mac, g.adi);
    for (const MulticastGroup& g : wanted)
      if (std::find(subscribed.begin(), subscribed.end(), g) == subscribed.end())
        node_->multicastSubscribe(now, id, g.mac, g.adi);
    subscribed = wanted;
  }
}

}  // namespace zt::dataplane
