// VL1 packet and fragment layout (vl1-packets.md sections 1-4): header field access over a raw
// buffer, fragmentation, reassembly and LZ4 (de)compression of the payload.
#pragma once
#include <cstdint>

#include "address.hpp"
#include "crypto/armor.hpp"
#include "util/bytes.hpp"

namespace zt::wire {

constexpr size_t kHeaderLength = 28;        // through the verb byte
constexpr size_t kMinPacketLength = 28;
constexpr size_t kFragmentHeaderLength = 16;
constexpr size_t kMinFragmentLength = 16;
constexpr size_t kDefaultPhysicalMtu = 1432;
constexpr size_t kMaxFragments = 7;
constexpr size_t kMaxPacketLength = kMaxFragments * kDefaultPhysicalMtu;  // 10,024
constexpr unsigned kMaxHops = 3;
constexpr uint8_t kFragmentIndicator = 0xff;  // byte 13 of a fragment

constexpr size_t kIdOffset = 0, kDestinationOffset = 8, kSourceOffset = 13, kFlagsOffset = 18,
                 kMacOffset = 19, kVerbOffset = 27, kPayloadOffset = 28;
constexpr uint8_t kFlagEncrypted = 0x80, kFlagFragmented = 0x40, kVerbCompressed = 0x80;

enum class Verb : uint8_t {
  Nop = 0x00, Hello = 0x01, Error = 0x02, Ok = 0x03, Whois = 0x04, Rendezvous = 0x05,
  Frame = 0x06, ExtFrame = 0x07, Echo = 0x08, MulticastLike = 0x09, NetworkCredentials = 0x0a,
  NetworkConfigRequest = 0x0b, NetworkConfig = 0x0c, MulticastGather = 0x0d,
  MulticastFrame = 0x0e, PushDirectPaths = 0x10, Ack = 0x12, QosMeasurement = 0x13,
  UserMessage = 0x14, RemoteTrace = 0x15, PathNegotiationRequest = 0x16,
};
const char* verbName(uint8_t verb);  // "HELLO", … or "UNKNOWN"

enum class ErrorCode : uint8_t {
  None = 0x00, InvalidRequest = 0x01, BadProtocolVersion = 0x02, ObjNotFound = 0x03,
  IdentityCollision = 0x04, UnsupportedOperation = 0x05, NeedMembershipCertificate = 0x06,
  NetworkAccessDenied = 0x07, UnwantedMulticast = 0x08, NetworkAuthenticationRequired = 0x09,
};
const char* errorCodeName(uint8_t code);  // "OBJ_NOT_FOUND", … or "UNKNOWN"

// What a received UDP payload is (by length and byte 13).
enum class DatagramKind { Short, Packet, Fragment };
DatagramKind classify(ByteView datagram);

// Header accessors over a buffer of at least kHeaderLength bytes.
inline uint64_t packetId(ByteView p) { return loadU64(p.data()); }
inline Address destination(ByteView p) { return Address{loadU40(p.data() + kDestinationOffset)}; }
inline Address source(ByteView p) { return Address{loadU40(p.data() + kSourceOffset)}; }
inline unsigned hops(ByteView p) { return p[kFlagsOffset] & 7; }
inline Cipher cipher(ByteView p) { return Cipher((p[kFlagsOffset] >> 3) & 7); }
inline bool fragmented(ByteView p) { return p[kFlagsOffset] & kFlagFragmented; }
inline uint8_t verb(ByteView p) { return p[kVerbOffset] & 0x1f; }

}  // namespace zt::wire
