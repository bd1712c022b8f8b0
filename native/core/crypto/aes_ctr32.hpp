// AES-CTR with ZeroTier's 32-bit block counter (vl1-identity-crypto.md 5.2 step 7), over an
// OpenSSL context already keyed for aes-256-ecb encryption (padding off).
#pragma once
#include <openssl/evp.h>

#include "util/bytes.hpp"

namespace zt {

// XORs data with the keystream from counterBlock, whose last 4 bytes count blocks big-endian and
// wrap to zero without carrying into byte 11 (OpenSSL's own CTR mode would carry over all 128
// bits). The counter blocks are ECB-encrypted in chunks: one EVP update per chunk, no re-keying.
void aesCtr32Xor(EVP_CIPHER_CTX* ecb, const uint8_t counterBlock[16], MutableByteView data);

}  // namespace zt
