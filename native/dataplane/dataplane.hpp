// The native data plane: many ZeroTier Nodes (one per pod) on a small fixed pool of worker
// threads, each an epoll loop over the pods' UDP sockets and TAP devices, moving packets between
// them without ever leaving C++. Think wireguard-go's device/ over conn/ and tun/.
//
// A pod lives on exactly one worker, so its Node needs no locks. Control calls (attach, join,
// status, controller record changes…) post a closure to the owning worker and block until it
// ran; call them from any thread but a worker's (the observer's callbacks run on workers).
#pragma once
#include <compare>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/records.hpp"
#include "inet_address.hpp"
#include "node.hpp"

namespace zt::dataplane {

struct StateKey {
  StateObject type;
  NodeHost::StateId id;
  auto operator<=>(const StateKey&) const = default;
};

// Records preloaded into the pod's MemoryControllerStore.
struct ControllerSetup {
  std::vector<nlohmann::json> networks, members;
};

struct PodOptions {
  std::string key;                  // unique pod key, e.g. "default/web-0"; in every error and log
  std::string netnsPath;            // "": this process's namespace; else /var/run/netns/x or /proc/<pid>/ns/net
  InetAddress bind;                 // UDP bind inside the namespace, e.g. 0.0.0.0/9993 (port 0: any)
  std::map<StateKey, Bytes> state;  // preloaded state objects (identity, planet, network configs, peers)
  NodeOptions node;
  std::vector<uint64_t> networks;   // joined after creation (networks with a saved config rejoin by themselves)
  std::optional<ControllerSetup> controller;  // run the controller for networks starting with our address
};

struct PodInfo {
  Address address;
  std::string publicIdentity;
  InetAddress udpLocal;  // where the socket is bound (the port picked when port 0 was asked)
};

// Everything the host side must learn. Called on worker threads: implementations copy what they
// need (views are valid only during the call), queue it and return fast, and never call back into
// the Dataplane from the callback (that would wait on the very worker that is calling).
struct DataplaneObserver {
  virtual ~DataplaneObserver() = default;
  virtual void statePut(const std::string& pod, StateKey key, std::optional<ByteView> data) = 0;
  virtual void event(const std::string& pod, Event e, std::string_view detail) = 0;
  // After the config was applied to the TAP (created on the first config with status OK; MAC,
  // MTU, addresses and routes set over netlink in the pod's namespace; stale ones removed).
  // interfaceName "" while there is no TAP; applyError "" on success.
  virtual void networkConfig(const std::string& pod, VirtualNetworkConfigOperation op,
                             const VirtualNetworkConfig& config, const std::string& interfaceName,
                             const std::string& applyError) = 0;
  virtual void controllerChange(const std::string& pod, const ControllerStoreChange& change) = 0;
};

// The TAP of network `networkId`: "zt" + 10 hex digits of (nwid ^ (nwid >> 24)) & 0xffffffffff.
// Folding the 64-bit id into 40 bits keeps it under IFNAMSIZ while mixing the controller
// address (the top 40 bits) with the network number (the low 24), so two networks of one
// controller, and the same number on two controllers, get different names.
std::string interfaceNameOf(uint64_t networkId);

class Worker;
class Pod;

class Dataplane {
 public:
  explicit Dataplane(DataplaneObserver& observer, unsigned threads = 2);
  ~Dataplane();  // detaches every pod, then stops and joins the workers
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Opens the socket in the pod's namespace, creates the Node on the least-loaded worker, sets up
  // its controller, joins options.networks. Returns once the node runs; errors name the pod.
  Result<PodInfo> attach(PodOptions options);
  // Node shutdown (DOWN on every network), TAPs closed (the devices and their routes go), socket closed.
  Result<bool> detach(const std::string& pod);
  Result<bool> join(const std::string& pod, uint64_t networkId);
  Result<bool> leave(const std::string& pod, uint64_t networkId);
  // address, online, peers, networks (config JSON + interface + counters), node counters.
  Result<nlohmann::json> status(const std::string& pod);

  // Controller record changes, run on the owning worker; the resulting messages are sent.
  Result<bool> setNetwork(const std::string& pod, const nlohmann::json& record);
  Result<bool> setMember(const std::string& pod, const nlohmann::json& record);
  Result<bool> deleteNetwork(const std::string& pod, uint64_t networkId);
  Result<bool> deleteMember(const std::string& pod, uint64_t networkId, Address member);
  Result<nlohmann::json> memberStatus(const std::string& pod, uint64_t networkId);

 private:
  Result<Worker*> workerOf(const std::string& pod);
  // Runs fn with the pod on its worker; an error when it is not (or no longer) attached.
  template <class T>
  Result<T> onPod(const std::string& pod, const std::function<Result<T>(Pod&, int64_t now)>& fn);

  DataplaneObserver& observer_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mutex_;
  std::map<std::string, Worker*> pods_;  // attached (or being attached) pods and their worker
};

}  // namespace zt::dataplane
