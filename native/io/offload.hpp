// TCP segmentation and coalescing between a TAP with virtio-net offloads and a ZeroTier network
// whose frames are at most the network MTU.
//
// Transmit: the kernel hands us TCP super-segments of up to 64 KiB (a GSO frame) or frames whose
// checksum it left for us to finish (NEEDS_CSUM). segmentFrame() turns each into ordinary Ethernet
// frames with complete checksums, which any stock stack accepts.
//
// Receive: TcpCoalescer merges runs of in-order segments of one TCP flow back into super-frames
// (the rules of Linux GRO) and writes them to the TAP with a GSO virtio-net header, so the pod's
// stack processes one large packet instead of dozens of small ones.
//
// Neither side allocates per packet: segmentFrame writes into a caller's scratch buffer and the
// coalescer's storage is fixed at construction.
#pragma once
#include <array>
#include <cstdint>
#include <memory>

#include "io/tap.hpp"
#include "util/bytes.hpp"

namespace zt::io {

// Why a frame from the TAP could not be turned into network frames.
enum class OffloadDrop : uint8_t {
  kNone = 0,
  kTruncated,           // shorter than its headers say
  kNotEthernetII,       // VLAN-tagged or not IPv4/IPv6, yet GSO
  kMalformed,           // IP version or header length fields that make no sense
  kNotTcp,              // GSO over something other than TCP
  kIpFragment,          // GSO over an IPv4 fragment
  kIpv6Extensions,      // GSO over IPv6 with extension headers
  kGsoTypeMismatch,     // TCPv4 GSO on an IPv6 packet or the other way round
  kUnsupportedGso,      // UDP GSO (USO is not enabled on our TAPs) or an unknown type
  kZeroGsoSize,         // GSO without a segment size
  kMtuTooSmall,         // not even the headers fit the MTU
  kScratchTooSmall,     // the caller's scratch cannot hold one output frame
  kBadChecksumOffsets,  // NEEDS_CSUM pointing outside the frame
};
const char* describe(OffloadDrop drop);

struct SegmentResult {
  size_t frames = 0;  // frames emitted
  OffloadDrop drop = OffloadDrop::kNone;
};

constexpr size_t kEthernetHeaderSize = 14;

namespace detail {
// A TCP GSO frame, parsed once and then cut segment by segment.
struct TcpGsoPlan {
  bool v6 = false;
  size_t ipHeaderLength = 0, tcpHeaderLength = 0, headerLength = 0;  // headerLength: Ethernet+IP+TCP
  size_t payloadLength = 0, segmentPayload = 0, segments = 0;
};
OffloadDrop planTcpGso(const VnetHeader& vnet, ByteView frame, size_t mtu, size_t scratchSize, TcpGsoPlan& plan);
// Writes segment `index` of the plan into out; returns its length.
size_t writeTcpSegment(const TcpGsoPlan& plan, ByteView frame, size_t index, uint8_t* out);
// Copies a NEEDS_CSUM frame into scratch with its checksum completed.
OffloadDrop completeChecksum(const VnetHeader& vnet, ByteView frame, MutableByteView scratch);
}  // namespace detail

// Turns one frame read from a TAP with IFF_VNET_HDR into frames whose IP packet is at most `mtu`
// bytes, calling emit(ByteView frame) for each in order. Emitted frames live in `scratch` (at least
// 14 + mtu bytes) and are valid only during the call; a frame that needs nothing is emitted as is,
// without a copy. Frames without GSO pass through whatever their type, only their checksum
// finished; GSO frames must be TCP over IPv4 or IPv6 without extension headers in Ethernet II.
template <class Emit>
SegmentResult segmentFrame(const VnetHeader& vnet, ByteView frame, size_t mtu, MutableByteView scratch,
                           Emit&& emit) {
  if ((vnet.gsoType & ~VnetHeader::kGsoEcn) == VnetHeader::kGsoNone) {
    if (!(vnet.flags & VnetHeader::kNeedsChecksum)) {
      emit(frame);
      return {1};
    }
    if (OffloadDrop drop = detail::completeChecksum(vnet, frame, scratch); drop != OffloadDrop::kNone)
      return {0, drop};
    emit(ByteView(scratch.data(), frame.size()));
    return {1};
  }
  detail::TcpGsoPlan plan;
  if (OffloadDrop drop = detail::planTcpGso(vnet, frame, mtu, scratch.size(), plan); drop != OffloadDrop::kNone)
    return {0, drop};
  for (size_t i = 0; i < plan.segments; ++i)
    emit(ByteView(scratch.data(), detail::writeTcpSegment(plan, frame, i, scratch.data())));
  return {plan.segments};
}

// Merges consecutive in-order TCP segments of a flow into super-frames for a TAP with
// IFF_VNET_HDR and TSO4/6, like Linux GRO:
//  - same MACs, addresses and ports; IP headers equal but for lengths, checksum and the IPv4 id
//    (which must count up by one unless DF is set); TCP headers equal but for sequence, checksum
//    and PSH, so ack, window and options (timestamps included) must be identical;
//  - sequence numbers contiguous; every segment but the last carries exactly the first one's
//    payload size; no SYN, FIN, RST or URG anywhere, CWR only on the first, PSH only on the last;
//  - every merged segment's IPv4 header and TCP checksums verified (in the same pass as the copy),
//    because the merged frame goes to the kernel as NEEDS_CSUM, which it does not check again;
//  - at most 65535 bytes of IP packet.
// A merged frame gets gsoType TCPv4/TCPv6 (plus ECN when its first segment has CWR), gsoSize = the
// segment payload size, NEEDS_CSUM at the TCP checksum, which then holds the pseudo-header sum.
// Everything else (other protocols, lone segments, unmergeable ones) goes out unchanged with an
// all-zero header, and the kernel verifies those checksums itself. DATA_VALID is deliberately not
// set: on a TAP write the kernel does not act on it (only the virtio-net guest driver maps it to
// CHECKSUM_UNNECESSARY), and claiming validity for bytes we never checked would be wrong anyway.
// Frames go out in the arrival order of their first segment, and a segment that cannot join its
// flow's held frame closes it first, so no TCP segment overtakes an earlier one of its flow.
// Use: add() every frame of a receive batch, then flush() to the TAP.
class TcpCoalescer {
 public:
  static constexpr size_t kFlows = 16;                 // super-frames held at once
  static constexpr size_t kMaxIpPacket = 65535;        // IPv4 total length limit, and GRO's
  static constexpr size_t kPassThroughBytes = 256 << 10;
  static constexpr size_t kMaxQueued = 256;            // frames between two flushes
  static constexpr size_t kMaxFrame = kEthernetHeaderSize + kMaxIpPacket;

