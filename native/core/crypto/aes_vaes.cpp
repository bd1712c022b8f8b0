// VAES/VPCLMULQDQ suite-3 primitives (see aes_vaes.hpp). Every function that uses the vector
// instructions carries the target attribute, so the rest of the build needs no -m flags and
// runs on any x86-64; armor.cpp only calls in here when supported() says so.
//
// GHASH is computed as POLYVAL (RFC 8452 appendix A): GHASH(H, X…) = rev(POLYVAL(mulX(rev(H)),
// rev(X)…)) with rev the byte reversal. POLYVAL's multiply needs no bit reflection, and its
// Montgomery reduction is two carry-less multiplies by the constant 0xc2000…01. Up to eight
// blocks share one reduction: S ← (S ^ X1)·H^n ^ X2·H^(n-1) ^ … ^ Xn·H.
#include "crypto/aes_vaes.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define ZT_VAES __attribute__((target("aes,pclmul,avx2,vaes,vpclmulqdq"), always_inline)) inline
#define ZT_VAES_ENTRY __attribute__((target("aes,pclmul,avx2,vaes,vpclmulqdq")))

namespace zt::vaes {

bool supported() {
  static const bool has = [] {
    // VAES and VPCLMULQDQ from CPUID leaf 7 (ECX bits 9 and 10): clang's __builtin_cpu_supports
    // does not know them. "avx2" also checks that the OS saves the 256-bit registers.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool vaes = ecx & (1u << 9), vpclmulqdq = ecx & (1u << 10);
    return vaes && vpclmulqdq && __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("avx2");
  }();
  return has;
}

namespace {

using V128 = __m128i;
using V256 = __m256i;

ZT_VAES V128 load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const V128*>(p)); }
ZT_VAES void store128(uint8_t* p, V128 v) { _mm_storeu_si128(reinterpret_cast<V128*>(p), v); }
ZT_VAES V256 load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const V256*>(p)); }
ZT_VAES void store256(uint8_t* p, V256 v) { _mm256_storeu_si256(reinterpret_cast<V256*>(p), v); }

// ---- AES-256 ----------------------------------------------------------------------------------

// a ^ a<<32 ^ a<<64 ^ a<<96: the running XOR of a round key's words.
ZT_VAES V128 prefixXor(V128 a) {
  V128 t = _mm_slli_si128(a, 4);
  a = _mm_xor_si128(a, t);
  t = _mm_slli_si128(t, 4);
  a = _mm_xor_si128(a, t);
  t = _mm_slli_si128(t, 4);
  return _mm_xor_si128(a, t);
}

// Round keys i and i+1 (i alone for the last) of the AES-256 schedule (FIPS 197 5.2).
template <int Rcon>
ZT_VAES void expandPair(V128 rk[15], int i) {
  rk[i] = _mm_xor_si128(prefixXor(rk[i - 2]), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], Rcon), 0xff));
  if (i + 1 < 15)
    rk[i + 1] = _mm_xor_si128(prefixXor(rk[i - 1]), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xaa));
}

ZT_VAES void expandAes256(const uint8_t key[32], V128 rk[15]) {
  rk[0] = load128(key);
  rk[1] = load128(key + 16);
  expandPair<0x01>(rk, 2);
  expandPair<0x02>(rk, 4);
  expandPair<0x04>(rk, 6);
  expandPair<0x08>(rk, 8);
  expandPair<0x10>(rk, 10);
  expandPair<0x20>(rk, 12);
  expandPair<0x40>(rk, 14);
}

// One block; round key r at rk + r * stride.
ZT_VAES V128 encryptBlock(const uint8_t* rk, size_t stride, V128 x) {
  x = _mm_xor_si128(x, load128(rk));
  for (int r = 1; r < 14; ++r) x = _mm_aesenc_si128(x, load128(rk + r * stride));
  return _mm_aesenclast_si128(x, load128(rk + 14 * stride));
}

