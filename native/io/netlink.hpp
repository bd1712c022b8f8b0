// Interface configuration over rtnetlink (libmnl): link state, MAC, MTU, addresses and routes.
// An Rtnl is bound to the namespace it was opened in; open it inside the pod's namespace.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>

#include "inet_address.hpp"
#include "io/fd.hpp"

struct mnl_socket;

namespace zt::io {

// An address with its prefix length, e.g. 198.19.0.5/16 (InetAddress::port holds the bits).
struct IpPrefix {
  InetAddress ip;
  unsigned bits = 0;
  static std::optional<IpPrefix> parse(const std::string& text);  // "ip/bits"
  std::string toString() const;
};

class Rtnl {
 public:
  static Result<Rtnl> open();  // in the calling thread's namespace
  Rtnl(Rtnl&&) noexcept;
  Rtnl& operator=(Rtnl&&) noexcept;
  ~Rtnl();

  Result<bool> setLink(int ifindex, const std::array<uint8_t, 6>& mac, unsigned mtu, bool up);
  Result<bool> addAddress(int ifindex, const IpPrefix& prefix);
  Result<bool> removeAddress(int ifindex, const IpPrefix& prefix);
  // via: empty for an on-link route.
  Result<bool> addRoute(int ifindex, const IpPrefix& target, const InetAddress& via);
  Result<bool> removeRoute(int ifindex, const IpPrefix& target, const InetAddress& via);

 private:
  Rtnl() = default;
  Result<bool> request(void* message, const std::string& what);
  mnl_socket* socket_ = nullptr;
  uint32_t sequence_ = 0;
  std::unique_ptr<char[]> buffer_;
};

}  // namespace zt::io
