#include "dataplane/worker.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "vl2/mac.hpp"

namespace zt::dataplane {

namespace {
constexpr size_t kFrameBufferSize = io::kEthernetHeaderSize + 65536;
constexpr size_t kSegmentBufferSize = io::kEthernetHeaderSize + NetworkConfig::kMaxMtu;
constexpr int64_t kMaxTimeoutMs = 1000;  // re-check deadlines at least this often

void storeMac(uint8_t* out, uint64_t mac) {
  const auto bytes = macBytes(mac);
  std::memcpy(out, bytes.data(), bytes.size());
}

// One write per frame: a TAP takes a whole frame or none (its queue full, or the device gone).
void writeToTap(Port& port, ByteView headerAndFrame) {
  if (::write(port.fd(), headerAndFrame.data(), headerAndFrame.size()) == ssize_t(headerAndFrame.size()))
    port.counters.tapWrites++;
  else
    port.counters.tapWriteErrors++;
}
}  // namespace

int64_t nowMs() {
  using namespace std::chrono;
  static const int64_t offset = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() -
                                duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  return offset + duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

Worker::Worker(DataplaneObserver& observer, unsigned index)
    : observer_(observer),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      tapRead_(new uint8_t[kTapReadSize]),
      segment_(new uint8_t[kSegmentBufferSize]),
      frame_(new uint8_t[kFrameBufferSize]) {
  // Without its epoll or eventfd a worker cannot run at all: that is a broken host, not an error
  // a caller could handle.
  if (!epoll_.valid() || !wake_.valid() || !watch(wake_.get(), wakeSource_))
    throw std::runtime_error(io::sysError("dataplane worker " + std::to_string(index) + ": epoll/eventfd").message);
  thread_ = std::thread([this] { run(); });
}

Worker::~Worker() {
  stopping_ = true;
  post([] {});
  thread_.join();
}

void Worker::post(std::function<void()> task) {
  {
    std::lock_guard lock(tasksMutex_);
    tasks_.push_back(std::move(task));
  }
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

Result<bool> Worker::watch(int fd, Source& source) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &source;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return io::sysError("epoll add");
  return true;
}

void Worker::forgetTap(Port& port) {
  if (framePort_ == &port) flushFrames();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, port.fd(), nullptr);
}

// ------------------------------------------------------------------------------------------------
// Pods

Result<PodInfo> Worker::attach(PodOptions options, io::UdpSocket socket, io::Rtnl rtnl) {
  const std::string key = options.key;
  auto pod = std::make_unique<Pod>(*this, observer_, std::move(options), std::move(socket), std::move(rtnl));
  Result<PodInfo> info = pod->start(nowMs());
  if (info) {
    if (Result<bool> watched = watch(pod->socket().fd(), pod->source()); !watched)
      info = Error{key + ": UDP socket: " + watched.error()};
  }
  if (!info) pod->stop(nowMs());
  flush();
  if (!info) {
    retiredPods_.push_back(std::move(pod));
    return info;
  }
  pods_.emplace(key, std::move(pod));
  return info;
}

Result<bool> Worker::detach(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return fail(key + ": not attached");
  Pod& pod = *it->second;
  pod.stop(nowMs());
  flush();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pod.socket().fd(), nullptr);
  pod.source().live = false;
  retiredPods_.push_back(std::move(it->second));
  pods_.erase(it);
  return true;
}

Pod* Worker::find(const std::string& key) {
  auto it = pods_.find(key);
  return it == pods_.end() ? nullptr : it->second.get();
}

// ------------------------------------------------------------------------------------------------
// The loop

void Worker::run() {
  epoll_event events[kMaxEvents];
  while (!stopping_) {
    int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeoutMs(nowMs()));
    bool wake = false;
    for (int i = 0; i < n; ++i) {
      Source& s = *static_cast<Source*>(events[i].data.ptr);
      if (!s.live) continue;
      switch (s.kind) {
        case Source::Kind::Wake: wake = true; break;
        case Source::Kind::Socket: onSocket(*s.pod); break;
        case Source::Kind::Tap: onTap(*s.pod, *s.port); break;
      }
    }
    // Control closures run after the batch, so none can pull a pod away under a pending event.
    if (wake) runTasks();
    runTimers(nowMs());
    flush();
    retiredPorts_.clear();
    retiredPods_.clear();
  }
  pods_.clear();
}

