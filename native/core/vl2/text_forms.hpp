// Text forms shared by the vl2 JSON renderings: MAC addresses and 64-bit values as hex.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "util/bytes.hpp"
#include "wire/codec_util.hpp"

namespace zt {

// "02:11:22:33:44:55"
inline std::string macText(const uint8_t* mac) {
  std::string hex = toHex(ByteView(mac, 6)), out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

// 16 lowercase hex digits (network ids, COM qualifiers, CHARACTERISTICS masks).
using wire::hex64;

}  // namespace zt
