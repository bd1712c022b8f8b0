#include "dataplane/port.hpp"

#include <algorithm>

#include "dataplane/dataplane.hpp"
#include "io/netns.hpp"
#include "vl2/mac.hpp"
#include "wire/codec_util.hpp"

namespace zt::dataplane {

namespace {

bool samePrefix(const io::IpPrefix& a, const io::IpPrefix& b) { return a.bits == b.bits && a.ip == b.ip; }
bool sameRoute(const AppliedRoute& a, const AppliedRoute& b) { return samePrefix(a.target, b.target) && a.via == b.via; }

// A config's "ip/bits" (the bits in the port field) as a prefix.
io::IpPrefix prefixOf(const InetAddress& a) {
  InetAddress ip = a;
  ip.port = 0;
  return {ip, a.port};
}

// The prefix with its host bits cleared (the kernel refuses route targets with host bits).
io::IpPrefix networkOf(io::IpPrefix p) {
  for (size_t i = 0; i < p.ip.ipLength(); ++i) {
    const size_t bitsBefore = i * 8;
    if (p.bits <= bitsBefore) p.ip.ip[i] = 0;
    else if (p.bits < bitsBefore + 8) p.ip.ip[i] &= uint8_t(0xff << (bitsBefore + 8 - p.bits));
  }
  return p;
}

template <class T, class Same>
bool contains(const std::vector<T>& list, const T& item, Same same) {
  return std::any_of(list.begin(), list.end(), [&](const T& x) { return same(x, item); });
}

std::string routeText(const AppliedRoute& r) {
  return r.target.toString() + (r.via.empty() ? "" : " via " + r.via.ipString());
}

MulticastGroup resolutionGroupOf(const io::IpPrefix& a) {
  return a.ip.family == InetAddress::Family::V4 ? arpGroup(a.ip.ip.data()) : solicitedNodeGroup(a.ip.ip.data());
}

}  // namespace

std::vector<io::IpPrefix> addressesOf(const VirtualNetworkConfig& config) {
  std::vector<io::IpPrefix> out;
  for (const InetAddress& a : config.assignedAddresses)
    if (a.family != InetAddress::Family::None) out.push_back(prefixOf(a));
  return out;
}

std::vector<AppliedRoute> routesOf(const VirtualNetworkConfig& config) {
  const std::vector<io::IpPrefix> addresses = addressesOf(config);
  std::vector<AppliedRoute> out;
  for (const Route& r : config.routes) {
    io::IpPrefix target = networkOf(prefixOf(r.target));
    if (target.ip.family == InetAddress::Family::None || target.bits == 0) continue;
    InetAddress via = r.via;
    via.port = 0;
    const bool kernelSubnet = via.empty() && std::any_of(addresses.begin(), addresses.end(), [&](const io::IpPrefix& a) {
      return samePrefix(networkOf(a), target);
    });
    const bool throughUs = !via.empty() && std::any_of(addresses.begin(), addresses.end(), [&](const io::IpPrefix& a) {
      return a.ip == via;
    });
    if (!kernelSubnet && !throughUs) out.push_back({target, via});
  }
  return out;
}

nlohmann::json PortCounters::toJson() const {
  return {{"packetsIn", packetsIn},       {"bytesIn", bytesIn},   {"packetsOut", packetsOut},
          {"bytesOut", bytesOut},         {"tapReads", tapReads}, {"tapWrites", tapWrites},
          {"offloadDrops", offloadDrops}, {"tapWriteErrors", tapWriteErrors}};
}

Port::Port(Pod& pod, uint64_t networkId)
    : networkId_(networkId), source_{Source::Kind::Tap, &pod, this} {}

std::string Port::failure(const std::string& what, const std::string& error) const {
  return "network " + wire::hex64(networkId_) + " interface " + interfaceNameOf(networkId_) + ": " + what + ": " +
         error;
}

std::string Port::apply(const VirtualNetworkConfig& config, const std::string& netnsPath, io::Rtnl& rtnl) {
  if (!hasTap()) {
    // Once per network: a short-lived thread enters the pod's namespace to create the device.
    const std::string name = interfaceNameOf(networkId_);
    Result<io::TapDevice> tap = io::inNetns<io::TapDevice>(
        netnsPath, [&]() -> Result<io::TapDevice> { return io::TapDevice::create(name, true); });
    if (!tap) return failure("create TAP", tap.error());
    tap_ = std::move(*tap);
    source_.live = true;
  }
  const std::vector<io::IpPrefix> addresses = addressesOf(config);
  wantedGroups_.clear();
  for (const io::IpPrefix& a : addresses) wantedGroups_.push_back(resolutionGroupOf(a));
  const std::vector<AppliedRoute> routes = routesOf(config);
  std::string error = applyLink(config, rtnl);
  if (error.empty()) error = removeStale(addresses, routes, rtnl);
  if (error.empty()) error = addMissing(addresses, routes, rtnl);
  return error;
}

std::string Port::applyLink(const VirtualNetworkConfig& config, io::Rtnl& rtnl) {
  Result<bool> set = rtnl.setLink(tap_.ifindex, macBytes(config.mac), config.mtu, true);
  if (!set) return failure("set MAC " + wire::macToString(config.mac) + " MTU " + std::to_string(config.mtu), set.error());
  mtu_ = config.mtu;
  return "";
}

// Stale routes go before stale addresses, new addresses before new routes (a gateway must be on
// a subnet of ours). The kernel itself drops gateway routes whose subnet went with an address;
// those are forgotten and re-added (adds replace, so a route still present is no error).
std::string Port::removeStale(const std::vector<io::IpPrefix>& addresses, const std::vector<AppliedRoute>& routes,
                              io::Rtnl& rtnl) {
  for (auto it = routes_.begin(); it != routes_.end();) {
    if (contains(routes, *it, sameRoute)) {
      ++it;
      continue;
    }
    if (Result<bool> removed = rtnl.removeRoute(tap_.ifindex, it->target, it->via); !removed)
      return failure("remove route " + routeText(*it), removed.error());
    it = routes_.erase(it);
  }
  for (auto it = addresses_.begin(); it != addresses_.end();) {
    if (contains(addresses, *it, samePrefix)) {
      ++it;
      continue;
    }
    if (Result<bool> removed = rtnl.removeAddress(tap_.ifindex, *it); !removed)
      return failure("remove address " + it->toString(), removed.error());
    it = addresses_.erase(it);
    std::erase_if(routes_, [](const AppliedRoute& r) { return !r.via.empty(); });
  }
  return "";
}

std::string Port::addMissing(const std::vector<io::IpPrefix>& addresses, const std::vector<AppliedRoute>& routes,
                             io::Rtnl& rtnl) {
  for (const io::IpPrefix& a : addresses) {
    if (contains(addresses_, a, samePrefix)) continue;
    if (Result<bool> added = rtnl.addAddress(tap_.ifindex, a); !added)
      return failure("add address " + a.toString(), added.error());
    addresses_.push_back(a);
  }
  for (const AppliedRoute& r : routes) {
    if (contains(routes_, r, sameRoute)) continue;
    if (Result<bool> added = rtnl.addRoute(tap_.ifindex, r.target, r.via); !added)
      return failure("add route " + routeText(r), added.error());
    routes_.push_back(r);
  }
  return "";
}

void Port::close() {
  tap_ = io::TapDevice{};
  addresses_.clear();
  routes_.clear();
  source_.live = false;
}

}  // namespace zt::dataplane
