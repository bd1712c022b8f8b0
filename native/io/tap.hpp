// TAP devices for virtual networks. Created with IFF_VNET_HDR so that, with offloads enabled, the
// kernel hands us whole TCP super-segments (one read for up to 64 KiB) and accepts coalesced
// ones, which is where a userspace data plane gets its throughput. Create it inside the pod's
// namespace (netns.hpp); the fd keeps working from any thread. Closing the fd deletes the device.
#pragma once
#include <cstdint>
#include <string>

#include "io/fd.hpp"

namespace zt::io {

struct TapDevice {
  UniqueFd fd;
  std::string name;
  int ifindex = 0;
  bool vnetHeader = false;

  // offloads: enable IFF_VNET_HDR with checksum and TSO4/6 offload.
  static Result<TapDevice> create(const std::string& name, bool offloads);
};

// The virtio-net header in front of every frame on a TAP with IFF_VNET_HDR (kernel ABI,
// native byte order; linux/virtio_net.h cannot be included from C++).
struct VnetHeader {
  static constexpr uint8_t kNeedsChecksum = 1;
  static constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4, kGsoEcn = 0x80;
  uint8_t flags;
  uint8_t gsoType;
  uint16_t headerLength;   // Ethernet + IP + TCP header bytes of a GSO frame
  uint16_t gsoSize;        // payload bytes per segment
  uint16_t checksumStart;  // where checksumming starts
  uint16_t checksumOffset; // where, from checksumStart, the checksum goes
} __attribute__((packed));

constexpr size_t kVnetHeaderSize = sizeof(VnetHeader);
static_assert(kVnetHeaderSize == 10);

}  // namespace zt::io
