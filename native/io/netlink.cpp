#include "io/netlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <charconv>
#include <utility>

namespace zt::io {

std::optional<IpPrefix> IpPrefix::parse(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto ip = InetAddress::parse(text.substr(0, slash));
  unsigned bits = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data() + slash + 1, end, bits);
  if (!ip || ec != std::errc() || p != end) return std::nullopt;
  if (bits > (ip->family == InetAddress::Family::V4 ? 32u : 128u)) return std::nullopt;
  return IpPrefix{*ip, bits};
}

std::string IpPrefix::toString() const { return ip.ipString() + "/" + std::to_string(bits); }

namespace {
uint8_t familyOf(const InetAddress& a) { return a.family == InetAddress::Family::V6 ? AF_INET6 : AF_INET; }

nlmsghdr* startMessage(char* buffer, uint16_t type, uint16_t flags, uint32_t seq) {
  nlmsghdr* n = mnl_nlmsg_put_header(buffer);
  n->nlmsg_type = type;
  n->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  n->nlmsg_seq = seq;
  return n;
}
}  // namespace

Result<Rtnl> Rtnl::open() {
  Rtnl r;
  r.socket_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!r.socket_) return sysError("open rtnetlink socket");
  if (mnl_socket_bind(r.socket_, 0, MNL_SOCKET_AUTOPID) < 0) return sysError("bind rtnetlink socket");
  r.buffer_.reset(new char[MNL_SOCKET_BUFFER_SIZE]);
  return r;
}

Rtnl::Rtnl(Rtnl&& o) noexcept
    : socket_(std::exchange(o.socket_, nullptr)), sequence_(o.sequence_), buffer_(std::move(o.buffer_)) {}

Rtnl& Rtnl::operator=(Rtnl&& o) noexcept {
  if (this != &o) {
    if (socket_) mnl_socket_close(socket_);
    socket_ = std::exchange(o.socket_, nullptr);
    sequence_ = o.sequence_;
    buffer_ = std::move(o.buffer_);
  }
  return *this;
}

Rtnl::~Rtnl() {
  if (socket_) mnl_socket_close(socket_);
}

Result<bool> Rtnl::request(void* message, const std::string& what) {
  auto* n = static_cast<nlmsghdr*>(message);
  if (mnl_socket_sendto(socket_, n, n->nlmsg_len) < 0) return sysError(what);
  uint32_t portid = mnl_socket_get_portid(socket_);
  for (;;) {
    ssize_t len = mnl_socket_recvfrom(socket_, buffer_.get(), MNL_SOCKET_BUFFER_SIZE);
    if (len < 0) return sysError(what);
    int ret = mnl_cb_run(buffer_.get(), size_t(len), n->nlmsg_seq, portid, nullptr, nullptr);
    if (ret < 0) return sysError(what);
    if (ret == MNL_CB_STOP) return true;
  }
}

Result<bool> Rtnl::setLink(int ifindex, const std::array<uint8_t, 6>& mac, unsigned mtu, bool up) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* n = startMessage(buf, RTM_NEWLINK, 0, ++sequence_);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(n, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  mnl_attr_put(n, IFLA_ADDRESS, mac.size(), mac.data());
  mnl_attr_put_u32(n, IFLA_MTU, mtu);
  return request(n, "configure link " + std::to_string(ifindex));
}

static nlmsghdr* addressMessage(char* buf, uint16_t type, uint16_t flags, uint32_t seq, int ifindex,
                                const IpPrefix& p) {
  nlmsghdr* n = startMessage(buf, type, flags, seq);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(n, sizeof(ifaddrmsg)));
  ifa->ifa_family = familyOf(p.ip);
  ifa->ifa_prefixlen = uint8_t(p.bits);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = unsigned(ifindex);
  mnl_attr_put(n, IFA_LOCAL, p.ip.ipLength(), p.ip.ip.data());
  mnl_attr_put(n, IFA_ADDRESS, p.ip.ipLength(), p.ip.ip.data());
  return n;
}

Result<bool> Rtnl::addAddress(int ifindex, const IpPrefix& p) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* n = addressMessage(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ++sequence_, ifindex, p);
  // Addresses are assigned by the controller and unique by construction: skip IPv6 duplicate
  // address detection, which would hold the address unusable for a second or more.
  mnl_attr_put_u32(n, IFA_FLAGS, IFA_F_NODAD);
  return request(n, "add address " + p.toString());
}

Result<bool> Rtnl::removeAddress(int ifindex, const IpPrefix& p) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  return request(addressMessage(buf, RTM_DELADDR, 0, ++sequence_, ifindex, p), "remove address " + p.toString());
}

static nlmsghdr* routeMessage(char* buf, uint16_t type, uint16_t flags, uint32_t seq, int ifindex,
                              const IpPrefix& target, const InetAddress& via) {
  nlmsghdr* n = startMessage(buf, type, flags, seq);
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(n, sizeof(rtmsg)));
  rt->rtm_family = familyOf(target.ip);
  rt->rtm_dst_len = uint8_t(target.bits);
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_STATIC;
  rt->rtm_scope = via.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put(n, RTA_DST, target.ip.ipLength(), target.ip.ip.data());
  mnl_attr_put_u32(n, RTA_OIF, uint32_t(ifindex));
  if (!via.empty()) mnl_attr_put(n, RTA_GATEWAY, via.ipLength(), via.ip.data());
  return n;
}

Result<bool> Rtnl::addRoute(int ifindex, const IpPrefix& target, const InetAddress& via) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  return request(routeMessage(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ++sequence_, ifindex, target, via),
                 "add route " + target.toString());
}

Result<bool> Rtnl::removeRoute(int ifindex, const IpPrefix& target, const InetAddress& via) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  return request(routeMessage(buf, RTM_DELROUTE, 0, ++sequence_, ifindex, target, via),
                 "remove route " + target.toString());
}

}  // namespace zt::io
