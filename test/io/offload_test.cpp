// TCP segmentation and coalescing: synthetic frames checked with a plain reference checksum, and a
// real transfer through two kernels' TCP stacks across a userspace TAP bridge.
#include "io/offload.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <sstream>

#include "bridge_fixture.hpp"

namespace zt::io {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20, kEce = 0x40,
                  kCwr = 0x80;

// RFC 1071 the obvious way: big-endian 16-bit words, odd byte padded, complement of the sum.
uint16_t referenceChecksum(ByteView data) {
  uint32_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2)
    sum += uint32_t(data[i]) << 8 | (i + 1 < data.size() ? data[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

Bytes pseudoHeader(ByteView ipPacket, bool v6, size_t tcpLength) {
  Bytes p;
  if (v6) {
    p.assign(ipPacket.begin() + 8, ipPacket.begin() + 40);
    p.insert(p.end(), {uint8_t(tcpLength >> 24), uint8_t(tcpLength >> 16), uint8_t(tcpLength >> 8),
                       uint8_t(tcpLength), 0, 0, 0, 6});
  } else {
    p.assign(ipPacket.begin() + 12, ipPacket.begin() + 20);
    p.insert(p.end(), {0, 6, uint8_t(tcpLength >> 8), uint8_t(tcpLength)});
  }
  return p;
}

// A TCP frame as the test sees it, parsed without the code under test.
struct Parsed {
  bool v6 = false;
  ByteView ip, tcp, payload;
  size_t ipHeaderLength = 0, tcpHeaderLength = 0;
  uint32_t seq = 0;
  uint8_t flags = 0;
  uint16_t ipLengthField = 0;  // IPv4 total length, IPv6 payload length
  uint16_t ipId = 0;
  bool ipChecksumValid = true;
  bool tcpChecksumValid = false;
};

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

Parsed parseTcpFrame(ByteView frame) {
  Parsed p;
  p.v6 = loadU16(&frame[12]) == 0x86dd;
  p.ip = frame.subspan(14);
  p.ipHeaderLength = p.v6 ? 40 : (p.ip[0] & 15) * 4;
  p.ipLengthField = loadU16(&p.ip[p.v6 ? 4 : 2]);
  if (!p.v6) {
    p.ipId = loadU16(&p.ip[4]);
    p.ipChecksumValid = referenceChecksum(p.ip.first(p.ipHeaderLength)) == 0;
  }
  p.tcp = p.ip.subspan(p.ipHeaderLength);
  p.tcpHeaderLength = (p.tcp[12] >> 4) * 4;
  p.payload = p.tcp.subspan(p.tcpHeaderLength);
  p.seq = be32(&p.tcp[4]);
  p.flags = p.tcp[13];
  Bytes all = pseudoHeader(p.ip, p.v6, p.tcp.size());
  all.insert(all.end(), p.tcp.begin(), p.tcp.end());
  p.tcpChecksumValid = referenceChecksum(all) == 0;
  return p;
}

struct TcpSpec {
  bool v6 = false;
  uint32_t seq = 0xfffff000;  // wraps within a few segments
  uint32_t ack = 777777;
  uint8_t flags = kAck;
  uint16_t window = 502, ipId = 0xfffe, urgent = 0;
  bool dontFragment = true;
  uint8_t ttl = 64, tos = 0;
  uint32_t tsval = 0x01020304;
  uint8_t srcMacLast = 1;
  bool corruptChecksum = false;
};

// Ethernet + IPv4/IPv6 + TCP with a timestamp option, checksums by the reference routine.
Bytes buildTcpFrame(const TcpSpec& s, ByteView payload) {
  Bytes f = {2, 0, 0, 0, 0x77, 2, 2, 0, 0, 0, 0x77, s.srcMacLast};
  size_t ipHeader = s.v6 ? 40 : 20, tcpHeader = 32, tcpLength = tcpHeader + payload.size();
  f.resize(14 + ipHeader + tcpLength);
  storeU16(&f[12], s.v6 ? 0x86dd : 0x0800);
  uint8_t* ip = &f[14];
  if (s.v6) {
    ip[0] = uint8_t(0x60 | s.tos >> 4);
    ip[1] = uint8_t(s.tos << 4 | 0x0a);  // flow label 0xabcde
    storeU16(ip + 2, 0xbcde);
    storeU16(ip + 4, uint16_t(tcpLength));
    ip[6] = 6;
    ip[7] = s.ttl;
    ip[8] = ip[24] = 0xfd, ip[10] = ip[26] = 0x77;
    ip[23] = 1, ip[39] = 2;
  } else {
    ip[0] = 0x45;
    ip[1] = s.tos;
    storeU16(ip + 2, uint16_t(ipHeader + tcpLength));
    storeU16(ip + 4, s.ipId);
    storeU16(ip + 6, s.dontFragment ? 0x4000 : 0);
    ip[8] = s.ttl;
    ip[9] = 6;
    const uint8_t addresses[8] = {198, 19, 77, 1, 198, 19, 77, 2};
    std::memcpy(ip + 12, addresses, 8);
    storeU16(ip + 10, referenceChecksum(ByteView(ip, 20)));
  }
  uint8_t* tcp = ip + ipHeader;
  storeU16(tcp, 40000);
  storeU16(tcp + 2, 5201);
  storeU64(tcp + 4, uint64_t(s.seq) << 32 | s.ack);
  tcp[12] = uint8_t(tcpHeader / 4 << 4);
  tcp[13] = s.flags;
  storeU16(tcp + 14, s.window);
  storeU16(tcp + 18, s.urgent);
  const uint8_t timestamps[12] = {1, 1, 8, 10, uint8_t(s.tsval >> 24), uint8_t(s.tsval >> 16),
                                  uint8_t(s.tsval >> 8), uint8_t(s.tsval), 0, 0, 0x42, 0x42};
  std::memcpy(tcp + 20, timestamps, 12);
  if (!payload.empty()) std::memcpy(tcp + tcpHeader, payload.data(), payload.size());
  Bytes all = pseudoHeader(ByteView(ip, ipHeader + tcpLength), s.v6, tcpLength);
  all.insert(all.end(), tcp, tcp + tcpLength);
  storeU16(tcp + 16, uint16_t(referenceChecksum(all) ^ (s.corruptChecksum ? 0x0100 : 0)));
  return f;
}

Bytes randomBytes(size_t n, uint32_t seed) {
  Bytes b(n);
  for (uint8_t& x : b) seed = seed * 1664525 + 1013904223, x = uint8_t(seed >> 24);
  return b;
}

VnetHeader gsoHeader(bool v6, uint16_t gsoSize, bool ecn = false) {
  VnetHeader h{};
  h.flags = VnetHeader::kNeedsChecksum;
  h.gsoType = uint8_t((v6 ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4) | (ecn ? VnetHeader::kGsoEcn : 0));
  h.headerLength = uint16_t(14 + (v6 ? 40 : 20) + 32);
  h.gsoSize = gsoSize;
  h.checksumStart = uint16_t(14 + (v6 ? 40 : 20));
  h.checksumOffset = 16;
  return h;
}

struct Segmented {
  std::vector<Bytes> frames;
  SegmentResult result;
};

Segmented segment(const VnetHeader& h, ByteView frame, size_t mtu, size_t scratchSize = 0) {
  Segmented out;
  Bytes scratch(scratchSize ? scratchSize : 14 + mtu);
  out.result = segmentFrame(h, frame, mtu, scratch, [&](ByteView f) { out.frames.emplace_back(f.begin(), f.end()); });
  EXPECT_EQ(out.result.frames, out.frames.size());
  return out;
}

// --- segmentFrame ---

void expectValidSegmentsOf(const Bytes& super, const Segmented& out, size_t mtu, size_t segmentPayload,
                           const TcpSpec& spec) {
  Parsed whole = parseTcpFrame(super);
  size_t expected = (whole.payload.size() + segmentPayload - 1) / segmentPayload;
  ASSERT_EQ(out.result.drop, OffloadDrop::kNone);
  ASSERT_EQ(out.frames.size(), expected);
  Bytes joined;
  for (size_t i = 0; i < out.frames.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    Parsed p = parseTcpFrame(out.frames[i]);
    bool last = i + 1 == out.frames.size();
    EXPECT_LE(p.ip.size(), mtu);
    EXPECT_EQ(p.payload.size(), last ? whole.payload.size() - i * segmentPayload : segmentPayload);
    EXPECT_EQ(p.ipLengthField, p.v6 ? p.ip.size() - 40 : p.ip.size());
    EXPECT_TRUE(p.ipChecksumValid);
    EXPECT_TRUE(p.tcpChecksumValid);
    if (!p.v6) {
      EXPECT_EQ(p.ipId, uint16_t(spec.ipId + i));
    }
    EXPECT_EQ(p.seq, uint32_t(spec.seq + i * segmentPayload));
    EXPECT_EQ(p.flags & (kFin | kPsh), last ? spec.flags & (kFin | kPsh) : 0);
    EXPECT_EQ(p.flags & kCwr, i == 0 ? spec.flags & kCwr : 0);
    EXPECT_EQ(p.flags & (kAck | kEce), spec.flags & (kAck | kEce));
    // Everything else in the headers is the super-frame's: MACs, addresses, ports, ack, options.
    EXPECT_EQ(std::memcmp(&out.frames[i][0], super.data(), 14), 0);
    EXPECT_EQ(std::memcmp(&p.tcp[8], &whole.tcp[8], 4), 0);
    EXPECT_EQ(std::memcmp(&p.tcp[14], &whole.tcp[14], 2), 0);
    EXPECT_EQ(std::memcmp(&p.tcp[18], &whole.tcp[18], whole.tcpHeaderLength - 18), 0);
    joined.insert(joined.end(), p.payload.begin(), p.payload.end());
  }
  EXPECT_EQ(joined, Bytes(whole.payload.begin(), whole.payload.end()));
}

TEST(IoOffloadSegment, TcpV4SuperFrameBecomesValidSegmentsWithIdsSequenceAndFlags) {
  TcpSpec spec;
  spec.flags = kAck | kPsh | kFin | kCwr | kEce;
  Bytes super = buildTcpFrame(spec, randomBytes(10000, 1));
  Segmented out = segment(gsoHeader(false, 1448, true), super, 1500);
  expectValidSegmentsOf(super, out, 1500, 1448, spec);
}

TEST(IoOffloadSegment, TcpV6SuperFrameIsCutToTheNetworkMtuWhenItsSegmentsAreLarger) {
  TcpSpec spec;
  spec.v6 = true;
  spec.flags = kAck | kPsh;
  Bytes super = buildTcpFrame(spec, randomBytes(60000, 2));
  // gso 9000 does not fit; an MTU of 2801 leaves an odd 2729-byte payload per segment.
  Segmented out = segment(gsoHeader(true, 9000), super, 2801);
  expectValidSegmentsOf(super, out, 2801, 2801 - 40 - 32, spec);
}

TEST(IoOffloadSegment, SuperFrameOfOneSegmentStillGetsAFullChecksum) {
  TcpSpec spec;
  Bytes super = buildTcpFrame(spec, randomBytes(100, 3));
  storeU16(&super[14 + 20 + 16], 0x1234);  // the kernel's partial sum, not a checksum
  Segmented out = segment(gsoHeader(false, 1448), super, 1500);
  expectValidSegmentsOf(super, out, 1500, 1448, spec);
  ASSERT_EQ(out.frames.size(), 1u);
}

TEST(IoOffloadSegment, NonGsoFrameWithNeedsChecksumIsCompleted) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    TcpSpec spec;
    spec.v6 = v6;
    Bytes frame = buildTcpFrame(spec, randomBytes(777, 4));
    Bytes expected = frame;
    // What the kernel hands over: the field holds the folded pseudo-header sum.
    Parsed p = parseTcpFrame(frame);
    size_t field = 14 + p.ipHeaderLength + 16;
    storeU16(&frame[field], uint16_t(~referenceChecksum(pseudoHeader(p.ip, v6, p.tcp.size()))));
    VnetHeader h{};
    h.flags = VnetHeader::kNeedsChecksum;
    h.checksumStart = uint16_t(14 + p.ipHeaderLength);
    h.checksumOffset = 16;
    Segmented out = segment(h, frame, 1500);
    ASSERT_EQ(out.frames.size(), 1u);
    EXPECT_EQ(out.frames[0], expected);
  }
}

TEST(IoOffloadSegment, PlainFramePassesThroughWithoutACopy) {
  Bytes arp(42, 0xab);
  storeU16(&arp[12], 0x0806);
  Bytes scratch(1514);
  const uint8_t* seen = nullptr;
  SegmentResult r = segmentFrame(VnetHeader{}, arp, 1500, scratch, [&](ByteView f) {
    seen = f.data();
    EXPECT_EQ(f.size(), arp.size());
  });
  EXPECT_EQ(r.frames, 1u);
  EXPECT_EQ(seen, arp.data());
}

TEST(IoOffloadSegment, UnsupportedGsoFramesAreDroppedWithAReason) {
  TcpSpec spec;
  Bytes v4 = buildTcpFrame(spec, randomBytes(4000, 5));
  spec.v6 = true;
  Bytes v6 = buildTcpFrame(spec, randomBytes(4000, 5));
  Bytes vlan = v4;
  vlan.insert(vlan.begin() + 12, {0x81, 0x00, 0x00, 0x07});
  Bytes udp = v4;
  udp[14 + 9] = 17;
  Bytes hopByHop = v6;
  hopByHop[14 + 6] = 0;
  Bytes fragment = v4;
  storeU16(&fragment[14 + 6], 0x2000);
  Bytes badIhl = v4;
  badIhl[14] = 0x44;
  Bytes truncated(v4.begin(), v4.begin() + 14 + 20 + 10);
  VnetHeader udpGso = gsoHeader(false, 1448);
  udpGso.gsoType = VnetHeader::kGsoUdp;
  VnetHeader zeroSize = gsoHeader(false, 0);
  VnetHeader badOffsets{};
  badOffsets.flags = VnetHeader::kNeedsChecksum;
  badOffsets.checksumStart = uint16_t(v4.size() - 1);
  badOffsets.checksumOffset = 0;

  struct Case {
    const char* name;
    VnetHeader h;
    const Bytes& frame;
    size_t mtu, scratch;
    OffloadDrop drop;
  } cases[] = {
      {"VLAN", gsoHeader(false, 1448), vlan, 1500, 0, OffloadDrop::kNotEthernetII},
      {"UDP in TCP GSO", gsoHeader(false, 1448), udp, 1500, 0, OffloadDrop::kNotTcp},
      {"UDP GSO", udpGso, v4, 1500, 0, OffloadDrop::kUnsupportedGso},
      {"TCPv6 GSO over IPv4", gsoHeader(true, 1448), v4, 1500, 0, OffloadDrop::kGsoTypeMismatch},
      {"TCPv4 GSO over IPv6", gsoHeader(false, 1448), v6, 1500, 0, OffloadDrop::kGsoTypeMismatch},
      {"IPv6 hop-by-hop", gsoHeader(true, 1448), hopByHop, 1500, 0, OffloadDrop::kIpv6Extensions},
      {"fragment", gsoHeader(false, 1448), fragment, 1500, 0, OffloadDrop::kIpFragment},
      {"IHL 4", gsoHeader(false, 1448), badIhl, 1500, 0, OffloadDrop::kMalformed},
      {"truncated TCP", gsoHeader(false, 1448), truncated, 1500, 0, OffloadDrop::kTruncated},
      {"zero gso size", zeroSize, v4, 1500, 0, OffloadDrop::kZeroGsoSize},
      {"MTU below headers", gsoHeader(false, 1448), v4, 52, 0, OffloadDrop::kMtuTooSmall},
      {"small scratch", gsoHeader(false, 1448), v4, 1500, 1000, OffloadDrop::kScratchTooSmall},
      {"checksum outside", badOffsets, v4, 1500, 0, OffloadDrop::kBadChecksumOffsets},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Segmented out = segment(c.h, c.frame, c.mtu, c.scratch);
    EXPECT_EQ(out.result.drop, c.drop) << describe(out.result.drop);
    EXPECT_TRUE(out.frames.empty());
  }
}

// --- TcpCoalescer ---

struct Written {
  VnetHeader vnet;
  Bytes frame;
};

std::vector<Written> flushAll(TcpCoalescer& c) {
  std::vector<Written> out;
  c.flush([&](ByteView d) {
    Written w;
    std::memcpy(&w.vnet, d.data(), kVnetHeaderSize);
    w.frame.assign(d.begin() + kVnetHeaderSize, d.end());
    out.push_back(std::move(w));
  });
  return out;
}

// What the receiving kernel would see on the wire again: every written frame segmented back.
std::vector<Bytes> resegment(const std::vector<Written>& written, size_t mtu) {
  std::vector<Bytes> all;
  for (const Written& w : written) {
    Segmented s = segment(w.vnet, w.frame, mtu);
    EXPECT_EQ(s.result.drop, OffloadDrop::kNone);
    all.insert(all.end(), s.frames.begin(), s.frames.end());
  }
  return all;
}

// Frame lists compared without printing megabytes of bytes on failure.
void expectSameFrames(const std::vector<Bytes>& actual, const std::vector<Bytes>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].size(), expected[i].size()) << "frame " << i;
    EXPECT_TRUE(actual[i] == expected[i]) << "frame " << i << " differs";
  }
}

