// The memory-hard hash behind identity addresses (vl1-identity-crypto.md section 2.3).
#pragma once
#include <array>
#include <memory>

#include "crypto/identity.hpp"

namespace zt {

using PowDigest = std::array<uint8_t, 64>;

// The 2 MiB scratch memory of the hash; reuse one across many hashes (generation).
class PowScratch {
 public:
  static constexpr size_t kBytes = 2 * 1024 * 1024;
  PowScratch() : memory_(new uint8_t[kBytes]) {}
  uint8_t* data() { return memory_.get(); }

 private:
  std::unique_ptr<uint8_t[]> memory_;
};

PowDigest identityPowDigest(const PublicKey& publicKey, PowScratch& scratch);
// The criterion: D[0] < 17 (the address itself is D[59..64)).
inline bool powDigestAcceptable(const PowDigest& d) { return d[0] < 17; }
inline Address powDigestAddress(const PowDigest& d) { return Address{loadU40(d.data() + 59)}; }

}  // namespace zt
