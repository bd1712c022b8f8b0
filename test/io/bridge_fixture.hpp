// Two namespaces, each with a TAP, joined by a userspace bridge that moves frames the way the data
// plane does (TAP read -> segmentFrame at the network MTU -> TcpCoalescer -> TAP write), and a TCP
// transfer across it. Shared by the offload tests and bench/offload_bench.cpp.
#pragma once
#include <openssl/evp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "io/netns.hpp"
#include "io/offload.hpp"
#include "io/sockaddr.hpp"
#include "io/tap.hpp"
#include "netns_fixture.hpp"

namespace zt::test {

inline bool shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Namespaces A and B, TAP "zto0" in each (with or without offloads) at the given MTU, 198.19.77.{1,2}/24 and fd00:77::{1,2}/64,
// with permanent neighbour entries for the other side (ARP and ND would pass the bridge too, but
// need not be waited for).
struct TapPair {
  ScopedNetns a, b;
  io::TapDevice tapA, tapB;
  std::string error;

  TapPair(const std::string& tag, bool offloadsA, bool offloadsB, unsigned mtu) : a(tag + "a"), b(tag + "b") {
    (void)(setUp(a, tapA, 1, offloadsA, mtu) && setUp(b, tapB, 2, offloadsB, mtu));
  }
  static std::string ipv4(int side) { return "198.19.77." + std::to_string(side); }
  static std::string ipv6(int side) { return "fd00:77::" + std::to_string(side); }
  static std::string mac(int side) { return "02:00:00:00:77:0" + std::to_string(side); }

 private:
  bool setUp(const ScopedNetns& ns, io::TapDevice& tap, int side, bool offloads, unsigned mtu) {
    Result<io::TapDevice> made = io::inNetns<io::TapDevice>(
        ns.path(), [&]() -> Result<io::TapDevice> { return io::TapDevice::create("zto0", offloads); });
    if (!made) {
      error = made.error();
      return false;
    }
    tap = std::move(*made);
    int peer = 3 - side;
    std::string ip = "ip -n " + ns.name() + " ";
    for (const std::string& command :
         {ip + "link set zto0 address " + mac(side) + " mtu " + std::to_string(mtu) + " up",
          ip + "addr add " + ipv4(side) + "/24 dev zto0",
          ip + "addr add " + ipv6(side) + "/64 dev zto0 nodad",
          ip + "neigh replace " + ipv4(peer) + " lladdr " + mac(peer) + " dev zto0 nud permanent",
          ip + "neigh replace " + ipv6(peer) + " lladdr " + mac(peer) + " dev zto0 nud permanent"}) {
      if (!shell(command)) {
        error = "failed: " + command;
        return false;
      }
    }
    return true;
  }
};

// Forwards frames between two TAPs, one thread per direction, until destroyed. Frames from a TAP
// with offloads are cut at the MTU (segmentFrame); frames to one are merged (TcpCoalescer). A TAP
// without offloads stands for a stock peer: it gets and gives plain MTU-sized frames.
class TapBridge {
 public:
  struct Stats {
    std::atomic<uint64_t> reads{0}, gsoReads{0}, drops{0}, writes{0}, gsoWrites{0}, writeErrors{0};
  };

  TapBridge(const io::TapDevice& a, const io::TapDevice& b, size_t mtu) : stop_(::eventfd(0, EFD_CLOEXEC)), mtu_(mtu) {
    threads_.emplace_back([&a, &b, this] { forward(a, b, aToB_); });
    threads_.emplace_back([&a, &b, this] { forward(b, a, bToA_); });
  }
  ~TapBridge() {
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    for (std::thread& t : threads_) t.join();
  }
  const Stats& aToB() const { return aToB_; }
  const Stats& bToA() const { return bToA_; }

 private:
  static constexpr size_t kReadSize = io::kVnetHeaderSize + 2 * 65536;
  static constexpr int kReadsPerFlush = 64;

