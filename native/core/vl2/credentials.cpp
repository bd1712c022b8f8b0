#include "vl2/credentials.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace zt {
namespace {

constexpr uint8_t kSignatureTypeEd25519 = 1;
constexpr size_t kSignatureLength = 96;

// 7f×8 · fields · 00 00 (extension length) · 7f×8: what capabilities, tags, COOs and
// revocations sign (§7.0).
Bytes wrapForSigning(const Writer& fields) {
  Writer w;
  for (int i = 0; i < 8; ++i) w.u8(0x7f);
  w.bytes(fields.data()).u16(0);
  for (int i = 0; i < 8; ++i) w.u8(0x7f);
  return w.take();
}

bool signedByController(const Identity& controller, uint64_t networkId, Address signer,
                        const SignatureBlock& block, ByteView message) {
  return controller.address() == controllerOf(networkId) && signer == controller.address() && block.signature &&
         controller.verify(message, *block.signature);
}

// Tags, COOs and revocations carry one signer and one signature block.
template <class Credential>
void signAsController(Credential& c, const Identity& controller) {
  c.signer = controller.address();
  c.signature.signature = controller.sign(c.signedMessage());
}

// Every credential but the COM ends with a 2-byte extension length and that many bytes.
void skipExtension(Reader& r) { r.skip(r.u16()); }

Error truncated(const char* what) { return fail(std::string(what) + " truncated"); }

}  // namespace

// --- signature block ---------------------------------------------------------------------------

Result<SignatureBlock> SignatureBlock::read(Reader& r) {
  uint8_t type = r.u8();
  uint16_t length = r.u16();
  SignatureBlock block;
  if (type != kSignatureTypeEd25519) {
    r.skip(length);
  } else if (length != kSignatureLength) {
    return fail("signature of type 1 has length " + std::to_string(length) + ", not 96");
  } else {
    block.signature = r.array<kSignatureLength>();
  }
  if (r.failed()) return truncated("signature block");
  return block;
}

void SignatureBlock::write(Writer& w) const {
  if (signature) {
    w.u8(kSignatureTypeEd25519).u16(kSignatureLength).bytes(*signature);
  } else {
    w.u8(0).u16(0);  // no signature: an empty block of type 0, which reads back as unsigned
  }
}

// --- certificate of membership -----------------------------------------------------------------

CertificateOfMembership CertificateOfMembership::forMember(uint64_t networkId, uint64_t timestamp, uint64_t maxDelta,
                                                           const Identity& member) {
  uint8_t input[Address::kLength + 64];
  storeU40(input, member.address().value);
  std::memcpy(input + Address::kLength, member.publicKey().data(), 64);
  uint8_t hash[SHA384_DIGEST_LENGTH];
  SHA384(input, sizeof input, hash);

  constexpr uint64_t kAny = ~uint64_t(0);
  CertificateOfMembership com;
  com.qualifiers = {{kTimestamp, timestamp, maxDelta}, {kNetworkId, networkId, 0}, {kIssuedTo, member.address().value, kAny}};
  for (uint64_t i = 0; i < 4; ++i) com.qualifiers.push_back({kIdentityHash0 + i, loadU64(hash + 8 * i), kAny});
  return com;
}

Result<CertificateOfMembership> CertificateOfMembership::read(Reader& r) {
  if (uint8_t format = r.u8(); format != 1)
    return r.failed() ? truncated("COM") : fail("COM format " + std::to_string(format) + " is not 1");
  uint16_t count = r.u16();
  if (count > kMaxQualifiers) return fail("COM has " + std::to_string(count) + " qualifiers, at most 8");
  CertificateOfMembership com;
  for (uint16_t i = 0; i < count; ++i) {
    Qualifier q{r.u64(), r.u64(), r.u64()};
    if (!com.qualifiers.empty() && q.id < com.qualifiers.back().id) return fail("COM qualifier ids decrease");
    com.qualifiers.push_back(q);
  }
  com.signer = Address{r.u40()};
  if (com.signer.value != 0) com.signature = r.array<kSignatureLength>();
  if (r.failed()) return truncated("COM");
  return com;
}

void CertificateOfMembership::write(Writer& w) const {
  w.u8(1).u16(uint16_t(qualifiers.size())).bytes(signedMessage()).u40(signer.value);
  if (signer.value != 0) w.bytes(signature);
}

