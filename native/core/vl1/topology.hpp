// The peers a node knows and the roots it trusts (from its planet and orbited moons), plus a
// cache of identity proof-of-work verdicts (each check costs a 2 MiB memory-hard hash).
#pragma once
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "node.hpp"
#include "vl1/peer.hpp"
#include "vl1/world.hpp"

namespace zt::vl1 {

struct RootEntry {
  Identity identity;
  std::vector<InetAddress> stableEndpoints;
  PeerRole role = PeerRole::Planet;
};

class Topology {
 public:
  explicit Topology(const Identity& self) : self_(self) {}

  // Every packet sent or received looks its peer up, and a hash map bucket costs a division:
  // the last few found are remembered (by their address's low bits).
  Peer* find(Address a) const {
    const Recent& recent = recent_[a.value % recent_.size()];
    return recent.peer && recent.address == a ? recent.peer : findAndRemember(a);
  }
  // Adds a peer for identity (agreeing the key once); returns the existing one if the same
  // identity is known; nullptr if the key cannot be agreed or a different identity holds the
  // address.
  Peer* add(const Identity& identity);
  void remove(Address a) { forget([a](const Peer& p) { return p.address() == a; }); }
  // Removes the peers for which drop(peer) is true.
  template <class Predicate>
  void forget(Predicate drop) {
    recent_.fill({});
    std::erase_if(peers_, [&](const auto& entry) { return drop(*entry.second); });
  }
  const std::unordered_map<Address, std::unique_ptr<Peer>>& peers() const { return peers_; }

  const World& planet() const { return planet_; }
  const std::map<uint64_t, World>& moons() const { return moons_; }
  void setPlanet(World planet);
  void setMoon(World moon);
  void removeMoon(uint64_t id);

  const std::vector<RootEntry>& roots() const { return roots_; }
  // Changes whenever the set of roots may have (so what was derived from it can be redone).
  uint64_t rootsGeneration() const { return rootsGeneration_; }
  const RootEntry* root(Address a) const;
  bool isRoot(Address a) const { return root(a) != nullptr; }
  PeerRole roleOf(Address a) const;
  // The root peer with a live path and the lowest latency; else any root peer with a path.
  Peer* bestRoot(int64_t now);

  // Proof of work verdict for identity, computed once per public key.
  bool identityValid(const Identity& identity);

 private:
  void rebuildRoots();
  Peer* findAndRemember(Address a) const;

  Identity self_;
  std::unordered_map<Address, std::unique_ptr<Peer>> peers_;
  struct Recent {
    Address address;
    Peer* peer = nullptr;
  };
  mutable std::array<Recent, 8> recent_{};
  World planet_;
  std::map<uint64_t, World> moons_;
  std::vector<RootEntry> roots_;
  uint64_t rootsGeneration_ = 0;
  std::map<std::pair<uint64_t, PublicKey>, bool> verdicts_;  // (address, key)
};

}  // namespace zt::vl1
