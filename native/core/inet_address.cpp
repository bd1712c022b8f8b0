#include "inet_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace zt {

InetAddress InetAddress::v4(std::array<uint8_t, 4> ip4, uint16_t port) {
  InetAddress a;
  a.family = Family::V4;
  std::memcpy(a.ip.data(), ip4.data(), 4);
  a.port = port;
  return a;
}

InetAddress InetAddress::v6(std::array<uint8_t, 16> ip6, uint16_t port) {
  InetAddress a;
  a.family = Family::V6;
  a.ip = ip6;
  a.port = port;
  return a;
}

std::optional<InetAddress> InetAddress::parse(std::string_view text) {
  uint16_t port = 0;
  size_t slash = text.rfind('/');
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size() || p.empty()) return std::nullopt;
    text = text.substr(0, slash);
  }
  std::string ipText(text);
  InetAddress a;
  a.port = port;
  if (inet_pton(AF_INET, ipText.c_str(), a.ip.data()) == 1) {
    a.family = Family::V4;
  } else if (inet_pton(AF_INET6, ipText.c_str(), a.ip.data()) == 1) {
    a.family = Family::V6;
  } else {
    return std::nullopt;
  }
  return a;
}

std::string InetAddress::ipString() const {
  char buf[INET6_ADDRSTRLEN] = "";
  if (family == Family::V4) inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
  if (family == Family::V6) inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  return buf;
}

std::string InetAddress::toString() const {
  if (empty()) return "";
  return ipString() + "/" + std::to_string(port);
}

bool InetAddress::sameIp(const InetAddress& o) const {
  return family == o.family && std::memcmp(ip.data(), o.ip.data(), ipLength()) == 0;
}

InetAddress InetAddress::read(Reader& r) {
  InetAddress a;
  switch (r.u8()) {
    case 0x04: {
      a.family = Family::V4;
      ByteView b = r.bytes(4);
      if (!b.empty()) std::memcpy(a.ip.data(), b.data(), 4);
      a.port = r.u16();
      break;
    }
    case 0x06: {
      a.family = Family::V6;
      ByteView b = r.bytes(16);
      if (!b.empty()) std::memcpy(a.ip.data(), b.data(), 16);
      a.port = r.u16();
      break;
    }
    case 0x01:
    case 0x02:
      r.skip(6);
      break;
    case 0x03:
      r.skip(r.u16());
      break;
    default:  // 0x00: no address; anything else is not a known type
      break;
  }
  if (r.failed()) return InetAddress{};
  return a;
}

void InetAddress::write(Writer& w) const {
  if (empty()) {
    w.u8(0);
    return;
  }
  w.u8(uint8_t(family)).bytes(ipBytes()).u16(port);
}

size_t InetAddressHash::operator()(const InetAddress& a) const noexcept {
  uint64_t h = uint64_t(a.family) << 16 | a.port;
  for (size_t i = 0; i < a.ipLength(); ++i) h = h * 1099511628211ULL ^ a.ip[i];
  return size_t(h);
}

}  // namespace zt
