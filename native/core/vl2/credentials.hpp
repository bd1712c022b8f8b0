// Network credentials (vl2-config-controller.md §7): certificate of membership, capability, tag,
// certificate of ownership and revocation. Each has one parser (read), one writer (write), the
// exact message its signature covers, and sign/verify with the network controller's identity.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "address.hpp"
#include "crypto/identity.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"
#include "vl2/rules.hpp"

namespace zt {

enum class CredentialType : uint8_t { None = 0, Com = 1, Capability = 2, Tag = 3, Coo = 4, Revocation = 6 };

// The signature block every signed credential carries: type (1), length (2), signature. Type 1
// must have length 96; another type is skipped and leaves `signature` empty (cannot verify).
struct SignatureBlock {
  std::optional<Signature> signature;
  static Result<SignatureBlock> read(Reader& r);
  void write(Writer& w) const;  // type 1 and 96 bytes; type 0, length 0 when unsigned
  bool operator==(const SignatureBlock&) const = default;
};

// The controller of a network is the node whose address is the top 40 bits of its id.
inline Address controllerOf(uint64_t networkId) { return Address{networkId >> 24}; }

struct CertificateOfMembership {
  struct Qualifier {
    uint64_t id = 0, value = 0, maxDelta = 0;
    bool operator==(const Qualifier&) const = default;
  };
  enum : uint64_t { kTimestamp = 0, kNetworkId = 1, kIssuedTo = 2, kIdentityHash0 = 3 };
  static constexpr size_t kMaxQualifiers = 8;

  std::vector<Qualifier> qualifiers;  // ascending ids
  Address signer;                     // zero: unsigned, no signature on the wire
  Signature signature{};

  // The 7 qualifiers 1.14's controller issues (timestamp, network, member, SHA-384 identity
  // hash), unsigned.
  static CertificateOfMembership forMember(uint64_t networkId, uint64_t timestamp, uint64_t maxDelta,
                                           const Identity& member);
  static Result<CertificateOfMembership> read(Reader& r);
  void write(Writer& w) const;

  uint64_t timestamp() const { return qualifierValue(kTimestamp); }
  uint64_t networkId() const { return qualifierValue(kNetworkId); }
  Address issuedTo() const { return Address{qualifierValue(kIssuedTo)}; }
  uint64_t qualifierValue(uint64_t id) const;  // 0 when absent

  Bytes signedMessage() const;  // the qualifier bytes as serialized
  void sign(const Identity& controller);
  bool verify(const Identity& controller) const;
  // §7.1 agreement of my COM (this) with a peer's COM whose owner authenticated as `peer`.
  bool agreesWith(const CertificateOfMembership& theirs, const Identity& peer) const;

  bool operator==(const CertificateOfMembership&) const = default;
};

struct Capability {
  struct Custody {
    Address to, from;
    SignatureBlock signature;
    bool operator==(const Custody&) const = default;
  };
  static constexpr uint8_t kMaxCustodyChain = 7;

  uint64_t networkId = 0;
  uint64_t timestamp = 0;
  uint32_t id = 0;
  std::vector<Rule> rules;      // at most kMaxCapabilityRules
  uint8_t maxCustodyChain = 1;  // M, 1..7
  std::vector<Custody> custody;

  static Result<Capability> read(Reader& r);
  void write(Writer& w) const;
  Bytes signedMessage() const;  // 7f×8 · fields through M · 00 00 · 7f×8
  // Appends a custody entry from `signer` to `to` (the controller issues one, to the member).
  void sign(const Identity& signer, Address to);
  Address issuedTo() const { return custody.empty() ? Address{} : custody.back().to; }
  Address signer() const { return custody.empty() ? Address{} : custody.front().from; }
  // The chain: entry 0 from the controller, each later entry from the previous `to`, every
  // signature valid. `lookup` resolves non-controller signers (null: only the controller known).
  bool verify(const Identity& controller, const std::function<std::optional<Identity>(Address)>& lookup = {}) const;

  bool operator==(const Capability&) const = default;
};

struct Tag {
  uint64_t networkId = 0;
  uint64_t timestamp = 0;
  uint32_t id = 0;
  uint32_t value = 0;
  Address issuedTo;
  Address signer;
  SignatureBlock signature;

  static Result<Tag> read(Reader& r);
  void write(Writer& w) const;
  Bytes signedMessage() const;
  void sign(const Identity& controller);  // sets signer and signature
  bool verify(const Identity& controller) const;
  bool operator==(const Tag&) const = default;
};

struct CertificateOfOwnership {
  enum class ThingType : uint8_t { Null = 0, MacAddress = 1, Ipv4Address = 2, Ipv6Address = 3 };
  struct Thing {
    ThingType type = ThingType::Null;
    std::array<uint8_t, 16> value{};
    bool operator==(const Thing&) const = default;
  };
  static constexpr size_t kMaxThings = 16;

  uint64_t networkId = 0;
  uint64_t timestamp = 0;
  uint64_t flags = 0;
  uint32_t id = 0;
  std::vector<Thing> things;  // at most kMaxThings are kept when reading
  Address issuedTo;
  Address signer;
  SignatureBlock signature;

  static Thing ipThing(const InetAddress& ip);                  // type 2 or 3
  static Thing macThing(const std::array<uint8_t, 6>& mac);     // type 1
  bool owns(const InetAddress& ip) const;

  static Result<CertificateOfOwnership> read(Reader& r);
  void write(Writer& w) const;
  Bytes signedMessage() const;
  void sign(const Identity& controller);
  bool verify(const Identity& controller) const;
  bool operator==(const CertificateOfOwnership&) const = default;
};

struct Revocation {
  static constexpr uint64_t kFlagFastPropagation = 0x01;

  uint32_t id = 0;
  uint64_t networkId = 0;
  uint32_t credentialId = 0;
  uint64_t threshold = 0;
  uint64_t flags = 0;
  Address target;
  Address signer;
  CredentialType credentialType = CredentialType::Com;
  SignatureBlock signature;

  static Result<Revocation> read(Reader& r);
  void write(Writer& w) const;
  Bytes signedMessage() const;
  void sign(const Identity& controller);
  bool verify(const Identity& controller) const;
  bool operator==(const Revocation&) const = default;
};

// The payload of NETWORK_CREDENTIALS (verb 0x0a, §7.6): COMs up to a 0x00 byte, then counted
// lists of capabilities, tags, revocations and COOs. Older senders may stop after any section.
struct CredentialBundle {
  std::vector<CertificateOfMembership> coms;
  std::vector<Capability> capabilities;
  std::vector<Tag> tags;
  std::vector<Revocation> revocations;
  std::vector<CertificateOfOwnership> coos;

  static Result<CredentialBundle> read(ByteView payload);
  Bytes write() const;
  bool operator==(const CredentialBundle&) const = default;
};

}  // namespace zt
