// segmentFrame and TcpCoalescer over arbitrary frames: the first 10 bytes are the virtio-net
// header, the next 2 the MTU, the rest the frame. Everything segmentFrame emits goes through the
// coalescer together with the raw frame itself; every super-frame the coalescer writes must cut
// back into segments without a drop, and nothing may be lost on the way.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "io/offload.hpp"

using namespace zt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < io::kVnetHeaderSize + 2) return 0;
  io::VnetHeader vnet;
  std::memcpy(&vnet, data, io::kVnetHeaderSize);
  size_t mtu = 68 + loadU16(data + io::kVnetHeaderSize) % 9000;
  ByteView frame(data + io::kVnetHeaderSize + 2, size - io::kVnetHeaderSize - 2);

  static io::TcpCoalescer coalescer;  // its storage is large: build it once
  std::vector<uint8_t> scratch(io::kEthernetHeaderSize + mtu);
  std::vector<size_t> fed, out;
  std::vector<uint8_t> wide(io::kEthernetHeaderSize + 65535);
  auto write = [&](ByteView written) {
    io::VnetHeader h;
    std::memcpy(&h, written.data(), io::kVnetHeaderSize);
    ByteView f = written.subspan(io::kVnetHeaderSize);
    io::SegmentResult back = io::segmentFrame(h, f, 65535, wide, [&](ByteView s) { out.push_back(s.size()); });
    if (back.drop != io::OffloadDrop::kNone) __builtin_trap();
  };
  auto feed = [&](ByteView f) {
    io::TcpCoalescer::Added added = coalescer.add(f, write);
    if (added == io::TcpCoalescer::Added::kFull) __builtin_trap();  // a flush always makes room
    if (added != io::TcpCoalescer::Added::kDropped) fed.push_back(f.size());
  };
  io::SegmentResult r = io::segmentFrame(vnet, frame, mtu, scratch, [&](ByteView f) {
    bool gso = (vnet.gsoType & ~io::VnetHeader::kGsoEcn) != io::VnetHeader::kGsoNone;
    if (gso && f.size() > io::kEthernetHeaderSize + mtu) __builtin_trap();
    feed(f);
  });
  if (r.drop != io::OffloadDrop::kNone && r.frames != 0) __builtin_trap();
  feed(frame);
  coalescer.flush(write);
  std::sort(fed.begin(), fed.end());
  std::sort(out.begin(), out.end());
  if (fed != out) __builtin_trap();
  return 0;
}
