#include "io/offload.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace zt::io {

const char* describe(OffloadDrop drop) {
  switch (drop) {
    case OffloadDrop::kNone: return "none";
    case OffloadDrop::kTruncated: return "frame shorter than its headers";
    case OffloadDrop::kNotEthernetII: return "GSO frame is not IPv4/IPv6 in untagged Ethernet II";
    case OffloadDrop::kMalformed: return "malformed IP or TCP header";
    case OffloadDrop::kNotTcp: return "GSO frame is not TCP";
    case OffloadDrop::kIpFragment: return "GSO frame is an IPv4 fragment";
    case OffloadDrop::kIpv6Extensions: return "GSO frame has IPv6 extension headers";
    case OffloadDrop::kGsoTypeMismatch: return "GSO type does not match the IP version";
    case OffloadDrop::kUnsupportedGso: return "unsupported GSO type";
    case OffloadDrop::kZeroGsoSize: return "GSO frame without segment size";
    case OffloadDrop::kMtuTooSmall: return "MTU smaller than the headers";
    case OffloadDrop::kScratchTooSmall: return "scratch buffer smaller than one output frame";
    case OffloadDrop::kBadChecksumOffsets: return "checksum offsets outside the frame";
  }
  return "unknown";
}

namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800, kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kUrg = 0x20, kCwr = 0x80;
constexpr uint16_t kIpv4DontFragment = 0x4000, kIpv4FragmentBits = 0x3fff;
constexpr size_t kIpv6HeaderSize = 40, kTcpChecksumOffset = 16;

uint32_t loadBe32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void storeBe32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = uint8_t(v);
}

// Internet checksums (RFC 1071) summed over native-order words: the ones' complement sum commutes
// with byte swapping, so a sum stored back in native order is the right network-order checksum.
// Words are taken from the start of each buffer, so every buffer summed separately must begin at
// an even offset of the checksummed range.
uint64_t addWords(uint64_t sum, uint64_t w) { return sum + (w & 0xffffffff) + (w >> 32); }

uint64_t sumTail(const uint8_t* p, size_t n, uint64_t sum) {
  uint8_t tail[8] = {};
  std::memcpy(tail, p, n);
  uint64_t w;
  std::memcpy(&w, tail, 8);
  return addWords(sum, w);
}

uint64_t sumBytes(const uint8_t* p, size_t n, uint64_t sum = 0) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    sum = addWords(sum, w);
  }
  return n ? sumTail(p, n, sum) : sum;
}

// The checksum pass fused with the copy that has to happen anyway: one trip through memory.
uint64_t copyAndSum(uint8_t* out, const uint8_t* in, size_t n, uint64_t sum = 0) {
  for (; n >= 8; in += 8, out += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, in, 8);
    std::memcpy(out, &w, 8);
    sum = addWords(sum, w);
  }
  std::memcpy(out, in, n);
  return n ? sumTail(in, n, sum) : sum;
}

uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

void storeNative16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void storeChecksum(uint8_t* p, uint64_t sum) { storeNative16(p, uint16_t(~fold(sum))); }
bool checksumValid(uint64_t sum) { return fold(sum) == 0xffff; }

// Pseudo-header of a TCP segment of tcpLength bytes (header included) behind the IP header at ip.
uint64_t pseudoHeaderSum(const uint8_t* ip, bool v6, size_t tcpLength) {
  uint64_t sum = v6 ? sumBytes(ip + 8, 32) : sumBytes(ip + 12, 8);
  return sum + htons(kProtocolTcp) + (v6 ? htonl(uint32_t(tcpLength)) : htons(uint16_t(tcpLength)));
}

void storeIpv4HeaderChecksum(uint8_t* ip, size_t ipHeaderLength) {
  ip[10] = ip[11] = 0;
  storeChecksum(ip + 10, sumBytes(ip, ipHeaderLength));
}

// Ethernet II + IPv4/IPv6 (no extension headers) + TCP, all headers inside the frame.
struct TcpHeaders {
  bool v6 = false;
  size_t ipHeaderLength = 0, tcpHeaderLength = 0;
  size_t tcpOffset() const { return kEthernetHeaderSize + ipHeaderLength; }
  size_t headerLength() const { return tcpOffset() + tcpHeaderLength; }
};

