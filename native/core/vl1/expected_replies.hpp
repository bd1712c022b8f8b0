// Packet ids of our requests that expect an OK or ERROR (1.14 ignores OKs it did not ask for;
// so do we). Fixed-size table indexed by packet id: no allocation, old entries are overwritten.
#pragma once
#include <array>
#include <cstdint>

#include "vl1/timing.hpp"

namespace zt::vl1 {

class ExpectedReplies {
 public:
  void expect(uint64_t packetId, uint8_t verb, int64_t now) {
    slots_[packetId % slots_.size()] = {packetId, now, verb, true};
  }
  // True if packetId/verb is a recent request of ours, keeping it (replies that come in several
  // packets, such as config chunks).
  bool expecting(uint64_t packetId, uint8_t verb, int64_t now) const {
    const Slot& s = slots_[packetId % slots_.size()];
    return s.used && s.packetId == packetId && s.verb == verb && now - s.sentAt <= kExpectedReplyWindow;
  }
  // True (and forgets it) if packetId/verb is a recent request of ours.
  bool take(uint64_t packetId, uint8_t verb, int64_t now) {
    Slot& s = slots_[packetId % slots_.size()];
    if (!s.used || s.packetId != packetId || s.verb != verb || now - s.sentAt > kExpectedReplyWindow)
      return false;
    s = {};
    return true;
  }

 private:
  struct Slot {
    uint64_t packetId = 0;
    int64_t sentAt = 0;
    uint8_t verb = 0;
    bool used = false;
  };
  std::array<Slot, 1024> slots_{};
};

}  // namespace zt::vl1
