// Worlds: the signed lists of roots that a node trusts, planets (one per node) and moons (any
// number, orbited by choice). Binary codec, signing and the update rule of
// vl1-peers-worlds-api.md section 4.
#pragma once
#include <cstdint>
#include <vector>

#include "crypto/identity.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt {

struct World {
  enum Type : uint8_t { Planet = 1, Moon = 127 };

  struct Root {
    Identity identity;  // public only
    std::vector<InetAddress> stableEndpoints;
    bool operator==(const Root&) const = default;
  };

  static constexpr size_t kMaxRoots = 4;
  static constexpr size_t kMaxStableEndpoints = 32;
  static constexpr uint64_t kPublicPlanetId = 149604618;

  Type type = Planet;
  uint64_t id = 0;
  uint64_t timestamp = 0;  // the revision: larger is newer
  PublicKey updatesMustBeSignedBy{};
  Signature signature{};
  std::vector<Root> roots;
  Bytes moonDictionary;  // moons only (empty in every 1.14 moon)

  // Reads one world from r (which may hold more after it); an error for a malformed world.
  static Result<World> read(Reader& r);
  // A world that must span all of data.
  static Result<World> parse(ByteView data);
  void write(Writer& w, bool withSignature = true) const;
  Bytes serialize() const;

  // 7f×8 ‖ the world without its signature ‖ f7×8.
  Bytes signedMessage() const;
  // Signs with the previous revision's update key pair (for a first revision, its own).
  void sign(const SecretKey& secret, const PublicKey& pub);
  bool verifySignature(const PublicKey& by) const;

  bool operator==(const World&) const = default;
};

// The update rule: candidate replaces current when it is the same world (type and id), newer,
// and signed by the key current names for its next update.
bool shouldReplace(const World& current, const World& candidate);

// The public planet built into ZeroTier One 1.14 (the bytes of its default planet file).
ByteView defaultPlanet();

}  // namespace zt
