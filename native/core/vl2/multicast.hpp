// Multicast state of one network (vl2-frames-multicast-rules.md §3): who subscribes to which
// group (learned from LIKE, OK(GATHER) and OK(MULTICAST_FRAME)), when we last gathered a group,
// and the multicasts kept for 5 s so newly learned subscribers still get them.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "address.hpp"
#include "util/bytes.hpp"
#include "wire/codec_util.hpp"

namespace zt {

using wire::MulticastGroup;

struct MulticastGroupLess {
  bool operator()(const MulticastGroup& a, const MulticastGroup& b) const {
    return a.mac != b.mac ? a.mac < b.mac : a.adi < b.adi;
  }
};

// The address-resolution group of an IPv4 address (§3.2).
inline MulticastGroup arpGroup(const uint8_t ipv4[4]) {
  return {0xffffffffffffULL, uint32_t(ipv4[0]) << 24 | uint32_t(ipv4[1]) << 16 | uint32_t(ipv4[2]) << 8 | ipv4[3]};
}
// The solicited-node group of an IPv6 address (§3.2).
inline MulticastGroup solicitedNodeGroup(const uint8_t ipv6[16]) {
  return {0x3333ff000000ULL | uint64_t(ipv6[13]) << 16 | uint64_t(ipv6[14]) << 8 | ipv6[15], 0};
}

// A multicast waiting for more subscribers (§3.5 step 3).
struct QueuedMulticast {
  MulticastGroup group;
  uint64_t sourceMac = 0;
  uint16_t etherType = 0;
  Bytes payload;
  unsigned limit = 0;           // recipients it may reach in all
  Address origin;               // never sent back to it
  std::vector<Address> sentTo;  // who already had it
  int64_t expires = 0;
};

class MulticastState {
 public:
  static constexpr int64_t kSubscriptionTimeout = 600000;
  static constexpr int64_t kQueueTimeout = 5000;
  static constexpr size_t kMaxQueuedPerGroup = 32;
  static constexpr int64_t kGatherInterval = 60000;

  // Records a subscriber (refreshing its 600 s lifetime).
  void learn(int64_t now, const MulticastGroup& group, Address member);
  std::vector<Address> subscribers(const MulticastGroup& group) const;
  size_t subscriberCount(const MulticastGroup& group) const;

  // Explicit gathers: due when nobody is known or the last one is 60 s old.
  bool gatherDue(int64_t now, const MulticastGroup& group, bool noneKnown) const;
  void gathered(int64_t now, const MulticastGroup& group) { lastGather_[group] = now; }

  QueuedMulticast& enqueue(QueuedMulticast m);
  // Queued multicasts of a group that `member` has not had and that may still reach someone.
  std::vector<QueuedMulticast*> pendingFor(const MulticastGroup& group, Address member);

  void expire(int64_t now);

 private:
  std::map<MulticastGroup, std::map<Address, int64_t>, MulticastGroupLess> subscribers_;
  std::map<MulticastGroup, int64_t, MulticastGroupLess> lastGather_;
  std::deque<QueuedMulticast> queue_;
};

// The answer to a gather for `limit` addresses (§3.4): us first if we subscribe, then known
// subscribers in random order, never the asker (who still counts in the total).
wire::GatherResults gatherResults(const MulticastState& state, const MulticastGroup& group, Address asker,
                                  uint32_t limit, Address self, bool selfSubscribes);

}  // namespace zt