// Segments carry their own size in the GSO header; a wide MTU just leaves it alone.
constexpr size_t kWideMtu = 9000;

// `count` in-order segments of one flow; adjust(i, spec, payloadSize) may change any of them.
std::vector<Bytes> flowSegments(TcpSpec spec, size_t count, size_t payloadSize,
                                const std::function<void(size_t, TcpSpec&, size_t&)>& adjust = {}) {
  std::vector<Bytes> frames;
  uint32_t seq = spec.seq;
  for (size_t i = 0; i < count; ++i) {
    TcpSpec s = spec;
    s.seq = seq;
    s.ipId = uint16_t(spec.ipId + i);
    size_t size = payloadSize;
    if (adjust) adjust(i, s, size);
    frames.push_back(buildTcpFrame(s, randomBytes(size, uint32_t(i + 10))));
    seq = s.seq + uint32_t(size);
  }
  return frames;
}

TEST(IoOffloadCoalesce, InOrderSegmentsBecomeOneSuperFrameTheKernelAccepts) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    TcpSpec spec;
    spec.v6 = v6;
    spec.flags = kAck | kCwr;  // only on the first
    auto frames = flowSegments(spec, 21, 1448, [](size_t i, TcpSpec& s, size_t& size) {
      if (i > 0) s.flags = kAck;
      if (i == 20) s.flags |= kPsh, size = 500;
    });
    TcpCoalescer c;
    for (size_t i = 0; i < frames.size(); ++i)
      EXPECT_EQ(c.add(frames[i]), i == 0 ? TcpCoalescer::Added::kHeld : TcpCoalescer::Added::kMerged) << i;
    std::vector<Written> out = flushAll(c);
    ASSERT_EQ(out.size(), 1u);
    const Written& w = out[0];
    size_t ipHeader = v6 ? 40 : 20;
    EXPECT_EQ(w.vnet.flags, VnetHeader::kNeedsChecksum);
    EXPECT_EQ(w.vnet.gsoType, (v6 ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4) | VnetHeader::kGsoEcn);
    EXPECT_EQ(w.vnet.gsoSize, 1448);
    EXPECT_EQ(w.vnet.headerLength, 14 + ipHeader + 32);
    EXPECT_EQ(w.vnet.checksumStart, 14 + ipHeader);
    EXPECT_EQ(w.vnet.checksumOffset, 16);
    Parsed p = parseTcpFrame(w.frame);
    EXPECT_EQ(p.payload.size(), 20 * 1448 + 500u);
    EXPECT_EQ(p.ipLengthField, v6 ? p.ip.size() - 40 : p.ip.size());
    EXPECT_TRUE(p.ipChecksumValid);
    EXPECT_EQ(p.flags, kAck | kCwr | kPsh);
    EXPECT_EQ(p.seq, spec.seq);
    // The checksum field holds the folded pseudo-header sum over the whole TCP length.
    uint16_t partial = uint16_t(~referenceChecksum(pseudoHeader(p.ip, v6, p.tcp.size())));
    EXPECT_EQ(loadU16(&p.tcp[16]), partial);
    // Cut again at the sender's MTU, it is exactly what was merged.
    expectSameFrames(resegment(out, kWideMtu), frames);
  }
}

