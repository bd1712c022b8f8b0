// IPv6 NDP emulation (vl2-frames-multicast-rules.md §4): a neighbour solicitation for an RFC 4193
// or 6PLANE address names its owner in the address itself, so the node answers it locally.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "address.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"

namespace zt {

constexpr size_t kNeighborAdvertisementLength = 72;

struct EmulatedNeighbor {
  Address owner;  // the member the target address belongs to (its MAC is the answer)
  std::array<uint8_t, kNeighborAdvertisementLength> advertisement{};  // IPv6 payload for the host
};

// For a host frame to a multicast (not broadcast) MAC: if it is a neighbour solicitation whose
// target lies in one of our RFC 4193 /88 or 6PLANE /40 prefixes and belongs to another member,
// the solicited advertisement to hand back (source MAC = the owner's, destination = the
// solicitation's source). `assigned` are our config's addresses in config order.
std::optional<EmulatedNeighbor> emulateNeighborSolicitation(uint64_t networkId, Address self,
                                                            std::span<const InetAddress> assigned,
                                                            uint16_t etherType, ByteView payload);

// The 6PLANE hash H = (N ^ (N >> 32)) & 0xffffffff.
constexpr uint32_t sixPlaneHash(uint64_t networkId) { return uint32_t((networkId ^ (networkId >> 32)) & 0xffffffff); }

}  // namespace zt
