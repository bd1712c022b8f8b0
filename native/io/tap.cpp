#include "io/tap.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cstring>

namespace zt::io {

Result<TapDevice> TapDevice::create(const std::string& name, bool offloads) {
  if (name.empty() || name.size() >= IFNAMSIZ) return fail("invalid TAP name '" + name + "'");
  TapDevice tap;
  tap.fd.reset(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tap.fd.valid()) return sysError("open /dev/net/tun");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0);
  if (::ioctl(tap.fd.get(), TUNSETIFF, &ifr) != 0) return sysError("create TAP " + name);
  tap.name = ifr.ifr_name;
  tap.vnetHeader = offloads;
  if (offloads) {
    int size = int(kVnetHeaderSize);
    unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (::ioctl(tap.fd.get(), TUNSETVNETHDRSZ, &size) != 0 || ::ioctl(tap.fd.get(), TUNSETOFFLOAD, features) != 0)
      return sysError("enable offloads on TAP " + name);
  }
  tap.ifindex = int(if_nametoindex(tap.name.c_str()));
  if (tap.ifindex == 0) return sysError("find index of TAP " + name);
  return tap;
}

}  // namespace zt::io