TEST(IoOffloadCoalesce, SuperFramesStopAt64KiB) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    TcpSpec spec;
    spec.v6 = v6;
    auto frames = flowSegments(spec, 60, 1448);
    TcpCoalescer c;
    for (const Bytes& f : frames) c.add(f);
    std::vector<Written> out = flushAll(c);
    ASSERT_EQ(out.size(), 2u);
    size_t perFrame = (65535 - (v6 ? 40 : 20) - 32) / 1448;
    EXPECT_EQ(parseTcpFrame(out[0].frame).payload.size(), perFrame * 1448);
    EXPECT_LE(out[0].frame.size() - 14, 65535u);
    EXPECT_EQ(out[1].vnet.gsoType & 0x7f, v6 ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4);
    expectSameFrames(resegment(out, kWideMtu), frames);
  }
}

TEST(IoOffloadCoalesce, RefusesToMergeAcrossGapsAndHeaderChanges) {
  using Adjust = std::function<void(size_t, TcpSpec&, size_t&)>;
  struct Case {
    const char* name;
    Adjust adjust;
    size_t writes;  // the unmergeable segment is 2 of 0..3
  } cases[] = {
      {"sequence gap", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.seq += 1; }, 2},
      {"ack changes", [](size_t i, TcpSpec& s, size_t&) { if (i >= 2) s.ack += 1448; }, 2},
      {"window changes", [](size_t i, TcpSpec& s, size_t&) { if (i >= 2) s.window += 1; }, 2},
      {"timestamp changes", [](size_t i, TcpSpec& s, size_t&) { if (i >= 2) s.tsval += 1; }, 2},
      {"TTL changes", [](size_t i, TcpSpec& s, size_t&) { if (i >= 2) s.ttl -= 1; }, 2},
      {"ECN CE mark", [](size_t i, TcpSpec& s, size_t&) { if (i >= 2) s.tos |= 3; }, 2},
      {"ECE appears", [](size_t i, TcpSpec& s, size_t&) { if (i >= 2) s.flags |= kEce; }, 2},
      {"CWR after the first", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.flags |= kCwr; }, 2},
      {"other source MAC", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.srcMacLast = 9; }, 3},
      {"larger segment", [](size_t i, TcpSpec&, size_t& size) { if (i == 2) size = 1500; }, 2},
      {"shorter segment ends it", [](size_t i, TcpSpec&, size_t& size) { if (i == 1) size = 1000; }, 2},
      {"PSH ends it", [](size_t i, TcpSpec& s, size_t&) { if (i == 1) s.flags |= kPsh; }, 2},
      {"URG", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.flags |= kUrg, s.urgent = 5; }, 3},
      {"RST", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.flags |= kRst; }, 3},
      {"FIN", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.flags |= kFin; }, 3},
      {"SYN", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.flags |= kSyn; }, 3},
      {"bad checksum", [](size_t i, TcpSpec& s, size_t&) { if (i == 2) s.corruptChecksum = true; }, 3},
      {"IPv4 id repeats without DF",
       [](size_t i, TcpSpec& s, size_t&) { s.dontFragment = false; if (i >= 2) s.ipId -= 1; }, 2},
  };
  for (bool v6 : {false, true}) {
    for (const Case& c : cases) {
      if (v6 && std::string(c.name).find("IPv4") != std::string::npos) continue;
      SCOPED_TRACE(std::string(c.name) + (v6 ? " IPv6" : " IPv4"));
      TcpSpec spec;
      spec.v6 = v6;
      auto frames = flowSegments(spec, 4, 1448, c.adjust);
      TcpCoalescer c2;
      for (const Bytes& f : frames) c2.add(f);
      std::vector<Written> out = flushAll(c2);
      EXPECT_EQ(out.size(), c.writes);
      ASSERT_FALSE(out.empty());
      EXPECT_NE(out[0].vnet.gsoType, VnetHeader::kGsoNone);  // segments 0 and 1 did merge
      for (const Written& w : out) {  // lone segments go out as they came
        if (w.vnet.gsoType == VnetHeader::kGsoNone) {
          EXPECT_EQ(w.vnet.flags, 0);
        }
      }
      expectSameFrames(resegment(out, kWideMtu), frames);
    }
  }
}

