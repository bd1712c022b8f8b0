// Pieces shared by the verb codecs: MACs, multicast groups, gather results, the strict end of a
// parse, and the JSON spellings used by every describe().
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "address.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt::wire {

// A 48-bit Ethernet MAC in the low bits of a uint64_t.
uint64_t readMac(Reader& r);
void writeMac(Writer& w, uint64_t mac);
std::string macToString(uint64_t mac);  // "f2:2a:70:42:ea:b5"

std::string hex64(uint64_t v);

// InetAddress::read restricted to the types that write back identically (0 none, 4, 6): any
// other type fails the reader (exact codecs; the config's address lists call others malformed).
InetAddress readInetAddress(Reader& r);  // 16 lowercase hex digits (packet ids, network ids)

struct MulticastGroup {
  uint64_t mac = 0;
  uint32_t adi = 0;

  static MulticastGroup read(Reader& r);
  void write(Writer& w) const;
  nlohmann::json describe() const;
  bool operator==(const MulticastGroup&) const = default;
};

// The tail shared by OK(MULTICAST_GATHER) and OK(MULTICAST_FRAME) (frames file 3.4).
struct GatherResults {
  uint32_t totalKnown = 0;  // subscribers known to the responder (informational)
  std::vector<Address> addresses;

  static GatherResults read(Reader& r);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// Ends a parse: an error naming `what` when the input was truncated or has bytes left over
// (every codec is exact, so that parse then write reproduces the input).
template <class T>
Result<T> finish(const Reader& r, T value, const char* what) {
  if (r.failed()) return fail(std::string(what) + ": truncated");
  if (!r.atEnd()) return fail(std::string(what) + ": " + std::to_string(r.remaining()) + " unexpected trailing bytes");
  return value;
}

}  // namespace zt::wire
