#include "controller/controller.hpp"

#include <algorithm>

#include "controller/address_assignment.hpp"
#include "crypto/armor.hpp"
#include "vl2/netconf.hpp"
#include "wire/packet.hpp"
#include "wire/verbs_vl2.hpp"

namespace zt {
namespace {

using nlohmann::json;
using Kind = ControllerMessage::Kind;

constexpr size_t kRevocationsPerPacket = 60;  // 152 bytes each: well inside one 10,024-byte packet

Bytes errorPayload(wire::ErrorCode code, uint64_t networkId) {
  Writer w;
  w.u8(uint8_t(code)).u64(networkId);
  return w.take();
}

uint64_t metadataNumber(const Dictionary& meta, const char* key) {
  auto v = meta.getNumber(key, 0);
  return v ? *v : 0;
}

uint64_t revisionOf(const std::optional<json>& record) {
  if (!record) return 0;
  auto it = record->find("revision");
  return it != record->end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// Adds `value` to a JSON array of ids or [id, value] pairs, keeping it sorted and unique by id.
void insertSorted(json& list, json entry, uint64_t id, bool pairs) {
  auto idOf = [&](const json& e) { return (pairs ? e[0] : e).get<uint64_t>(); };
  auto it = std::find_if(list.begin(), list.end(), [&](const json& e) { return idOf(e) >= id; });
  if (it != list.end() && idOf(*it) == id) return;
  list.insert(it, std::move(entry));
}

// What other members' records say, read leniently (a bad record must not stop the network).
struct Neighbours {
  std::vector<InetAddress> allocated;
  std::vector<Address> activeBridges;
};

Neighbours neighboursOf(const std::vector<json>& records, Address self) {
  Neighbours n;
  for (const json& r : records) {
    auto address = memberAddressOf(r);
    if (!address || *address == self || !r.is_object()) continue;
    if (auto bridge = r.find("activeBridge"); bridge != r.end() && bridge->is_boolean() && bridge->get<bool>())
      n.activeBridges.push_back(*address);
    if (auto ips = r.find("ipAssignments"); ips != r.end() && ips->is_array())
      for (const json& ip : *ips)
        if (auto parsed = ip.is_string() ? InetAddress::parse(ip.get<std::string>()) : std::nullopt)
          n.allocated.push_back(*parsed);
  }
  return n;
}

}  // namespace

struct NetworkController::Outbox {
  std::vector<ControllerMessage> messages;
};

std::vector<Bytes> signConfigChunks(const Identity& controller, uint64_t networkId, ByteView dictionary,
                                    uint64_t updateId) {
  std::vector<Bytes> out;
  size_t index = 0;
  do {
    size_t length = std::min(kMaxConfigChunk, dictionary.size() - index);
    wire::NetworkConfigChunk chunk;
    chunk.networkId = networkId;
    chunk.chunk = dictionary.subspan(index, length);
    chunk.signedPart = wire::NetworkConfigChunk::Signed{0, updateId, uint32_t(dictionary.size()), uint32_t(index), 1, {}};
    Signature signature = controller.sign(chunk.signedMessage());
    chunk.signedPart->signature = signature;
    Writer w;
    chunk.write(w);
    out.push_back(w.take());
    index += length;
  } while (index < dictionary.size());
  return out;
}

NetworkController::NetworkController(Identity controller, ControllerStore& store, std::function<uint64_t()> random)
    : identity_(std::move(controller)), store_(store), random_(random ? std::move(random) : std::function(randomU64)) {}

bool NetworkController::online(uint64_t now, const Session& s) const {
  return s.lastRequest && (now < *s.lastRequest || now - *s.lastRequest < kOnlineWindow);
}

std::vector<Address> NetworkController::onlineMembers(uint64_t now, uint64_t networkId) const {
  std::vector<Address> out;
  for (auto it = sessions_.lower_bound({networkId, Address{}}); it != sessions_.end() && it->first.first == networkId; ++it)
    if (online(now, it->second)) out.push_back(it->first.second);
  return out;
}

bool NetworkController::recentlyAuthorized(uint64_t now, uint64_t networkId, Address member) {
  auto it = sessions_.find({networkId, member});
  if (it == sessions_.end() || it->second.lastAuthorized == 0) return false;
  const uint64_t last = it->second.lastAuthorized;
  if (now >= last && now - last >= kOnlineWindow) return false;
  std::optional<json> record = store_.member(networkId, member);
  return record && record->value("authorized", false);
}

std::optional<json> NetworkController::storedNetwork(uint64_t networkId, uint64_t now) {
  auto raw = store_.network(networkId);
  if (!raw) return std::nullopt;
  auto normalized = normalizeNetwork(std::move(*raw), now);
  if (!normalized) return std::nullopt;
  return *normalized;
}

std::vector<ControllerMessage> NetworkController::handleRequest(uint64_t now, const Identity& requester,
                                                                uint64_t networkId, ByteView metadataDictionary,
                                                                uint64_t requestPacketId, const InetAddress& physical) {
  if (controllerOf(networkId) != identity_.address()) return {};
  if (requestPacketId != 0) {
    if (sessions_.size() >= pruneAt_) pruneSessions(now);
    Session& s = sessions_[{networkId, requester.address()}];
    if (s.lastRequest && now >= *s.lastRequest && now - *s.lastRequest <= kDuplicateWindow) return {};
    s.lastRequest = now;
    if (!physical.empty()) s.physical = physical;
    // Kept for denied requests too: authorising the member later pushes its config at once
    // (rerun) instead of leaving it to its next request, seconds later.
    s.identity = requester.publicOnly();
    s.metadata.assign(metadataDictionary.begin(), metadataDictionary.end());
  }
  Outbox out;
  serve(now, requester, networkId, metadataDictionary, requestPacketId, out);
  return std::move(out.messages);
}

void NetworkController::pruneSessions(uint64_t now) {
  std::erase_if(sessions_, [&](const auto& entry) { return !online(now, entry.second); });
  pruneAt_ = std::max<size_t>(1024, 2 * sessions_.size());
}

void NetworkController::rerun(uint64_t now, uint64_t networkId, Address member, Outbox& out) {
  auto it = sessions_.find({networkId, member});
  if (it == sessions_.end() || !online(now, it->second) || !it->second.identity) return;
  Identity requester = *it->second.identity;
  Bytes metadata = it->second.metadata;
  serve(now, requester, networkId, metadata, 0, out);
}

bool NetworkController::commitMember(const std::optional<json>& stored, json& record) {
  if (stored && sameRecord(*stored, record)) return false;
  record["revision"] = revisionOf(stored) + 1;
  store_.saveMember(record);
  return true;
}

namespace {

// §8.1 step 6: a public network, or a valid join token in the metadata (`a` = "token:<T>").
void authorizeByNetwork(uint64_t now, const NetworkRecord& network, const Dictionary& meta, json& member) {
  auto grant = [&](const char* type, json credential) {
    member["authorized"] = true;
    member["lastAuthorizedTime"] = now;
    member["lastAuthorizedCredentialType"] = type;
    member["lastAuthorizedCredential"] = std::move(credential);
  };
  if (!network.isPrivate) return grant("public", nullptr);
  std::string auth = meta.getString("a");
  if (auth.size() <= 6 || !auth.starts_with("token:")) return;
  std::string token = auth.substr(6);
  auto it = network.authTokens.find(token);
  if (it != network.authTokens.end() && (it->second == 0 || it->second > now)) grant("token", token);
}

// §8.3: everything about the config except addresses and the signed membership proofs.
NetworkConfig configBase(uint64_t now, const NetworkRecord& network, const MemberRecord& member,
                         const std::vector<Address>& activeBridges) {
  NetworkConfig c;
  c.networkId = network.id;
  c.timestamp = now;
  c.credentialTimeMaxDelta = network.credentialTimeMaxDelta;
  c.revision = network.revision;
  c.issuedTo = member.address;
  if (member.remoteTraceTarget) {
    c.remoteTraceTarget = *member.remoteTraceTarget;
    c.remoteTraceLevel = member.remoteTraceLevel;
  } else if (network.remoteTraceTarget) {
    c.remoteTraceTarget = *network.remoteTraceTarget;
    c.remoteTraceLevel = network.remoteTraceLevel;
  }
  c.flags = network.enableBroadcast ? NetworkConfig::kFlagBroadcast : 0;
  c.multicastLimit = network.multicastLimit;
  c.type = network.isPrivate ? NetworkType::Private : NetworkType::Public;
  c.name = network.name.substr(0, NetworkConfig::kMaxNameLength);
  c.mtu = unsigned(std::clamp<uint64_t>(network.mtu, NetworkConfig::kMinMtu, NetworkConfig::kMaxMtu));
  std::vector<Address> bridges = activeBridges;
  if (member.activeBridge) bridges.push_back(member.address);
  std::sort(bridges.begin(), bridges.end());
  for (Address a : bridges)
    if (c.specialists.size() < NetworkConfig::kMaxSpecialists) c.specialists.push_back({Specialist::kActiveBridge | a.value});
  c.routes.assign(network.routes.begin(), network.routes.begin() + std::min(network.routes.size(), NetworkConfig::kMaxRoutes));
  c.dns = network.dns;
  return c;
}

// §8.3 capabilities and tags: defaults are first added to the member record.
void addDefaultCredentials(const NetworkRecord& network, bool newMember, json& member) {
  if (newMember)
    for (const NetworkCapabilityDef& cap : network.capabilities)
      if (cap.isDefault) insertSorted(member["capabilities"], cap.id, cap.id, false);
  for (const NetworkTagDef& tag : network.tags)
    if (tag.defaultValue) insertSorted(member["tags"], json::array({tag.id, *tag.defaultValue}), tag.id, true);
}

void issueCapabilitiesAndTags(const Identity& controller, const NetworkRecord& network, const MemberRecord& member,
                              NetworkConfig& c) {
  for (uint32_t id : member.capabilities) {
    auto def = std::find_if(network.capabilities.begin(), network.capabilities.end(),
                            [&](const NetworkCapabilityDef& d) { return d.id == id; });
    if (def == network.capabilities.end() || c.capabilities.size() >= NetworkConfig::kMaxCapabilities) continue;
    Capability cap;
    cap.networkId = network.id;
    cap.timestamp = c.timestamp;
    cap.id = id;
    cap.rules.assign(def->rules.begin(), def->rules.begin() + std::min(def->rules.size(), kMaxCapabilityRules));
    cap.maxCustodyChain = 1;
    cap.sign(controller, member.address);
    c.capabilities.push_back(std::move(cap));
  }
  for (auto [id, value] : member.tags) {
    if (c.tags.size() >= NetworkConfig::kMaxTags) break;
    Tag tag{network.id, c.timestamp, id, value, member.address};
    tag.sign(controller);
    c.tags.push_back(tag);
  }
}

void issueMembershipProofs(const Identity& controller, const Identity& requester, NetworkConfig& c) {
  if (!c.assignedAddresses.empty()) {
    CertificateOfOwnership coo;
    coo.networkId = c.networkId;
    coo.timestamp = c.timestamp;
    coo.id = 1;
    for (const InetAddress& ip : c.assignedAddresses)
      if (coo.things.size() < CertificateOfOwnership::kMaxThings) coo.things.push_back(CertificateOfOwnership::ipThing(ip));
    coo.issuedTo = c.issuedTo;
    coo.sign(controller);
    c.coos.push_back(std::move(coo));
  }
  CertificateOfMembership com =
      CertificateOfMembership::forMember(c.networkId, c.timestamp, c.credentialTimeMaxDelta, requester);
  com.sign(controller);
  c.com = std::move(com);
}

}  // namespace

void NetworkController::serve(uint64_t now, const Identity& requester, uint64_t networkId, ByteView metadata,
                              uint64_t packetId, Outbox& out) {
  const Address address = requester.address();
  auto refuse = [&](wire::ErrorCode code) {
    if (packetId != 0) out.messages.push_back({address, Kind::Error, packetId, {errorPayload(code, networkId)}});
  };
  // Step 3 (an unusable record is an internal error: 0x03 as well).
  auto networkJson = storedNetwork(networkId, now);
  auto network = networkJson ? NetworkRecord::parse(*networkJson) : Result<NetworkRecord>(fail("no network"));
  if (!network || !identity_.hasSecret()) return refuse(wire::ErrorCode::ObjNotFound);

  // Step 4.
  std::optional<json> stored;
  if (auto raw = store_.member(networkId, address)) {
    auto normalized = normalizeMember(std::move(*raw), now);
    if (!normalized) return refuse(wire::ErrorCode::ObjNotFound);
    stored = std::move(*normalized);
  }
  const bool newMember = !stored;
  json member = stored ? *stored : newMemberRecord(networkId, address, now);

  // Step 5: identity pinning.
  if (auto known = MemberRecord::parse(member); known && known->identity) {
    if (!(*known->identity == requester)) return refuse(wire::ErrorCode::NetworkAccessDenied);
  } else {
    member["identity"] = requester.publicOnly().toString();
  }

  // Steps 6 and 8.
  auto parsedMeta = Dictionary::parse(metadata);
  const Dictionary meta = parsedMeta ? std::move(*parsedMeta) : Dictionary();
  if (!member["authorized"].get<bool>()) authorizeByNetwork(now, *network, meta, member);
  if (!member["authorized"].get<bool>()) {
    commitMember(stored, member);
    return refuse(wire::ErrorCode::NetworkAccessDenied);
  }

  // Step 9.
  if (packetId != 0) {
    member["vMajor"] = int64_t(metadataNumber(meta, "majv"));
    member["vMinor"] = int64_t(metadataNumber(meta, "minv"));
    member["vRev"] = int64_t(metadataNumber(meta, "revv"));
    member["vProto"] = int64_t(metadataNumber(meta, "pv"));
    sessions_[{networkId, address}].lastAuthorized = now;
  }

  // Step 10: the config (§8.3), addresses (§8.4), credentials (§8.5).
  const bool rulesEngine = metadataNumber(meta, "revr") >= 1;
  if (rulesEngine) addDefaultCredentials(*network, newMember, member);
  auto view = MemberRecord::parse(member);
  if (!view) return refuse(wire::ErrorCode::ObjNotFound);
  Neighbours neighbours = neighboursOf(store_.members(networkId), address);
  NetworkConfig config = configBase(now, *network, *view, neighbours.activeBridges);
  if (rulesEngine) {
    config.rules.assign(network->rules.begin(),
                        network->rules.begin() + std::min(network->rules.size(), kMaxNetworkRules));
    issueCapabilitiesAndTags(identity_, *network, *view, config);
  } else {
    config.rules = {Rule{RuleType::ActionAccept}};
  }
  AddressAssignment assigned = assignAddresses(*network, *view, neighbours.allocated, random_);
  for (const InetAddress& ip : assigned.picked) member["ipAssignments"].push_back(ip.ipString());
  if (assigned.addresses.size() > NetworkConfig::kMaxAddresses) assigned.addresses.resize(NetworkConfig::kMaxAddresses);
  config.assignedAddresses = std::move(assigned.addresses);
  if (assigned.ndpEmulation) config.flags |= NetworkConfig::kFlagNdpEmulation;
  issueMembershipProofs(identity_, requester, config);

  // Steps 11 and 12; a changed record is re-sent to its member as a push (§8.6).
  const bool changed = commitMember(stored, member);
  uint64_t updateId = 0;
  while (updateId == 0) updateId = random_();
  Bytes dictionary = config.toDictionary().serialize();
  out.messages.push_back({address, packetId != 0 ? Kind::ConfigReply : Kind::ConfigPush, packetId,
                          signConfigChunks(identity_, networkId, dictionary, updateId)});
  if (changed && packetId != 0) rerun(now, networkId, address, out);
}

void NetworkController::revoke(uint64_t now, uint64_t networkId, const std::vector<Address>& targets, Outbox& out) {
  std::vector<Address> recipients = onlineMembers(now, networkId);
  if (targets.empty() || recipients.empty()) return;
  std::vector<Bytes> payloads;
  for (size_t first = 0; first < targets.size(); first += kRevocationsPerPacket) {
    CredentialBundle bundle;
    for (size_t i = first; i < std::min(targets.size(), first + kRevocationsPerPacket); ++i) {
      Revocation r;
      r.id = uint32_t(random_());
      r.networkId = networkId;
      r.credentialId = 0;
      r.threshold = now;
      r.flags = Revocation::kFlagFastPropagation;
      r.target = targets[i];
      r.credentialType = CredentialType::Com;
      r.sign(identity_);
      bundle.revocations.push_back(r);
    }
    payloads.push_back(bundle.write());
  }
  for (Address to : recipients) out.messages.push_back({to, Kind::Credentials, 0, payloads});
}

Result<std::vector<ControllerMessage>> NetworkController::setNetwork(uint64_t now, const json& fields) {
  if (!fields.is_object()) return fail("network record: expected a JSON object");
  auto networkId = networkIdOf(fields, true);
  if (!networkId) return fail(networkId.error());
  if (controllerOf(*networkId) != identity_.address())
    return fail("network " + hex64(*networkId) + " does not belong to controller " +
                identity_.address().toString());
  std::optional<json> storedRaw = store_.network(*networkId);
  json merged = storedRaw && storedRaw->is_object() ? *storedRaw : json::object();
  for (const auto& [key, value] : fields.items())
    if (key != "revision") merged[key] = value;
  auto record = normalizeNetwork(std::move(merged), now);
  if (!record) return fail(record.error());
  std::optional<json> before = storedNetwork(*networkId, now);
  if (before && sameRecord(*before, *record)) return std::vector<ControllerMessage>{};
  (*record)["revision"] = revisionOf(before ? before : storedRaw) + 1;
  store_.saveNetwork(*record);

  Outbox out;
  for (Address member : onlineMembers(now, *networkId)) rerun(now, *networkId, member, out);
  return std::move(out.messages);
}

Result<std::vector<ControllerMessage>> NetworkController::setMember(uint64_t now, const json& fields) {
  if (!fields.is_object()) return fail("member record: expected a JSON object");
  auto networkId = networkIdOf(fields, false);
  if (!networkId) return fail(networkId.error());
  auto address = memberAddressOf(fields);
  if (!address) return fail(address.error());
  if (!storedNetwork(*networkId, now)) return fail("member record: network " + hex64(*networkId) + " does not exist");

  std::optional<json> storedRaw = store_.member(*networkId, *address);
  std::optional<json> before;
  if (storedRaw)
    if (auto normalized = normalizeMember(*storedRaw, now)) before = std::move(*normalized);
  const bool wasAuthorized = before && (*before)["authorized"].get<bool>();
  json merged = before ? *before : storedRaw && storedRaw->is_object() ? *storedRaw : newMemberRecord(*networkId, *address, now);
  for (const auto& [key, value] : fields.items())
    if (key != "revision") merged[key] = value;
  auto record = normalizeMember(std::move(merged), now);
  if (!record) return fail(record.error());
  const bool isAuthorized = (*record)["authorized"].get<bool>();
  if (isAuthorized && !wasAuthorized) {
    (*record)["lastAuthorizedTime"] = now;
    (*record)["lastAuthorizedCredentialType"] = "api";
    (*record)["lastAuthorizedCredential"] = nullptr;
  } else if (!isAuthorized && wasAuthorized) {
    (*record)["lastDeauthorizedTime"] = now;
  }
  if (before && sameRecord(*before, *record)) return std::vector<ControllerMessage>{};
  (*record)["revision"] = revisionOf(before ? before : storedRaw) + 1;
  store_.saveMember(*record);

  Outbox out;
  if (wasAuthorized && !isAuthorized) revoke(now, *networkId, {*address}, out);
  rerun(now, *networkId, *address, out);
  return std::move(out.messages);
}

Result<std::vector<ControllerMessage>> NetworkController::deleteMember(uint64_t now, uint64_t networkId, Address address) {
  std::optional<json> stored = store_.member(networkId, address);
  if (!stored) return std::vector<ControllerMessage>{};
  auto record = normalizeMember(std::move(*stored), now);
  store_.deleteMember(networkId, address);
  Outbox out;
  if (record && (*record)["authorized"].get<bool>()) revoke(now, networkId, {address}, out);
  return std::move(out.messages);
}

Result<std::vector<ControllerMessage>> NetworkController::deleteNetwork(uint64_t now, uint64_t networkId) {
  if (!store_.network(networkId)) return std::vector<ControllerMessage>{};
  std::vector<Address> wereAuthorized;
  for (const json& raw : store_.members(networkId)) {
    auto record = MemberRecord::parse(raw);
    auto address = memberAddressOf(raw);
    if (!address) continue;
    if (record && record->authorized) wereAuthorized.push_back(*address);
    store_.deleteMember(networkId, *address);
  }
  store_.deleteNetwork(networkId);
  Outbox out;
  revoke(now, networkId, wereAuthorized, out);
  for (auto it = sessions_.lower_bound({networkId, Address{}}); it != sessions_.end() && it->first.first == networkId;)
    it = sessions_.erase(it);
  return std::move(out.messages);
}

std::vector<MemberStatus> NetworkController::memberStatus(uint64_t now, uint64_t networkId) {
  std::vector<MemberStatus> out;
  for (const json& raw : store_.members(networkId)) {
    auto record = normalizeMember(raw, now);
    if (!record) continue;
    auto view = MemberRecord::parse(*record);
    MemberStatus s;
    s.address = view->address;
    s.authorized = view->authorized;
    s.activeBridge = view->activeBridge;
    if (view->identity) s.identity = view->identity->toString();
    for (const InetAddress& ip : view->ipAssignments) s.ipAssignments.push_back(ip.ipString());
    s.revision = view->revision;
    if (auto it = sessions_.find({networkId, view->address}); it != sessions_.end()) {
      s.lastSeen = it->second.lastRequest.value_or(0);
      s.physicalAddress = it->second.physical;
      s.online = online(now, it->second);
    }
    out.push_back(std::move(s));
  }
  return out;
}

json memberStatusToJson(const MemberStatus& s) {
  return {{"address", s.address.toString()},
          {"authorized", s.authorized},
          {"activeBridge", s.activeBridge},
          {"identity", s.identity},
          {"ipAssignments", s.ipAssignments},
          {"revision", s.revision},
          {"lastSeen", s.lastSeen},
          {"physicalAddress", s.physicalAddress.empty() ? json(nullptr) : json(s.physicalAddress.toString())},
          {"online", s.online}};
}

}  // namespace zt