uint64_t CertificateOfMembership::qualifierValue(uint64_t id) const {
  auto it = std::find_if(qualifiers.begin(), qualifiers.end(), [&](const Qualifier& q) { return q.id == id; });
  return it == qualifiers.end() ? 0 : it->value;
}

Bytes CertificateOfMembership::signedMessage() const {
  Writer w;
  for (const Qualifier& q : qualifiers) w.u64(q.id).u64(q.value).u64(q.maxDelta);
  return w.take();
}

void CertificateOfMembership::sign(const Identity& controller) {
  signer = controller.address();
  signature = controller.sign(signedMessage());
}

bool CertificateOfMembership::verify(const Identity& controller) const {
  return signer.value != 0 && signer == controller.address() && controllerOf(networkId()) == controller.address() &&
         controller.verify(signedMessage(), signature);
}

bool CertificateOfMembership::agreesWith(const CertificateOfMembership& theirs, const Identity& peer) const {
  if (qualifiers.empty() || theirs.qualifiers.empty()) return false;
  bool checksIdentity = false;
  for (const Qualifier& mine : qualifiers) {
    auto it = std::find_if(theirs.qualifiers.begin(), theirs.qualifiers.end(),
                           [&](const Qualifier& q) { return q.id == mine.id; });
    if (it == theirs.qualifiers.end()) return false;
    uint64_t diff = mine.value > it->value ? mine.value - it->value : it->value - mine.value;
    if (diff > mine.maxDelta) return false;
    checksIdentity |= mine.id >= kIdentityHash0 && mine.id < kIdentityHash0 + 4;
  }
  if (!checksIdentity) return true;
  CertificateOfMembership expected = forMember(0, 0, 0, peer);
  for (uint64_t id = kIdentityHash0; id < kIdentityHash0 + 4; ++id) {
    auto it = std::find_if(theirs.qualifiers.begin(), theirs.qualifiers.end(),
                           [&](const Qualifier& q) { return q.id == id; });
    if (it == theirs.qualifiers.end() || it->value != expected.qualifierValue(id)) return false;
  }
  return true;
}

// --- capability --------------------------------------------------------------------------------

Result<Capability> Capability::read(Reader& r) {
  Capability cap;
  cap.networkId = r.u64();
  cap.timestamp = r.u64();
  cap.id = r.u32();
  uint16_t ruleCount = r.u16();
  if (r.failed()) return truncated("capability");
  if (ruleCount > kMaxCapabilityRules)
    return fail("capability has " + std::to_string(ruleCount) + " rules, at most 64");
  auto rules = readRules(r, ruleCount);
  if (!rules) return fail("capability " + std::to_string(cap.id) + ": " + rules.error());
  cap.rules = std::move(*rules);
  cap.maxCustodyChain = r.u8();
  if (!r.failed() && (cap.maxCustodyChain < 1 || cap.maxCustodyChain > kMaxCustodyChain))
    return fail("capability custody chain length " + std::to_string(cap.maxCustodyChain) + " is not 1..7");
  for (size_t i = 0; !r.failed(); ++i) {
    Address to{r.u40()};
    if (to.value == 0) break;
    if (i == cap.maxCustodyChain) return fail("capability custody chain is longer than its maximum");
    Address from{r.u40()};
    auto block = SignatureBlock::read(r);
    if (!block) return fail("capability custody: " + block.error());
    cap.custody.push_back({to, from, *block});
  }
  skipExtension(r);
  if (r.failed()) return truncated("capability");
  return cap;
}

namespace {
// Bytes [0, q+1): everything a custody signature covers.
void writeCapabilityFields(Writer& w, const Capability& c) {
  w.u64(c.networkId).u64(c.timestamp).u32(c.id).u16(uint16_t(c.rules.size()));
  writeRules(w, c.rules);
  w.u8(c.maxCustodyChain);
}
}  // namespace

void Capability::write(Writer& w) const {
  writeCapabilityFields(w, *this);
  for (const Custody& c : custody) {
    w.u40(c.to.value).u40(c.from.value);
    c.signature.write(w);
  }
  w.u40(0).u16(0);
}

Bytes Capability::signedMessage() const {
  Writer w;
  writeCapabilityFields(w, *this);
  return wrapForSigning(w);
}

void Capability::sign(const Identity& signer, Address to) {
  custody.push_back({to, signer.address(), {signer.sign(signedMessage())}});
}

