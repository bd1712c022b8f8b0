// Conversions between the core's InetAddress and the kernel's sockaddr.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include "inet_address.hpp"

namespace zt::io {

socklen_t toSockaddr(const InetAddress& a, sockaddr_storage& out);
InetAddress fromSockaddr(const sockaddr_storage& s);

}  // namespace zt::io
