#include "crypto/identity.hpp"

#include <sodium.h>

#include "crypto/armor.hpp"
#include "crypto/identity_pow.hpp"
#include "crypto/keystream.hpp"

namespace zt {
namespace {

constexpr uint8_t kIdentityType = 0;
constexpr size_t kHalf = 32;  // each key is an X25519 half then an Ed25519 half

// The 32-byte message that is actually Ed25519-signed: the first half of SHA-512(m).
std::array<uint8_t, 32> signedDigest(ByteView message) {
  uint8_t h[crypto_hash_sha512_BYTES];
  crypto_hash_sha512(h, message.data(), message.size());
  std::array<uint8_t, 32> out;
  std::memcpy(out.data(), h, 32);
  return out;
}

void deriveX25519Public(const SecretKey& secret, PublicKey& pub) {
  crypto_scalarmult_base(pub.data(), secret.data());
}

// Ed25519 public key and libsodium's 64-byte expanded secret from the seed half.
void expandEd25519(const SecretKey& secret, uint8_t pub[32], uint8_t expanded[64]) {
  crypto_sign_ed25519_seed_keypair(pub, expanded, secret.data() + kHalf);
}

// Adds delta to the 64-bit little-endian integer at p (1.14's generation step).
void addLittleEndian64(uint8_t* p, uint64_t delta) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  v += delta;
  for (int i = 0; i < 8; ++i, v >>= 8) p[i] = uint8_t(v);
}

}  // namespace

PublicKey publicKeyOf(const SecretKey& secret) {
  ensureSodium();
  PublicKey pub{};
  deriveX25519Public(secret, pub);
  uint8_t expanded[64];
  expandEd25519(secret, pub.data() + kHalf, expanded);
  sodium_memzero(expanded, sizeof expanded);
  return pub;
}

Signature signWithKeys(const SecretKey& secret, const PublicKey& pub, ByteView message) {
  ensureSodium();
  Signature sig{};
  std::array<uint8_t, 32> digest = signedDigest(message);
  uint8_t edPublic[32], expanded[64];
  expandEd25519(secret, edPublic, expanded);
  // The expanded key ends with the public key that Ed25519 hashes: the one given (section 4).
  std::memcpy(expanded + 32, pub.data() + kHalf, 32);
  crypto_sign_ed25519_detached(sig.data(), nullptr, digest.data(), digest.size(), expanded);
  sodium_memzero(expanded, sizeof expanded);
  std::memcpy(sig.data() + 64, digest.data(), digest.size());
  return sig;
}

bool verifyWithKey(const PublicKey& pub, ByteView message, ByteView signature) {
  ensureSodium();
  if (signature.size() != std::tuple_size_v<Signature>) return false;
  std::array<uint8_t, 32> digest = signedDigest(message);
  if (sodium_memcmp(digest.data(), signature.data() + 64, digest.size()) != 0) return false;
  return crypto_sign_ed25519_verify_detached(signature.data(), digest.data(), digest.size(),
                                             pub.data() + kHalf) == 0;
}

Identity Identity::generate() {
  ensureSodium();
  PowScratch scratch;
  Identity id;
  randomBytes(id.secret_);
  id.public_ = publicKeyOf(id.secret_);
  id.hasSecret_ = true;
  for (;;) {
    PowDigest d = identityPowDigest(id.public_, scratch);
    id.address_ = powDigestAddress(d);
    if (powDigestAcceptable(d) && !id.address_.reserved()) return id;
    addLittleEndian64(id.secret_.data() + 8, 1);
    addLittleEndian64(id.secret_.data() + 16, ~uint64_t(0));  // minus one
    deriveX25519Public(id.secret_, id.public_);
  }
}

bool Identity::validate() const {
  if (address_.reserved()) return false;
  PowScratch scratch;
  PowDigest d = identityPowDigest(public_, scratch);
  return powDigestAcceptable(d) && powDigestAddress(d) == address_;
}