void Worker::runTasks() {
  uint64_t count;
  (void)!::read(wake_.get(), &count, sizeof count);
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(tasksMutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) {
    task();
    flush();
  }
}

int Worker::timeoutMs(int64_t now) const {
  // A linear scan: a worker holds tens of pods, and this runs once per wake-up, not per packet.
  int64_t earliest = now + kMaxTimeoutMs;
  for (const auto& [key, pod] : pods_) earliest = std::min(earliest, pod->deadline());
  return int(std::clamp<int64_t>(earliest - now, 0, kMaxTimeoutMs));
}

void Worker::runTimers(int64_t now) {
  for (auto& [key, pod] : pods_)
    if (pod->deadline() <= now) pod->background(now);
}

void Worker::onSocket(Pod& pod) {
  for (int round = 0; round < kReceiveRounds; ++round) {
    Result<size_t> received = pod.socket().receive(recvBatch_);
    if (!received || *received == 0) break;
    const int64_t now = nowMs();
    recvBatch_.forEachDatagram([&](const InetAddress& from, ByteView datagram) { pod.receive(now, from, datagram); });
  }
  // Once for all rounds: segments of a flow that arrived in consecutive batches still merge.
  flush();
}

void Worker::onTap(Pod& pod, Port& port) {
  const MutableByteView segment(segment_.get(), kSegmentBufferSize);
  for (int i = 0; i < kTapReads && port.hasTap(); ++i) {
    const ssize_t n = ::read(port.fd(), tapRead_.get(), kTapReadSize);
    if (n < 0) {
      // EAGAIN: drained. Anything else (the device deleted under us) would repeat forever.
      if (errno != EAGAIN && errno != EINTR) pod.tapFailed(port, io::sysError("read").message);
      break;
    }
    port.counters.tapReads++;
    if (size_t(n) < io::kVnetHeaderSize) continue;
    io::VnetHeader vnet;
    std::memcpy(&vnet, tapRead_.get(), io::kVnetHeaderSize);
    const ByteView frame(tapRead_.get() + io::kVnetHeaderSize, size_t(n) - io::kVnetHeaderSize);
    const int64_t now = nowMs();
    io::SegmentResult r = io::segmentFrame(vnet, frame, port.mtu(), segment,
                                           [&](ByteView f) { pod.frameFromTap(now, port, f); });
    if (r.drop != io::OffloadDrop::kNone) port.counters.offloadDrops++;
  }
  flush();
}

// ------------------------------------------------------------------------------------------------
// Batches

void Worker::sendDatagram(Pod& pod, const InetAddress& to, ByteView datagram) {
  if (sendPod_ != &pod) {
    flushSends();
    sendPod_ = &pod;
  }
  if (sendBatch_.add(to, datagram)) return;
  flushSends();
  sendPod_ = &pod;
  if (!sendBatch_.add(to, datagram)) pod.sendDrops++;  // larger than the whole batch
}

void Worker::writeFrame(Port& port, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload) {
  if (payload.size() > kFrameBufferSize - io::kEthernetHeaderSize) {
    port.counters.tapWriteErrors++;
    return;
  }
  if (framePort_ != &port) {
    flushFrames();
    framePort_ = &port;
  }
  uint8_t* f = frame_.get();
  storeMac(f, dstMac);
  storeMac(f + 6, srcMac);
  f[12] = uint8_t(etherType >> 8);
  f[13] = uint8_t(etherType);
  std::memcpy(f + io::kEthernetHeaderSize, payload.data(), payload.size());
  port.counters.packetsIn++;
  port.counters.bytesIn += payload.size();
  coalescer_.add(ByteView(f, io::kEthernetHeaderSize + payload.size()),
                 [&](ByteView out) { writeToTap(port, out); });
}

void Worker::flushSends() {
  if (sendPod_ && !sendBatch_.empty()) sendPod_->sendDrops += sendBatch_.flush(sendPod_->socket().fd());
  sendPod_ = nullptr;
}

void Worker::flushFrames() {
  if (framePort_) {
    coalescer_.flush([this](ByteView out) { writeToTap(*framePort_, out); });
  }
  framePort_ = nullptr;
}

void Worker::flush() {
  flushSends();
  flushFrames();
}

}  // namespace zt::dataplane
