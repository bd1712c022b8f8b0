// The network controller's records (vl2-config-controller.md §8.2): network and member objects in
// exactly 1.14's JSON shapes, so records produced by our Kubernetes operator and records exported
// from a ZeroTier controller are interchangeable. The JSON stays the source of truth (unknown
// fields survive); NetworkRecord/MemberRecord are validated, typed views of it.
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
#include "crypto/identity.hpp"
#include "inet_address.hpp"
#include "util/result.hpp"
#include "vl2/netconf.hpp"
#include "vl2/text_forms.hpp"
#include "vl2/rules.hpp"

namespace zt {

// Where the host keeps the records (in memory, persisted however it likes). Synchronous: the
// controller calls it while handling a request. Records passed in and out are whole JSON objects.
class ControllerStore {
 public:
  virtual ~ControllerStore() = default;
  virtual std::optional<nlohmann::json> network(uint64_t networkId) = 0;
  virtual std::optional<nlohmann::json> member(uint64_t networkId, Address address) = 0;
  virtual std::vector<nlohmann::json> members(uint64_t networkId) = 0;
  virtual void saveNetwork(const nlohmann::json& record) = 0;
  virtual void saveMember(const nlohmann::json& record) = 0;
  virtual void deleteMember(uint64_t networkId, Address address) = 0;
  virtual void deleteNetwork(uint64_t networkId) = 0;  // the network record only
};

// One write to a MemoryControllerStore, for a host that persists the records elsewhere.
struct ControllerStoreChange {
  enum class Kind { SaveNetwork, SaveMember, DeleteNetwork, DeleteMember };
  Kind kind;
  uint64_t networkId = 0;
  Address member;         // members only
  nlohmann::json record;  // saves only
};

// A ControllerStore over std::maps: for tests, tools and hosts that persist elsewhere (they load
// their records with save*, then set a listener that writes every later change through). Records
// whose `nwid`/`id` cannot be read are ignored by save.
class MemoryControllerStore : public ControllerStore {
 public:
  using Listener = std::function<void(const ControllerStoreChange&)>;
  void setListener(Listener listener) { listener_ = std::move(listener); }
  // Loads a host's records, each checked first (normalizeNetwork/normalizeMember): a record the
  // controller could not read would otherwise answer NOT_FOUND for a network the host has.
  Result<bool> load(const std::vector<nlohmann::json>& networks, const std::vector<nlohmann::json>& members,
                    uint64_t now);

  std::optional<nlohmann::json> network(uint64_t networkId) override;
  std::optional<nlohmann::json> member(uint64_t networkId, Address address) override;
  std::vector<nlohmann::json> members(uint64_t networkId) override;
  void saveNetwork(const nlohmann::json& record) override;
  void saveMember(const nlohmann::json& record) override;
  void deleteMember(uint64_t networkId, Address address) override;
  void deleteNetwork(uint64_t networkId) override;

 private:
  std::map<uint64_t, nlohmann::json> networks_;
  std::map<std::pair<uint64_t, Address>, nlohmann::json> members_;
  Listener listener_;
  void notify(const ControllerStoreChange& change) {
    if (listener_) listener_(change);
  }
};

// 16 hex digits exactly (either case).
std::optional<uint64_t> parseNetworkId(std::string_view text);

struct IpPool {
  InetAddress start, end;  // same family, port 0
};

struct NetworkCapabilityDef {
  uint32_t id = 0;
  bool isDefault = false;
  std::vector<Rule> rules;
};

struct NetworkTagDef {
  uint32_t id = 0;
  std::optional<uint32_t> defaultValue;
};

// A record's ids: a network's `id`/`nwid`, a member's `nwid` and `id`/`address` (pairs must agree).
Result<uint64_t> networkIdOf(const nlohmann::json& record, bool isNetworkRecord);
Result<Address> memberAddressOf(const nlohmann::json& record);

// The typed view of a network record (fields and defaults of §8.2).
struct NetworkRecord {
  static constexpr uint64_t kDefaultCredentialWindow = 1800000, kMinCredentialWindow = 300000,
                            kMaxCredentialWindow = 7200000;

  uint64_t id = 0;
  std::string name;
  bool isPrivate = true;
  bool enableBroadcast = true;
  uint64_t multicastLimit = 32;
  uint64_t mtu = NetworkConfig::kDefaultMtu;  // as recorded; the config clamps it
  bool v4Zt = false, v6Rfc4193 = false, v6Zt = false, v6SixPlane = false;
  std::vector<IpPool> pools;
  std::vector<Route> routes;  // `via` already dropped when its family differs from the target's
  std::vector<Rule> rules;
  std::vector<NetworkCapabilityDef> capabilities;  // ascending, unique ids
  std::vector<NetworkTagDef> tags;                 // ascending, unique ids
  DnsConfig dns;
  std::map<std::string, uint64_t> authTokens;  // token -> expiry (ms, 0 = never)
  uint64_t credentialTimeMaxDelta = kDefaultCredentialWindow;
  uint64_t revision = 0;
  std::optional<Address> remoteTraceTarget;
  uint64_t remoteTraceLevel = 0;

  // Every field checked; errors name the network and the field ("routes[1].target: …").
  static Result<NetworkRecord> parse(const nlohmann::json& record);
};

// The typed view of a member record.
struct MemberRecord {
  uint64_t networkId = 0;
  Address address;
  std::optional<Identity> identity;
  bool authorized = false;
  bool activeBridge = false;
  bool noAutoAssignIps = false;
  std::vector<InetAddress> ipAssignments;          // port 0, record order
  std::vector<std::pair<uint32_t, uint32_t>> tags; // ascending ids
  std::vector<uint32_t> capabilities;              // ascending, unique
  uint64_t revision = 0;
  std::optional<Address> remoteTraceTarget;
  uint64_t remoteTraceLevel = 0;

  static Result<MemberRecord> parse(const nlohmann::json& record);
};

// Fill in 1.14's defaults for absent fields, put ids, routes, capabilities and tags in 1.14's
// canonical shape (both `id` and `nwid`, `via: null`, lists sorted by id), then validate. The
// result parses as a NetworkRecord; normalizing twice changes nothing.
Result<nlohmann::json> normalizeNetwork(nlohmann::json record, uint64_t now);
Result<nlohmann::json> normalizeMember(nlohmann::json record, uint64_t now);
// A member record with every default (unauthorised, no identity).
nlohmann::json newMemberRecord(uint64_t networkId, Address address, uint64_t now);

// Records equal in everything but `revision` (a save that changes nothing is not a change).
bool sameRecord(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace zt
