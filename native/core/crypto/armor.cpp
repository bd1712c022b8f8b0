// Packet armoring, suites 0/1 (Salsa20/12 + Poly1305) and 3 (AES-GMAC-SIV), per
// vl1-identity-crypto.md section 5. Keys are expanded once per peer and nothing is allocated per
// packet. Suite 3 runs on crypto/aes_vaes.hpp where the CPU has VAES and VPCLMULQDQ, else on
// OpenSSL. Per-packet EVP re-initialisation costs about a microsecond in OpenSSL 3 (parameter
// lookups), more than AES on a whole packet, so the OpenSSL path only calls EVP_EncryptUpdate on
// pre-keyed ECB contexts: GMAC runs on OpenSSL's GCM engine (modes.h, with its CLMUL GHASH) fed
// by the K0 context, and CTR encrypts counter blocks under K1.
#include "crypto/armor.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/modes.h>
#include <sodium.h>

#include <stdexcept>

#include "crypto/aes_ctr32.hpp"
#include "crypto/aes_vaes.hpp"
#include "crypto/keystream.hpp"
#include "wire/packet.hpp"

namespace zt {
namespace {

constexpr size_t kFlags = wire::kFlagsOffset, kMac = wire::kMacOffset, kArmored = wire::kVerbOffset;
constexpr uint8_t kCipherMask = 0x38, kHopMask = 0x07;

[[noreturn]] void opensslFailure(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

void check(int rc, const char* what) {
  if (rc != 1) opensslFailure(what);
}

// KDF(K48, label) of section 3: one HMAC-SHA-384 block, of which the first 32 bytes are an AES key.
std::array<uint8_t, 32> deriveAesKey(const SymmetricKey& key, char label) {
  const uint8_t message[13] = {0, 0, 0, 0, 'Z', 'T', uint8_t(label), 0, 0, 0, 0, 0x01, 0x80};
  uint8_t out[48];
  unsigned outLength = 0;
  if (!HMAC(EVP_sha384(), key.data(), int(key.size()), message, sizeof message, out, &outLength))
    opensslFailure("HMAC-SHA-384");
  std::array<uint8_t, 32> aesKey;
  std::memcpy(aesKey.data(), out, 32);
  OPENSSL_cleanse(out, sizeof out);
  return aesKey;
}

struct ContextFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Context = std::unique_ptr<EVP_CIPHER_CTX, ContextFree>;

Context newContext(const EVP_CIPHER* cipher, const uint8_t* key, bool encrypt) {
  Context ctx(EVP_CIPHER_CTX_new());
  if (!ctx) opensslFailure("EVP_CIPHER_CTX_new");
  check(EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key, nullptr, encrypt ? 1 : 0), "cipher init");
  check(EVP_CIPHER_CTX_set_padding(ctx.get(), 0), "set padding");
  return ctx;
}

}  // namespace

void aesCtr32Xor(EVP_CIPHER_CTX* ecb, const uint8_t counterBlock[16], MutableByteView data) {
  constexpr size_t kChunkBlocks = 64;
  alignas(16) uint8_t stream[kChunkBlocks * 16];
  uint32_t counter = uint32_t(counterBlock[12]) << 24 | uint32_t(counterBlock[13]) << 16 |
                     uint32_t(counterBlock[14]) << 8 | counterBlock[15];
  for (size_t done = 0; done < data.size();) {
    size_t length = std::min(data.size() - done, sizeof stream);
    size_t blocks = (length + 15) / 16;
    for (size_t b = 0; b < blocks; ++b, ++counter) {  // uint32_t: wraps, never carries
      uint8_t* block = stream + 16 * b;
      std::memcpy(block, counterBlock, 12);
      block[12] = uint8_t(counter >> 24), block[13] = uint8_t(counter >> 16);
      block[14] = uint8_t(counter >> 8), block[15] = uint8_t(counter);
    }
    int n = 0;
    check(EVP_EncryptUpdate(ecb, stream, &n, stream, int(blocks * 16)), "AES-CTR keystream");
    xorInto(data.subspan(done, length), stream);
    done += length;
  }
}

namespace {

// block128_f for OpenSSL's GCM engine: one AES block through a pre-keyed ECB context (which
// cannot fail for a whole block, and this C callback has no way to report it anyway).
void ecbBlock(const unsigned char in[16], unsigned char out[16], const void* ctx) {
  int n = 0;
  EVP_EncryptUpdate(static_cast<EVP_CIPHER_CTX*>(const_cast<void*>(ctx)), out, &n, in, 16);
}

struct GcmRelease {
  void operator()(GCM128_CONTEXT* gcm) const { CRYPTO_gcm128_release(gcm); }
};

}  // namespace

struct SivKeysErase {
  void operator()(vaes::SivKeys* keys) const {
    OPENSSL_cleanse(keys, sizeof *keys);
    delete keys;
  }
};

// K0 keys the GMAC, K1 the SIV block and the CTR stream: as VAES round keys where the CPU has
// VAES, else in OpenSSL contexts (ECB, and OpenSSL's GCM engine fed by the K0 context).
struct PeerCipher::Aes {
  std::unique_ptr<vaes::SivKeys, SivKeysErase> vector;
  Context k0, k1Encrypt, k1Decrypt;
  std::unique_ptr<GCM128_CONTEXT, GcmRelease> gmac;

