// ZeroTier type-0 identities (vl1-identity-crypto.md sections 2-4): address, Curve25519+Ed25519
// key pairs, the memory-hard address proof of work, key agreement and 96-byte signatures.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt {

using PublicKey = std::array<uint8_t, 64>;     // X25519 public ‖ Ed25519 public
using SecretKey = std::array<uint8_t, 64>;     // X25519 secret ‖ Ed25519 seed
using Signature = std::array<uint8_t, 96>;     // Ed25519 signature ‖ first 32 bytes of SHA-512(m)
using SymmetricKey = std::array<uint8_t, 48>;  // agreed key between two identities

class Identity {
 public:
  // A new identity whose address satisfies the proof of work (hundreds of ms).
  static Identity generate();
  // Public or secret text form; checks form and field lengths and that a secret matches its
  // public key, not the proof of work (call validate()).
  static Result<Identity> fromString(std::string_view text);
  // Binary form (type 0 only); r.failed() or an error for bad input.
  static Result<Identity> read(Reader& r);
  void write(Writer& w, bool withSecret = false) const;
  std::string toString(bool withSecret = false) const;

  // Full check: not reserved and the address is the proof of work of the public key. Costs one
  // 2 MiB memory-hard hash: cache the verdict for identities seen again.
  bool validate() const;

  Address address() const { return address_; }
  bool hasSecret() const { return hasSecret_; }
  const PublicKey& publicKey() const { return public_; }
  const SecretKey& secretKey() const { return secret_; }
  Identity publicOnly() const;

  Signature sign(ByteView message) const;  // requires hasSecret()
  bool verify(ByteView message, ByteView signature) const;
  // nullopt when the peer's key is unusable (low-order point) or we have no secret.
  std::optional<SymmetricKey> agree(const Identity& peer) const;

  bool operator==(const Identity& o) const { return address_ == o.address_ && public_ == o.public_; }

 private:
  Address address_;
  PublicKey public_{};
  SecretKey secret_{};
  bool hasSecret_ = false;
};

// Signing and verification with bare 64-byte key pairs (worlds carry keys outside identities).
Signature signWithKeys(const SecretKey& secret, const PublicKey& pub, ByteView message);
bool verifyWithKey(const PublicKey& pub, ByteView message, ByteView signature);
// Derives the public key pair of a secret key (X25519 base point, Ed25519 from seed).
PublicKey publicKeyOf(const SecretKey& secret);

}  // namespace zt
