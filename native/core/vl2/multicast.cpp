#include "vl2/multicast.hpp"

#include <algorithm>
#include <random>

#include "crypto/armor.hpp"
#include "wire/packet.hpp"

namespace zt {

void MulticastState::learn(int64_t now, const MulticastGroup& group, Address member) {
  subscribers_[group][member] = now;
}

std::vector<Address> MulticastState::subscribers(const MulticastGroup& group) const {
  std::vector<Address> out;
  if (auto it = subscribers_.find(group); it != subscribers_.end())
    for (const auto& [member, seen] : it->second) out.push_back(member);
  return out;
}

size_t MulticastState::subscriberCount(const MulticastGroup& group) const {
  auto it = subscribers_.find(group);
  return it == subscribers_.end() ? 0 : it->second.size();
}

bool MulticastState::gatherDue(int64_t now, const MulticastGroup& group, bool noneKnown) const {
  auto it = lastGather_.find(group);
  return noneKnown || it == lastGather_.end() || now - it->second >= kGatherInterval;
}

QueuedMulticast& MulticastState::enqueue(QueuedMulticast m) {
  const size_t sameGroup = size_t(std::count_if(queue_.begin(), queue_.end(),
                                                [&](const QueuedMulticast& q) { return q.group == m.group; }));
  if (sameGroup >= kMaxQueuedPerGroup) {
    auto oldest = std::find_if(queue_.begin(), queue_.end(), [&](const QueuedMulticast& q) { return q.group == m.group; });
    queue_.erase(oldest);
  }
  queue_.push_back(std::move(m));
  return queue_.back();
}

std::vector<QueuedMulticast*> MulticastState::pendingFor(const MulticastGroup& group, Address member) {
  std::vector<QueuedMulticast*> out;
  for (QueuedMulticast& q : queue_) {
    if (!(q.group == group) || q.origin == member || q.sentTo.size() >= q.limit) continue;
    if (std::find(q.sentTo.begin(), q.sentTo.end(), member) == q.sentTo.end()) out.push_back(&q);
  }
  return out;
}

void MulticastState::expire(int64_t now) {
  std::erase_if(queue_, [now](const QueuedMulticast& q) { return now >= q.expires; });
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    std::erase_if(it->second, [now](const auto& e) { return now - e.second >= kSubscriptionTimeout; });
    it = it->second.empty() ? subscribers_.erase(it) : std::next(it);
  }
}

namespace {
constexpr size_t kMaxGatherAddresses = (wire::kMaxPacketLength - wire::kPayloadOffset - 40) / 5;
}

wire::GatherResults gatherResults(const MulticastState& state, const MulticastGroup& group, Address asker,
                                  uint32_t limit, Address self, bool selfSubscribes) {
  wire::GatherResults results;
  const size_t cap = std::min<size_t>({limit, 65535, kMaxGatherAddresses});
  std::vector<Address> known = state.subscribers(group);
  results.totalKnown = uint32_t(known.size());
  if (selfSubscribes) {
    results.addresses.push_back(self);
    ++results.totalKnown;
  }
  std::shuffle(known.begin(), known.end(), std::mt19937_64(randomU64()));
  for (Address a : known) {
    if (results.addresses.size() >= cap) break;
    if (a != asker && a != self) results.addresses.push_back(a);
  }
  if (results.addresses.size() > cap) results.addresses.resize(cap);
  return results;
}

}  // namespace zt