bool isIpv6ExtensionHeader(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 50 || next == 51 || next == 60 || next == 135;
}

OffloadDrop parseTcpHeaders(ByteView frame, TcpHeaders& h) {
  if (frame.size() < kEthernetHeaderSize) return OffloadDrop::kTruncated;
  const uint8_t* ip = frame.data() + kEthernetHeaderSize;
  size_t ipRoom = frame.size() - kEthernetHeaderSize;
  uint16_t etherType = loadU16(frame.data() + 12);
  if (etherType == kEtherTypeIpv4) {
    if (ipRoom < 20) return OffloadDrop::kTruncated;
    h.v6 = false;
    h.ipHeaderLength = size_t(ip[0] & 0x0f) * 4;
    if (ip[0] >> 4 != 4 || h.ipHeaderLength < 20) return OffloadDrop::kMalformed;
    if (h.ipHeaderLength > ipRoom) return OffloadDrop::kTruncated;
    if (loadU16(ip + 6) & kIpv4FragmentBits) return OffloadDrop::kIpFragment;
    if (ip[9] != kProtocolTcp) return OffloadDrop::kNotTcp;
  } else if (etherType == kEtherTypeIpv6) {
    if (ipRoom < kIpv6HeaderSize) return OffloadDrop::kTruncated;
    h.v6 = true;
    h.ipHeaderLength = kIpv6HeaderSize;
    if (ip[0] >> 4 != 6) return OffloadDrop::kMalformed;
    if (ip[6] != kProtocolTcp)
      return isIpv6ExtensionHeader(ip[6]) ? OffloadDrop::kIpv6Extensions : OffloadDrop::kNotTcp;
  } else {
    return OffloadDrop::kNotEthernetII;
  }
  if (frame.size() < h.tcpOffset() + 20) return OffloadDrop::kTruncated;
  h.tcpHeaderLength = size_t(frame[h.tcpOffset() + 12] >> 4) * 4;
  if (h.tcpHeaderLength < 20) return OffloadDrop::kMalformed;
  if (frame.size() < h.headerLength()) return OffloadDrop::kTruncated;
  return OffloadDrop::kNone;
}

// Equal bytes in [from, to) of two headers.
bool sameBytes(const uint8_t* a, const uint8_t* b, size_t from, size_t to) {
  return std::memcmp(a + from, b + from, to - from) == 0;
}

}  // namespace

