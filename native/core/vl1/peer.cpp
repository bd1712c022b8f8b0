#include "vl1/peer.hpp"

#include <algorithm>

namespace zt::vl1 {

bool ReplayWindow::accept(uint64_t id) {
  bool seen = false;  // no early exit: the compiler compares the whole window in vector registers
  for (uint64_t known : ids_) seen |= known == id;
  if (seen) return false;
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
