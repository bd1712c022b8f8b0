// Dictionary and network-config parsing: never crash; what parses re-serializes stably.
#include <cstdlib>

#include "vl2/dictionary.hpp"
#include "vl2/netconf.hpp"
#include "vl2/netconf_json.hpp"

using namespace zt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto dict = Dictionary::parse(ByteView(data, size));
  if (!dict) return 0;
  auto again = Dictionary::parse(dict->serialize());
  if (!again || !(*again == *dict)) std::abort();

  auto config = NetworkConfig::fromDictionary(*dict);
  if (!config) return 0;
  // One write normalizes (dropped entries, clamped values); from then on the form is fixed.
  auto normal = NetworkConfig::fromDictionary(config->toDictionary());
  if (!normal) std::abort();
  Bytes written = normal->toDictionary().serialize();
  auto reread = NetworkConfig::fromDictionary(*Dictionary::parse(written));
  if (!reread || !(*reread == *normal) || reread->toDictionary().serialize() != written) std::abort();
  if (!decodeNetconf(written)) std::abort();
  return 0;
}