  Aes(const SymmetricKey& key, AesEngine engine) {
    std::array<uint8_t, 32> k0Key = deriveAesKey(key, '0'), k1Key = deriveAesKey(key, '1');
    if (engine == AesEngine::Fastest && vaes::supported()) {
      vector.reset(new vaes::SivKeys);
      vaes::expandKeys(k0Key.data(), k1Key.data(), *vector);
    } else {
      k0 = newContext(EVP_aes_256_ecb(), k0Key.data(), true);
      k1Encrypt = newContext(EVP_aes_256_ecb(), k1Key.data(), true);
      k1Decrypt = newContext(EVP_aes_256_ecb(), k1Key.data(), false);
      gmac.reset(CRYPTO_gcm128_new(k0.get(), ecbBlock));
      if (!gmac) opensslFailure("CRYPTO_gcm128_new");
    }
    OPENSSL_cleanse(k0Key.data(), k0Key.size());
    OPENSSL_cleanse(k1Key.data(), k1Key.size());
  }

  static void block(const Context& ctx, const uint8_t in[16], uint8_t out[16]) {
    int n = 0;
    check(EVP_CipherUpdate(ctx.get(), out, &n, in, 16), "AES block");
  }

  // T[0..8) XOR T[8..16) of the GMAC over (aad16 ‖ data) with nonce iv ‖ 00000000.
  void gmacFolded(const uint8_t iv[8], const uint8_t aad16[16], ByteView data, uint8_t out[8]) {
    if (vector) return vaes::gmacFolded(*vector, iv, aad16, data, out);
    uint8_t nonce[12] = {};
    std::memcpy(nonce, iv, 8);
    uint8_t tag[16];
    GCM128_CONTEXT* gcm = gmac.get();
    CRYPTO_gcm128_setiv(gcm, nonce, sizeof nonce);
    // Only fails past 2^61 bytes of AAD or after encryption began: neither can happen here.
    CRYPTO_gcm128_aad(gcm, aad16, 16);
    CRYPTO_gcm128_aad(gcm, data.data(), data.size());
    CRYPTO_gcm128_tag(gcm, tag, sizeof tag);
    for (int i = 0; i < 8; ++i) out[i] = tag[i] ^ tag[i + 8];
  }

  void encryptK1(const uint8_t in[16], uint8_t out[16]) {
    if (vector) return vaes::encryptK1(*vector, in, out);
    block(k1Encrypt, in, out);
  }

  void decryptK1(const uint8_t in[16], uint8_t out[16]) {
    if (vector) return vaes::decryptK1(*vector, in, out);
    block(k1Decrypt, in, out);
  }

  void ctr32Xor(const uint8_t counterBlock[16], MutableByteView data) {
    if (vector) return vaes::ctr32Xor(*vector, counterBlock, data);
    aesCtr32Xor(k1Encrypt.get(), counterBlock, data);
  }

