// AES-CTR with ZeroTier's 32-bit block counter (vl1-identity-crypto.md 5.2 step 7), over an
// OpenSSL context already keyed for aes-256-ctr.
#pragma once
#include <openssl/evp.h>

#include "util/bytes.hpp"

namespace zt {

// XORs data with the keystream from counterBlock, whose last 4 bytes count blocks big-endian and
// wrap to zero without carrying into byte 11. OpenSSL's CTR carries over all 128 bits, so a run
// that wraps is split at the wrap (with byte 12's top bit cleared a packet never gets there, but
// the counter's meaning must not depend on that).
void aesCtr32Xor(EVP_CIPHER_CTX* ctr, const uint8_t counterBlock[16], MutableByteView data);

}  // namespace zt