namespace {

// Common checks of both forms: a node address, and a secret that belongs to the public key.
Result<Identity> checkedIdentity(Identity id) {
  if (id.address().reserved()) return fail("identity: reserved address " + id.address().toString());
  if (id.hasSecret() && publicKeyOf(id.secretKey()) != id.publicKey())
    return fail("identity " + id.address().toString() + ": secret key does not match public key");
  return id;
}

template <size_t N>
std::optional<std::array<uint8_t, N>> hexArray(std::string_view text) {
  if (text.size() != 2 * N) return std::nullopt;
  auto raw = fromHex(text);
  if (!raw) return std::nullopt;
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), raw->data(), N);
  return out;
}

}  // namespace

Identity Identity::publicOnly() const {
  Identity id = *this;
  sodium_memzero(id.secret_.data(), id.secret_.size());
  id.hasSecret_ = false;
  return id;
}

Result<Identity> Identity::fromString(std::string_view text) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    size_t colon = text.find(':', start);
    fields.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() != 3 && fields.size() != 4)
    return fail("identity: expected 3 or 4 ':'-separated fields, got " + std::to_string(fields.size()));
  auto address = Address::parse(fields[0]);
  if (!address) return fail("identity: address must be 10 hex digits");
  if (fields[1] != "0") return fail("identity " + address->toString() + ": unsupported type '" + std::string(fields[1]) + "'");
  Identity id;
  id.address_ = *address;
  auto pub = hexArray<64>(fields[2]);
  if (!pub) return fail("identity " + address->toString() + ": public key must be 128 hex digits");
  id.public_ = *pub;
  if (fields.size() == 4) {
    auto secret = hexArray<64>(fields[3]);
    if (!secret) return fail("identity " + address->toString() + ": secret key must be 128 hex digits");
    id.secret_ = *secret;
    id.hasSecret_ = true;
  }
  return checkedIdentity(std::move(id));
}

Result<Identity> Identity::read(Reader& r) {
  Identity id;
  id.address_ = Address{r.u40()};
  uint8_t type = r.u8();
  id.public_ = r.array<64>();
  uint8_t secretLength = r.u8();
  if (r.failed()) return fail("identity: truncated");
  if (type != kIdentityType) return fail("identity: unsupported type " + std::to_string(type));
  if (secretLength != 0 && secretLength != id.secret_.size())
    return fail("identity: bad secret length " + std::to_string(secretLength));
  if (secretLength) {
    id.secret_ = r.array<64>();
    if (r.failed()) return fail("identity: truncated secret key");
    id.hasSecret_ = true;
  }
  return checkedIdentity(std::move(id));
}

void Identity::write(Writer& w, bool withSecret) const {
  bool secret = withSecret && hasSecret_;
  w.u40(address_.value).u8(kIdentityType).bytes(public_).u8(secret ? uint8_t(secret_.size()) : 0);
  if (secret) w.bytes(secret_);
}

std::string Identity::toString(bool withSecret) const {
  std::string out = address_.toString() + ":0:" + toHex(public_);
  if (withSecret && hasSecret_) out += ":" + toHex(secret_);
  return out;
}

Signature Identity::sign(ByteView message) const { return signWithKeys(secret_, public_, message); }

bool Identity::verify(ByteView message, ByteView signature) const {
  return verifyWithKey(public_, message, signature);
}

std::optional<SymmetricKey> Identity::agree(const Identity& peer) const {
  if (!hasSecret_) return std::nullopt;
  ensureSodium();
  uint8_t shared[crypto_scalarmult_BYTES], digest[crypto_hash_sha512_BYTES];
  if (crypto_scalarmult(shared, secret_.data(), peer.public_.data()) != 0) return std::nullopt;
  crypto_hash_sha512(digest, shared, sizeof shared);
  SymmetricKey key;
  std::memcpy(key.data(), digest, key.size());
  sodium_memzero(shared, sizeof shared);
  sodium_memzero(digest, sizeof digest);
  return key;
}

}  // namespace zt
