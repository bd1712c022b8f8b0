// Throughput of the userspace TAP bridge (TAP A -> segmentFrame -> TcpCoalescer -> TAP B) with
// virtio-net offloads on, against plain TAPs that hand over one MTU-sized frame per read. A TCP
// stream from namespace A to namespace B runs for a few seconds in each mode. Run as root.
// Usage: offload_bench [seconds per mode, default 5] [mtu, default 2800]
#include <cstdio>
#include <cstdlib>

#include "bridge_fixture.hpp"

namespace {

double measure(bool offloads, double seconds, unsigned mtu) {
  zt::test::TapPair pair(offloads ? "bon" : "boff", offloads, mtu);
  if (!pair.error.empty()) {
    std::fprintf(stderr, "setup failed: %s\n", pair.error.c_str());
    return 0;
  }
  zt::test::TapBridge bridge(pair.tapA.fd.get(), pair.tapB.fd.get(), offloads, mtu);
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
  double on = measure(true, seconds, mtu);
  double off = measure(false, seconds, mtu);
  std::printf("{\"bridgeOffloadGbps\":%.3f,\"bridgeNoOffloadGbps\":%.3f}\n", on, off);
  return on > 0 && off > 0 ? 0 : 1;
}