bool Capability::verify(const Identity& controller,
                        const std::function<std::optional<Identity>(Address)>& lookup) const {
  if (custody.empty() || custody.size() > maxCustodyChain || controllerOf(networkId) != controller.address())
    return false;
  Bytes message = signedMessage();
  for (size_t i = 0; i < custody.size(); ++i) {
    const Custody& c = custody[i];
    if (c.to.value == 0 || !c.signature.signature) return false;
    if (i == 0 ? c.from != controller.address() : c.from != custody[i - 1].to) return false;
    std::optional<Identity> signer = c.from == controller.address() ? std::optional(controller)
                                     : lookup                        ? lookup(c.from)
                                                                     : std::nullopt;
    if (!signer || signer->address() != c.from || !signer->verify(message, *c.signature.signature)) return false;
  }
  return true;
}

// --- tag ---------------------------------------------------------------------------------------

namespace {
void writeTagFields(Writer& w, const Tag& t) {
  w.u64(t.networkId).u64(t.timestamp).u32(t.id).u32(t.value).u40(t.issuedTo.value).u40(t.signer.value);
}
}  // namespace

Result<Tag> Tag::read(Reader& r) {
  Tag tag;
  tag.networkId = r.u64();
  tag.timestamp = r.u64();
  tag.id = r.u32();
  tag.value = r.u32();
  tag.issuedTo = Address{r.u40()};
  tag.signer = Address{r.u40()};
  if (r.failed()) return truncated("tag");
  auto block = SignatureBlock::read(r);
  if (!block) return fail("tag " + std::to_string(tag.id) + ": " + block.error());
  tag.signature = *block;
  skipExtension(r);
  if (r.failed()) return truncated("tag");
  return tag;
}

void Tag::write(Writer& w) const {
  writeTagFields(w, *this);
  signature.write(w);
  w.u16(0);
}

Bytes Tag::signedMessage() const {
  Writer w;
  writeTagFields(w, *this);
  return wrapForSigning(w);
}

void Tag::sign(const Identity& controller) { signAsController(*this, controller); }

bool Tag::verify(const Identity& controller) const {
  return signedByController(controller, networkId, signer, signature, signedMessage());
}

// --- certificate of ownership ------------------------------------------------------------------

namespace {
void writeCooFields(Writer& w, const CertificateOfOwnership& c) {
  w.u64(c.networkId).u64(c.timestamp).u64(c.flags).u32(c.id).u16(uint16_t(c.things.size()));
  for (const auto& t : c.things) w.u8(uint8_t(t.type)).bytes(t.value);
  w.u40(c.issuedTo.value).u40(c.signer.value);
}
}  // namespace

CertificateOfOwnership::Thing CertificateOfOwnership::ipThing(const InetAddress& ip) {
  Thing t;
  t.type = ip.family == InetAddress::Family::V4 ? ThingType::Ipv4Address : ThingType::Ipv6Address;
  std::memcpy(t.value.data(), ip.ip.data(), ip.ipLength());
  return t;
}

CertificateOfOwnership::Thing CertificateOfOwnership::macThing(const std::array<uint8_t, 6>& mac) {
  Thing t;
  t.type = ThingType::MacAddress;
  std::memcpy(t.value.data(), mac.data(), mac.size());
  return t;
}

bool CertificateOfOwnership::owns(const InetAddress& ip) const {
  if (ip.empty()) return false;
  ThingType wanted = ip.family == InetAddress::Family::V4 ? ThingType::Ipv4Address : ThingType::Ipv6Address;
  return std::any_of(things.begin(), things.end(), [&](const Thing& t) {
    return t.type == wanted && std::memcmp(t.value.data(), ip.ip.data(), ip.ipLength()) == 0;
  });
}

Result<CertificateOfOwnership> CertificateOfOwnership::read(Reader& r) {
  CertificateOfOwnership coo;
  coo.networkId = r.u64();
  coo.timestamp = r.u64();
  coo.flags = r.u64();
  coo.id = r.u32();
  uint16_t count = r.u16();
  for (uint16_t i = 0; i < count && !r.failed(); ++i) {
    Thing t;
    t.type = ThingType(r.u8());
    t.value = r.array<16>();
    if (coo.things.size() < kMaxThings) coo.things.push_back(t);
  }
  coo.issuedTo = Address{r.u40()};
  coo.signer = Address{r.u40()};
  if (r.failed()) return truncated("certificate of ownership");
  auto block = SignatureBlock::read(r);
  if (!block) return fail("certificate of ownership " + std::to_string(coo.id) + ": " + block.error());
  coo.signature = *block;
  skipExtension(r);
  if (r.failed()) return truncated("certificate of ownership");
  return coo;
}

