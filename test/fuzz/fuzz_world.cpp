// libFuzzer target for the world codec: any input either fails to parse or yields a world that
// re-serializes to a stable form, can be verified, and describes whenever it parses.
#include <cstdlib>

#include "vl1/world.hpp"
#include "vl1/world_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zt::ByteView input(data, size);
  zt::Result<zt::World> world = zt::World::parse(input);
  zt::Result<nlohmann::json> described = zt::describeWorld(input);
  if (!world) return 0;
  if (!described) std::abort();
  (void)world->verifySignature(world->updatesMustBeSignedBy);

  zt::Result<zt::World> again = zt::World::parse(world->serialize());
  if (!again || !(*again == *world)) std::abort();
  return 0;
}
