#include "vl1/peer.hpp"

#include <algorithm>
#include <cstring>

namespace zt::vl1 {

namespace {

// Whether id is among ids (a multiple of four), compared as vectors of four with no early exit.
[[gnu::always_inline]] inline bool contains(const uint64_t* ids, size_t count, uint64_t id) {
  using Lanes = uint64_t __attribute__((vector_size(32)));
  const Lanes probe = Lanes{} + id;
  Lanes hits{};
  for (size_t i = 0; i < count; i += 4) {
    Lanes known;
    std::memcpy(&known, ids + i, sizeof known);
    hits |= known == probe;
  }
  return (hits[0] | hits[1] | hits[2] | hits[3]) != 0;
}

// With AVX2 that is 16 compares; the x86-64 baseline has no 64-bit vector compare.
[[gnu::target("avx2")]] bool containsAvx2(const uint64_t* ids, size_t count, uint64_t id) {
  return contains(ids, count, id);
}
bool containsBaseline(const uint64_t* ids, size_t count, uint64_t id) { return contains(ids, count, id); }

}  // namespace

// Every received packet passes here.
bool ReplayWindow::accept(uint64_t id) {
  static const auto seen = __builtin_cpu_supports("avx2") ? containsAvx2 : containsBaseline;
  static_assert(std::tuple_size_v<decltype(ids_)> % 4 == 0);
  if (seen(ids_.data(), ids_.size(), id)) return false;
  ids_[next_] = id;
  next_ = (next_ + 1) % ids_.size();
  return true;
}

Peer::Peer(const Identity& identity, const SymmetricKey& key) : identity_(identity.publicOnly()), cipher_(key) {}

void Peer::setVersions(int protocol, int major, int minor, int revision) {
  protocolVersion_ = protocol;
  major_ = major;
  minor_ = minor;
  revision_ = revision;
}

Path* Peer::findPath(int64_t localSocket, const InetAddress& remote) {
  for (Path& p : paths())
    if (p.is(localSocket, remote)) return &p;
  return nullptr;
}

Path& Peer::slotFor(int64_t localSocket, const InetAddress& remote) {
  if (Path* existing = findPath(localSocket, remote)) return *existing;
  Path* path = pathCount_ < kMaxPaths
                   ? &paths_[pathCount_++]
                   : &*std::min_element(paths_.begin(), paths_.end(),
                                        [](const Path& a, const Path& b) { return a.lastReceive < b.lastReceive; });
  *path = Path{localSocket, remote};
  return *path;
}

Path& Peer::received(int64_t now, int64_t localSocket, const InetAddress& remote) {
  Path& path = slotFor(localSocket, remote);
  path.lastReceive = now;
  return path;
}

void Peer::remember(int64_t localSocket, const InetAddress& remote) { slotFor(localSocket, remote); }

static bool better(const Path& a, const Path& b) {
  if (a.lastReceive / 1000 != b.lastReceive / 1000) return a.lastReceive > b.lastReceive;
  if (a.latency >= 0 && (b.latency < 0 || a.latency < b.latency)) return true;
  return false;
}

Path* Peer::bestPath(int64_t now) {
  Path* best = nullptr;
  for (Path& p : paths())
    if (p.alive(now) && (!best || better(p, *best))) best = &p;
  return best;
}

Path* Peer::anyPath(int64_t now) {
  if (Path* p = bestPath(now)) return p;
  Path* best = nullptr;
  for (Path& p : paths())
    if (!best || p.lastReceive > best->lastReceive) best = &p;
  return best;
}

void Peer::forgetExpiredPaths(int64_t now) {
  auto end = std::remove_if(paths_.begin(), paths_.begin() + pathCount_,
                            [now](const Path& p) { return p.expired(now); });
  pathCount_ = size_t(end - paths_.begin());
}

}  // namespace zt::vl1
