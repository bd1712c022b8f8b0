// Payload codecs of the VL1 verbs (vl1-packets.md section 7): each struct parses a verb payload
// (the bytes after the verb byte, decompressed) exactly and writes it back byte for byte.
// ByteView members point into the parsed payload and live as long as it does.
#pragma once
#include <optional>
#include <vector>

#include "crypto/identity.hpp"
#include "inet_address.hpp"
#include "wire/codec_util.hpp"
#include "wire/packet.hpp"

namespace zt::wire {

struct HelloMoon {
  uint8_t type = 0;
  uint64_t id = 0;
  uint64_t timestamp = 0;  // 0: wanted but not held yet
};

// HELLO (7.1). The moon list travels field-encrypted: parse and write the plaintext form, and
// use cryptHelloMoons on the whole packet after receiving / before armoring.
struct Hello {
  uint8_t protocolVersion = 0;
  uint8_t versionMajor = 0, versionMinor = 0;
  uint16_t versionRevision = 0;
  uint64_t timestamp = 0;
  Identity identity;                // public only
  InetAddress physicalDestination;  // where the sender sent this packet
  uint64_t planetId = 0, planetTimestamp = 0;
  std::vector<HelloMoon> moons;

  static Result<Hello> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// XORs the moon list of a whole HELLO packet with Salsa20/12 (key: the first 32 bytes of the
// agreed key; nonce: the packet id with the low 3 bits of its last byte cleared). The same call
// encrypts and decrypts. False when the packet is too malformed to find the moon list.
bool cryptHelloMoons(MutableByteView packet, const SymmetricKey& key);

// ERROR (7.2), with the code-specific payloads.
struct ErrorReply {
  uint8_t inReVerb = 0;
  uint64_t inRePacketId = 0;
  ErrorCode code = ErrorCode::None;
  std::optional<uint64_t> networkId;       // codes 0x03, 0x05-0x09 (optional but for 0x08)
  std::optional<MulticastGroup> group;     // 0x08 UNWANTED_MULTICAST
  std::optional<ByteView> authDictionary;  // 0x09, when the controller sent one (SSO)

  static Result<ErrorReply> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// OK (7.3): the envelope around an answer. Body is one of the Ok* structs (or Echo / a
// NetworkConfigChunk / an Opaque), chosen by the in-re verb.
template <class Body>
struct OkReply {
  uint8_t inReVerb = 0;
  uint64_t inRePacketId = 0;
  Body body;

  void write(Writer& w) const {
    w.u8(inReVerb).u64(inRePacketId);
    body.write(w);
  }
  nlohmann::json describe() const {
    nlohmann::json j = {{"inReVerb", inReVerb}, {"inReVerbName", verbName(inReVerb)}, {"inRePacketId", hex64(inRePacketId)}};
    j.update(body.describe());
    return j;
  }
};

// The OK envelope alone, to choose the body codec.
struct OkHeader {
  uint8_t inReVerb = 0;
  uint64_t inRePacketId = 0;
  ByteView body;

  static Result<OkHeader> parse(ByteView payload);
};

struct OkHello {
  uint64_t timestampEcho = 0;
  uint8_t protocolVersion = 0, versionMajor = 0, versionMinor = 0;
  uint16_t versionRevision = 0;
  InetAddress physicalSource;  // where the HELLO came from, as the responder saw it
  ByteView worldUpdates;       // binary worlds back to back (vl1-peers-worlds-api.md)

  static Result<OkHello> parse(ByteView body);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct OkWhois {
  std::vector<Identity> identities;

  static Result<OkWhois> parse(ByteView body);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct Whois {
  std::vector<Address> addresses;

  static Result<Whois> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct Rendezvous {
  uint8_t flags = 0;
  Address with;          // the other peer
  InetAddress endpoint;  // where to reach it

  static Result<Rendezvous> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// ECHO's payload and OK(ECHO)'s body (arbitrary bytes, echoed; also 1.14's config acknowledgement).
struct Echo {
  ByteView data;

  static Result<Echo> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

// Bytes no codec interprets (NOP, OK bodies of verbs that have no OK form).
struct Opaque {
  ByteView data;

  static Result<Opaque> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct DirectPath {
  static constexpr uint8_t kForget = 0x01, kClusterRedirect = 0x02;
  uint8_t flags = 0;
  ByteView extension;
  InetAddress endpoint;    // for address types 4 and 6
  uint8_t otherType = 0;   // any other address type, kept as is with its bytes
  ByteView otherAddress;
};

struct PushDirectPaths {
  std::vector<DirectPath> paths;

  static Result<PushDirectPaths> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct UserMessage {
  uint64_t typeId = 0;
  ByteView data;

  static Result<UserMessage> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

struct RemoteTrace {
  std::vector<ByteView> dictionaries;  // each without its terminating NUL (the format: vl2 dictionary)

  static Result<RemoteTrace> parse(ByteView payload);
  void write(Writer& w) const;
  nlohmann::json describe() const;
};

}  // namespace zt::wire
