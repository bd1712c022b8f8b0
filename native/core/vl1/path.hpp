// A physical path to a peer: (local socket, remote IP:port) with its send/receive times.
#pragma once
#include <cstdint>

#include "inet_address.hpp"
#include "vl1/timing.hpp"

namespace zt::vl1 {

struct Path {
  int64_t localSocket = -1;
  InetAddress remote;
  int64_t lastReceive = 0;  // last authenticated packet that arrived on it
  int64_t lastSend = 0;
  int64_t latency = -1;     // from OK(HELLO)/OK(ECHO) that arrived on it directly

  bool is(int64_t socket, const InetAddress& addr) const {
    return localSocket == socket && remote == addr;
  }
  bool alive(int64_t now) const { return lastReceive > 0 && now - lastReceive < kPathAliveTimeout; }
  bool expired(int64_t now) const { return now - lastReceive >= kPathExpiry; }
  bool needsKeepalive(int64_t now) const { return now - lastSend >= kHeartbeatPeriod; }
};

}  // namespace zt::vl1
