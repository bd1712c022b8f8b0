// native/io against the real kernel: namespaces, TAP devices, rtnetlink and batched UDP.
#include <gtest/gtest.h>
#include <poll.h>

#include <cstring>

#include "io/netlink.hpp"
#include "io/netns.hpp"
#include "io/tap.hpp"
#include "io/udp.hpp"
#include "netns_fixture.hpp"

namespace zt::io {
namespace {

using test::ScopedNetns;

struct ConfiguredTap {
  TapDevice tap;
  std::string error;
};

ConfiguredTap makeConfiguredTap(const ScopedNetns& ns) {
  Result<TapDevice> made = inNetns<TapDevice>(ns.path(), []() -> Result<TapDevice> {
    Result<TapDevice> tap = TapDevice::create("zt-test0", true);
    if (!tap) return tap;
    Result<Rtnl> rtnl = Rtnl::open();
    if (!rtnl) return Error{rtnl.error()};
    std::array<uint8_t, 6> mac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    for (Result<bool> step : {rtnl->setLink(tap->ifindex, mac, 2800, true),
                              rtnl->addAddress(tap->ifindex, *IpPrefix::parse("198.19.1.1/24")),
                              rtnl->addAddress(tap->ifindex, *IpPrefix::parse("fd00:1::1/64")),
                              rtnl->addRoute(tap->ifindex, *IpPrefix::parse("198.19.2.0/24"),
                                             *InetAddress::parse("198.19.1.254"))})
      if (!step) return Error{step.error()};
    return tap;
  });
  if (!made) return {{}, made.error()};
  return {std::move(*made), ""};
}

TEST(IoTap, CreatedInNamespaceWithMacMtuAddressesAndRoutes) {
  ScopedNetns ns("tap");
  ConfiguredTap t = makeConfiguredTap(ns);
  ASSERT_EQ(t.error, "");
  std::string link = ns.capture("ip link show zt-test0");
  EXPECT_NE(link.find("mtu 2800"), std::string::npos) << link;
  EXPECT_NE(link.find("02:11:22:33:44:55"), std::string::npos) << link;
  EXPECT_NE(link.find("UP"), std::string::npos) << link;
  std::string addrs = ns.capture("ip addr show zt-test0");
  EXPECT_NE(addrs.find("198.19.1.1/24"), std::string::npos) << addrs;
  EXPECT_NE(addrs.find("fd00:1::1/64"), std::string::npos) << addrs;
  EXPECT_NE(ns.capture("ip route").find("198.19.2.0/24 via 198.19.1.254 dev zt-test0"), std::string::npos);
  // The device is not visible in our own namespace, and goes away with its fd.
  EXPECT_EQ(std::system("ip link show zt-test0 >/dev/null 2>&1") == 0, false);
  t.tap.fd.reset();
  EXPECT_EQ(ns.capture("ip link show zt-test0").find("mtu"), std::string::npos);
}

// Writes an ARP request for the TAP's own address into the device and reads the kernel's reply:
// frames cross the TAP in both directions with the virtio-net header in front.
TEST(IoTap, KernelAnswersArpWrittenToTheDevice) {
  ScopedNetns ns("arp");
  ConfiguredTap t = makeConfiguredTap(ns);
  ASSERT_EQ(t.error, "");
  const uint8_t asker[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  uint8_t frame[kVnetHeaderSize + 42] = {};
  uint8_t* eth = frame + kVnetHeaderSize;
  std::memset(eth, 0xff, 6);
  std::memcpy(eth + 6, asker, 6);
  const uint8_t arp[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
  std::memcpy(eth + 12, arp, sizeof arp);
  std::memcpy(eth + 22, asker, 6);
  const uint8_t senderIp[4] = {198, 19, 1, 7}, targetIp[4] = {198, 19, 1, 1};
  std::memcpy(eth + 28, senderIp, 4);
  std::memcpy(eth + 38, targetIp, 4);
  ASSERT_EQ(::write(t.tap.fd.get(), frame, sizeof frame), ssize_t(sizeof frame));

  uint8_t reply[kVnetHeaderSize + 2000];
  for (int attempt = 0; attempt < 50; ++attempt) {
    pollfd p{t.tap.fd.get(), POLLIN, 0};
    ASSERT_GE(::poll(&p, 1, 100), 0);
    ssize_t n = ::read(t.tap.fd.get(), reply, sizeof reply);
    if (n < ssize_t(kVnetHeaderSize + 42)) continue;
    const uint8_t* r = reply + kVnetHeaderSize;
    if (r[12] != 0x08 || r[13] != 0x06 || r[21] != 2) continue;  // not an ARP reply (IPv6 chatter)
    EXPECT_EQ(std::memcmp(r, asker, 6), 0);
    const uint8_t tapMac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    EXPECT_EQ(std::memcmp(r + 22, tapMac, 6), 0);
    return;
  }
  FAIL() << "no ARP reply from the kernel";
}

TEST(IoUdp, BatchedSendCoalescesAndBatchedReceiveSplitsEveryDatagram) {
  auto rx = UdpSocket::open(*InetAddress::parse("127.0.0.1/0"));
  auto tx = UdpSocket::open(*InetAddress::parse("127.0.0.1/0"));
  ASSERT_TRUE(rx && tx);
  SendBatch out;
  constexpr size_t kCount = 20;
  for (size_t i = 0; i < kCount; ++i) {
    Bytes d(i == kCount - 1 ? 300 : 1200, uint8_t(i));
    ASSERT_TRUE(out.add(rx->localAddress(), d));
  }
  EXPECT_EQ(out.flush(tx->fd()), 0u);

  RecvBatch in;
  std::vector<Bytes> got;
  for (int attempt = 0; attempt < 50 && got.size() < kCount; ++attempt) {
    pollfd p{rx->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    auto n = rx->receive(in);
    ASSERT_TRUE(n) << n.error();
    in.forEachDatagram([&](const InetAddress& from, ByteView d) {
      EXPECT_EQ(from, tx->localAddress());
      got.emplace_back(d.begin(), d.end());
    });
  }
  ASSERT_EQ(got.size(), kCount);
  for (size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(got[i].size(), i == kCount - 1 ? 300u : 1200u);
    EXPECT_EQ(got[i].front(), uint8_t(i));
    EXPECT_EQ(got[i].back(), uint8_t(i));
  }
}

TEST(IoNetns, MissingNamespaceIsAClearError) {
  Result<bool> r = runInNetns("/var/run/netns/does-not-exist", [] {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("/var/run/netns/does-not-exist"), std::string::npos);
}

}  // namespace
}  // namespace zt::io