TEST(IoOffloadCoalesce, OtherProtocolsPassThroughUnchangedAndInOrder) {
  Bytes arp(42, 0x11);
  storeU16(&arp[12], 0x0806);
  TcpSpec spec;
  Bytes udp = buildTcpFrame(spec, randomBytes(300, 6));
  udp[14 + 9] = 17;
  spec.v6 = true;
  Bytes icmp6 = buildTcpFrame(spec, randomBytes(64, 7));
  icmp6[14 + 6] = 58;
  auto tcp = flowSegments(TcpSpec{}, 3, 1448);
  TcpCoalescer c;
  using A = TcpCoalescer::Added;
  EXPECT_EQ(c.add(tcp[0]), A::kHeld);
  EXPECT_EQ(c.add(arp), A::kPassedThrough);
  EXPECT_EQ(c.add(tcp[1]), A::kMerged);
  EXPECT_EQ(c.add(udp), A::kPassedThrough);
  EXPECT_EQ(c.add(tcp[2]), A::kMerged);
  EXPECT_EQ(c.add(icmp6), A::kPassedThrough);
  EXPECT_EQ(c.add(Bytes(13, 0)), A::kDropped);
  std::vector<Written> out = flushAll(c);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].vnet.gsoType, VnetHeader::kGsoTcpV4);
  const Bytes* others[] = {&arp, &udp, &icmp6};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i + 1].frame, *others[i]);
    VnetHeader zero{};
    EXPECT_EQ(std::memcmp(&out[i + 1].vnet, &zero, kVnetHeaderSize), 0);
  }
  EXPECT_TRUE(c.empty());
}

