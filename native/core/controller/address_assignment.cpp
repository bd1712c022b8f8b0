#include "controller/address_assignment.hpp"

#include <algorithm>

namespace zt {
namespace {

using Family = InetAddress::Family;

constexpr size_t kMaxPoolTries = 1000;

uint32_t v4Value(const InetAddress& a) { return uint32_t(loadU64(a.ip.data()) >> 32); }

InetAddress v4FromValue(uint32_t v) {
  return InetAddress::v4({uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}, 0);
}

struct V6Halves {
  uint64_t hi = 0, lo = 0;
};
V6Halves halvesOf(const InetAddress& a) { return {loadU64(a.ip.data()), loadU64(a.ip.data() + 8)}; }

InetAddress v6FromHalves(V6Halves h) {
  std::array<uint8_t, 16> ip{};
  storeU64(ip.data(), h.hi);
  storeU64(ip.data() + 8, h.lo);
  return InetAddress::v6(ip, 0);
}

bool contains(const std::vector<InetAddress>& list, const InetAddress& ip) {
  return std::any_of(list.begin(), list.end(), [&](const InetAddress& a) { return a.sameIp(ip); });
}

// `from + (random mod (to - from))`, or `from` when they are equal (the §8.4 IPv6 draw).
uint64_t drawBetween(uint64_t from, uint64_t to, const std::function<uint64_t()>& random) {
  return to == from ? from : from + random() % (to - from);
}

class Picker {
 public:
  Picker(const NetworkRecord& network, const MemberRecord& member, const std::vector<InetAddress>& allocated)
      : network_(network), member_(member), allocated_(allocated) {}

  bool free(const InetAddress& ip) const { return !contains(allocated_, ip) && !contains(member_.ipAssignments, ip); }

  // Prefix length for an IPv6 pool candidate: the last on-link IPv6 route containing it.
  unsigned v6Prefix(const InetAddress& ip) const {
    unsigned bits = 0;
    for (const Route& r : network_.routes)
      if (r.via.empty() && inNetwork(r.target, ip)) bits = r.target.port;
    return bits;
  }
  // Prefix length for an IPv4 pool candidate: the first IPv4 route containing it.
  unsigned v4Prefix(const InetAddress& ip) const {
    for (const Route& r : network_.routes)
      if (inNetwork(r.target, ip)) return r.target.port;
    return 0;
  }

  std::optional<InetAddress> pickV6(Address memberAddress, const std::function<uint64_t()>& random) const {
    for (const IpPool& pool : network_.pools) {
      if (pool.start.family != Family::V6) continue;
      V6Halves start = halvesOf(pool.start), end = halvesOf(pool.end);
      for (size_t attempt = 0; attempt < kMaxPoolTries; ++attempt) {
        V6Halves candidate;
        if (attempt == 0 && end.lo > start.lo && end.lo - start.lo >= (uint64_t(1) << 40) - 1) {
          candidate = {start.hi, start.lo + memberAddress.value};
        } else {
          candidate = {drawBetween(start.hi, end.hi, random), drawBetween(start.lo, end.lo, random)};
        }
        InetAddress ip = v6FromHalves(candidate);
        unsigned bits = v6Prefix(ip);
        if (bits != 0 && free(ip)) return ip;
      }
    }
    return std::nullopt;
  }

  std::optional<InetAddress> pickV4(Address memberAddress) const {
    for (const IpPool& pool : network_.pools) {
      if (pool.start.family != Family::V4) continue;
      uint32_t start = v4Value(pool.start), end = v4Value(pool.end);
      if (end < start || start == 0) continue;
      uint32_t span = end - start;
      uint32_t counter = uint32_t(memberAddress.value);
      size_t tries = std::min<uint64_t>(uint64_t(span) + 1, kMaxPoolTries);
      for (size_t t = 0; t < tries; ++t, ++counter) {
        uint32_t value = span == 0 ? start : start + counter % span;
        if ((value & 0xff) == 0xff) continue;
        InetAddress ip = v4FromValue(value);
        if (v4Prefix(ip) != 0 && free(ip)) return ip;
      }
    }
    return std::nullopt;
  }

 private:
  const NetworkRecord& network_;
  const MemberRecord& member_;
  const std::vector<InetAddress>& allocated_;
};

InetAddress withPrefix(InetAddress ip, unsigned bits) {
  ip.port = uint16_t(bits);
  return ip;
}

}  // namespace

InetAddress rfc4193Address(uint64_t networkId, Address member) {
  std::array<uint8_t, 16> ip{0xfd};
  storeU64(ip.data() + 1, networkId);
  ip[9] = 0x99;
  ip[10] = 0x93;
  storeU40(ip.data() + 11, member.value);
  return InetAddress::v6(ip, 88);
}

InetAddress sixPlaneAddress(uint64_t networkId, Address member) {
  uint32_t folded = uint32_t(networkId ^ (networkId >> 32));
  std::array<uint8_t, 16> ip{0xfc, uint8_t(folded >> 24), uint8_t(folded >> 16), uint8_t(folded >> 8), uint8_t(folded)};
  storeU40(ip.data() + 5, member.value);
  ip[15] = 0x01;
  return InetAddress::v6(ip, 40);
}

bool inNetwork(const InetAddress& network, const InetAddress& ip) {
  if (network.family != ip.family || ip.empty()) return false;
  unsigned bits = std::min<unsigned>(network.port, unsigned(ip.ipLength() * 8));
  size_t whole = bits / 8;
  if (!std::equal(ip.ip.begin(), ip.ip.begin() + whole, network.ip.begin())) return false;
  if (bits % 8 == 0) return true;
  uint8_t mask = uint8_t(0xff << (8 - bits % 8));
  return (ip.ip[whole] & mask) == (network.ip[whole] & mask);
}

AddressAssignment assignAddresses(const NetworkRecord& network, const MemberRecord& member,
                                  const std::vector<InetAddress>& allocated, const std::function<uint64_t()>& random) {
  AddressAssignment out;
  bool automatic = !member.noAutoAssignIps;
  if (automatic && network.v6Rfc4193) out.addresses.push_back(rfc4193Address(network.id, member.address));
  if (automatic && network.v6SixPlane) out.addresses.push_back(sixPlaneAddress(network.id, member.address));
  out.ndpEmulation = !out.addresses.empty();

  bool haveV4 = false, haveV6 = false;
  for (const InetAddress& ip : member.ipAssignments) {
    unsigned bits = 0;
    bool routed = false;
    for (const Route& r : network.routes)
      if (inNetwork(r.target, ip)) {
        routed = true;
        bits = std::max<unsigned>(bits, r.target.port);
      }
    if (!routed) continue;
    out.addresses.push_back(withPrefix(ip, bits));
    (ip.family == Family::V4 ? haveV4 : haveV6) = true;
  }

  Picker picker(network, member, allocated);
  if (automatic && network.v6Zt && !haveV6)
    if (auto ip = picker.pickV6(member.address, random)) {
      out.picked.push_back(*ip);
      out.addresses.push_back(withPrefix(*ip, picker.v6Prefix(*ip)));
    }
  if (automatic && network.v4Zt && !haveV4)
    if (auto ip = picker.pickV4(member.address)) {
      out.picked.push_back(*ip);
      out.addresses.push_back(withPrefix(*ip, picker.v4Prefix(*ip)));
    }
  return out;
}

}  // namespace zt
