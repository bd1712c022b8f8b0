#include "vl1/topology.hpp"

namespace zt::vl1 {

Peer* Topology::findAndRemember(Address a) const {
  auto it = peers_.find(a);
  if (it == peers_.end()) return nullptr;  // misses are not remembered: add() needs no invalidation
  recent_[a.value % recent_.size()] = {a, it->second.get()};
  return it->second.get();
}

Peer* Topology::add(const Identity& identity) {
  if (Peer* existing = find(identity.address()))
    return existing->identity() == identity ? existing : nullptr;
  if (identity.address() == self_.address()) return nullptr;
  std::optional<SymmetricKey> key = self_.agree(identity);
  if (!key) return nullptr;
  auto peer = std::make_unique<Peer>(identity, *key);
  Peer* raw = peer.get();
  peers_.emplace(identity.address(), std::move(peer));
  return raw;
}

void Topology::setPlanet(World planet) {
  planet_ = std::move(planet);
  rebuildRoots();
}

void Topology::setMoon(World moon) {
  uint64_t id = moon.id;
  moons_[id] = std::move(moon);
  rebuildRoots();
}

void Topology::removeMoon(uint64_t id) {
  moons_.erase(id);
  rebuildRoots();
}

void Topology::rebuildRoots() {
  ++rootsGeneration_;
  roots_.clear();
  auto addFrom = [&](const World& w, PeerRole role) {
    for (const World::Root& r : w.roots) {
      if (r.identity.address() == self_.address() || root(r.identity.address())) continue;
      roots_.push_back({r.identity, r.stableEndpoints, role});
      add(r.identity);  // roots are always known peers
    }
  };
  addFrom(planet_, PeerRole::Planet);
  for (const auto& [id, moon] : moons_) addFrom(moon, PeerRole::Moon);
}

const RootEntry* Topology::root(Address a) const {
  for (const RootEntry& r : roots_)
    if (r.identity.address() == a) return &r;
  return nullptr;
}

PeerRole Topology::roleOf(Address a) const {
  const RootEntry* r = root(a);
  return r ? r->role : PeerRole::Leaf;
}

Peer* Topology::bestRoot(int64_t now) {
  Peer* best = nullptr;
  int64_t bestLatency = 0;
  for (const RootEntry& r : roots_) {
    Peer* p = find(r.identity.address());
    if (!p || !p->bestPath(now)) continue;
    int64_t latency = p->latency < 0 ? INT64_MAX : p->latency;
    if (!best || latency < bestLatency) best = p, bestLatency = latency;
  }
  if (best) return best;
  for (const RootEntry& r : roots_)
    if (Peer* p = find(r.identity.address()); p && p->anyPath(now)) return p;
  return nullptr;
}

bool Topology::identityValid(const Identity& identity) {
  auto key = std::make_pair(identity.address().value, identity.publicKey());
  auto it = verdicts_.find(key);
  if (it != verdicts_.end()) return it->second;
  if (verdicts_.size() >= 4096) verdicts_.clear();
  bool valid = identity.validate();
  verdicts_.emplace(key, valid);
  return valid;
}

}  // namespace zt::vl1