TEST(IoOffloadCoalesce, PureAckOfTheFlowGoesOutAfterWhatWasHeld) {
  auto frames = flowSegments(TcpSpec{}, 4, 1448, [](size_t i, TcpSpec&, size_t& size) {
    if (i == 2) size = 0;  // a pure ACK between data segments
  });
  TcpCoalescer c;
  for (const Bytes& f : frames) c.add(f);
  std::vector<Written> out = flushAll(c);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].vnet.gsoType, VnetHeader::kGsoTcpV4);
  EXPECT_EQ(out[1].frame, frames[2]);
  EXPECT_EQ(out[2].frame, frames[3]);
  expectSameFrames(resegment(out, kWideMtu), frames);
}

TEST(IoOffloadCoalesce, InterleavedFlowsMergeSeparately) {
  TcpSpec a, b;
  b.srcMacLast = 5;
  b.seq = 42;
  auto fa = flowSegments(a, 5, 1448), fb = flowSegments(b, 5, 1000);
  TcpCoalescer c;
  for (size_t i = 0; i < 5; ++i) c.add(fa[i]), c.add(fb[i]);
  std::vector<Written> out = flushAll(c);
  ASSERT_EQ(out.size(), 2u);
  expectSameFrames(resegment({out[0]}, kWideMtu), fa);
  expectSameFrames(resegment({out[1]}, kWideMtu), fb);
}