  // Receive: decrypts in into out (which may be in), then the folded GMAC of the plaintext
  // (one pass with VAES).
  void ctr32XorThenGmacFolded(const uint8_t counterBlock[16], const uint8_t iv[8], const uint8_t aad16[16],
                              ByteView in, uint8_t* out, uint8_t tag[8]) {
    if (vector) return vaes::ctr32XorThenGmacFolded(*vector, counterBlock, iv, aad16, in, out, tag);
    MutableByteView plain(out, in.size());
    if (out != in.data()) std::memcpy(out, in.data(), in.size());
    aesCtr32Xor(k1Encrypt.get(), counterBlock, plain);
    gmacFolded(iv, aad16, plain, tag);
  }
};

PeerCipher::PeerCipher(const SymmetricKey& key, AesEngine engine) : key_(key), aes_(std::make_unique<Aes>(key, engine)) {
  ensureSodium();
}

PeerCipher::~PeerCipher() { sodium_memzero(key_.data(), key_.size()); }

namespace {

// Salsa20/12 key of one packet: the agreed key mixed with the header (hop bits masked) and length.
void perPacketKey(const SymmetricKey& agreed, ByteView packet, uint8_t key[32]) {
  std::memcpy(key, agreed.data(), 32);
  for (size_t i = 0; i < kFlags; ++i) key[i] ^= packet[i];
  key[kFlags] ^= packet[kFlags] & ~kHopMask;
  key[19] ^= uint8_t(packet.size());
  key[20] ^= uint8_t(packet.size() >> 8);
}

// The first 8 bytes of Poly1305 over the armored part, keyed by keystream block 0.
void salsaPolyMac(const uint8_t key[32], ByteView packet, uint8_t mac[8]) {
  uint8_t block0[64];
  salsa2012Block(key, packet.data(), 0, block0);
  uint8_t full[crypto_onetimeauth_poly1305_BYTES];
  ByteView armored = packet.subspan(kArmored);
  crypto_onetimeauth_poly1305(full, armored.data(), armored.size(), block0);
  std::memcpy(mac, full, 8);
  sodium_memzero(block0, sizeof block0);
}

void sivHeader(ByteView packet, uint8_t aad[16]) {
  std::memset(aad, 0, 16);
  std::memcpy(aad, packet.data() + 8, 11);
  aad[10] &= ~kHopMask;
}

}  // namespace

void PeerCipher::armor(MutableByteView packet, Cipher cipher) {
  if (packet.size() < kArmored) return;
  uint8_t& flags = packet[kFlags];
  flags = uint8_t((flags & ~(wire::kFlagEncrypted | kCipherMask)) | uint8_t(cipher) << 3);
  if (cipher == Cipher::Salsa2012Poly1305) flags |= wire::kFlagEncrypted;
  if (cipher == Cipher::TrustedPath) return;  // the caller writes the path id into the MAC field
  MutableByteView armored = packet.subspan(kArmored);

  if (cipher == Cipher::AesGmacSiv) {
    uint8_t aad[16], ivAndTag[16], e[16];
    sivHeader(packet, aad);
    std::memcpy(ivAndTag, packet.data(), 8);
    aes_->gmacFolded(ivAndTag, aad, armored, ivAndTag + 8);
    aes_->encryptK1(ivAndTag, e);
    std::memcpy(packet.data(), e, 8);
    std::memcpy(packet.data() + kMac, e + 8, 8);
    e[12] &= 0x7f;
    aes_->ctr32Xor(e, armored);
    return;
  }

  uint8_t key[32];
  perPacketKey(key_, packet, key);
  if (cipher == Cipher::Salsa2012Poly1305) salsa2012XorFrom(armored, key, packet.data(), 1);
  salsaPolyMac(key, packet, packet.data() + kMac);
  sodium_memzero(key, sizeof key);
}

bool PeerCipher::dearmor(MutableByteView packet) { return dearmor(packet, packet.data()); }

bool PeerCipher::dearmor(ByteView wirePacket, uint8_t* out) {
  if (wirePacket.size() <= kArmored) return false;
  Cipher cipher = Cipher((wirePacket[kFlags] & kCipherMask) >> 3);
  if (out != wirePacket.data()) std::memcpy(out, wirePacket.data(), cipher == Cipher::AesGmacSiv ? kArmored : wirePacket.size());
  MutableByteView packet(out, wirePacket.size());
  MutableByteView armored = packet.subspan(kArmored);

  if (cipher == Cipher::AesGmacSiv) {
    uint8_t e[16], ivAndTag[16], aad[16], tag[8];
    std::memcpy(e, packet.data(), 8);
    std::memcpy(e + 8, packet.data() + kMac, 8);
    aes_->decryptK1(e, ivAndTag);
    e[12] &= 0x7f;
    sivHeader(packet, aad);
    aes_->ctr32XorThenGmacFolded(e, ivAndTag, aad, wirePacket.subspan(kArmored), armored.data(), tag);
    return CRYPTO_memcmp(tag, ivAndTag + 8, 8) == 0;
  }
  if (cipher != Cipher::Poly1305 && cipher != Cipher::Salsa2012Poly1305) return false;

  uint8_t key[32], mac[8];
  perPacketKey(key_, packet, key);
  salsaPolyMac(key, packet, mac);
  bool authentic = sodium_memcmp(mac, packet.data() + kMac, 8) == 0;
  if (authentic && cipher == Cipher::Salsa2012Poly1305) salsa2012XorFrom(armored, key, packet.data(), 1);
  sodium_memzero(key, sizeof key);
  return authentic;
}

void salsa2012Xor(MutableByteView data, const uint8_t key[32], const uint8_t nonce[8]) {
  salsa2012XorFrom(data, key, nonce, 0);
}

void randomBytes(MutableByteView out) {
  ensureSodium();
  randombytes_buf(out.data(), out.size());
}

uint64_t randomU64() {
  uint64_t v;
  randomBytes({reinterpret_cast<uint8_t*>(&v), sizeof v});
  return v;
}

uint64_t RandomPool::next() {
  if (used_ == values_.size()) {
    uint8_t seed[randombytes_SEEDBYTES];
    randomBytes(seed);
    randombytes_buf_deterministic(values_.data(), sizeof values_, seed);
    sodium_memzero(seed, sizeof seed);
    used_ = 0;
  }
  return values_[used_++];
}

}  // namespace zt
