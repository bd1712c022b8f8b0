// 40-bit ZeroTier node addresses.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zt {

struct Address {
  uint64_t value = 0;  // only the low 40 bits are used

  static constexpr size_t kLength = 5;
  // Reserved addresses are never valid for a node: zero, and any starting with 0xff.
  bool reserved() const { return value == 0 || (value >> 32) == 0xff; }
  std::string toString() const;  // 10 lowercase hex digits
  static std::optional<Address> parse(std::string_view text);
  auto operator<=>(const Address&) const = default;
};

}  // namespace zt

template <>
struct std::hash<zt::Address> {
  size_t operator()(const zt::Address& a) const noexcept { return std::hash<uint64_t>()(a.value); }
};
