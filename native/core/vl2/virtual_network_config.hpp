// What the host learns about a joined network (vl2-frames-multicast-rules.md §6.1): the struct
// passed with NodeHost::virtualNetworkConfig and returned by Node::networkConfig.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inet_address.hpp"
#include "vl2/netconf.hpp"
#include "wire/codec_util.hpp"

namespace zt {

enum class VirtualNetworkConfigOperation : uint8_t { Up = 1, ConfigUpdate = 2, Down = 3, Destroy = 4 };

enum class VirtualNetworkStatus : uint8_t {
  RequestingConfiguration = 0, Ok = 1, AccessDenied = 2, NotFound = 3, PortError = 4, ClientTooOld = 5,
  AuthenticationRequired = 6,
};
const char* virtualNetworkStatusName(VirtualNetworkStatus s);  // "REQUESTING_CONFIGURATION", …

struct VirtualNetworkConfig {
  uint64_t networkId = 0;
  uint64_t mac = 0;  // 48-bit, the member MAC derived from our address
  std::string name;
  VirtualNetworkStatus status = VirtualNetworkStatus::RequestingConfiguration;
  NetworkType type = NetworkType::Private;
  unsigned mtu = NetworkConfig::kDefaultMtu;
  bool dhcp = false;  // always false (1.14)
  bool bridge = false;  // we are an active bridge
  bool broadcastEnabled = false;
  int portError = 0;
  uint64_t netconfRevision = 0;
  std::vector<InetAddress> assignedAddresses;  // port = prefix length
  std::vector<Route> routes;
  std::vector<wire::MulticastGroup> multicastSubscriptions;  // our own groups
  DnsConfig dns;
  bool operator==(const VirtualNetworkConfig&) const = default;
};

// The shape of 1.14's `listnetworks -j` entries: id, mac "xx:…", name, status name, type, mtu,
// dhcp, bridge, broadcastEnabled, portError, netconfRevision, assignedAddresses "ip/bits",
// routes {target, via|null, flags, metric}, multicastSubscriptions {mac, adi}, dns.
nlohmann::json virtualNetworkConfigToJson(const VirtualNetworkConfig& config);

}  // namespace zt
