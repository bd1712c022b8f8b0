// The embedded network controller (vl2-config-controller.md §8), sans-I/O: the host hands it
// config requests and record changes with the current time and sends the messages it returns.
// Records live in the host's ControllerStore; the controller keeps only who was seen online and
// the metadata of their last authorised request (for re-runs), in memory.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "address.hpp"
#include "controller/records.hpp"
#include "crypto/identity.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"
#include "vl2/credentials.hpp"
#include "vl2/dictionary.hpp"

namespace zt {

// One message for the host to send (each payload is one packet of that verb).
struct ControllerMessage {
  enum class Kind {
    ConfigReply,  // OK, in-re NETWORK_CONFIG_REQUEST (0x0b) and inRePacketId; payloads: config chunks (§3.1)
    ConfigPush,   // NETWORK_CONFIG (0x0c); payloads: config chunks
    Error,        // ERROR, in-re 0x0b and inRePacketId; payload: code (1) · network id (8)
    Credentials,  // NETWORK_CREDENTIALS (0x0a); payloads: revocation bundles (§7.6)
  };
  Address to;
  Kind kind = Kind::ConfigReply;
  uint64_t inRePacketId = 0;
  std::vector<Bytes> payloads;
};

// What a status view needs of one member (Kubernetes status).
struct MemberStatus {
  Address address;
  bool authorized = false;
  bool activeBridge = false;
  std::string identity;                    // public text form; empty until its first request
  std::vector<std::string> ipAssignments;  // as recorded (pool picks included)
  uint64_t revision = 0;
  uint64_t lastSeen = 0;        // ms of its last request since this controller started; 0 = none
  InetAddress physicalAddress;  // where that request came from, when direct
  bool online = false;          // asked within the last 120 s
};

// {address, authorized, activeBridge, identity, ipAssignments, revision, lastSeen, physicalAddress|null, online}
nlohmann::json memberStatusToJson(const MemberStatus& status);

// Chunk payloads of one config (§3.1): nwid · C · bytes · flags 0 · update id · total · index ·
// signature type 1 · 96 · signature over [0, 27 + C). At most kMaxConfigChunk bytes each.
constexpr size_t kMaxConfigChunk = 10024 - (28 + 256);
std::vector<Bytes> signConfigChunks(const Identity& controller, uint64_t networkId, ByteView dictionary,
                                    uint64_t updateId);

class NetworkController {
 public:
  static constexpr uint64_t kDuplicateWindow = 1000;  // ms: later requests within it are dropped
  static constexpr uint64_t kOnlineWindow = 120000;   // ms: a member that asked within it is online

  // `controller` must hold its secret key. `random` (default: the system CSPRNG) draws update
  // ids, revocation ids and IPv6 pool candidates; tests may pass a deterministic one.
  NetworkController(Identity controller, ControllerStore& store, std::function<uint64_t()> random = {});

  const Identity& identity() const { return identity_; }

  // A NETWORK_CONFIG_REQUEST from `requester` (authenticated by the node), §8.1. With
  // requestPacketId 0 it is an internal re-run: no duplicate suppression, the config goes out as a
  // push, errors are not sent.
  std::vector<ControllerMessage> handleRequest(uint64_t now, const Identity& requester, uint64_t networkId,
                                               ByteView metadataDictionary, uint64_t requestPacketId,
                                               const InetAddress& physical);

  // Record changes from the host (API semantics: the fields given replace the stored ones; the
  // controller manages `revision` and the authorisation timestamps). The returned messages are
  // the pushes of §8.6 and, on deauthorisation, the signed revocation for every online member.
  Result<std::vector<ControllerMessage>> setNetwork(uint64_t now, const nlohmann::json& fields);
  Result<std::vector<ControllerMessage>> deleteNetwork(uint64_t now, uint64_t networkId);
  Result<std::vector<ControllerMessage>> setMember(uint64_t now, const nlohmann::json& fields);
  Result<std::vector<ControllerMessage>> deleteMember(uint64_t now, uint64_t networkId, Address address);

  std::vector<Address> onlineMembers(uint64_t now, uint64_t networkId) const;
  // Whether `member` is authorised and was handed a config within kOnlineWindow: only such
  // members' MULTICAST_LIKEs are recorded and GATHERs answered (vl2-frames-multicast-rules.md §3.3-3.4).
  bool recentlyAuthorized(uint64_t now, uint64_t networkId, Address member);
  std::vector<MemberStatus> memberStatus(uint64_t now, uint64_t networkId);

 private:
  struct Session {
    std::optional<uint64_t> lastRequest;  // last request with a packet id that passed step 1
    InetAddress physical;
    std::optional<Identity> identity;     // from the last request
    uint64_t lastAuthorized = 0;          // when an authorised request was last served
    Bytes metadata;                       // of the last request
  };
  using SessionKey = std::pair<uint64_t, Address>;
  struct Outbox;

  void serve(uint64_t now, const Identity& requester, uint64_t networkId, ByteView metadata, uint64_t packetId,
             Outbox& out);
  void rerun(uint64_t now, uint64_t networkId, Address member, Outbox& out);
  // Writes the member if it differs from `stored` (ignoring revision), with revision + 1.
  bool commitMember(const std::optional<nlohmann::json>& stored, nlohmann::json& record);
  void revoke(uint64_t now, uint64_t networkId, const std::vector<Address>& targets, Outbox& out);
  bool online(uint64_t now, const Session& s) const;
  // Forgets offline members once the table has doubled since the last sweep (bounded memory).
  void pruneSessions(uint64_t now);
  std::optional<nlohmann::json> storedNetwork(uint64_t networkId, uint64_t now);

  Identity identity_;
  ControllerStore& store_;
  std::function<uint64_t()> random_;
  std::map<SessionKey, Session> sessions_;
  size_t pruneAt_ = 1024;
};

}  // namespace zt
