// Credential parsers: never crash; a parsed credential writes back to a form that parses to the
// same value; verification with a fixed controller never crashes.
#include <cstdlib>

#include "vl2/credentials.hpp"

using namespace zt;

namespace {

const Identity& controller() {
  static const Identity id = *Identity::fromString(
      "315595f4f8:0:e1aeae0b9426773406a4e990b3ff2cee909e46925cbd2fcdebd76abea49c7c00feb60891c1b4e58f273ceb6f15b5bcd"
      "7485d06c7e53740d46674b64ef8c658d8");
  return id;
}

template <class Credential>
void roundTrip(ByteView input) {
  Reader r(input);
  auto c = Credential::read(r);
  if (!c) return;
  Writer w;
  c->write(w);
  Reader again(w.data());
  auto back = Credential::read(again);
  if (!back || !again.atEnd() || !(*back == *c)) std::abort();
  (void)c->verify(controller());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteView input(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0: roundTrip<CertificateOfMembership>(input); break;
    case 1: roundTrip<Capability>(input); break;
    case 2: roundTrip<Tag>(input); break;
    case 3: roundTrip<CertificateOfOwnership>(input); break;
    case 4: roundTrip<Revocation>(input); break;
    default: {
      auto bundle = CredentialBundle::read(input);
      if (!bundle) break;
      auto back = CredentialBundle::read(bundle->write());
      if (!back || !(*back == *bundle)) std::abort();
    }
  }
  return 0;
}
