// dearmor() on arbitrary packets under a fixed key (it must never read out of bounds or accept a
// forgery), then armor/dearmor of the same bytes in every suite must round-trip.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "crypto/armor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static zt::PeerCipher cipher(zt::SymmetricKey{7, 7, 7});
  uint8_t packet[10024];
  if (size > sizeof packet) return 0;
  std::memcpy(packet, data, size);
  zt::MutableByteView view(packet, size);
  if (cipher.dearmor(view)) std::abort();  // random bytes authenticating would be a forgery

  for (zt::Cipher suite : {zt::Cipher::Poly1305, zt::Cipher::Salsa2012Poly1305, zt::Cipher::AesGmacSiv}) {
    std::memcpy(packet, data, size);
    if (size > 18) packet[18] &= 0x40;  // hop count 0, cipher bits left to armor()
    cipher.armor(view, suite);
    bool opened = cipher.dearmor(view);
    if (size > 27 && (!opened || std::memcmp(packet + 27, data + 27, size - 27) != 0)) std::abort();
  }
  return 0;
}
