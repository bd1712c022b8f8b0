#include "vl1/whois_queue.hpp"

#include <algorithm>
#include <limits>

namespace zt::vl1 {

bool WhoisQueue::pending(Address peer) const {
  return std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.peer == peer; });
}

bool WhoisQueue::ask(int64_t now, Address peer) {
  if (pending(peer)) return true;
  if (pending_.size() >= kMaxPending) return false;
  pending_.push_back({peer, now, 0});
  return true;
}

bool WhoisQueue::hold(int64_t now, HeldPacket packet) {
  if (held_.size() >= kMaxHeld || !ask(now, packet.peer)) return false;
  held_.push_back(std::move(packet));
  return true;
}

std::vector<Address> WhoisQueue::due(int64_t now, const std::function<void(const HeldPacket&)>& onExpired) {
  std::vector<Address> out;
  auto expired = [&](const Pending& p) { return now - p.firstAsked >= kWhoisGiveUp; };
  for (const Pending& p : pending_) {
    if (!expired(p)) continue;
    for (const HeldPacket& h : held_)
      if (h.peer == p.peer) onExpired(h);
    std::erase_if(held_, [&](const HeldPacket& h) { return h.peer == p.peer; });
  }
  std::erase_if(pending_, expired);
  for (Pending& p : pending_) {
    if (p.lastSent == 0 || now - p.lastSent >= kWhoisRetryInterval) {
      p.lastSent = now;
      out.push_back(p.peer);
    }
  }
  return out;
}

void WhoisQueue::retryNow() {
  for (Pending& p : pending_) p.lastSent = 0;
}

std::vector<HeldPacket> WhoisQueue::release(Address peer) {
  std::vector<HeldPacket> out;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->peer == peer) {
      out.push_back(std::move(*it));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(pending_, [&](const Pending& p) { return p.peer == peer; });
  return out;
}

int64_t WhoisQueue::nextDeadline() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const Pending& p : pending_) {
    int64_t retry = p.lastSent == 0 ? p.firstAsked : p.lastSent + kWhoisRetryInterval;
    next = std::min({next, retry, p.firstAsked + kWhoisGiveUp});
  }
  return next;
}

}  // namespace zt::vl1