// W registers of two blocks each through the 14 rounds of K1.
template <int W>
ZT_VAES void encryptK1Wide(const SivKeys& keys, V256 (&x)[W]) {
  const V256 first = load256(keys.k1[0]);
#pragma GCC unroll 8
  for (int w = 0; w < W; ++w) x[w] = _mm256_xor_si256(x[w], first);
  for (int r = 1; r < 14; ++r) {
    const V256 k = load256(keys.k1[r]);
#pragma GCC unroll 8
    for (int w = 0; w < W; ++w) x[w] = _mm256_aesenc_epi128(x[w], k);
  }
  const V256 last = load256(keys.k1[14]);
#pragma GCC unroll 8
  for (int w = 0; w < W; ++w) x[w] = _mm256_aesenclast_epi128(x[w], last);
}

// ---- CTR with a 32-bit counter -------------------------------------------------------------------

// Counter blocks are kept with the counter word byte-swapped, so a 32-bit lane add increments it
// modulo 2^32 (never carrying into byte 11); this shuffle swaps it back into wire order.
ZT_VAES V256 counterToWire() {
  return _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 14, 13, 12,  //
                          0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 14, 13, 12);
}

// Two consecutive counter blocks (lanes 0 and 1) from counterBlock.
ZT_VAES V256 firstCounters(const uint8_t counterBlock[16]) {
  const V256 both = _mm256_broadcastsi128_si256(_mm_shuffle_epi8(load128(counterBlock), _mm256_castsi256_si128(counterToWire())));
  return _mm256_add_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 0, 1));
}

// out[0 .. 32W) = in ^ the keystream of 2W blocks (out may be in); returns the counters that follow.
template <int W>
ZT_VAES V256 ctrXorBlocks(const SivKeys& keys, V256 counters, const uint8_t* in, uint8_t* out) {
  const V256 two = _mm256_setr_epi32(0, 0, 0, 2, 0, 0, 0, 2), toWire = counterToWire();
  V256 x[W];
#pragma GCC unroll 8
  for (int w = 0; w < W; ++w) {
    x[w] = _mm256_shuffle_epi8(counters, toWire);
    counters = _mm256_add_epi32(counters, two);
  }
  encryptK1Wide<W>(keys, x);
#pragma GCC unroll 8
  for (int w = 0; w < W; ++w) store256(out + 32 * w, _mm256_xor_si256(load256(in + 32 * w), x[w]));
  return counters;
}

// ---- GHASH as POLYVAL --------------------------------------------------------------------------

ZT_VAES V256 byteReverseLanes() {
  return _mm256_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,  //
                          15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
}

// An unreduced 256-bit product sum, two lanes wide.
struct Product {
  V256 lo, mid, hi;
};

ZT_VAES void multiplyAdd(Product& p, V256 x, V256 h) {
  p.lo = _mm256_xor_si256(p.lo, _mm256_clmulepi64_epi128(x, h, 0x00));
  p.hi = _mm256_xor_si256(p.hi, _mm256_clmulepi64_epi128(x, h, 0x11));
  p.mid = _mm256_xor_si256(p.mid, _mm256_xor_si256(_mm256_clmulepi64_epi128(x, h, 0x01), _mm256_clmulepi64_epi128(x, h, 0x10)));
}

ZT_VAES V128 foldLanes(V256 v) { return _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); }

// Sum of both lanes times x^-128 modulo x^128 + x^127 + x^126 + x^121 + 1.
ZT_VAES V128 reduce(const Product& p) {
  const V128 mid = foldLanes(p.mid);
  V128 lo = _mm_xor_si128(foldLanes(p.lo), _mm_slli_si128(mid, 8));
  const V128 hi = _mm_xor_si128(foldLanes(p.hi), _mm_srli_si128(mid, 8));
  const V128 poly = _mm_set_epi64x(int64_t(0xc200000000000000ULL), 1);
  lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), _mm_clmulepi64_si128(lo, poly, 0x10));
  lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), _mm_clmulepi64_si128(lo, poly, 0x10));
  return _mm_xor_si128(hi, lo);
}

