#include "address.hpp"

#include <cstdio>

#include "util/bytes.hpp"

namespace zt {

std::string Address::toString() const {
  char buf[11];
  std::snprintf(buf, sizeof buf, "%010llx", static_cast<unsigned long long>(value & 0xffffffffffULL));
  return buf;
}

std::optional<Address> Address::parse(std::string_view text) {
  auto raw = text.size() == 10 ? fromHex(text) : std::nullopt;
  if (!raw) return std::nullopt;
  return Address{loadU40(raw->data())};
}

}  // namespace zt
