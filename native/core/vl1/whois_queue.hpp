// Addresses we are asking our root about (WHOIS, vl1-packets.md 7.4) and the packets held
// meanwhile: received packets from an unknown sender, and our own sends to an unknown peer.
// Bounded: at most kMaxHeld packets; retries every 500 ms, gives up after 5 s.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "address.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "vl1/timing.hpp"

namespace zt::vl1 {

struct HeldPacket {
  Address peer;        // the address whose identity is awaited
  bool outbound = false;
  // inbound: the raw packet as received and where it came from;
  // outbound: verb byte followed by the payload to send once the peer is known.
  Bytes data;
  int64_t localSocket = -1;
  InetAddress remote;
  bool expectReply = false;  // outbound: its OK or ERROR is awaited (counted, not dropped as unexpected)
};

class WhoisQueue {
 public:
  static constexpr size_t kMaxHeld = 64;
  static constexpr size_t kMaxPending = 256;

  // Holds a packet for peer (and starts asking if needed). False when the queue is full.
  bool hold(int64_t now, HeldPacket packet);
  // Starts asking without holding anything. False when too many are pending.
  bool ask(int64_t now, Address peer);
  bool pending(Address peer) const;

  // Addresses whose WHOIS is due now (marks them sent); drops entries past the give-up time,
  // calling onExpired for each dropped held packet.
  std::vector<Address> due(int64_t now, const std::function<void(const HeldPacket&)>& onExpired);
  // Makes every pending address due at once (a root has just become reachable: the questions
  // tried while there was none should not wait out their retry interval).
  void retryNow();
  // Removes and returns the packets waiting for peer (identity learned).
  std::vector<HeldPacket> release(Address peer);
  // Earliest time a retry or give-up is due; INT64_MAX if nothing is pending.
  int64_t nextDeadline() const;

 private:
  struct Pending {
    Address peer;
    int64_t firstAsked = 0;
    int64_t lastSent = 0;  // 0: not sent yet
  };
  std::vector<Pending> pending_;
  std::vector<HeldPacket> held_;
};

}  // namespace zt::vl1