ZT_VAES V128 polyvalMultiply(V128 a, V128 b) {
  Product p{_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  multiplyAdd(p, _mm256_zextsi128_si256(a), _mm256_zextsi128_si256(b));
  return reduce(p);
}

// S after absorbing n (1 to 8) GHASH blocks at data, with one reduction.
ZT_VAES V128 absorb(const SivKeys& keys, V128 s, const uint8_t* data, size_t n) {
  const uint8_t* powers = keys.hPowers[8 - n];  // H^n first
  const V256 reverse = byteReverseLanes();
  Product p{_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  V256 carry = _mm256_zextsi128_si256(s);  // S joins the first block
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    multiplyAdd(p, _mm256_xor_si256(_mm256_shuffle_epi8(load256(data + 16 * i), reverse), carry), load256(powers + 16 * i));
    carry = _mm256_setzero_si256();
  }
  if (i < n) {
    const V256 x = _mm256_shuffle_epi8(_mm256_zextsi128_si256(load128(data + 16 * i)), reverse);
    multiplyAdd(p, _mm256_xor_si256(x, carry), _mm256_zextsi128_si256(load128(powers + 16 * i)));
  }
  return reduce(p);
}

// S after the whole 16-byte blocks of data, eight at a time.
ZT_VAES V128 absorbWhole(const SivKeys& keys, V128 s, const uint8_t* data, size_t blocks) {
  for (; blocks >= 8; blocks -= 8, data += 128) s = absorb(keys, s, data, 8);
  return blocks ? absorb(keys, s, data, blocks) : s;
}

// Absorbs the last partial block (zero-padded, `length` < 16 bytes of which are at tail) and
// GCM's length block for aadBytes of AAD, and folds the tag E_K0(J0) ^ GHASH into 8 bytes.
ZT_VAES void finishGmac(const SivKeys& keys, V128 s, const uint8_t* tail, size_t length, uint64_t aadBytes,
                        const uint8_t iv[8], uint8_t out[8]) {
  alignas(16) uint8_t last[32] = {};
  std::memcpy(last, tail, length);
  uint8_t* lengths = last + (length ? 16 : 0);
  const uint64_t bits = aadBytes * 8;
  for (int i = 0; i < 8; ++i) lengths[i] = uint8_t(bits >> (56 - 8 * i));
  s = absorb(keys, s, last, length ? 2 : 1);

  alignas(16) uint8_t j0[16] = {};
  std::memcpy(j0, iv, 8);
  j0[15] = 1;
  const V128 ghash = _mm_shuffle_epi8(s, _mm256_castsi256_si128(byteReverseLanes()));
  alignas(16) uint8_t tag[16];
  store128(tag, _mm_xor_si128(encryptBlock(keys.k0[0], 16, load128(j0)), ghash));
  for (int i = 0; i < 8; ++i) out[i] = tag[i] ^ tag[i + 8];
}

}  // namespace

ZT_VAES_ENTRY void expandKeys(const uint8_t k0[32], const uint8_t k1[32], SivKeys& keys) {
  V128 rk[15];
  expandAes256(k0, rk);
  for (int r = 0; r < 15; ++r) store128(keys.k0[r], rk[r]);
  const V128 h = encryptBlock(keys.k0[0], 16, _mm_setzero_si128());

  expandAes256(k1, rk);
  for (int r = 0; r < 15; ++r) store256(keys.k1[r], _mm256_broadcastsi128_si256(rk[r]));
  store128(keys.k1Decrypt[0], rk[14]);
  for (int r = 1; r < 14; ++r) store128(keys.k1Decrypt[r], _mm_aesimc_si128(rk[14 - r]));
  store128(keys.k1Decrypt[14], rk[0]);
  std::memset(rk, 0, sizeof rk);

  // mulX_POLYVAL(rev(H)): shift left by one, reducing by x^128 = x^127 + x^126 + x^121 + 1.
  alignas(16) uint64_t w[2];
  store128(reinterpret_cast<uint8_t*>(w), _mm_shuffle_epi8(h, _mm256_castsi256_si128(byteReverseLanes())));
  const bool top = w[1] >> 63;
  w[1] = w[1] << 1 | w[0] >> 63;
  w[0] <<= 1;
  if (top) w[1] ^= 0xc200000000000000ULL, w[0] ^= 1;
  const V128 h1 = load128(reinterpret_cast<const uint8_t*>(w));
  V128 power = h1;
  for (int k = 1; k <= 8; ++k) {
    store128(keys.hPowers[8 - k], power);
    power = polyvalMultiply(power, h1);
  }
  w[0] = w[1] = 0;
}

ZT_VAES_ENTRY void encryptK1(const SivKeys& keys, const uint8_t in[16], uint8_t out[16]) {
  store128(out, encryptBlock(keys.k1[0], 32, load128(in)));
}

