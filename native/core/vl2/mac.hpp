// Member MACs (vl2-frames-multicast-rules.md §1): derived from a member's address and the network
// id, reversible, and the classification of MACs a sender needs. A MAC is a 48-bit value in the
// low bits of a uint64_t, most significant octet first on the wire.
#pragma once
#include <array>
#include <cstdint>

#include "address.hpp"

namespace zt {

constexpr uint64_t kBroadcastMac = 0xffffffffffffULL;

// F(N): the first octet every member MAC on network N starts with.
constexpr uint8_t macPrefix(uint64_t networkId) {
  const uint8_t f = uint8_t((networkId & 0xfe) | 0x02);
  return f == 0x52 ? 0x32 : f;
}

// The five network-id bytes octets 1..5 are XORed with (octet 1 with bits 15..8, …).
constexpr uint64_t macMask(uint64_t networkId) {
  uint64_t mask = 0;
  for (int octet = 1; octet <= 5; ++octet) mask |= ((networkId >> (8 * octet)) & 0xff) << (8 * (5 - octet));
  return mask;
}

constexpr uint64_t memberMac(Address member, uint64_t networkId) {
  return uint64_t(macPrefix(networkId)) << 40 | ((member.value & 0xffffffffffULL) ^ macMask(networkId));
}

// The member a MAC on this network belongs to; meaningful only if isMemberMac().
constexpr Address macMember(uint64_t mac, uint64_t networkId) {
  return Address{(mac & 0xffffffffffULL) ^ macMask(networkId)};
}

constexpr bool isMulticastMac(uint64_t mac) { return (mac >> 40) & 0x01; }
constexpr bool isMemberMac(uint64_t mac, uint64_t networkId) {
  return uint8_t(mac >> 40) == macPrefix(networkId);
}

constexpr std::array<uint8_t, 6> macBytes(uint64_t mac) {
  std::array<uint8_t, 6> out{};
  for (int i = 0; i < 6; ++i) out[i] = uint8_t(mac >> (8 * (5 - i)));
  return out;
}
constexpr uint64_t macFromBytes(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = v << 8 | p[i];
  return v;
}

static_assert(memberMac(Address{0x6c87e3ee02}, 0x67efb704a1f746f2) == 0xf22a7042eab5ULL);
static_assert(memberMac(Address{0x1233366eb5}, 0x315595f4f8c0ffee) == 0xeeedf3ce9a20ULL);

}  // namespace zt
