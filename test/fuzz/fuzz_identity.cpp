// Identity parsers on arbitrary input: the text form on the bytes as text, the binary form on
// them as bytes. A parsed identity round-trips through its own writer; validate() (a 2 MiB hash)
// runs only for small inputs to keep the fuzzer fast.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/identity.hpp"

namespace {

void requireRoundTrip(const zt::Identity& id) {
  auto again = zt::Identity::fromString(id.toString(true));
  if (!again || !(*again == id) || again->hasSecret() != id.hasSecret()) std::abort();
  zt::Writer w;
  id.write(w, true);
  zt::Reader r(w.data());
  auto back = zt::Identity::read(r);
  if (!back || !(*back == id) || !r.atEnd()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kValidateBelow = 300;  // the secret text form is 270 characters
  auto text = zt::Identity::fromString(std::string_view(reinterpret_cast<const char*>(data), size));
  if (text) {
    requireRoundTrip(*text);
    if (size < kValidateBelow) text->validate();
  }
  zt::Reader reader(zt::ByteView(data, size));
  auto binary = zt::Identity::read(reader);
  if (binary) {
    requireRoundTrip(*binary);
    if (size < kValidateBelow) binary->validate();
  }
  return 0;
}