TEST(IoOffloadCoalesce, FullWhenEveryFlowIsHeldAndFlushingMakesRoom) {
  TcpCoalescer c;
  for (size_t i = 0; i < TcpCoalescer::kFlows; ++i) {
    TcpSpec s;
    s.srcMacLast = uint8_t(i);
    ASSERT_EQ(c.add(buildTcpFrame(s, randomBytes(100, 8))), TcpCoalescer::Added::kHeld);
  }
  TcpSpec extra;
  extra.srcMacLast = 0xee;
  Bytes frame = buildTcpFrame(extra, randomBytes(100, 9));
  EXPECT_EQ(c.add(frame), TcpCoalescer::Added::kFull);
  size_t written = 0;
  EXPECT_EQ(c.add(frame, [&](ByteView) { ++written; }), TcpCoalescer::Added::kHeld);
  EXPECT_EQ(written, TcpCoalescer::kFlows);
  EXPECT_EQ(flushAll(c).size(), 1u);
}

// --- Against the kernel ---

constexpr unsigned kBridgeMtu = 2800;
constexpr uint64_t kTransferBytes = 64ull << 20;

InetAddress serverIn(int side, bool v6) {
  return *InetAddress::parse((v6 ? test::TapPair::ipv6(side) : test::TapPair::ipv4(side)) + "/5201");
}

