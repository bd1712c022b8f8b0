// Keystream helpers shared by armor and the identity hash: XOR of a keystream into data, the
// Salsa20/12 stream from any block (armor skips block 0, which keys Poly1305), and libsodium's
// one-time initialisation.
#pragma once
#include <cstdint>

#include "util/bytes.hpp"

namespace zt {

// Initialises libsodium once (thread-safe); every entry point that uses it calls this first.
void ensureSodium();

// data ^= stream (stream at least as long as data), sixteen bytes at a time.
void xorInto(MutableByteView data, const uint8_t* stream);

// One 64-byte Salsa20/12 keystream block number `block`.
void salsa2012Block(const uint8_t key[32], const uint8_t nonce[8], uint64_t block, uint8_t out[64]);
// XORs data with the Salsa20/12 keystream starting at block `firstBlock`.
void salsa2012XorFrom(MutableByteView data, const uint8_t key[32], const uint8_t nonce[8], uint64_t firstBlock);

}  // namespace zt
