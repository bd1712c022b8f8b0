// Throughput of the userspace TAP bridge (TAP A -> segmentFrame -> TcpCoalescer -> TAP B) with
// virtio-net offloads on, against plain TAPs that hand over one MTU-sized frame per read. A TCP
// stream from namespace A to namespace B runs for a few seconds in each mode. Run as root.
// Usage: offload_bench [seconds per mode, default 5] [mtu, default 2800]
#include <ctime>
#include <cstdio>
#include <cstdlib>

#include "bridge_fixture.hpp"

namespace {

// The userspace share of the bridge alone: a 64 KiB TCPv4 super-frame cut at the MTU and merged
// back, in memory. Returns Gbit/s of TCP payload per second of this thread's CPU time, which the
// other tenants of a shared machine do not distort.
double measureInMemory(double seconds, unsigned mtu) {
  using namespace zt;
  constexpr size_t kPayload = 65535 - 20 - 32;
  Bytes frame(14 + 20 + 32 + kPayload, 0x5a);
  storeU16(&frame[12], 0x0800);
  uint8_t* ip = &frame[14];
  ip[0] = 0x45, ip[8] = 64, ip[9] = 6;
  storeU16(ip + 2, uint16_t(frame.size() - 14));
  storeU16(ip + 6, 0x4000);
  uint8_t* tcp = ip + 20;
  tcp[12] = 8 << 4, tcp[13] = 0x10;
  io::VnetHeader vnet{io::VnetHeader::kNeedsChecksum, io::VnetHeader::kGsoTcpV4, 66, uint16_t(mtu - 52), 34, 16};
  Bytes scratch(14 + mtu);
  io::TcpCoalescer coalescer;
  uint64_t bytes = 0, superFrames = 0;
  auto cpuSeconds = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
  };
  double begin = cpuSeconds(), elapsed = 0;
  for (; elapsed < seconds; elapsed = cpuSeconds() - begin) {
    for (int i = 0; i < 100; ++i) {
      io::segmentFrame(vnet, frame, mtu, scratch, [&](ByteView f) { coalescer.add(f); });
      coalescer.flush([&](ByteView) { ++superFrames; });
      bytes += kPayload;
    }
  }
  double gbps = double(bytes) * 8 / elapsed / 1e9;
  std::printf("in memory   : %.3f Gbit/s per CPU second  (segment at MTU %u + coalesce, %lu super-frames out)\n", gbps, mtu,
              (unsigned long)superFrames);
  return gbps;
}

double measure(bool offloads, double seconds, unsigned mtu) {
  zt::test::TapPair pair(offloads ? "bon" : "boff", offloads, offloads, mtu);
  if (!pair.error.empty()) {
    std::fprintf(stderr, "setup failed: %s\n", pair.error.c_str());
    return 0;
  }
  zt::test::TapBridge bridge(pair.tapA, pair.tapB, mtu);
  zt::InetAddress server = *zt::InetAddress::parse(zt::test::TapPair::ipv4(2) + "/5201");
  zt::test::TransferResult r = zt::test::transferTcp(pair.a.path(), pair.b.path(), server, 0, seconds, false);
  if (!r.error.empty()) std::fprintf(stderr, "transfer: %s\n", r.error.c_str());
  std::printf("offloads %-3s: %.3f Gbit/s  (%.1f MiB in %.2f s; A->B reads %lu, GSO reads %lu, writes %lu, "
              "GSO writes %lu, drops %lu)\n",
              offloads ? "on" : "off", r.gbps(), double(r.received) / (1 << 20), r.seconds,
              (unsigned long)bridge.aToB().reads, (unsigned long)bridge.aToB().gsoReads,
              (unsigned long)bridge.aToB().writes, (unsigned long)bridge.aToB().gsoWrites,
              (unsigned long)bridge.aToB().drops);
  return r.gbps();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  unsigned mtu = argc > 2 ? unsigned(std::atoi(argv[2])) : 2800;
  measureInMemory(1, mtu);
  double on = measure(true, seconds, mtu);
  double off = measure(false, seconds, mtu);
  std::printf("{\"bridgeOffloadGbps\":%.3f,\"bridgeNoOffloadGbps\":%.3f}\n", on, off);
  return on > 0 && off > 0 ? 0 : 1;
}