ZT_VAES_ENTRY void decryptK1(const SivKeys& keys, const uint8_t in[16], uint8_t out[16]) {
  V128 x = _mm_xor_si128(load128(in), load128(keys.k1Decrypt[0]));
  for (int r = 1; r < 14; ++r) x = _mm_aesdec_si128(x, load128(keys.k1Decrypt[r]));
  store128(out, _mm_aesdeclast_si128(x, load128(keys.k1Decrypt[14])));
}

ZT_VAES_ENTRY void gmacFolded(const SivKeys& keys, const uint8_t iv[8], const uint8_t aad16[16], ByteView data,
                              uint8_t out[8]) {
  V128 s = absorb(keys, _mm_setzero_si128(), aad16, 1);
  const size_t whole = data.size() / 16;
  s = absorbWhole(keys, s, data.data(), whole);
  finishGmac(keys, s, data.data() + 16 * whole, data.size() % 16, 16 + data.size(), iv, out);
}

ZT_VAES_ENTRY void ctr32Xor(const SivKeys& keys, const uint8_t counterBlock[16], MutableByteView data) {
  V256 counters = firstCounters(counterBlock);
  uint8_t* p = data.data();
  size_t n = data.size();
  for (; n >= 256; n -= 256, p += 256) counters = ctrXorBlocks<8>(keys, counters, p, p);
  if (n >= 128) counters = ctrXorBlocks<4>(keys, counters, p, p), n -= 128, p += 128;
  if (n >= 64) counters = ctrXorBlocks<2>(keys, counters, p, p), n -= 64, p += 64;
  if (n >= 32) counters = ctrXorBlocks<1>(keys, counters, p, p), n -= 32, p += 32;
  if (n) {
    alignas(32) uint8_t last[32] = {};
    std::memcpy(last, p, n);
    ctrXorBlocks<1>(keys, counters, last, last);
    std::memcpy(p, last, n);
  }
}

ZT_VAES_ENTRY void ctr32XorThenGmacFolded(const SivKeys& keys, const uint8_t counterBlock[16], const uint8_t iv[8],
                                          const uint8_t aad16[16], ByteView in, uint8_t* out, uint8_t tag[8]) {
  V128 s = absorb(keys, _mm_setzero_si128(), aad16, 1);
  V256 counters = firstCounters(counterBlock);
  const uint8_t* from = in.data();
  uint8_t* to = out;
  size_t n = in.size();
  for (; n >= 256; n -= 256, from += 256, to += 256) {
    counters = ctrXorBlocks<8>(keys, counters, from, to);
    s = absorb(keys, absorb(keys, s, to, 8), to + 128, 8);
  }
  if (n >= 128) counters = ctrXorBlocks<4>(keys, counters, from, to), s = absorb(keys, s, to, 8), n -= 128, from += 128, to += 128;
  if (n >= 64) counters = ctrXorBlocks<2>(keys, counters, from, to), s = absorb(keys, s, to, 4), n -= 64, from += 64, to += 64;
  if (n >= 32) counters = ctrXorBlocks<1>(keys, counters, from, to), s = absorb(keys, s, to, 2), n -= 32, from += 32, to += 32;
  alignas(32) uint8_t last[32] = {};
  if (n) {
    std::memcpy(last, from, n);
    ctrXorBlocks<1>(keys, counters, last, last);
    std::memcpy(to, last, n);
    if (n >= 16) s = absorb(keys, s, last, 1);
  }
  const size_t partial = n % 16;
  finishGmac(keys, s, last + (n - partial), partial, 16 + in.size(), iv, tag);
}

}  // namespace zt::vaes

#else  // not x86-64: armor.cpp uses OpenSSL

namespace zt::vaes {
bool supported() { return false; }
void expandKeys(const uint8_t*, const uint8_t*, SivKeys&) {}
void encryptK1(const SivKeys&, const uint8_t*, uint8_t*) {}
void decryptK1(const SivKeys&, const uint8_t*, uint8_t*) {}
void gmacFolded(const SivKeys&, const uint8_t*, const uint8_t*, ByteView, uint8_t*) {}
void ctr32Xor(const SivKeys&, const uint8_t*, MutableByteView) {}
void ctr32XorThenGmacFolded(const SivKeys&, const uint8_t*, const uint8_t*, const uint8_t*, ByteView, uint8_t*, uint8_t*) {}
}  // namespace zt::vaes

#endif
