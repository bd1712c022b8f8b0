// UDP underlay sockets with batching: recvmmsg with UDP GRO (the kernel coalesces a burst from one
// peer into one buffer of equal-sized segments) and sendmmsg with UDP GSO (one message carries a
// run of equal-sized datagrams to one destination). Batches are owned by the worker thread and
// reused for every socket it serves, so a socket costs no buffer memory of its own.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <vector>

#include "inet_address.hpp"
#include "io/fd.hpp"

namespace zt::io {

class RecvBatch;
class SendBatch;

class UdpSocket {
 public:
  // Binds in the calling thread's network namespace (see netns.hpp). Port 0 picks one.
  static Result<UdpSocket> open(const InetAddress& bindAddress);
  int fd() const { return fd_.get(); }
  const InetAddress& localAddress() const { return local_; }
  // Fills the batch from the socket; returns the number of messages (0: nothing pending).
  Result<size_t> receive(RecvBatch& batch) const;

 private:
  UniqueFd fd_;
  InetAddress local_;
};

// One received message: a single datagram, or with GRO several equal-sized segments back to back
// (the last may be shorter).
struct ReceivedMessage {
  InetAddress from;
  ByteView data;
  size_t segmentSize;  // == data.size() when not coalesced
};

class RecvBatch {
 public:
  static constexpr size_t kMessages = 32;
  static constexpr size_t kBufferSize = 65536;  // a full GRO super-datagram
  RecvBatch();
  size_t size() const { return count_; }
  ReceivedMessage message(size_t i) const;

  // Calls fn(from, datagram) for every datagram of every message, splitting GRO segments.
  template <class Fn>
  void forEachDatagram(Fn&& fn) const {
    for (size_t i = 0; i < count_; ++i) {
      ReceivedMessage m = message(i);
      for (size_t off = 0; off < m.data.size(); off += m.segmentSize)
        fn(m.from, m.data.subspan(off, std::min(m.segmentSize, m.data.size() - off)));
    }
  }

 private:
  friend class UdpSocket;
  static constexpr size_t kControlSize = CMSG_SPACE(sizeof(int));
  std::unique_ptr<uint8_t[]> buffers_;
  std::array<mmsghdr, kMessages> headers_{};
  std::array<iovec, kMessages> iov_{};
  std::array<sockaddr_storage, kMessages> peers_{};
  std::array<std::array<uint8_t, kControlSize>, kMessages> control_{};
  size_t count_ = 0;
  void prepare();
};

// Datagrams queued for sending; flush() hands them to the kernel with as few syscalls as it can.
class SendBatch {
 public:
  static constexpr size_t kMessages = 64;
  static constexpr size_t kSlabSize = 64 * 1500 * 2;
  SendBatch();
  // Copies the datagram in; returns false when full (flush and retry).
  bool add(const InetAddress& to, ByteView datagram);
  bool empty() const { return datagrams_ == 0; }
  // Sends everything queued on fd, coalescing runs with one destination and one size into GSO
  // messages; clears the batch. Returns datagrams the kernel refused (dropped, counted by caller).
  size_t flush(int fd);

 private:
  static constexpr size_t kControlSize = CMSG_SPACE(sizeof(uint16_t));
  struct Run {
    sockaddr_storage to;
    socklen_t toLength;
    size_t offset, segmentSize, count, bytes;
  };
  std::unique_ptr<uint8_t[]> slab_;
  std::array<Run, kMessages> runs_{};
  std::array<mmsghdr, kMessages> headers_{};
  std::array<iovec, kMessages> iov_{};
  std::array<std::array<uint8_t, kControlSize>, kMessages> control_{};
  size_t runCount_ = 0, used_ = 0, datagrams_ = 0;
  void clear();
};

}  // namespace zt::io