void expectIntact(const test::TransferResult& r) {
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.sent, kTransferBytes);
  EXPECT_EQ(r.received, kTransferBytes);
  EXPECT_EQ(r.receivedDigest, r.sentDigest);
}

void expectCleanBridge(const test::TapBridge& bridge) {
  EXPECT_EQ(bridge.aToB().drops + bridge.bToA().drops, 0u);
  EXPECT_EQ(bridge.aToB().writeErrors + bridge.bToA().writeErrors, 0u);  // the kernel took every frame
}

// TCP's InCsumErrors in a namespace: segments its kernel refused for their checksum. A transfer
// survives a few (TCP retransmits them, often cut differently), so it is checked by itself.
uint64_t tcpChecksumErrors(const test::ScopedNetns& ns) {
  std::string snmp = ns.capture("cat /proc/net/snmp");
  size_t header = snmp.find("Tcp:"), values = snmp.find("Tcp:", header + 1);
  if (header == std::string::npos || values == std::string::npos) return UINT64_MAX;
  std::istringstream names(snmp.substr(header, snmp.find('\n', header) - header));
  std::istringstream numbers(snmp.substr(values, snmp.find('\n', values) - values));
  std::string name, number;
  while (names >> name && numbers >> number)
    if (name == "InCsumErrors") return std::stoull(number);
  return UINT64_MAX;
}

