#include "dataplane/dataplane.hpp"

#include <algorithm>
#include <cstdio>

#include "dataplane/worker.hpp"
#include "io/netns.hpp"

namespace zt::dataplane {

using nlohmann::json;

std::string interfaceNameOf(uint64_t networkId) {
  char name[16];
  std::snprintf(name, sizeof name, "zt%010llx",
                static_cast<unsigned long long>((networkId ^ (networkId >> 24)) & 0xffffffffffULL));
  return name;
}

namespace {

// What a pod needs from its namespace: both are bound to it at creation and work from any thread.
struct PodIo {
  io::UdpSocket socket;
  io::Rtnl rtnl;
};

Result<PodIo> openPodIo(const PodOptions& options) {
  return io::inNetns<PodIo>(options.netnsPath, [&]() -> Result<PodIo> {
    Result<io::UdpSocket> socket = io::UdpSocket::open(options.bind);
    if (!socket) return Error{socket.error()};
    Result<io::Rtnl> rtnl = io::Rtnl::open();
    if (!rtnl) return Error{rtnl.error()};
    return PodIo{std::move(*socket), std::move(*rtnl)};
  });
}

}  // namespace

Dataplane::Dataplane(DataplaneObserver& observer, unsigned threads) : observer_(observer) {
  for (unsigned i = 0; i < std::max(threads, 1u); ++i) workers_.push_back(std::make_unique<Worker>(observer, i));
}

Dataplane::~Dataplane() {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, worker] : pods_) keys.push_back(key);
  }
  for (const std::string& key : keys) (void)detach(key);
  workers_.clear();
}

Result<Worker*> Dataplane::workerOf(const std::string& pod) {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(pod);
  if (it == pods_.end()) return fail(pod + ": not attached");
  return it->second;
}

template <class T>
Result<T> Dataplane::onPod(const std::string& pod, const std::function<Result<T>(Pod&, int64_t now)>& fn) {
  Result<Worker*> worker = workerOf(pod);
  if (!worker) return Error{worker.error()};
  return (*worker)->call<T>([&]() -> Result<T> {
    Pod* p = (*worker)->find(pod);
    if (!p) return fail(pod + ": not attached");
    return fn(*p, nowMs());
  });
}

Result<PodInfo> Dataplane::attach(PodOptions options) {
  const std::string key = options.key;
  if (key.empty()) return fail("attach: the pod key is empty");
  if (options.bind.empty()) return fail(key + ": no UDP bind address");
  Worker* worker = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (pods_.count(key)) return fail(key + ": already attached");
    // Least loaded, counting pods still being attached.
    std::map<Worker*, size_t> load;
    for (const auto& [k, w] : pods_) load[w]++;
    worker = std::min_element(workers_.begin(), workers_.end(), [&](const auto& a, const auto& b) {
               return load[a.get()] < load[b.get()];
             })->get();
    pods_[key] = worker;
  }
  Result<PodIo> podIo = openPodIo(options);
  Result<PodInfo> info = podIo ? worker->call<PodInfo>([&] {
    return worker->attach(std::move(options), std::move(podIo->socket), std::move(podIo->rtnl));
  }) : Result<PodInfo>(Error{key + ": " + podIo.error()});
  if (!info) {
    std::lock_guard lock(mutex_);
    pods_.erase(key);
  }
  return info;
}

Result<bool> Dataplane::detach(const std::string& pod) {
  Result<Worker*> worker = workerOf(pod);
  if (!worker) return Error{worker.error()};
  Result<bool> detached = (*worker)->call<bool>([&] { return (*worker)->detach(pod); });
  std::lock_guard lock(mutex_);
  pods_.erase(pod);
  return detached;
}

Result<bool> Dataplane::join(const std::string& pod, uint64_t networkId) {
  return onPod<bool>(pod, [&](Pod& p, int64_t now) { return p.join(now, networkId); });
}

Result<bool> Dataplane::leave(const std::string& pod, uint64_t networkId) {
  return onPod<bool>(pod, [&](Pod& p, int64_t now) { return p.leave(now, networkId); });
}

Result<json> Dataplane::status(const std::string& pod) {
  return onPod<json>(pod, [](Pod& p, int64_t) -> Result<json> { return p.status(); });
}

Result<bool> Dataplane::setNetwork(const std::string& pod, const json& record) {
  return onPod<bool>(pod, [&](Pod& p, int64_t now) {
    return p.changeRecords(now, [&](NetworkController& c) { return c.setNetwork(uint64_t(now), record); });
  });
}

Result<bool> Dataplane::setMember(const std::string& pod, const json& record) {
  return onPod<bool>(pod, [&](Pod& p, int64_t now) {
    return p.changeRecords(now, [&](NetworkController& c) { return c.setMember(uint64_t(now), record); });
  });
}

Result<bool> Dataplane::deleteNetwork(const std::string& pod, uint64_t networkId) {
  return onPod<bool>(pod, [&](Pod& p, int64_t now) {
    return p.changeRecords(now, [&](NetworkController& c) { return c.deleteNetwork(uint64_t(now), networkId); });
  });
}

Result<bool> Dataplane::deleteMember(const std::string& pod, uint64_t networkId, Address member) {
  return onPod<bool>(pod, [&](Pod& p, int64_t now) {
    return p.changeRecords(now, [&](NetworkController& c) { return c.deleteMember(uint64_t(now), networkId, member); });
  });
}

Result<json> Dataplane::memberStatus(const std::string& pod, uint64_t networkId) {
  return onPod<json>(pod, [&](Pod& p, int64_t now) { return p.memberStatus(now, networkId); });
}

}  // namespace zt::dataplane
