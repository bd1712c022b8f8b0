#include "vl1/world_json.hpp"

#include <algorithm>
#include <string>

#include "vl1/world.hpp"

namespace zt {

using nlohmann::json;

namespace {

const char* typeName(World::Type type) { return type == World::Moon ? "moon" : "planet"; }

json describeRoot(const World::Root& root) {
  json endpoints = json::array();
  for (const InetAddress& endpoint : root.stableEndpoints) endpoints.push_back(endpoint.toString());
  return {{"identity", root.identity.toString()}, {"stableEndpoints", std::move(endpoints)}};
}

// Field readers for the user's spec: they never throw, and name the field they reject.

Result<const json*> field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return fail(std::string("world spec: missing \"") + name + "\"");
  return &*it;
}

Result<uint64_t> unsignedField(const json& object, const char* name) {
  Result<const json*> value = field(object, name);
  if (!value) return fail(value.error());
  const json& v = **value;
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0))
    return v.get<uint64_t>();
  return fail(std::string("world spec: \"") + name + "\" must be a non-negative integer");
}

Result<PublicKey> publicKeyField(const json& object, const char* name) {
  Result<const json*> value = field(object, name);
  if (!value) return fail(value.error());
  std::optional<Bytes> bytes;
  if ((*value)->is_string()) bytes = fromHex((*value)->get<std::string>());
  PublicKey key{};
  if (!bytes || bytes->size() != key.size())
    return fail(std::string("world spec: \"") + name + "\" must be 128 hex digits");
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

Result<World::Type> typeField(const json& object) {
  Result<const json*> value = field(object, "type");
  if (!value) return fail(value.error());
  if (**value == "planet") return World::Planet;
  if (**value == "moon") return World::Moon;
  return fail("world spec: \"type\" must be \"planet\" or \"moon\"");
}

Result<World::Root> rootFromSpec(const json& spec, size_t index) {
  std::string where = "world spec: root " + std::to_string(index);
  if (!spec.is_object()) return fail(where + " must be an object");
  Result<const json*> identityText = field(spec, "identity");
  if (!identityText) return fail(where + ": " + identityText.error());
  if (!(*identityText)->is_string()) return fail(where + ": \"identity\" must be a string");
  Result<Identity> identity = Identity::fromString((*identityText)->get<std::string>());
  if (!identity) return fail(where + ": " + identity.error());
  if (!identity->validate()) return fail(where + ": identity fails validation");
  World::Root root{identity->publicOnly(), {}};

  auto endpoints = spec.find("stableEndpoints");
  if (endpoints == spec.end()) return root;
  if (!endpoints->is_array()) return fail(where + ": \"stableEndpoints\" must be an array");
  if (endpoints->size() > World::kMaxStableEndpoints)
    return fail(where + ": more than " + std::to_string(World::kMaxStableEndpoints) +
                " stable endpoints");
  for (const json& text : *endpoints) {
    std::optional<InetAddress> endpoint;
    if (text.is_string()) endpoint = InetAddress::parse(text.get<std::string>());
    if (!endpoint) return fail(where + ": bad stable endpoint " + text.dump());
    root.stableEndpoints.push_back(*endpoint);
  }
  return root;
}

Result<World> worldFromSpec(const json& spec, const PublicKey& signingPublic) {
  if (!spec.is_object()) return fail("world spec: must be a JSON object");
  Result<World::Type> type = typeField(spec);
  if (!type) return fail(type.error());
  Result<uint64_t> id = unsignedField(spec, "id");
  if (!id) return fail(id.error());
  Result<uint64_t> timestamp = unsignedField(spec, "timestamp");
  if (!timestamp) return fail(timestamp.error());

  World world;
  world.type = *type;
  world.id = *id;
  world.timestamp = *timestamp;
  world.updatesMustBeSignedBy = signingPublic;
  if (spec.contains("updatesMustBeSignedBy")) {
    Result<PublicKey> key = publicKeyField(spec, "updatesMustBeSignedBy");
    if (!key) return fail(key.error());
    world.updatesMustBeSignedBy = *key;
  }

  Result<const json*> roots = field(spec, "roots");
  if (!roots) return fail(roots.error());
  if (!(*roots)->is_array()) return fail("world spec: \"roots\" must be an array");
  if ((*roots)->size() > World::kMaxRoots)
    return fail("world spec: more than " + std::to_string(World::kMaxRoots) + " roots");
  for (size_t i = 0; i < (*roots)->size(); ++i) {
    Result<World::Root> root = rootFromSpec((**roots)[i], i);
    if (!root) return fail(root.error());
    world.roots.push_back(std::move(*root));
  }
  return world;
}

}  // namespace

Result<json> describeWorld(ByteView bytes) {
  Reader r(bytes);
  Result<World> world = World::read(r);
  if (!world) return fail(world.error());
  json roots = json::array();
  for (const World::Root& root : world->roots) roots.push_back(describeRoot(root));
  return json{
      {"type", typeName(world->type)},
      {"id", world->id},
      {"timestamp", world->timestamp},
      {"updatesMustBeSignedBy", toHex(world->updatesMustBeSignedBy)},
      {"signature", toHex(world->signature)},
      {"roots", std::move(roots)},
      {"length", bytes.size()},
      {"parsedLength", r.position()},
  };
}

Result<Bytes> createWorld(const json& spec, const SecretKey& signingSecret,
                          const PublicKey& signingPublic) {
  Result<World> world = worldFromSpec(spec, signingPublic);
  if (!world) return fail(world.error());
  world->sign(signingSecret, signingPublic);
  return world->serialize();
}

}  // namespace zt