namespace detail {

OffloadDrop planTcpGso(const VnetHeader& vnet, ByteView frame, size_t mtu, size_t scratchSize, TcpGsoPlan& plan) {
  uint8_t type = vnet.gsoType & ~VnetHeader::kGsoEcn;
  if (type != VnetHeader::kGsoTcpV4 && type != VnetHeader::kGsoTcpV6) return OffloadDrop::kUnsupportedGso;
  // vnet.headerLength is only a hint (tun reports its linear part there): parse the headers.
  TcpHeaders h;
  if (OffloadDrop drop = parseTcpHeaders(frame, h); drop != OffloadDrop::kNone) return drop;
  if ((type == VnetHeader::kGsoTcpV6) != h.v6) return OffloadDrop::kGsoTypeMismatch;
  if (vnet.gsoSize == 0) return OffloadDrop::kZeroGsoSize;
  size_t ipAndTcp = h.ipHeaderLength + h.tcpHeaderLength;
  if (mtu <= ipAndTcp) return OffloadDrop::kMtuTooSmall;
  plan.v6 = h.v6;
  plan.ipHeaderLength = h.ipHeaderLength;
  plan.tcpHeaderLength = h.tcpHeaderLength;
  plan.headerLength = h.headerLength();
  // The sender's segment size, unless our network's MTU is smaller than the TAP's.
  plan.segmentPayload = std::min<size_t>(vnet.gsoSize, mtu - ipAndTcp);
  if (scratchSize < plan.headerLength + plan.segmentPayload) return OffloadDrop::kScratchTooSmall;
  plan.payloadLength = frame.size() - plan.headerLength;
  plan.segments = std::max<size_t>(1, (plan.payloadLength + plan.segmentPayload - 1) / plan.segmentPayload);
  return OffloadDrop::kNone;
}

size_t writeTcpSegment(const TcpGsoPlan& plan, ByteView frame, size_t index, uint8_t* out) {
  size_t offset = index * plan.segmentPayload;
  size_t length = std::min(plan.segmentPayload, plan.payloadLength - offset);
  std::memcpy(out, frame.data(), plan.headerLength);
  uint64_t payloadSum = copyAndSum(out + plan.headerLength, frame.data() + plan.headerLength + offset, length);

  uint8_t* ip = out + kEthernetHeaderSize;
  size_t tcpLength = plan.tcpHeaderLength + length;
  if (plan.v6) {
    storeU16(ip + 4, uint16_t(tcpLength));
  } else {
    storeU16(ip + 2, uint16_t(plan.ipHeaderLength + tcpLength));
    storeU16(ip + 4, uint16_t(loadU16(ip + 4) + index));
    storeIpv4HeaderChecksum(ip, plan.ipHeaderLength);
  }
  uint8_t* tcp = ip + plan.ipHeaderLength;
  storeBe32(tcp + 4, loadBe32(tcp + 4) + uint32_t(offset));
  if (index + 1 < plan.segments) tcp[13] &= uint8_t(~(kFin | kPsh));
  if (index > 0) tcp[13] &= uint8_t(~kCwr);
  tcp[16] = tcp[17] = 0;
  storeChecksum(tcp + 16, pseudoHeaderSum(ip, plan.v6, tcpLength) + sumBytes(tcp, plan.tcpHeaderLength) + payloadSum);
  return plan.headerLength + length;
}

OffloadDrop completeChecksum(const VnetHeader& vnet, ByteView frame, MutableByteView scratch) {
  size_t start = vnet.checksumStart, field = start + vnet.checksumOffset;
  if (start > frame.size() || field + 2 > frame.size()) return OffloadDrop::kBadChecksumOffsets;
  if (scratch.size() < frame.size()) return OffloadDrop::kScratchTooSmall;
  std::memcpy(scratch.data(), frame.data(), start);
  // The field already holds the pseudo-header sum, so summing from start covers everything.
  uint16_t checksum = uint16_t(~fold(copyAndSum(scratch.data() + start, frame.data() + start, frame.size() - start)));
  // As Linux does: 0 would mean "no checksum" to UDP, and 0xffff is the same value for TCP.
  storeNative16(scratch.data() + field, checksum ? checksum : 0xffff);
  return OffloadDrop::kNone;
}

}  // namespace detail

// A received frame seen as a TCP segment.
struct TcpCoalescer::Segment {
  TcpHeaders h;
  size_t payloadLength = 0;
  uint32_t seq = 0;
  uint8_t flags = 0;
  bool mergeable = false;  // exact length, payload, no SYN/FIN/RST/URG, valid IPv4 header checksum
};

namespace {

// False for anything that is not a TCP segment whose IP length fits the frame.
bool parseSegment(ByteView frame, TcpHeaders& h, size_t& payloadLength, bool& exactLength) {
  if (parseTcpHeaders(frame, h) != OffloadDrop::kNone) return false;
  const uint8_t* ip = frame.data() + kEthernetHeaderSize;
  size_t ipLength = h.v6 ? kIpv6HeaderSize + loadU16(ip + 4) : loadU16(ip + 2);
  size_t ipRoom = frame.size() - kEthernetHeaderSize;
  if (ipLength > ipRoom || ipLength < h.ipHeaderLength + h.tcpHeaderLength) return false;
  payloadLength = ipLength - h.ipHeaderLength - h.tcpHeaderLength;
  exactLength = ipLength == ipRoom;  // no Ethernet padding
  return true;
}

}  // namespace

TcpCoalescer::TcpCoalescer() {
  constexpr size_t kFlowBytes = kVnetHeaderSize + kMaxFrame;
  storage_ = std::make_unique<uint8_t[]>(kFlows * kFlowBytes + kPassThroughBytes);
  for (size_t i = 0; i < kFlows; ++i) flows_[i].buffer = storage_.get() + i * kFlowBytes;
  passThrough_ = storage_.get() + kFlows * kFlowBytes;
}