  enum class Added : uint8_t {
    kMerged,        // appended to a held super-frame
    kHeld,          // started a new super-frame
    kPassedThrough, // queued unchanged
    kFull,          // not taken: flush, then add it again
    kDropped,       // not an Ethernet frame we can carry (shorter than 14 bytes or too large)
  };

  TcpCoalescer();
  Added add(ByteView frame);
  // add() that flushes to `write` when full.
  template <class Write>
  Added add(ByteView frame, Write&& write) {
    Added added = add(frame);
    if (added != Added::kFull) return added;
    flush(write);
    return add(frame);
  }
  // Calls write(ByteView headerAndFrame) for every queued frame, virtio-net header first, in
  // order; then starts afresh. Returns the number of frames written.
  template <class Write>
  size_t flush(Write&& write) {
    size_t written = queued_;
    for (size_t i = 0; i < queued_; ++i) write(finish(queue_[i]));
    clear();
    return written;
  }
  bool empty() const { return queued_ == 0; }

 private:
  struct Flow {
    uint8_t* buffer = nullptr;  // virtio-net header, then the frame
    size_t length = 0;          // frame bytes
    size_t ipHeaderLength = 0, headerLength = 0;
    uint32_t nextSeq = 0;
    uint16_t gsoSize = 0, segments = 0, firstIpId = 0;
    bool v6 = false, open = false, inUse = false, push = false;
  };
  struct Entry {
    int flow;         // index into flows_, or -1 for a pass-through frame
    uint8_t* data;    // pass-through: header and frame
    size_t length;
  };
  struct Segment;

  Added passThrough(ByteView frame);
  Added start(ByteView frame, const Segment& s);
  bool merge(Flow& flow, ByteView frame, const Segment& s);
  Flow* findOpen(ByteView frame, const Segment& s);
  ByteView finish(const Entry& entry);
  void clear();

  std::unique_ptr<uint8_t[]> storage_;
  std::array<Flow, kFlows> flows_{};
  std::array<Entry, kMaxQueued> queue_{};
  size_t queued_ = 0, passThroughUsed_ = 0;
  uint8_t* passThrough_ = nullptr;
};

}  // namespace zt::io
