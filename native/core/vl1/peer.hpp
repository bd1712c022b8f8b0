// What a node knows about one other node (vl1-peers-worlds-api.md section 1): its identity, the
// cipher built once from the agreed key, announced versions, up to 16 paths and a replay window.
#pragma once
#include <array>
#include <optional>
#include <span>

#include "crypto/armor.hpp"
#include "crypto/identity.hpp"
#include "vl1/path.hpp"

namespace zt::vl1 {

constexpr size_t kMaxPaths = 16;
constexpr int kAesMinProtocolVersion = 12;

// Remembers the last packet ids received from one peer so an exact duplicate is dropped.
class ReplayWindow {
 public:
  // True if id is new (and remembers it), false for a replay.
  bool accept(uint64_t id);

 private:
  std::array<uint64_t, 64> ids_{};
  size_t next_ = 0;
};

class Peer {
 public:
  Peer(const Identity& identity, const SymmetricKey& key);

  const Identity& identity() const { return identity_; }
  Address address() const { return identity_.address(); }
  PeerCipher& cipher() { return cipher_; }
  // Suite 3 once the peer announced protocol 12 or more, suite 1 before that (never HELLO).
  Cipher sendCipher() const {
    return protocolVersion_ >= kAesMinProtocolVersion ? Cipher::AesGmacSiv : Cipher::Salsa2012Poly1305;
  }

  void setVersions(int protocol, int major, int minor, int revision);
  int protocolVersion() const { return protocolVersion_; }
  std::array<int, 3> softwareVersion() const { return {major_, minor_, revision_}; }
  bool versionKnown() const { return protocolVersion_ >= 0; }

  // Refreshes the path (adding it, evicting the least recently heard one when full).
  Path& received(int64_t now, int64_t localSocket, const InetAddress& remote);
  // Adds a path known from elsewhere (the peer cache) without marking it heard from.
  void remember(int64_t localSocket, const InetAddress& remote);
  Path* findPath(int64_t localSocket, const InetAddress& remote);
  // The alive path with the latest receive, ties broken by lower latency; nullptr if none.
  Path* bestPath(int64_t now);
  // The best alive path, else the most recently heard remembered one.
  Path* anyPath(int64_t now);
  std::span<Path> paths() { return {paths_.data(), pathCount_}; }
  std::span<const Path> paths() const { return {paths_.data(), pathCount_}; }
  void forgetExpiredPaths(int64_t now);

  ReplayWindow& replay() { return replay_; }

  int64_t lastReceive = 0;    // any authenticated packet, direct or relayed
  int64_t lastHelloSent = 0;  // last full HELLO
  int64_t latency = -1;

 private:
  Path& slotFor(int64_t localSocket, const InetAddress& remote);

  Identity identity_;
  PeerCipher cipher_;
  int protocolVersion_ = -1, major_ = -1, minor_ = -1, revision_ = -1;
  std::array<Path, kMaxPaths> paths_{};
  size_t pathCount_ = 0;
  ReplayWindow replay_;
};

}  // namespace zt::vl1
