// The JSON views of a Node's peers and counters, shared by the addon and the data plane's status.
#pragma once
#include <nlohmann/json.hpp>

#include "node.hpp"

namespace zt {

// {address, protocolVersion, version "x.y.z"|null, latency, role "LEAF"|"MOON"|"PLANET", direct
// (a path is alive), paths [{localSocket, remote, lastSend, lastReceive, preferred, alive}]}
nlohmann::json peerInfoToJson(const PeerInfo& peer);

// {dropped {reason: count}, packetsReceived, packetsSent, packetsRelayed, echoRepliesReceived, whoisAnswered}
nlohmann::json countersToJson(const Counters& counters);

}  // namespace zt