TcpCoalescer::Added TcpCoalescer::add(ByteView frame) {
  if (frame.size() < kEthernetHeaderSize || frame.size() > kMaxFrame) return Added::kDropped;
  Segment s;
  bool exactLength = false;
  if (!parseSegment(frame, s.h, s.payloadLength, exactLength)) return passThrough(frame);
  const uint8_t* ip = frame.data() + kEthernetHeaderSize;
  const uint8_t* tcp = frame.data() + s.h.tcpOffset();
  s.seq = loadBe32(tcp + 4);
  s.flags = tcp[13];
  s.mergeable = exactLength && s.payloadLength > 0 && !(s.flags & (kSyn | kFin | kRst | kUrg)) &&
                (s.h.v6 || checksumValid(sumBytes(ip, s.h.ipHeaderLength)));
  if (Flow* flow = findOpen(frame, s)) {
    if (merge(*flow, frame, s)) return Added::kMerged;
    flow->open = false;  // what it holds must go out before this segment
  }
  if (s.mergeable && !(s.flags & kPsh)) return start(frame, s);
  return passThrough(frame);
}

TcpCoalescer::Flow* TcpCoalescer::findOpen(ByteView frame, const Segment& s) {
  // MACs and EtherType, then addresses, then ports.
  size_t addressesFrom = kEthernetHeaderSize + (s.h.v6 ? 8 : 12);
  size_t addressesTo = kEthernetHeaderSize + (s.h.v6 ? 40 : 20);
  for (Flow& flow : flows_) {
    const uint8_t* held = flow.buffer + kVnetHeaderSize;
    if (!flow.open || flow.v6 != s.h.v6 || flow.ipHeaderLength != s.h.ipHeaderLength) continue;
    size_t tcp = s.h.tcpOffset();
    if (sameBytes(held, frame.data(), 0, 14) && sameBytes(held, frame.data(), addressesFrom, addressesTo) &&
        sameBytes(held, frame.data(), tcp, tcp + 4))
      return &flow;
  }
  return nullptr;
}

bool TcpCoalescer::merge(Flow& flow, ByteView frame, const Segment& s) {
  if (!s.mergeable || s.seq != flow.nextSeq || s.payloadLength > flow.gsoSize) return false;
  if (flow.length + s.payloadLength > kMaxFrame) return false;
  uint8_t* held = flow.buffer + kVnetHeaderSize;
  const uint8_t *ip = frame.data() + kEthernetHeaderSize, *heldIp = held + kEthernetHeaderSize;
  const uint8_t *tcp = ip + s.h.ipHeaderLength, *heldTcp = heldIp + s.h.ipHeaderLength;
  // IP headers equal but for lengths, id and checksum.
  if (s.h.v6) {
    if (!sameBytes(ip, heldIp, 0, 4) || !sameBytes(ip, heldIp, 6, kIpv6HeaderSize)) return false;
  } else {
    if (!sameBytes(ip, heldIp, 0, 2) || !sameBytes(ip, heldIp, 6, 10) || !sameBytes(ip, heldIp, 12, s.h.ipHeaderLength))
      return false;
    bool fixedId = loadU16(ip + 6) & kIpv4DontFragment;  // ids of atomic datagrams carry nothing
    if (!fixedId && loadU16(ip + 4) != uint16_t(flow.firstIpId + flow.segments)) return false;
  }
  // TCP headers equal but for sequence, checksum and PSH; CWR only on the first segment.
  if (s.h.tcpHeaderLength != flow.headerLength - s.h.tcpOffset()) return false;
  if ((s.flags & kCwr) || (s.flags & ~kPsh) != (heldTcp[13] & ~kCwr)) return false;
  if (!sameBytes(tcp, heldTcp, 8, 13) || !sameBytes(tcp, heldTcp, 14, 16) ||
      !sameBytes(tcp, heldTcp, 18, s.h.tcpHeaderLength))
    return false;

  size_t tcpLength = s.h.tcpHeaderLength + s.payloadLength;
  uint64_t sum = copyAndSum(held + flow.length, tcp + s.h.tcpHeaderLength, s.payloadLength,
                            pseudoHeaderSum(ip, s.h.v6, tcpLength) + sumBytes(tcp, s.h.tcpHeaderLength));
  if (!checksumValid(sum)) return false;  // the copy lies beyond flow.length: nothing to undo
  flow.length += s.payloadLength;
  flow.nextSeq += uint32_t(s.payloadLength);
  ++flow.segments;
  flow.push = s.flags & kPsh;
  if (flow.push || s.payloadLength < flow.gsoSize || flow.segments == UINT16_MAX) flow.open = false;
  return true;
}