  void forward(const io::TapDevice& from, const io::TapDevice& to, Stats& stats) {
    std::vector<uint8_t> in(kReadSize), scratch(io::kEthernetHeaderSize + mtu_);
    io::TcpCoalescer coalescer;
    auto write = [&](ByteView out) {
      if (::write(to.fd.get(), out.data(), out.size()) != ssize_t(out.size())) {
        ++stats.writeErrors;
        return;
      }
      ++stats.writes;
      if (to.vnetHeader && out[1] != io::VnetHeader::kGsoNone) ++stats.gsoWrites;
    };
    auto deliver = [&](ByteView frame) {
      if (to.vnetHeader) {
        coalescer.add(frame, write);
      } else {
        write(frame);
      }
    };
    pollfd fds[2] = {{from.fd.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    while (::poll(fds, 2, -1) >= 0 && !(fds[1].revents & POLLIN)) {
      for (int i = 0; i < kReadsPerFlush; ++i) {
        ssize_t n = ::read(from.fd.get(), in.data(), in.size());
        if (n <= 0) break;
        ++stats.reads;
        if (!from.vnetHeader) {
          deliver(ByteView(in.data(), size_t(n)));
          continue;
        }
        if (size_t(n) < io::kVnetHeaderSize) continue;
        io::VnetHeader vnet;
        std::memcpy(&vnet, in.data(), io::kVnetHeaderSize);
        if (vnet.gsoType != io::VnetHeader::kGsoNone) ++stats.gsoReads;
        ByteView frame(in.data() + io::kVnetHeaderSize, size_t(n) - io::kVnetHeaderSize);
        if (io::segmentFrame(vnet, frame, mtu_, scratch, deliver).drop != io::OffloadDrop::kNone) ++stats.drops;
      }
      coalescer.flush(write);
    }
  }

  io::UniqueFd stop_;
  size_t mtu_;
  Stats aToB_, bToA_;
  std::vector<std::thread> threads_;
};

struct TransferResult {
  uint64_t sent = 0, received = 0;
  double seconds = 0;  // at the receiver, from accept to end of stream
  std::string sentDigest, receivedDigest, error;
  double gbps() const { return seconds > 0 ? double(received) * 8 / seconds / 1e9 : 0; }
};

namespace detail {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void update(const uint8_t* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string hex() {
    uint8_t out[32];
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx_, out, &n);
    return toHex(ByteView(out, n));
  }

 private:
  EVP_MD_CTX* ctx_;
};

inline Result<io::UniqueFd> tcpSocketIn(const std::string& nsPath, const InetAddress& server, bool listen) {
  return io::inNetns<io::UniqueFd>(nsPath, [&]() -> Result<io::UniqueFd> {
    int family = server.family == InetAddress::Family::V6 ? AF_INET6 : AF_INET;
    io::UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return io::sysError("socket");
    timeval timeout{20, 0};  // a stalled bridge fails the transfer instead of hanging it
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (!listen) return fd;
    sockaddr_storage addr;
    socklen_t len = io::toSockaddr(server, addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd.get(), 1) != 0)
      return io::sysError("listen on " + server.toString());
    return fd;
  });
}

}  // namespace detail

// Streams pseudo-random bytes over TCP from a socket in namespace A to a listener at `server` in
// namespace B: `bytes` of them, or for `seconds` when bytes is 0. With hash, both ends digest
// what they saw.
inline TransferResult transferTcp(const std::string& nsA, const std::string& nsB, const InetAddress& server,
                                  uint64_t bytes, double seconds, bool hash) {
  TransferResult result;
  Result<io::UniqueFd> listener = detail::tcpSocketIn(nsB, server, true);
  Result<io::UniqueFd> client = detail::tcpSocketIn(nsA, server, false);
  if (!listener || !client) {
    result.error = !listener ? listener.error() : client.error();
    return result;
  }
  std::thread receiver([&] {
    pollfd p{listener->get(), POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0 || !(p.revents & POLLIN)) return;
    io::UniqueFd conn(::accept(listener->get(), nullptr, nullptr));
    if (!conn.valid()) return;
    timeval timeout{20, 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    detail::Sha256 digest;
    std::vector<uint8_t> buffer(1 << 18);
    auto begin = std::chrono::steady_clock::now();
    ssize_t n;
    while ((n = ::read(conn.get(), buffer.data(), buffer.size())) > 0) {
      if (hash) digest.update(buffer.data(), size_t(n));
      result.received += uint64_t(n);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    result.receivedDigest = digest.hex();
  });

  sockaddr_storage addr;
  socklen_t len = io::toSockaddr(server, addr);
  if (::connect(client->get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    result.error = io::sysError("connect to " + server.toString()).message;
    ::shutdown(listener->get(), SHUT_RDWR);  // wakes the receiver
  } else {
    detail::Sha256 digest;
    std::vector<uint8_t> chunk(1 << 18);
    uint64_t state = 0x9e3779b97f4a7c15;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (bytes ? result.sent < bytes : std::chrono::steady_clock::now() < deadline) {
      size_t n = bytes ? size_t(std::min<uint64_t>(chunk.size(), bytes - result.sent)) : chunk.size();
      if (hash) {
        for (size_t i = 0; i + 8 <= chunk.size(); i += 8) {  // xorshift64
          state ^= state << 13, state ^= state >> 7, state ^= state << 17;
          std::memcpy(&chunk[i], &state, 8);
        }
        digest.update(chunk.data(), n);
      }
      for (size_t off = 0; off < n;) {
        ssize_t w = ::write(client->get(), chunk.data() + off, n - off);
        if (w <= 0) {
          result.error = io::sysError("send").message;
          break;
        }
        off += size_t(w);
      }
      if (!result.error.empty()) break;
      result.sent += n;
    }
    result.sentDigest = digest.hex();
    ::shutdown(client->get(), SHUT_WR);
  }
  receiver.join();
  return result;
}

}  // namespace zt::test
