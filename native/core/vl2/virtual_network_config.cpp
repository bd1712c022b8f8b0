#include "vl2/virtual_network_config.hpp"

namespace zt {

namespace {

std::string withPrefix(const InetAddress& a) { return a.ipString() + "/" + std::to_string(a.port); }

}  // namespace

nlohmann::json virtualNetworkConfigToJson(const VirtualNetworkConfig& c) {
  nlohmann::json addresses = nlohmann::json::array(), routes = nlohmann::json::array(),
                 groups = nlohmann::json::array(), servers = nlohmann::json::array();
  for (const InetAddress& a : c.assignedAddresses) addresses.push_back(withPrefix(a));
  for (const Route& r : c.routes)
    routes.push_back({{"target", withPrefix(r.target)},
                      {"via", r.via.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.via.ipString())},
                      {"flags", r.flags},
                      {"metric", r.metric}});
  for (const wire::MulticastGroup& g : c.multicastSubscriptions) groups.push_back({{"mac", wire::macToString(g.mac)}, {"adi", g.adi}});
  for (const InetAddress& s : c.dns.servers) servers.push_back(s.ipString());
  return {{"id", wire::hex64(c.networkId)},
          {"mac", wire::macToString(c.mac)},
          {"name", c.name},
          {"status", virtualNetworkStatusName(c.status)},
          {"type", c.type == NetworkType::Public ? "PUBLIC" : "PRIVATE"},
          {"mtu", c.mtu},
          {"dhcp", c.dhcp},
          {"bridge", c.bridge},
          {"broadcastEnabled", c.broadcastEnabled},
          {"portError", c.portError},
          {"netconfRevision", c.netconfRevision},
          {"assignedAddresses", addresses},
          {"routes", routes},
          {"multicastSubscriptions", groups},
          {"dns", {{"domain", c.dns.domain}, {"servers", servers}}}};
}

}  // namespace zt
