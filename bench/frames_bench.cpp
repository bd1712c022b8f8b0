// VL2 frame throughput on one core: a root, a controller and two members in one process over
// the simulated underlay of test/core/lab.hpp (no sockets, no TAP). Once the members are
// configured, authorised and on a direct path with cipher suite 3, unicast frames go A → B
// through Node::processVirtualNetworkFrame on A; every datagram A sends is handed straight to B's
// processWirePacket, and B's virtualNetworkFrame counts and checks what arrives. Beside it, in
// the same run, the crypto-only ceiling: suite-3 armor + dearmor of packets of the same size
// with the per-peer cipher the node uses. Prints a table, then one JSON line.
//
// The machine is shared: time is the thread's CPU time (what one core spends, not counting the
// time other processes had it), both measures run in interleaved rounds and the best round of
// each is kept, so a burst of load elsewhere skews neither side of the ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/controller.hpp"
#include "crypto/armor.hpp"
#include "lab.hpp"
#include "vl2/mac.hpp"
#include "wire/codec_util.hpp"
#include "wire/packet.hpp"

namespace {

using namespace zt;
// CPU time of the calling thread, as a std::chrono clock.
struct ThreadCpuClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<ThreadCpuClock>;
  static constexpr bool is_steady = true;
  static time_point now() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return time_point(std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec));
  }
};
using Clock = ThreadCpuClock;

constexpr size_t kFrameBytes = 1400;                     // Ethernet frame: 14-byte header + payload
constexpr size_t kPayloadBytes = kFrameBytes - 14;       // what the port hands the node
constexpr size_t kPacketBytes = wire::kPayloadOffset + 8 + 2 + kPayloadBytes;  // FRAME: nwid · ethertype · payload
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr int kRounds = 12;
constexpr int64_t kNow = 1'800'000'000'000;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The lab: root on .1, controller on .2, members A on .3 and B on .4, one private network with
// the default rule (accept) and both members authorised.
class FrameLab {
 public:
  FrameLab() {
    lab_.net.now = kNow;
    const Identity rootId = Identity::generate(), ctlId = Identity::generate();
    const lab::KeyPair signer = lab::freshKeyPair();
    lab_.planet = lab::makePlanet(rootId, lab::labAddress(1), uint64_t(kNow) + 1000, signer, signer.pub);
    lab_.addHost(1, rootId.toString(true), {.rootMode = true});
    ctl_ = &lab_.addHost(2, ctlId.toString(true));
    a_ = &lab_.addHost(3, Identity::generate().toString(true));
    b_ = &lab_.addHost(4, Identity::generate().toString(true));
    networkId_ = (ctlId.address().value << 24) | 0x000001;
    const std::string nwid = wire::hex64(networkId_);
    store_.saveNetwork({{"id", nwid}, {"nwid", nwid}, {"private", true}});
    for (const lab::LabHost* m : {a_, b_}) {
      const std::string address = m->identity.address().toString();
      store_.saveMember({{"nwid", nwid}, {"id", address}, {"address", address}, {"authorized", true}});
    }
    controller_ = std::make_unique<NetworkController>(ctlId, store_);
    ctl_->node->setNetconfMaster(controller_.get());
  }

  // Joins both members, waits for their configs, and sends frames both ways until each knows
  // the other on a direct path (the root's RENDEZVOUS).
  void settle() {
    lab_.net.run(2000);
    for (lab::LabHost* m : {a_, b_})
      if (m->node->join(lab_.net.now, networkId_) != ResultCode::Ok) fail("join failed on " + m->addr().toString());
    lab_.net.run(12000);
    for (lab::LabHost* m : {a_, b_}) {
      const std::optional<VirtualNetworkConfig> c = m->node->networkConfig(networkId_);
      if (!c || c->status != VirtualNetworkStatus::Ok)
        fail("member " + m->addr().toString() + " has no usable config (" +
             (c ? virtualNetworkStatusName(c->status) : "not joined") + ")");
    }
    const Bytes hello(64, 0x11);
    for (int i = 0; i < 5; ++i) {
      a_->node->processVirtualNetworkFrame(lab_.net.now, networkId_, macOf(*a_), macOf(*b_), kEtherTypeIpv4, 0, hello);
      b_->node->processVirtualNetworkFrame(lab_.net.now, networkId_, macOf(*b_), macOf(*a_), kEtherTypeIpv4, 0, hello);
      lab_.net.run(1000);
    }
    requireDirect(*a_, *b_);
    requireDirect(*b_, *a_);
    if (b_->framesFrom(macOf(*a_), kEtherTypeIpv4) == 0) fail("no warm-up frame reached B");
  }

