#include "node_json.hpp"

#include <string>

namespace zt {

using nlohmann::json;

namespace {

const char* roleName(PeerRole role) {
  switch (role) {
    case PeerRole::Planet: return "PLANET";
    case PeerRole::Moon: return "MOON";
    case PeerRole::Leaf: break;
  }
  return "LEAF";
}

}  // namespace

json peerInfoToJson(const PeerInfo& p) {
  json paths = json::array();
  bool direct = false;
  for (const PathInfo& path : p.paths) {
    direct = direct || path.alive;
    paths.push_back({{"localSocket", path.localSocket}, {"remote", path.remote.toString()}, {"lastSend", path.lastSend},
                     {"lastReceive", path.lastReceive}, {"preferred", path.preferred}, {"alive", path.alive}});
  }
  json version = nullptr;
  if (p.versionMajor >= 0)
    version = std::to_string(p.versionMajor) + "." + std::to_string(p.versionMinor) + "." + std::to_string(p.versionRevision);
  return {{"address", p.address.toString()}, {"protocolVersion", p.protocolVersion}, {"version", version},
          {"latency", p.latency}, {"role", roleName(p.role)}, {"direct", direct}, {"paths", paths}};
}

json countersToJson(const Counters& c) {
  json dropped = json::object();
  for (size_t r = 0; r < size_t(DropReason::kCount); ++r) dropped[dropReasonName(DropReason(r))] = c.dropped[r];
  return {{"dropped", dropped},
          {"packetsReceived", c.packetsReceived},
          {"packetsSent", c.packetsSent},
          {"packetsRelayed", c.packetsRelayed},
          {"echoRepliesReceived", c.echoRepliesReceived},
          {"whoisAnswered", c.whoisAnswered}};
}

}  // namespace zt
