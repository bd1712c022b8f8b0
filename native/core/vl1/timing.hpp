// VL1 timing constants of 1.14 (vl1-peers-worlds-api.md sections 2-3, vl1-packets.md 7.4).
#pragma once
#include <cstdint>

namespace zt::vl1 {

constexpr int64_t kHeartbeatPeriod = 14000;                        // keepalive when idle this long
constexpr int64_t kPathAliveTimeout = kHeartbeatPeriod + 5000;     // 19,000
constexpr int64_t kPingPeriod = 60000;                             // full HELLO at least this often
constexpr int64_t kPathExpiry = 4 * kPingPeriod + 3000;            // 243,000: forget the path
constexpr int64_t kPingCheckInterval = 5000;                       // background step
constexpr int64_t kHousekeepingInterval = 30000;
constexpr int64_t kRootHelloInterval = kHeartbeatPeriod * 16;      // roots with live paths
constexpr int64_t kWhoisRetryInterval = 500;
constexpr int64_t kWhoisGiveUp = 5000;
constexpr int64_t kReassemblyTimeout = 5000;
constexpr int64_t kExpectedReplyWindow = 60000;                    // OK/ERROR must come within this
constexpr int64_t kRendezvousInterval = 10000;                     // per relayed pair, at a root
constexpr int64_t kPeerExpiry = 10 * kPingPeriod;                  // forget idle non-root peers
constexpr int64_t kHintHelloInterval = 5000;                       // per endpoint, for hints

}  // namespace zt::vl1
