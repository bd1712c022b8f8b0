// Rule lists from the wire and from JSON text: never crash or throw; wire lists re-encode to the
// same rules; JSON that converts once converts to a fixed point.
#include <cstdlib>

#include "vl2/rules.hpp"

using namespace zt;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(data, size);
  if (auto rules = parseRules(input)) {
    auto back = parseRules(encodeRules(*rules));
    if (!back || !(*back == *rules)) std::abort();
    json j = rulesToJson(*rules);
    if (auto fromJson = rulesFromJson(j); fromJson && rulesToJson(*fromJson) != j) std::abort();
  }
  json text = json::parse(input.begin(), input.end(), nullptr, false);
  if (text.is_discarded()) return 0;
  for (auto policy : {InvalidRules::Strict, InvalidRules::Drop}) {
    auto rules = rulesFromJson(text, policy);
    if (!rules) continue;
    auto back = rulesFromJson(rulesToJson(*rules));
    if (!back || !(*back == *rules)) std::abort();
  }
  return 0;
}
