// VL1 fragmentation (vl1-packets.md section 3): the fragment header codec, cutting an armored
// packet into head + fragments for a path MTU, and reassembly in any arrival order.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "util/function_ref.hpp"
#include "util/result.hpp"
#include "wire/packet.hpp"

namespace zt::wire {

struct FragmentHeader {
  uint64_t packetId = 0;  // the whole packet's id as on the wire (after suite 3 replaced it)
  Address destination;
  uint8_t total = 0;   // datagrams including the head: 2..7
  uint8_t number = 0;  // this fragment: 1..total-1 (the head is 0)
  uint8_t hops = 0;

  // Checks the indicator byte and that 1 < total <= 7 and 0 < number < total.
  static Result<FragmentHeader> parse(ByteView datagram);
  void write(uint8_t out[kFragmentHeaderLength]) const;
};

// How many datagrams (head included) a packet of this length needs for mtu: 1 when it fits
// whole, an error when it would need more than kMaxFragments or the mtu cannot carry a chunk.
Result<size_t> datagramCount(size_t packetLength, size_t mtu);

// Cuts an armored packet for mtu and calls emit for the head (the first mtu bytes, a view into
// packet) then for fragments 1..n-1 (built in a stack buffer, valid during the call only).
// A packet that needs cutting must already carry the fragmented flag (it is under the MAC).
// Returns the number of datagrams emitted; a packet that fits is emitted whole.
Result<size_t> fragmentPacket(ByteView packet, size_t mtu, FunctionRef<void(ByteView)> emit);

// The same into caller buffers: datagram i goes to out[i], whose size becomes its length; each
// buffer must hold mtu bytes.
Result<size_t> fragmentPacket(ByteView packet, size_t mtu, std::span<MutableByteView> out);

// Reassembles fragmented packets from heads and fragments arriving in any order. Holds
// kSlots packets in buffers allocated once at construction; a new packet id takes a free or
// expired slot, else recycles the oldest. Incomplete packets are abandoned after kTimeoutMs.
class Reassembler {
 public:
  static constexpr size_t kSlots = 32;
  static constexpr int64_t kTimeoutMs = 5000;

  Reassembler();
  ~Reassembler();
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  // head: a packet datagram with the fragmented flag; fragment: a fragment datagram. When the
  // piece completes a packet, returns it whole (head then chunks in number order) in a buffer
  // owned by the reassembler, valid and writable (for in-place dearmoring) until the next call.
  // Duplicates, malformed pieces and pieces over the packet size limit yield nullopt.
  std::optional<MutableByteView> addHead(ByteView head, int64_t now);
  std::optional<MutableByteView> addFragment(ByteView fragment, int64_t now);
  // Dispatches on classify(): whole packets without the fragmented flag and short datagrams
  // are not the reassembler's business and yield nullopt.
  std::optional<MutableByteView> add(ByteView datagram, int64_t now);

  size_t pending() const;  // slots holding an incomplete packet (for tests and stats)

 private:
  struct Slot;
  Slot* slotFor(uint64_t packetId, int64_t now);
  std::optional<MutableByteView> store(Slot& slot, unsigned number, ByteView piece);
  MutableByteView assemble(Slot& slot);

  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::array<uint8_t, kMaxPacketLength>> output_;
};

}  // namespace zt::wire