  // Sends `count` frames A → B; returns the seconds it took. Datagrams from A to B are handed to
  // B at once; anything else any node sends meanwhile is a failure.
  double sendFrames(size_t count, uint64_t& allocations) {
    Bytes payload(kPayloadBytes);
    randomBytes(payload);
    const Bytes reference = payload;
    size_t received = 0, datagrams = 0;
    uint64_t expected = 0;
    std::string problem;
    b_->onFrame = [&](uint16_t etherType, ByteView got) {
      // Every frame carries its sequence number; every 4096th is compared whole.
      if (etherType != kEtherTypeIpv4 || got.size() != kPayloadBytes || loadU64(got.data()) != expected ||
          ((expected & 4095) == 0 && std::memcmp(got.data() + 8, reference.data() + 8, kPayloadBytes - 8) != 0))
        problem = "frame " + std::to_string(expected) + " arrived altered";
      ++expected, ++received;
    };
    lab_.net.intercept = [&](const lab::LabHost& from, const InetAddress& to, ByteView data) {
      if (&from != a_ || to != b_->addr()) {
        problem = "unexpected datagram from " + from.addr().toString() + " to " + to.toString();
        return false;
      }
      if (wire::classify(data) != wire::DatagramKind::Packet || wire::cipher(data) != Cipher::AesGmacSiv) {
        problem = "A sent B a datagram that is not one suite-3 packet (cipher " +
                  std::to_string(unsigned(data[wire::kFlagsOffset] >> 3 & 7)) + ", " + std::to_string(data.size()) + " bytes)";
        return false;
      }
      ++datagrams;
      b_->node->processWirePacket(lab_.net.now, 0, a_->addr(), data);
      return true;
    };
    const uint64_t srcMac = macOf(*a_), dstMac = macOf(*b_);
    lab::allocationsCounted = 0;
    lab::countingAllocations = true;
    const Clock::time_point start = Clock::now();
    for (uint64_t i = 0; i < count; ++i) {
      storeU64(payload.data(), i);
      a_->node->processVirtualNetworkFrame(lab_.net.now, networkId_, srcMac, dstMac, kEtherTypeIpv4, 0, payload);
    }
    const double elapsed = seconds(start);
    lab::countingAllocations = false;
    allocations = lab::allocationsCounted;
    lab_.net.intercept = nullptr;
    b_->onFrame = nullptr;
    if (!problem.empty()) fail(problem);
    if (received != count || datagrams != count)
      fail(std::to_string(count) + " frames sent, " + std::to_string(datagrams) + " datagrams, " +
           std::to_string(received) + " frames received");
    return elapsed;
  }

  // The key A and B agreed, for the crypto-only ceiling.
  SymmetricKey pairKey() const { return *a_->identity.agree(b_->identity); }

 private:
  uint64_t macOf(const lab::LabHost& h) const { return memberMac(h.identity.address(), networkId_); }

  // `from` sends to `to` on a live direct path to its lab address, and speaks protocol 12 (so
  // suite 3: the packets themselves are checked during the run).
  void requireDirect(lab::LabHost& from, lab::LabHost& to) {
    for (const PeerInfo& p : from.node->peers()) {
      if (p.address != to.identity.address()) continue;
      if (p.protocolVersion < 12) fail("peer " + p.address.toString() + " speaks protocol " + std::to_string(p.protocolVersion));
      for (const PathInfo& path : p.paths)
        if (path.preferred && path.alive && path.remote == to.addr()) return;
      fail(from.addr().toString() + " has no direct path to " + to.addr().toString());
    }
    fail(from.addr().toString() + " does not know " + to.addr().toString());
  }

  lab::Lab lab_;
  MemoryControllerStore store_;
  std::unique_ptr<NetworkController> controller_;
  lab::LabHost *ctl_ = nullptr, *a_ = nullptr, *b_ = nullptr;
  uint64_t networkId_ = 0;
};

// Suite-3 armor + dearmor of `count` packets of the FRAME's size; the seconds it took.
double cryptoOnly(const SymmetricKey& key, size_t count) {
  PeerCipher sender(key), receiver(key);
  Bytes packet(kPacketBytes);
  randomBytes(packet);
  packet[wire::kFlagsOffset] = 0;
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < count; ++i) {
    storeU64(packet.data(), i);
    sender.armor(packet, Cipher::AesGmacSiv);
    if (!receiver.dearmor(packet)) fail("crypto-only packet did not authenticate");
  }
  return seconds(start);
}

}  // namespace

int main(int argc, char** argv) try {
  const size_t total = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2'000'000;
  const size_t perRound = std::max<size_t>(total / kRounds, 1);
  FrameLab lab;
  lab.settle();
  const SymmetricKey key = lab.pairKey();
  double bestFrames = 0, bestCrypto = 0;
  uint64_t allocations = 0;
  for (int round = 0; round < kRounds; ++round) {
    uint64_t roundAllocations = 0;
    bestFrames = std::max(bestFrames, double(perRound) / lab.sendFrames(perRound, roundAllocations));
    bestCrypto = std::max(bestCrypto, double(perRound) / cryptoOnly(key, perRound));
    allocations += roundAllocations;
  }
  const double gbps = bestFrames * kFrameBytes * 8 / 1e9;
  const double ratio = bestFrames / bestCrypto;
  std::printf("%-58s %14s\n", "measure (1400-byte frames, thread CPU time, best of 12)", "value");
  std::printf("%-58s %14zu\n", "frames A -> B (all arrived, checked)", perRound * kRounds);
  std::printf("%-58s %14zu\n", "wire packet bytes (FRAME, suite 3, unfragmented)", kPacketBytes);
  std::printf("%-58s %12.0f/s\n", "full path: processVirtualNetworkFrame -> processWirePacket", bestFrames);
  std::printf("%-58s %9.2f Gbit/s\n", "  as Ethernet throughput", gbps);
  std::printf("%-58s %12.0f/s\n", "crypto only: suite 3 armor + dearmor", bestCrypto);
  std::printf("%-58s %14.2f\n", "full path / crypto only (target >= 0.70)", ratio);
  std::printf("%-58s %14.3f\n", "heap allocations per frame (target 0)", double(allocations) / double(perRound * kRounds));
  std::printf("{\"framesPerSecond\": %.0f, \"gbps\": %.3f, \"cryptoOnlyFramesPerSecond\": %.0f, \"ratioToCrypto\": %.3f}\n",
              bestFrames, gbps, bestCrypto, ratio);
} catch (const std::exception& e) {
  std::fprintf(stderr, "frames_bench: %s\n", e.what());
  return 1;
}
