// A physical (underlay) endpoint: IPv4 or IPv6 address and UDP port, with ZeroTier's wire form
// (vl1-packets.md section 6) and the text form "198.18.0.1/9993" used by 1.14.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace zt {

struct InetAddress {
  enum class Family : uint8_t { None = 0, V4 = 4, V6 = 6 };
  Family family = Family::None;
  std::array<uint8_t, 16> ip{};  // V4 uses the first 4 bytes
  uint16_t port = 0;

  static InetAddress v4(std::array<uint8_t, 4> ip, uint16_t port);
  static InetAddress v6(std::array<uint8_t, 16> ip, uint16_t port);
  // "a.b.c.d/port", "v6/port"; the port may be omitted ("a.b.c.d" gives port 0).
  static std::optional<InetAddress> parse(std::string_view text);
  std::string toString() const;      // with "/port"
  std::string ipString() const;      // address only
  bool empty() const { return family == Family::None; }
  size_t ipLength() const { return family == Family::V4 ? 4 : family == Family::V6 ? 16 : 0; }
  ByteView ipBytes() const { return {ip.data(), ipLength()}; }
  bool sameIp(const InetAddress& o) const;

  // Wire form. read() skips the reserved/other types and yields an empty address for them;
  // r.failed() tells truncation.
  static InetAddress read(Reader& r);
  void write(Writer& w) const;

  bool operator==(const InetAddress& o) const = default;
};

struct InetAddressHash {
  size_t operator()(const InetAddress& a) const noexcept;
};

}  // namespace zt
