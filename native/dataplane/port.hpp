// One network's port in a pod: its TAP device and what of the network's config was applied to it
// (so that an update only removes what went stale and adds what is new), plus its counters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/netlink.hpp"
#include "io/tap.hpp"
#include "vl2/multicast.hpp"
#include "vl2/virtual_network_config.hpp"

namespace zt::dataplane {

class Pod;
class Port;

// What an epoll event stands for; `live` turns false when the fd is closed, so an event already
// fetched in the same epoll_wait batch is skipped.
struct Source {
  enum class Kind : uint8_t { Wake, Socket, Tap } kind;
  Pod* pod = nullptr;
  Port* port = nullptr;
  bool live = true;
};

struct PortCounters {
  uint64_t packetsIn = 0, bytesIn = 0;    // frames from the network written towards the TAP
  uint64_t packetsOut = 0, bytesOut = 0;  // frames read from the TAP (after segmentation) into the network
  uint64_t tapReads = 0, tapWrites = 0;   // system calls: fewer than packets when offloads merge frames
  uint64_t offloadDrops = 0;              // TAP frames segmentFrame refused
  uint64_t tapWriteErrors = 0;            // frames the TAP did not take (queue full, device gone)
  nlohmann::json toJson() const;
};

// A route as applied: target prefix and gateway (family None: on-link).
struct AppliedRoute {
  io::IpPrefix target;
  InetAddress via;
};

class Port {
 public:
  Port(Pod& pod, uint64_t networkId);
  uint64_t networkId() const { return networkId_; }
  bool hasTap() const { return tap_.fd.valid(); }
  int fd() const { return tap_.fd.get(); }
  const std::string& interfaceName() const { return tap_.name; }
  size_t mtu() const { return mtu_; }
  Source& source() { return source_; }

  // Brings the TAP in line with an OK config: creates it (inside netnsPath) the first time, then
  // sets MAC, MTU and up, and diffs addresses and routes against what was applied. Returns ""
  // or what failed, naming the network and the interface; what succeeded stays applied.
  std::string apply(const VirtualNetworkConfig& config, const std::string& netnsPath, io::Rtnl& rtnl);
  // Closes the TAP: the kernel deletes the device and its addresses and routes with it.
  void close();

  // The multicast groups the pod's kernel answers address resolution on (ARP for each IPv4,
  // solicited-node for each IPv6 address), for the node to subscribe to.
  const std::vector<MulticastGroup>& wantedGroups() const { return wantedGroups_; }
  std::vector<MulticastGroup>& subscribedGroups() { return subscribedGroups_; }

  // "network <id> interface <name>: <what>: <error>".
  std::string failure(const std::string& what, const std::string& error) const;

  PortCounters counters;

 private:
  std::string applyLink(const VirtualNetworkConfig& config, io::Rtnl& rtnl);
  std::string removeStale(const std::vector<io::IpPrefix>& addresses, const std::vector<AppliedRoute>& routes,
                          io::Rtnl& rtnl);
  std::string addMissing(const std::vector<io::IpPrefix>& addresses, const std::vector<AppliedRoute>& routes,
                         io::Rtnl& rtnl);

  uint64_t networkId_;
  io::TapDevice tap_;
  size_t mtu_ = 0;
  std::vector<io::IpPrefix> addresses_;
  std::vector<AppliedRoute> routes_;
  std::vector<MulticastGroup> wantedGroups_, subscribedGroups_;
  Source source_;
};

// What the dataplane applies for a config: its assigned addresses, and its managed routes minus
// the subnets the kernel adds for those addresses itself, routes through one of our own addresses
// (we are that gateway) and default routes (as ZeroTier One without allowDefault).
std::vector<io::IpPrefix> addressesOf(const VirtualNetworkConfig& config);
std::vector<AppliedRoute> routesOf(const VirtualNetworkConfig& config);

}  // namespace zt::dataplane
