// The rules engine (vl2-frames-multicast-rules.md §5.2-5.5): evaluates a network's rule list and
// the capabilities of the relevant side on one frame, and says whether the frame passes, where
// copies go (TEE/WATCH) and where it is diverted (REDIRECT). Pure and allocation-free: every
// input is a view the caller owns, and the outcome is a small value.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "address.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "vl2/credentials.hpp"
#include "vl2/rules.hpp"

namespace zt {

using MacAddress = std::array<uint8_t, 6>;

enum class FrameDirection : uint8_t {
  Outbound,  // we send the frame: we are the sender
  Inbound,   // we received it: we are the receiver
};

// One frame as the rules see it. `payload` is the Ethernet payload (no header, no FCS); its
// length is the frame size of MATCH_FRAME_SIZE_RANGE.
struct FrameMeta {
  uint64_t networkId = 0;
  FrameDirection direction = FrameDirection::Outbound;
  Address sender;    // ZeroTier address of the sending member
  Address receiver;  // of the receiving member; 0 on a multicast's or bridged frame's first pass
  MacAddress sourceMac{}, destMac{};
  uint16_t etherType = 0;
  uint16_t vlanId = 0;  // 1.14 frames carry no VLAN tag: all three stay 0
  uint8_t vlanPcp = 0, vlanDei = 0;
  ByteView payload;

  Address self() const { return direction == FrameDirection::Inbound ? receiver : sender; }
};

// The MACs, VLAN tag (one 802.1Q tag, ethertype 0x8100) and ethertype of an Ethernet frame
// (header + payload, no FCS), payload viewing into `frame`. Network, addresses and direction are
// left for the caller. nullopt when the frame is shorter than its header.
std::optional<FrameMeta> parseEthernetFrame(ByteView frame);

// Where the IP headers of a payload are, by the definitions of §5.5.
struct IpLayout {
  enum class Kind : uint8_t {
    None,  // neither of these (a shorter IPv4 or IPv6 payload is None: every IP match fails hard)
    Ipv4,  // ethertype 0x0800, >= 20 bytes
    Ipv6,  // ethertype 0x86dd, >= 40 bytes
  };
  Kind kind = Kind::None;
  bool upperLayerValid = false;  // IPv4: always; IPv6: the extension header chain ends inside
  uint8_t protocol = 0;          // IPv4 byte 9, or the IPv6 upper-layer protocol
  size_t upperLayerOffset = 0;   // IPv4: 4 x IHL (may lie past the end); IPv6: after the chain
};
IpLayout inspectIp(uint16_t etherType, ByteView payload);

struct TagValue {
  uint32_t id = 0;
  uint32_t value = 0;
  bool operator==(const TagValue&) const = default;
};

// MATCH_RANDOM's source of 32-bit numbers, injected so tests and fuzzing are deterministic.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint32_t next32() = 0;
};
// libsodium's generator, for production use.
class SystemRandom final : public RandomSource {
 public:
  uint32_t next32() override;
};

// What the rules may consult besides the frame. The caller passes only credentials that are
// currently valid (timestamp within `ctmd` of our config, not revoked).
struct RulesContext {
  std::span<const Rule> networkRules;  // the config's `R`
  // Consulted when the network rules end without a verdict, in order: outbound our own (config
  // order), inbound those the sender presented.
  std::span<const Capability> capabilities;
  std::span<const TagValue> senderTags, receiverTags;  // the side we do not know the tags of: empty
  // Certificates of ownership for MATCH_CHARACTERISTICS' IP/MAC-authenticated bits: inbound the
  // sender's, outbound our own.
  std::span<const CertificateOfOwnership> ownership;
  // Inbound, when the config has NDP emulation (flag 0x04): our assigned addresses; a source IPv6
  // inside one's RFC 4193 /88 or 6PLANE /40 prefix counts as owned by the sender (§4).
  std::span<const InetAddress> ndpEmulatedAddresses;
  bool unknownMatchesMatch = false;  // config flag 0x08
};

// The outcome of one list (§5.2).
enum class ListResult : uint8_t { NoMatch, Drop, Accept, SuperAccept, Redirect };

// A TEE/WATCH copy: the first `length` payload bytes go to `target` (zero: no copy).
struct RuleCopy {
  Address target;
  uint32_t length = 0;
  bool watch = false;  // WATCH rather than TEE
  bool operator==(const RuleCopy&) const = default;
};

struct ListVerdict {
  ListResult result = ListResult::NoMatch;
  RuleCopy copy;          // the last TEE/WATCH taken before the walk ended
  Address redirectTarget;  // result Redirect: the new receiver
};

// The combined outcome (§5.3): the 0/1/2 that feeds the delivery checks of §2.5.
enum class RulesAction : uint8_t { Drop = 0, Accept = 1, SuperAccept = 2 };

struct RulesVerdict {
  RulesAction action = RulesAction::Drop;
  ListResult networkResult = ListResult::NoMatch;  // NoMatch: a capability decided
  std::optional<uint32_t> capabilityId;            // the capability that accepted
  // Only on accept. Send both when both are set (the copy rules of §5.3 step 4).
  RuleCopy networkCopy, capabilityCopy;
  // Non-zero: the whole frame goes to this member instead of the original receiver (outbound),
  // or is forwarded there and not delivered here (inbound).
  Address redirectTarget;

  bool accepted() const { return action != RulesAction::Drop; }
};

// Walks one list with fresh state.
ListVerdict evaluateRuleList(const FrameMeta& frame, std::span<const Rule> rules, const RulesContext& context,
                             RandomSource& random);
// The network rules, then (if they end without a verdict) each capability.
RulesVerdict evaluateRules(const FrameMeta& frame, const RulesContext& context, RandomSource& random);

// The EXT_FRAME flags byte 1.14 puts on a rule copy or a redirected frame (§2.2).
uint8_t copyFrameFlags(FrameDirection direction, const RuleCopy& copy);
uint8_t redirectFrameFlags(FrameDirection direction);

}  // namespace zt
