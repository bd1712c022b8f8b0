#include "vl1/world.hpp"

#include <string>

namespace zt {

namespace {

constexpr uint8_t kSignedPrefix = 0x7f;
constexpr uint8_t kSignedSuffix = 0xf7;
constexpr size_t kSignedPadLength = 8;

Result<World::Root> readRoot(Reader& r, size_t index) {
  std::string where = "world root " + std::to_string(index);
  Result<Identity> identity = Identity::read(r);
  if (!identity) return fail(where + ": " + identity.error());
  if (identity->hasSecret()) return fail(where + ": identity carries a secret key");
  World::Root root{*identity, {}};
  size_t endpoints = r.u8();
  if (endpoints > World::kMaxStableEndpoints)
    return fail(where + ": " + std::to_string(endpoints) + " stable endpoints (at most " +
                std::to_string(World::kMaxStableEndpoints) + ")");
  for (size_t i = 0; i < endpoints && !r.failed(); ++i)
    root.stableEndpoints.push_back(InetAddress::read(r));
  if (r.failed()) return fail(where + ": truncated");
  return root;
}

}  // namespace

Result<World> World::read(Reader& r) {
  World world;
  uint8_t type = r.u8();
  if (r.failed()) return fail("world: empty");
  if (type != Planet && type != Moon) return fail("world: unknown type " + std::to_string(type));
  world.type = Type(type);
  world.id = r.u64();
  world.timestamp = r.u64();
  world.updatesMustBeSignedBy = r.array<64>();
  world.signature = r.array<96>();
  size_t roots = r.u8();
  if (r.failed()) return fail("world: truncated header");
  if (roots > kMaxRoots)
    return fail("world: " + std::to_string(roots) + " roots (at most " +
                std::to_string(kMaxRoots) + ")");
  for (size_t i = 0; i < roots; ++i) {
    Result<Root> root = readRoot(r, i);
    if (!root) return fail(root.error());
    world.roots.push_back(std::move(*root));
  }
  if (world.type == Moon) {
    ByteView dictionary = r.bytes(r.u16());
    if (r.failed()) return fail("world: truncated moon dictionary");
    world.moonDictionary.assign(dictionary.begin(), dictionary.end());
  }
  return world;
}

Result<World> World::parse(ByteView data) {
  Reader r(data);
  Result<World> world = read(r);
  if (world && !r.atEnd())
    return fail("world: " + std::to_string(r.remaining()) + " bytes after the world");
  return world;
}

void World::write(Writer& w, bool withSignature) const {
  w.u8(type).u64(id).u64(timestamp).bytes(updatesMustBeSignedBy);
  if (withSignature) w.bytes(signature);
  w.u8(uint8_t(roots.size()));
  for (const Root& root : roots) {
    root.identity.write(w, false);
    w.u8(uint8_t(root.stableEndpoints.size()));
    for (const InetAddress& endpoint : root.stableEndpoints) endpoint.write(w);
  }
  if (type == Moon) w.u16(uint16_t(moonDictionary.size())).bytes(moonDictionary);
}

Bytes World::serialize() const {
  Writer w;
  write(w);
  return w.take();
}

Bytes World::signedMessage() const {
  Writer w(Bytes(kSignedPadLength, kSignedPrefix));
  write(w, false);
  w.bytes(Bytes(kSignedPadLength, kSignedSuffix));
  return w.take();
}

void World::sign(const SecretKey& secret, const PublicKey& pub) {
  signature = signWithKeys(secret, pub, signedMessage());
}

bool World::verifySignature(const PublicKey& by) const {
  return verifyWithKey(by, signedMessage(), signature);
}

bool shouldReplace(const World& current, const World& candidate) {
  return candidate.type == current.type && candidate.id == current.id &&
         candidate.timestamp > current.timestamp &&
         candidate.verifySignature(current.updatesMustBeSignedBy);
}

}  // namespace zt
