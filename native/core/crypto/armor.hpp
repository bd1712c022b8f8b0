// Packet armoring (vl1-identity-crypto.md section 5): suites 0 (Poly1305), 1 (Salsa20/12 +
// Poly1305) and 3 (AES-GMAC-SIV). One PeerCipher per peer holds the agreed key and the expanded
// AES keys, built once, so the per-packet path does no key setup and no allocation. A PeerCipher
// reuses its OpenSSL contexts for every packet: use one from one thread at a time.
// Suite 3 runs on VAES/VPCLMULQDQ (crypto/aes_vaes.hpp) where the CPU has them, else on OpenSSL.
#pragma once
#include <array>
#include <memory>

#include "crypto/identity.hpp"

namespace zt {

enum class Cipher : uint8_t { Poly1305 = 0, Salsa2012Poly1305 = 1, TrustedPath = 2, AesGmacSiv = 3 };

// Which code runs suite 3: the fastest this CPU allows, or OpenSSL's (so tests can hold the two
// against each other on a CPU that has both).
enum class AesEngine : uint8_t { Fastest, OpenSsl };

class PeerCipher {
 public:
  explicit PeerCipher(const SymmetricKey& key, AesEngine engine = AesEngine::Fastest);
  ~PeerCipher();
  PeerCipher(const PeerCipher&) = delete;
  PeerCipher& operator=(const PeerCipher&) = delete;

  // packet: a whole packet (header + verb + payload, hop count 0, fragmented flag already set
  // if it will be fragmented). Sets the cipher bits (and 0x80 for suite 1), writes the MAC,
  // encrypts the armored part; suite 3 also replaces the packet id with the SIV output. Suite 2
  // (trusted path) only sets the cipher bits: the caller writes the path id into the MAC field.
  void armor(MutableByteView packet, Cipher cipher);
  // Verifies the MAC for the cipher in the flags byte and decrypts in place. False (packet
  // left in an unspecified state) if it does not authenticate or uses suite 2.
  bool dearmor(MutableByteView packet);
  // The same, opening wirePacket into out (wirePacket.size() bytes, or wirePacket itself): on
  // receive this saves copying the datagram before decrypting it.
  bool dearmor(ByteView wirePacket, uint8_t* out);

  const SymmetricKey& key() const { return key_; }

 private:
  struct Aes;  // K0 (GMAC) and K1 (SIV block, CTR): VAES round keys, or OpenSSL contexts
  SymmetricKey key_;
  std::unique_ptr<Aes> aes_;
};

// XORs data with the Salsa20/12 keystream from byte 0 (HELLO's field-encrypted moon list).
void salsa2012Xor(MutableByteView data, const uint8_t key[32], const uint8_t nonce[8]);
// Cryptographically secure random bytes (libsodium).
void randomBytes(MutableByteView out);
uint64_t randomU64();

// Random 64-bit values (packet ids), a batch at a time: libsodium makes one getrandom system
// call per request, which cost more than a frame's cipher work, and the kernel's generic ChaCha
// is slow per byte; so each batch is ChaCha20 output (libsodium's, vectorised) under a fresh
// 32-byte key from the system. One per Node (not thread-safe).
class RandomPool {
 public:
  uint64_t next();

 private:
  std::array<uint64_t, 512> values_{};
  size_t used_ = values_.size();
};

}  // namespace zt
