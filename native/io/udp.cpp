#include "io/udp.hpp"

#include <netinet/udp.h>

#include <cstring>

#include "io/sockaddr.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace zt::io {

namespace {
constexpr int kSocketBufferBytes = 4 << 20;
constexpr size_t kMaxGsoSegments = 64;

void setBufferSizes(int fd) {
  // FORCE variants lift the sysctl cap when we are privileged; plain ones are the fallback.
  for (auto [force, plain] : {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, std::pair{SO_SNDBUFFORCE, SO_SNDBUF}}) {
    if (setsockopt(fd, SOL_SOCKET, force, &kSocketBufferBytes, sizeof kSocketBufferBytes) != 0)
      setsockopt(fd, SOL_SOCKET, plain, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  }
}
}  // namespace

Result<UdpSocket> UdpSocket::open(const InetAddress& bindAddress) {
  int family = bindAddress.family == InetAddress::Family::V6 ? AF_INET6 : AF_INET;
  UdpSocket s;
  s.fd_.reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.fd_.valid()) return sysError("socket");
  const int on = 1;
  if (family == AF_INET6) setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  setBufferSizes(s.fd());
  // GRO is an optimisation the kernel may lack; receive() handles both forms.
  setsockopt(s.fd(), IPPROTO_UDP, UDP_GRO, &on, sizeof on);
  sockaddr_storage addr;
  socklen_t len = toSockaddr(bindAddress, addr);
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
    return sysError("bind UDP " + bindAddress.toString());
  len = sizeof addr;
  getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len);
  s.local_ = fromSockaddr(addr);
  return s;
}

Result<size_t> UdpSocket::receive(RecvBatch& batch) const {
  batch.prepare();
  int n = ::recvmmsg(fd(), batch.headers_.data(), RecvBatch::kMessages, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return size_t(0);
    return sysError("recvmmsg on " + local_.toString());
  }
  batch.count_ = size_t(n);
  return size_t(n);
}

RecvBatch::RecvBatch() : buffers_(new uint8_t[kMessages * kBufferSize]) {}

void RecvBatch::prepare() {
  for (size_t i = 0; i < kMessages; ++i) {
    iov_[i] = {buffers_.get() + i * kBufferSize, kBufferSize};
    msghdr& h = headers_[i].msg_hdr;
    h = {};
    h.msg_name = &peers_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = control_[i].data();
    h.msg_controllen = kControlSize;
    headers_[i].msg_len = 0;
  }
  count_ = 0;
}

ReceivedMessage RecvBatch::message(size_t i) const {
  const msghdr& h = headers_[i].msg_hdr;
  size_t length = headers_[i].msg_len;
  size_t segment = length;
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
      int gso;
      std::memcpy(&gso, CMSG_DATA(c), sizeof gso);
      if (gso > 0) segment = size_t(gso);
    }
  }
  if (segment == 0) segment = 1;  // an empty datagram: one empty view
  return {fromSockaddr(peers_[i]), ByteView(buffers_.get() + i * kBufferSize, length), segment};
}

SendBatch::SendBatch() : slab_(new uint8_t[kSlabSize]) {}

bool SendBatch::add(const InetAddress& to, ByteView datagram) {
  if (used_ + datagram.size() > kSlabSize) return false;
  sockaddr_storage addr;
  socklen_t len = toSockaddr(to, addr);
  Run* last = runCount_ ? &runs_[runCount_ - 1] : nullptr;
  bool extends = last && last->toLength == len && std::memcmp(&last->to, &addr, len) == 0 &&
                 last->count < kMaxGsoSegments && last->bytes + datagram.size() <= 65000 &&
                 datagram.size() <= last->segmentSize &&
                 last->bytes == last->count * last->segmentSize;  // no short segment yet
  if (!extends) {
    if (runCount_ == kMessages) return false;
    last = &runs_[runCount_++];
    *last = Run{addr, len, used_, datagram.size(), 0, 0};
  }
  std::memcpy(slab_.get() + used_, datagram.data(), datagram.size());
  used_ += datagram.size();
  last->count++;
  last->bytes += datagram.size();
  datagrams_++;
  return true;
}

size_t SendBatch::flush(int fd) {
  for (size_t i = 0; i < runCount_; ++i) {
    Run& r = runs_[i];
    iov_[i] = {slab_.get() + r.offset, r.bytes};
    msghdr& h = headers_[i].msg_hdr;
    h = {};
    h.msg_name = &r.to;
    h.msg_namelen = r.toLength;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    if (r.count > 1) {
      h.msg_control = control_[i].data();
      h.msg_controllen = kControlSize;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t segment = uint16_t(r.segmentSize);
      std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    }
  }
  size_t dropped = 0, sent = 0;
  while (sent < runCount_) {
    int n = ::sendmmsg(fd, headers_.data() + sent, unsigned(runCount_ - sent), MSG_DONTWAIT);
    if (n > 0) {
      sent += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    dropped += runs_[sent].count;  // a full buffer or an unreachable peer: skip that message
    sent++;
  }
  clear();
  return dropped;
}

void SendBatch::clear() { runCount_ = used_ = datagrams_ = 0; }

}  // namespace zt::io
