#include "crypto/identity_pow.hpp"

#include <sodium.h>

#include "crypto/keystream.hpp"

namespace zt {
namespace {

constexpr size_t kBlock = 64;
constexpr size_t kScratchBlocks = PowScratch::kBytes / kBlock;  // 32,768
constexpr size_t kScratchWords = PowScratch::kBytes / 8;        // 262,144

// The running Salsa20/20 stream of the hash, with key and nonce fixed from the initial digest.
class PowStream {
 public:
  explicit PowStream(const PowDigest& d) {
    std::memcpy(key_, d.data(), 32);
    std::memcpy(nonce_, d.data() + 32, 8);
  }
  // The next out.size() bytes of keystream (a whole number of blocks).
  void next(MutableByteView out) {
    std::memset(out.data(), 0, out.size());
    crypto_stream_salsa20_xor_ic(out.data(), out.data(), out.size(), nonce_, block_, key_);
    block_ += out.size() / kBlock;
  }

 private:
  uint8_t key_[32];
  uint8_t nonce_[8];
  uint64_t block_ = 0;
};

}  // namespace

PowDigest identityPowDigest(const PublicKey& publicKey, PowScratch& scratch) {
  ensureSodium();
  PowDigest d;
  crypto_hash_sha512(d.data(), publicKey.data(), publicKey.size());
  PowStream stream(d);
  uint8_t* m = scratch.data();

  // Block i is block i-1 encrypted with keystream block i: a running XOR of the keystream.
  stream.next({m, PowScratch::kBytes});
  for (size_t i = 1; i < kScratchBlocks; ++i) xorInto({m + i * kBlock, kBlock}, m + (i - 1) * kBlock);

  // The data-dependent walk: swap a scratch word into D, then encrypt D, once per word pair.
  // Keystream is drawn in chunks to amortise the per-call cost.
  constexpr size_t kChunkBlocks = 64;
  uint8_t chunk[kChunkBlocks * kBlock];
  for (size_t j = 0; j < kScratchWords; j += 2) {
    size_t step = j / 2 % kChunkBlocks;
    if (step == 0) stream.next(chunk);
    size_t a = loadU64(m + 8 * j) % 8;
    size_t b = loadU64(m + 8 * (j + 1)) % kScratchWords;
    uint8_t word[8];
    std::memcpy(word, m + 8 * b, 8);
    std::memcpy(m + 8 * b, d.data() + 8 * a, 8);
    std::memcpy(d.data() + 8 * a, word, 8);
    xorInto(d, chunk + step * kBlock);
  }
  return d;
}

}  // namespace zt