TcpCoalescer::Added TcpCoalescer::start(ByteView frame, const Segment& s) {
  if (queued_ == kMaxQueued) return Added::kFull;
  auto free = std::find_if(flows_.begin(), flows_.end(), [](const Flow& f) { return !f.inUse; });
  if (free == flows_.end()) return Added::kFull;
  Flow& flow = *free;
  uint8_t* held = flow.buffer + kVnetHeaderSize;
  size_t headerLength = s.h.headerLength();
  std::memcpy(held, frame.data(), headerLength);
  const uint8_t* ip = frame.data() + kEthernetHeaderSize;
  uint64_t sum = copyAndSum(held + headerLength, frame.data() + headerLength, s.payloadLength,
                            pseudoHeaderSum(ip, s.h.v6, s.h.tcpHeaderLength + s.payloadLength) +
                                sumBytes(frame.data() + s.h.tcpOffset(), s.h.tcpHeaderLength));
  // A corrupt segment goes to the kernel as it came, to be counted and dropped there.
  if (!checksumValid(sum)) return passThrough(frame);
  flow.length = frame.size();
  flow.ipHeaderLength = s.h.ipHeaderLength;
  flow.headerLength = headerLength;
  flow.nextSeq = s.seq + uint32_t(s.payloadLength);
  flow.gsoSize = uint16_t(s.payloadLength);
  flow.segments = 1;
  flow.firstIpId = s.h.v6 ? 0 : loadU16(ip + 4);
  flow.v6 = s.h.v6;
  flow.open = flow.inUse = true;
  flow.push = false;
  queue_[queued_++] = {int(&flow - flows_.data()), nullptr, 0};
  return Added::kHeld;
}

TcpCoalescer::Added TcpCoalescer::passThrough(ByteView frame) {
  size_t length = kVnetHeaderSize + frame.size();
  if (queued_ == kMaxQueued || passThroughUsed_ + length > kPassThroughBytes) return Added::kFull;
  uint8_t* out = passThrough_ + passThroughUsed_;
  std::memset(out, 0, kVnetHeaderSize);
  std::memcpy(out + kVnetHeaderSize, frame.data(), frame.size());
  passThroughUsed_ += length;
  queue_[queued_++] = {-1, out, length};
  return Added::kPassedThrough;
}

ByteView TcpCoalescer::finish(const Entry& entry) {
  if (entry.flow < 0) return {entry.data, entry.length};
  Flow& flow = flows_[size_t(entry.flow)];
  VnetHeader vnet{};
  // A lone segment goes out untouched: the kernel refuses GSO frames of a single segment.
  if (flow.segments > 1) {
    uint8_t* ip = flow.buffer + kVnetHeaderSize + kEthernetHeaderSize;
    uint8_t* tcp = ip + flow.ipHeaderLength;
    size_t ipLength = flow.length - kEthernetHeaderSize;
    if (flow.v6) {
      storeU16(ip + 4, uint16_t(ipLength - kIpv6HeaderSize));
    } else {
      storeU16(ip + 2, uint16_t(ipLength));
      storeIpv4HeaderChecksum(ip, flow.ipHeaderLength);
    }
    if (flow.push) tcp[13] |= kPsh;
    // CHECKSUM_PARTIAL convention: the field holds the folded, uncomplemented pseudo-header sum.
    storeNative16(tcp + kTcpChecksumOffset, fold(pseudoHeaderSum(ip, flow.v6, ipLength - flow.ipHeaderLength)));
    vnet.flags = VnetHeader::kNeedsChecksum;
    vnet.gsoType = uint8_t((flow.v6 ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4) |
                           ((tcp[13] & kCwr) ? VnetHeader::kGsoEcn : 0));
    vnet.headerLength = uint16_t(flow.headerLength);
    vnet.gsoSize = flow.gsoSize;
    vnet.checksumStart = uint16_t(kEthernetHeaderSize + flow.ipHeaderLength);
    vnet.checksumOffset = kTcpChecksumOffset;
  }
  std::memcpy(flow.buffer, &vnet, kVnetHeaderSize);
  return {flow.buffer, kVnetHeaderSize + flow.length};
}

void TcpCoalescer::clear() {
  for (Flow& flow : flows_) flow.open = flow.inUse = false;
  queued_ = 0;
  passThroughUsed_ = 0;
}

}  // namespace zt::io
