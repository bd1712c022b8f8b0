// How the controller assigns a member's addresses (vl2-config-controller.md §8.4): RFC 4193,
// 6PLANE, the member's recorded addresses that lie in a route, then IPv6 and IPv4 pool picks.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "address.hpp"
#include "controller/records.hpp"
#include "inet_address.hpp"

namespace zt {

// fd · network id · 99 93 · member address, /88.
InetAddress rfc4193Address(uint64_t networkId, Address member);
// fc · (nwid XOR nwid >> 32) as 32 bits · member address · 00×5 · 01, /40.
InetAddress sixPlaneAddress(uint64_t networkId, Address member);
// Whether `ip` lies in `network` (same family, its first network.port bits equal).
bool inNetwork(const InetAddress& network, const InetAddress& ip);

struct AddressAssignment {
  std::vector<InetAddress> addresses;  // the config's `I`, in order, port = prefix length
  std::vector<InetAddress> picked;     // new pool picks (port 0), to append to `ipAssignments`
  bool ndpEmulation = false;           // an RFC 4193 or 6PLANE address was given (flag 0x04)
};

// `allocated`: every address recorded for the network's other members (authorised or not).
// `random` draws the IPv6 pool candidates.
AddressAssignment assignAddresses(const NetworkRecord& network, const MemberRecord& member,
                                  const std::vector<InetAddress>& allocated, const std::function<uint64_t()>& random);

}  // namespace zt
