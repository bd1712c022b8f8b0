// Suite 3's AES work (vl1-identity-crypto.md 5.2) with 256-bit AES-NI and carry-less multiply
// (VAES, VPCLMULQDQ, AVX2), for x86-64 CPUs that have them: two blocks per instruction, the
// keystream XORed straight into the data, and on receive CTR decryption and GHASH of the
// plaintext in one pass. OpenSSL 3 only uses VAES with AVX-512, so without this a CPU with VAES
// but no AVX-512 runs one block per instruction. armor.cpp falls back to OpenSSL where
// supported() is false.
#pragma once
#include <cstdint>

#include "util/bytes.hpp"

namespace zt::vaes {

// True when the CPU and the OS offer AES-NI, PCLMULQDQ, AVX2, VAES and VPCLMULQDQ.
bool supported();

// One peer's expanded suite-3 keys: AES-256 round keys of K0 (GMAC) and K1 (SIV block and CTR;
// each round key twice, once per 128-bit lane), K1's decryption schedule, and the GHASH key's
// powers H^8 … H^1 in POLYVAL form (RFC 8452 appendix A).
struct SivKeys {
  alignas(32) uint8_t k0[15][16];
  alignas(32) uint8_t k1[15][32];
  alignas(32) uint8_t k1Decrypt[15][16];
  alignas(32) uint8_t hPowers[8][16];
};

void expandKeys(const uint8_t k0[32], const uint8_t k1[32], SivKeys& keys);

// AES-256 of one block under K1, forwards and backwards.
void encryptK1(const SivKeys& keys, const uint8_t in[16], uint8_t out[16]);
void decryptK1(const SivKeys& keys, const uint8_t in[16], uint8_t out[16]);

// T[0..8) XOR T[8..16) of the GMAC under K0 over (aad16 ‖ data) with nonce iv ‖ 00000000.
void gmacFolded(const SivKeys& keys, const uint8_t iv[8], const uint8_t aad16[16], ByteView data, uint8_t out[8]);

// XORs data with K1's keystream from counterBlock, whose last 4 bytes count blocks big-endian
// and wrap to zero without carrying into byte 11.
void ctr32Xor(const SivKeys& keys, const uint8_t counterBlock[16], MutableByteView data);

// The receive side in one pass: out = in ^ the keystream (out may be in.data()), and the
// folded GMAC of (aad16 ‖ out) into tag.
void ctr32XorThenGmacFolded(const SivKeys& keys, const uint8_t counterBlock[16], const uint8_t iv[8],
                            const uint8_t aad16[16], ByteView in, uint8_t* out, uint8_t tag[8]);

}  // namespace zt::vaes
