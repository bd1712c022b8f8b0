#include "vl2/ndp.hpp"

#include <algorithm>

#include "vl2/mac.hpp"

namespace zt {

namespace {

constexpr uint8_t kIcmpv6 = 58, kNeighborSolicitation = 135, kNeighborAdvertisement = 136;

bool isRfc4193(const InetAddress& a) {
  return a.family == InetAddress::Family::V6 && a.port == 88 && a.ip[0] == 0xfd && a.ip[9] == 0x99 && a.ip[10] == 0x93;
}

bool isSixPlane(const InetAddress& a, uint64_t networkId) {
  const uint32_t h = sixPlaneHash(networkId);
  return a.family == InetAddress::Family::V6 && a.port == 40 && a.ip[0] == 0xfc && loadU40(a.ip.data()) ==
         (uint64_t(0xfc) << 32 | h);
}

uint16_t icmpv6Checksum(const uint8_t* source, const uint8_t* destination, ByteView icmp) {
  uint32_t sum = 0;
  auto add = [&sum](const uint8_t* p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  };
  add(source, 16);
  add(destination, 16);
  sum += uint32_t(icmp.size());
  sum += kIcmpv6;
  add(icmp.data(), icmp.size());
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

}  // namespace

std::optional<EmulatedNeighbor> emulateNeighborSolicitation(uint64_t networkId, Address self,
                                                            std::span<const InetAddress> assigned,
                                                            uint16_t etherType, ByteView payload) {
  if (etherType != 0x86dd || payload.size() < 64 || payload[6] != kIcmpv6 || payload[40] != kNeighborSolicitation)
    return std::nullopt;
  const uint8_t* target = payload.data() + 48;
  for (const InetAddress& mine : assigned) {
    Address owner;
    if (isRfc4193(mine) && std::equal(target, target + 11, mine.ip.begin())) owner = Address{loadU40(target + 11)};
    else if (isSixPlane(mine, networkId) && std::equal(target, target + 5, mine.ip.begin())) owner = Address{loadU40(target + 5)};
    else continue;
    if (owner == self || owner.reserved()) return std::nullopt;
    EmulatedNeighbor answer{owner, {}};
    uint8_t* na = answer.advertisement.data();
    na[0] = 0x60;
    storeU16(na + 4, 32);
    na[6] = kIcmpv6;
    na[7] = 255;
    std::copy(target, target + 16, na + 8);
    std::copy(mine.ip.begin(), mine.ip.end(), na + 24);
    na[40] = kNeighborAdvertisement;
    na[44] = 0x60;
    std::copy(target, target + 16, na + 48);
    na[64] = 2;
    na[65] = 1;
    const std::array<uint8_t, 6> mac = macBytes(memberMac(owner, networkId));
    std::copy(mac.begin(), mac.end(), na + 66);
    storeU16(na + 42, icmpv6Checksum(na + 8, na + 24, ByteView(na + 40, 32)));
    return answer;
  }
  return std::nullopt;
}

}  // namespace zt
