#include "crypto/keystream.hpp"

#include <sodium.h>

#include <stdexcept>

namespace zt {

void ensureSodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    return true;
  }();
  (void)ready;
}

void xorInto(MutableByteView data, const uint8_t* stream) {
  using Lane = uint64_t __attribute__((vector_size(16)));
  size_t i = 0;
  for (; i + 16 <= data.size(); i += 16) {
    Lane a, b;
    std::memcpy(&a, data.data() + i, 16);
    std::memcpy(&b, stream + i, 16);
    a ^= b;
    std::memcpy(data.data() + i, &a, 16);
  }
  for (; i < data.size(); ++i) data[i] ^= stream[i];
}

void salsa2012Block(const uint8_t key[32], const uint8_t nonce[8], uint64_t block, uint8_t out[64]) {
  uint8_t input[16];  // nonce ‖ block counter (little-endian), the Salsa20 stream layout
  std::memcpy(input, nonce, 8);
  for (int i = 0; i < 8; ++i) input[8 + i] = uint8_t(block >> (8 * i));
  crypto_core_salsa2012(out, input, key, nullptr);
}

void salsa2012XorFrom(MutableByteView data, const uint8_t key[32], const uint8_t nonce[8], uint64_t firstBlock) {
  uint8_t stream[64];
  for (size_t done = 0; done < data.size(); done += 64, ++firstBlock) {
    salsa2012Block(key, nonce, firstBlock, stream);
    xorInto(data.subspan(done, std::min<size_t>(64, data.size() - done)), stream);
  }
  sodium_memzero(stream, sizeof stream);
}

}  // namespace zt
