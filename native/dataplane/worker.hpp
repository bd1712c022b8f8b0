// One data plane thread: an epoll loop over an eventfd (posted control closures), the UDP socket
// of every pod it owns and their TAPs, with the pods' node deadlines as its timeout. Batches and
// buffers are the worker's, reused for every pod: nothing is allocated per packet.
#pragma once
#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/dataplane.hpp"
#include "dataplane/pod.hpp"
#include "dataplane/port.hpp"
#include "io/fd.hpp"
#include "io/offload.hpp"
#include "io/udp.hpp"

namespace zt::dataplane {

// Milliseconds on a clock that never steps back: the monotonic clock, offset once to wall time
// so that timestamps the node puts on the wire (credentials, HELLO) are close to real time.
int64_t nowMs();

class Worker {
 public:
  Worker(DataplaneObserver& observer, unsigned index);
  ~Worker();  // stops and joins the thread; pods still attached are dropped without a shutdown
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs fn on the worker thread and returns its result.
  template <class T>
  Result<T> call(std::function<Result<T>()> fn) {
    std::promise<Result<T>> done;
    std::future<Result<T>> result = done.get_future();
    post([&] { done.set_value(fn()); });
    return result.get();
  }

  // ---- On the worker thread only.
  Result<PodInfo> attach(PodOptions options, io::UdpSocket socket, io::Rtnl rtnl);
  Result<bool> detach(const std::string& key);
  Pod* find(const std::string& key);

  Result<bool> watch(int fd, Source& source);
  // Stops watching a TAP about to close; frames held for it are written first.
  void forgetTap(Port& port);
  // Keeps a closed port alive until the current epoll batch is done (events may point at it).
  void retire(std::unique_ptr<Port> port) { retiredPorts_.push_back(std::move(port)); }

  // The node callbacks' ends of the hot path.
  void sendDatagram(Pod& pod, const InetAddress& to, ByteView datagram);
  void writeFrame(Port& port, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload);

 private:
  static constexpr int kMaxEvents = 64;
  static constexpr int kReceiveRounds = 8;  // recvmmsg batches per readable socket before others get a turn
  static constexpr int kTapReads = 64;      // TAP reads per readable TAP before others get a turn
  static constexpr size_t kTapReadSize = io::kVnetHeaderSize + 65540;

  void post(std::function<void()> task);
  void run();
  void runTasks();
  void onSocket(Pod& pod);
  void onTap(Pod& pod, Port& port);
  void runTimers(int64_t now);
  int timeoutMs(int64_t now) const;
  void flush();  // the send batch to its socket, the coalescer to its TAP
  void flushSends();
  void flushFrames();

  DataplaneObserver& observer_;
  io::UniqueFd epoll_, wake_;
  Source wakeSource_{Source::Kind::Wake};

  std::mutex tasksMutex_;
  std::deque<std::function<void()>> tasks_;
  std::atomic<bool> stopping_{false};

  std::map<std::string, std::unique_ptr<Pod>> pods_;
  std::vector<std::unique_ptr<Pod>> retiredPods_;
  std::vector<std::unique_ptr<Port>> retiredPorts_;

  // Hot-path state: one batch each way, and who it is for.
  io::RecvBatch recvBatch_;
  io::SendBatch sendBatch_;
  Pod* sendPod_ = nullptr;
  io::TcpCoalescer coalescer_;
  Port* framePort_ = nullptr;
  std::unique_ptr<uint8_t[]> tapRead_, segment_, frame_;

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace zt::dataplane
