#include "io/sockaddr.hpp"

#include <cstring>

namespace zt::io {

socklen_t toSockaddr(const InetAddress& a, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (a.family == InetAddress::Family::V4) {
    auto* s = reinterpret_cast<sockaddr_in*>(&out);
    s->sin_family = AF_INET;
    s->sin_port = htons(a.port);
    std::memcpy(&s->sin_addr, a.ip.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&out);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(a.port);
  std::memcpy(&s->sin6_addr, a.ip.data(), 16);
  return sizeof(sockaddr_in6);
}

InetAddress fromSockaddr(const sockaddr_storage& s) {
  if (s.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&s);
    std::array<uint8_t, 4> ip;
    std::memcpy(ip.data(), &v4->sin_addr, 4);
    return InetAddress::v4(ip, ntohs(v4->sin_port));
  }
  if (s.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&s);
    std::array<uint8_t, 16> ip;
    std::memcpy(ip.data(), &v6->sin6_addr, 16);
    return InetAddress::v6(ip, ntohs(v6->sin6_port));
  }
  return InetAddress{};
}

}  // namespace zt::io