void expectNoChecksumErrors(const test::TapPair& pair) {
  EXPECT_EQ(tcpChecksumErrors(pair.a), 0u);
  EXPECT_EQ(tcpChecksumErrors(pair.b), 0u);
}

void printStats(const char* what, const test::TapBridge::Stats& s, const test::TransferResult& r) {
  std::printf("[ bridge   ] %s reads %lu (GSO %lu), writes %lu (GSO %lu); %.2f Gbit/s\n", what,
              (unsigned long)s.reads, (unsigned long)s.gsoReads, (unsigned long)s.writes,
              (unsigned long)s.gsoWrites, r.gbps());
}

void expectIntactTransferBetweenOffloadTaps(bool v6) {
  test::TapPair pair(v6 ? "off6" : "off4", true, true, kBridgeMtu);
  ASSERT_EQ(pair.error, "");
  test::TransferResult r;
  {
    test::TapBridge bridge(pair.tapA, pair.tapB, kBridgeMtu);
    r = test::transferTcp(pair.a.path(), pair.b.path(), serverIn(2, v6), kTransferBytes, 0, true);
    expectCleanBridge(bridge);
    // The offloads were really used on both sides of the bridge.
    EXPECT_GT(bridge.aToB().gsoReads, 0u);
    EXPECT_GT(bridge.aToB().gsoWrites, 0u);
    printStats("A->B", bridge.aToB(), r);
  }
  expectIntact(r);
  expectNoChecksumErrors(pair);
}

TEST(IoOffloadKernel, Tcp64MiBCrossesTheOffloadBridgeIntactOverIpv4) { expectIntactTransferBetweenOffloadTaps(false); }
TEST(IoOffloadKernel, Tcp64MiBCrossesTheOffloadBridgeIntactOverIpv6) { expectIntactTransferBetweenOffloadTaps(true); }

// B's TAP has no offloads, like a stock ZeroTier peer: it sees only our MTU-sized segments, whose
// checksums its kernel verifies in full, and its plain frames are what A's coalescer merges.
TEST(IoOffloadKernel, StockPeerWithoutOffloadsAcceptsOurSegmentsAndFeedsOurCoalescer) {
  test::TapPair pair("offmix", true, false, kBridgeMtu);
  ASSERT_EQ(pair.error, "");
  test::TransferResult toStock, fromStock;
  {
    test::TapBridge bridge(pair.tapA, pair.tapB, kBridgeMtu);
    toStock = test::transferTcp(pair.a.path(), pair.b.path(), serverIn(2, false), kTransferBytes, 0, true);
    printStats("A->B", bridge.aToB(), toStock);
    fromStock = test::transferTcp(pair.b.path(), pair.a.path(), serverIn(1, true), kTransferBytes, 0, true);
    printStats("B->A", bridge.bToA(), fromStock);
    expectCleanBridge(bridge);
    EXPECT_GT(bridge.aToB().gsoReads, 0u);
    EXPECT_EQ(bridge.aToB().gsoWrites, 0u);
    EXPECT_GT(bridge.bToA().gsoWrites, 0u);
  }
  expectIntact(toStock);
  expectIntact(fromStock);
  expectNoChecksumErrors(pair);
}

}  // namespace
}  // namespace zt::io