void CertificateOfOwnership::write(Writer& w) const {
  writeCooFields(w, *this);
  signature.write(w);
  w.u16(0);
}

Bytes CertificateOfOwnership::signedMessage() const {
  Writer w;
  writeCooFields(w, *this);
  return wrapForSigning(w);
}

void CertificateOfOwnership::sign(const Identity& controller) { signAsController(*this, controller); }

bool CertificateOfOwnership::verify(const Identity& controller) const {
  return signedByController(controller, networkId, signer, signature, signedMessage());
}

// --- revocation --------------------------------------------------------------------------------

namespace {
void writeRevocationFields(Writer& w, const Revocation& v) {
  w.u32(0).u32(v.id).u64(v.networkId).u32(0).u32(v.credentialId).u64(v.threshold).u64(v.flags);
  w.u40(v.target.value).u40(v.signer.value).u8(uint8_t(v.credentialType));
}
}  // namespace

Result<Revocation> Revocation::read(Reader& r) {
  Revocation rev;
  r.u32();
  rev.id = r.u32();
  rev.networkId = r.u64();
  r.u32();
  rev.credentialId = r.u32();
  rev.threshold = r.u64();
  rev.flags = r.u64();
  rev.target = Address{r.u40()};
  rev.signer = Address{r.u40()};
  rev.credentialType = CredentialType(r.u8());
  if (r.failed()) return truncated("revocation");
  auto block = SignatureBlock::read(r);
  if (!block) return fail("revocation " + std::to_string(rev.id) + ": " + block.error());
  rev.signature = *block;
  skipExtension(r);
  if (r.failed()) return truncated("revocation");
  return rev;
}

void Revocation::write(Writer& w) const {
  writeRevocationFields(w, *this);
  signature.write(w);
  w.u16(0);
}

Bytes Revocation::signedMessage() const {
  Writer w;
  writeRevocationFields(w, *this);
  return wrapForSigning(w);
}

void Revocation::sign(const Identity& controller) { signAsController(*this, controller); }

bool Revocation::verify(const Identity& controller) const {
  return signedByController(controller, networkId, signer, signature, signedMessage());
}

// --- NETWORK_CREDENTIALS payload ---------------------------------------------------------------

namespace {

// A 2-byte count and that many credentials; absent (end of payload) means none.
template <class Credential>
Result<std::vector<Credential>> readCountedList(Reader& r, const char* what) {
  std::vector<Credential> out;
  if (r.remaining() == 0) return out;
  uint16_t count = r.u16();
  for (uint16_t i = 0; i < count; ++i) {
    auto c = Credential::read(r);
    if (!c) return fail(std::string(what) + " " + std::to_string(i) + ": " + c.error());
    out.push_back(std::move(*c));
  }
  if (r.failed()) return truncated(what);
  return out;
}

template <class Credential>
void writeCountedList(Writer& w, const std::vector<Credential>& list) {
  w.u16(uint16_t(list.size()));
  for (const auto& c : list) c.write(w);
}

}  // namespace

Result<CredentialBundle> CredentialBundle::read(ByteView payload) {
  Reader r(payload);
  CredentialBundle b;
  while (r.remaining() > 0) {
    if (payload[r.position()] == 0) {
      r.u8();
      break;
    }
    auto com = CertificateOfMembership::read(r);
    if (!com) return fail("credentials: COM " + std::to_string(b.coms.size()) + ": " + com.error());
    b.coms.push_back(std::move(*com));
  }
  auto caps = readCountedList<Capability>(r, "capability");
  if (!caps) return fail("credentials: " + caps.error());
  auto tags = readCountedList<Tag>(r, "tag");
  if (!tags) return fail("credentials: " + tags.error());
  auto revocations = readCountedList<Revocation>(r, "revocation");
  if (!revocations) return fail("credentials: " + revocations.error());
  auto coos = readCountedList<CertificateOfOwnership>(r, "certificate of ownership");
  if (!coos) return fail("credentials: " + coos.error());
  b.capabilities = std::move(*caps);
  b.tags = std::move(*tags);
  b.revocations = std::move(*revocations);
  b.coos = std::move(*coos);
  return b;
}

Bytes CredentialBundle::write() const {
  Writer w;
  for (const auto& com : coms) com.write(w);
  w.u8(0);
  writeCountedList(w, capabilities);
  writeCountedList(w, tags);
  writeCountedList(w, revocations);
  writeCountedList(w, coos);
  return w.take();
}

}  // namespace zt
