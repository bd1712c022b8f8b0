// Payload codecs of the VL2 verbs (vl2-frames-multicast-rules.md sections 2-3,
// vl2-config-controller.md sections 2-3 and 7.6) and of their OK bodies. Framing only: embedded
// credentials stay byte views (one whole credential each) for the vl2 codecs to parse, and
// dictionaries stay raw bytes. Parse then write reproduces the payload byte for byte.
#pragma once
#include <optional>
#include <vector>

#include "wire/codec_util.hpp"

namespace zt::wire {

// Credential framing: the length of the one credential at the reader's position, taken whole
// (fails the reader when it is truncated or malformed in its framing).
ByteView takeCom(Reader& r);
ByteView takeCapability(Reader& r);
ByteView takeTag(Reader& r);
ByteView takeRevocation(Reader& r);
ByteView takeCertificateOfOwnership(Reader& r);

struct Frame {
  uint64_t networkId = 0;
  uint16_t etherType = 0;
  ByteView payload;

  static Result<Frame> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct ExtFrame {
  static constexpr uint8_t kFlagCom = 0x01, kFlagAckWanted = 0x10;
  uint64_t networkId = 0;
  uint8_t flags = 0;
  ByteView com;  // present iff flags & kFlagCom
  uint64_t destinationMac = 0, sourceMac = 0;
  uint16_t etherType = 0;
  ByteView payload;

  static Result<ExtFrame> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// OK(EXT_FRAME): the acknowledgement of flag 0x10.
struct OkExtFrame {
  uint64_t networkId = 0;

  static Result<OkExtFrame> parse(ByteView body);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct MulticastSubscription {
  uint64_t networkId = 0;
  MulticastGroup group;
};

struct MulticastLike {
  std::vector<MulticastSubscription> subscriptions;

  static Result<MulticastLike> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// NETWORK_CREDENTIALS: COMs up to a 0x00, then counted sections. Older senders stop after the
// 0x00 or after any section: `sections` tells how many counted sections were present (0..4).
struct NetworkCredentials {
  std::vector<ByteView> coms, capabilities, tags, revocations, certificatesOfOwnership;
  int sections = 4;

  static Result<NetworkCredentials> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct NetworkConfigRequest {
  struct HeldConfig {
    uint64_t revision = 0, timestamp = 0;
  };
  uint64_t networkId = 0;
  std::optional<ByteView> metadata;  // dictionary; absent in the shortest (oldest) form
  std::optional<HeldConfig> held;    // revision and timestamp of the config the member holds

  static Result<NetworkConfigRequest> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// A config chunk: NETWORK_CONFIG's payload and OK(NETWORK_CONFIG_REQUEST)'s body. The legacy
// form has no `signed` part (the chunk is then the whole config).
struct NetworkConfigChunk {
  struct Signed {
    uint8_t flags = 0;  // 0x01 fast propagation
    uint64_t updateId = 0;
    uint32_t totalLength = 0, index = 0;
    uint8_t signatureType = 1;
    ByteView signature;  // 96 bytes for type 1
  };
  uint64_t networkId = 0;
  ByteView chunk;
  std::optional<Signed> signedPart;

  static constexpr uint8_t kFlagFastPropagation = 0x01;
  static Result<NetworkConfigChunk> parse(ByteView payload);
  void write(Writer& w) const;
  // The bytes the controller signs: network id through index.
  Bytes signedMessage() const;
  nlohmann::json describe() const;
};

struct MulticastGather {
  static constexpr uint8_t kFlagCom = 0x01;
  uint64_t networkId = 0;
  uint8_t flags = 0;
  MulticastGroup group;
  uint32_t gatherLimit = 0;
  ByteView com;  // present iff flags & kFlagCom

  static Result<MulticastGather> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct OkMulticastGather {
  uint64_t networkId = 0;
  MulticastGroup group;
  GatherResults results;

  static Result<OkMulticastGather> parse(ByteView body);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct MulticastFrame {
  static constexpr uint8_t kFlagCom = 0x01, kFlagGatherLimit = 0x02, kFlagSourceMac = 0x04, kFlagReplicate = 0x08;
  uint64_t networkId = 0;
  uint8_t flags = 0;
  ByteView com;              // iff kFlagCom
  uint32_t gatherLimit = 0;  // iff kFlagGatherLimit
  uint64_t sourceMac = 0;    // iff kFlagSourceMac (else the sender's derived MAC)
  MulticastGroup group;
  uint16_t etherType = 0;
  ByteView payload;

  static Result<MulticastFrame> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct OkMulticastFrame {
  static constexpr uint8_t kFlagCom = 0x01, kFlagGatherResults = 0x02;
  uint64_t networkId = 0;
  MulticastGroup group;
  uint8_t flags = 0;
  ByteView com;           // iff kFlagCom
  GatherResults results;  // iff kFlagGatherResults

  static Result<OkMulticastFrame> parse(ByteView body);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

}  // namespace zt::wire
