#include "controller/records.hpp"

#include <algorithm>
#include <limits>

namespace zt {
namespace {

using nlohmann::json;

// Errors name the record and the field path: "network 67efb704a1f746f2: routes[0].target: …".
struct Where {
  std::string record;
  std::string field(const std::string& path) const { return record + ": " + path; }
};

Error bad(const Where& w, const std::string& path, const std::string& why) { return fail(w.field(path) + ": " + why); }

using Check = std::optional<Error>;

const json* find(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Check readBool(const Where& w, const json& obj, const char* key, bool& out, bool fallback) {
  const json* v = find(obj, key);
  if (!v || v->is_null()) {
    out = fallback;
    return {};
  }
  if (!v->is_boolean()) return bad(w, key, "expected true or false");
  out = v->get<bool>();
  return {};
}

bool asUnsigned(const json& v, uint64_t max, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = uint64_t(v.get<int64_t>());
  } else {
    return false;
  }
  return out <= max;
}

template <class T>
Check readUnsigned(const Where& w, const json& v, const std::string& path, T& out) {
  uint64_t value = 0;
  if (!asUnsigned(v, std::numeric_limits<T>::max(), value))
    return bad(w, path, "expected a whole number from 0 to " + std::to_string(std::numeric_limits<T>::max()));
  out = T(value);
  return {};
}

template <class T>
Check readUnsignedField(const Where& w, const json& obj, const char* key, T& out, T fallback) {
  const json* v = find(obj, key);
  if (!v || v->is_null()) {
    out = fallback;
    return {};
  }
  return readUnsigned(w, *v, key, out);
}

Check readString(const Where& w, const json& obj, const char* key, std::string& out) {
  const json* v = find(obj, key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) return bad(w, key, "expected text");
  out = v->get<std::string>();
  return {};
}

const json* readArray(const json& obj, const char* key) {
  const json* v = find(obj, key);
  return v && v->is_array() ? v : nullptr;
}

std::string indexed(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// A plain IP address ("198.19.0.10", "fd00::1"): no prefix length.
Result<InetAddress> plainIp(const Where& w, const json& v, const std::string& path) {
  if (!v.is_string()) return bad(w, path, "expected an IP address as text");
  const std::string text = v.get<std::string>();
  auto ip = text.find('/') == std::string::npos ? InetAddress::parse(text) : std::nullopt;
  if (!ip) return bad(w, path, "'" + text + "' is not a plain IP address");
  return *ip;
}

// "ip/bits" with bits no longer than the family's address.
Result<InetAddress> ipNetwork(const Where& w, const json& v, const std::string& path) {
  if (!v.is_string()) return bad(w, path, "expected \"address/bits\" text");
  const std::string text = v.get<std::string>();
  auto ip = text.find('/') != std::string::npos ? InetAddress::parse(text) : std::nullopt;
  if (!ip) return bad(w, path, "'" + text + "' is not \"address/bits\"");
  if (ip->port > ip->ipLength() * 8) return bad(w, path, "prefix length of '" + text + "' is too long");
  return *ip;
}

Check readTraceTarget(const Where& w, const json& obj, std::optional<Address>& target, uint64_t& level) {
  if (const json* v = find(obj, "remoteTraceTarget"); v && !v->is_null()) {
    if (!v->is_string()) return bad(w, "remoteTraceTarget", "expected null or 10 hex digits");
    std::string text = v->get<std::string>();
    if (!text.empty()) {
      target = Address::parse(text);
      if (!target) return bad(w, "remoteTraceTarget", "'" + text + "' is not 10 hex digits");
    }
  }
  return readUnsignedField(w, obj, "remoteTraceLevel", level, uint64_t(0));
}

// A record's id from one or two keys that must agree ("id"/"nwid", "id"/"address").
template <class T, class Parse>
Result<T> recordId(const json& r, std::initializer_list<const char*> keys, const std::string& what, const char* form,
                   Parse parse) {
  std::optional<T> id;
  for (const char* key : keys) {
    const json* v = find(r, key);
    if (!v || v->is_null()) continue;
    std::optional<T> parsed = v->is_string() ? parse(v->get<std::string>()) : std::nullopt;
    if (!parsed) return fail(what + " record: " + key + ": expected " + form);
    if (id && *id != *parsed) return fail(what + " record: `" + *keys.begin() + "` and `" + key + "` differ");
    id = parsed;
  }
  if (!id) return fail(what + " record: missing `" + *keys.begin() + "`");
  return *id;
}

}  // namespace

Result<uint64_t> networkIdOf(const json& r, bool isNetwork) {
  return recordId<uint64_t>(r, isNetwork ? std::initializer_list<const char*>{"id", "nwid"} : std::initializer_list<const char*>{"nwid"},
                            isNetwork ? "network" : "member", "16 hex digits", parseNetworkId);
}

Result<Address> memberAddressOf(const json& r) {
  return recordId<Address>(r, {"id", "address"}, "member", "10 hex digits", [](std::string_view t) { return Address::parse(t); });
}

namespace {

void setDefault(json& r, const char* key, json value) {
  if (!r.contains(key)) r[key] = std::move(value);
}

// Sorts an array of objects (or [id, value] pairs) by their unsigned id and drops later
// duplicates. Left alone when some element has no readable id: validation reports it.
template <class IdOf>
void sortUniqueById(json* list, IdOf idOf) {
  if (!list || !list->is_array()) return;
  std::vector<std::pair<uint64_t, json>> keyed;
  for (const json& e : *list) {
    std::optional<uint64_t> id = idOf(e);
    if (!id) return;
    keyed.emplace_back(*id, e);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json out = json::array();
  for (size_t i = 0; i < keyed.size(); ++i)
    if (i == 0 || keyed[i].first != keyed[i - 1].first) out.push_back(std::move(keyed[i].second));
  *list = std::move(out);
}

std::optional<uint64_t> objectId(const json& e) {
  uint64_t id = 0;
  const json* v = e.is_object() ? find(e, "id") : nullptr;
  if (!v || !asUnsigned(*v, UINT32_MAX, id)) return std::nullopt;
  return id;
}

std::optional<uint64_t> pairId(const json& e) {
  uint64_t id = 0;
  if (!e.is_array() || e.size() != 2 || !asUnsigned(e[0], UINT32_MAX, id)) return std::nullopt;
  return id;
}

std::optional<uint64_t> plainId(const json& e) {
  uint64_t id = 0;
  if (!asUnsigned(e, UINT32_MAX, id)) return std::nullopt;
  return id;
}

Check parsePools(const Where& w, const json& r, NetworkRecord& n) {
  const json* pools = readArray(r, "ipAssignmentPools");
  if (!pools) return bad(w, "ipAssignmentPools", "expected an array");
  for (size_t i = 0; i < pools->size(); ++i) {
    std::string path = indexed("ipAssignmentPools", i);
    const json& p = (*pools)[i];
    if (!p.is_object()) return bad(w, path, "expected {\"ipRangeStart\", \"ipRangeEnd\"}");
    auto start = plainIp(w, p.value("ipRangeStart", json()), path + ".ipRangeStart");
    if (!start) return Error{start.error()};
    auto end = plainIp(w, p.value("ipRangeEnd", json()), path + ".ipRangeEnd");
    if (!end) return Error{end.error()};
    if (start->family != end->family) return bad(w, path, "ipRangeStart and ipRangeEnd are of different families");
    n.pools.push_back({*start, *end});
  }
  return {};
}

Check parseRoutes(const Where& w, const json& r, NetworkRecord& n) {
  const json* routes = readArray(r, "routes");
  if (!routes) return bad(w, "routes", "expected an array");
  for (size_t i = 0; i < routes->size(); ++i) {
    std::string path = indexed("routes", i);
    const json& e = (*routes)[i];
    if (!e.is_object()) return bad(w, path, "expected {\"target\", \"via\"}");
    auto target = ipNetwork(w, e.value("target", json()), path + ".target");
    if (!target) return Error{target.error()};
    Route route{*target, {}};
    if (const json* via = find(e, "via"); via && !via->is_null()) {
      auto gateway = plainIp(w, *via, path + ".via");
      if (!gateway) return Error{gateway.error()};
      if (gateway->family == target->family) route.via = *gateway;  // 1.14 drops a mismatched via
    }
    n.routes.push_back(route);
  }
  return {};
}

Check parseRuleList(const Where& w, const json& rules, const std::string& path, size_t max, std::vector<Rule>& out) {
  if (!rules.is_array()) return bad(w, path, "expected an array of rules");
  if (rules.size() > max) return bad(w, path, "more than " + std::to_string(max) + " rules");
  auto parsed = rulesFromJson(rules, InvalidRules::Strict);
  if (!parsed) return bad(w, path, parsed.error());
  out = std::move(*parsed);
  return {};
}

Check parseCapabilities(const Where& w, const json& r, NetworkRecord& n) {
  const json* caps = readArray(r, "capabilities");
  if (!caps) return bad(w, "capabilities", "expected an array");
  for (size_t i = 0; i < caps->size(); ++i) {
    std::string path = indexed("capabilities", i);
    const json& c = (*caps)[i];
    if (!c.is_object()) return bad(w, path, "expected {\"id\", \"default\", \"rules\"}");
    NetworkCapabilityDef def;
    if (auto e = readUnsigned(w, c.value("id", json()), path + ".id", def.id)) return e;
    if (const json* d = find(c, "default"); d && !d->is_null()) {
      if (!d->is_boolean()) return bad(w, path + ".default", "expected true or false");
      def.isDefault = d->get<bool>();
    }
    if (auto e = parseRuleList(w, c.value("rules", json::array()), path + ".rules", kMaxCapabilityRules, def.rules)) return e;
    if (!n.capabilities.empty() && n.capabilities.back().id >= def.id) return bad(w, path, "ids must ascend");
    n.capabilities.push_back(std::move(def));
  }
  return {};
}

Check parseTagDefs(const Where& w, const json& r, NetworkRecord& n) {
  const json* tags = readArray(r, "tags");
  if (!tags) return bad(w, "tags", "expected an array");
  for (size_t i = 0; i < tags->size(); ++i) {
    std::string path = indexed("tags", i);
    const json& t = (*tags)[i];
    if (!t.is_object()) return bad(w, path, "expected {\"id\", \"default\"}");
    NetworkTagDef def;
    if (auto e = readUnsigned(w, t.value("id", json()), path + ".id", def.id)) return e;
    if (const json* d = find(t, "default"); d && !d->is_null()) {
      uint32_t value = 0;
      if (auto e = readUnsigned(w, *d, path + ".default", value)) return e;
      def.defaultValue = value;
    }
    if (!n.tags.empty() && n.tags.back().id >= def.id) return bad(w, path, "ids must ascend");
    n.tags.push_back(def);
  }
  return {};
}

// `dns`: [] (1.14's "unset") or {"domain", "servers"}.
Check parseDns(const Where& w, const json& r, NetworkRecord& n) {
  const json* dns = find(r, "dns");
  if (!dns || dns->is_null() || (dns->is_array() && dns->empty())) return {};
  if (!dns->is_object()) return bad(w, "dns", "expected [] or {\"domain\", \"servers\"}");
  if (auto e = readString(w, *dns, "domain", n.dns.domain)) return bad(w, "dns", e->message);
  if (n.dns.domain.size() >= DnsConfig::kDomainLength) return bad(w, "dns.domain", "longer than 127 bytes");
  const json* servers = find(*dns, "servers");
  if (!servers || servers->is_null()) return {};
  if (!servers->is_array()) return bad(w, "dns.servers", "expected an array of IP addresses");
  for (size_t i = 0; i < servers->size(); ++i) {
    auto ip = plainIp(w, (*servers)[i], indexed("dns.servers", i));
    if (!ip) return Error{ip.error()};
    if (n.dns.servers.size() < DnsConfig::kMaxServers) n.dns.servers.push_back(*ip);
  }
  return {};
}

// `authTokens`: 1.14 writes [null] when unset; set, it maps each token to its expiry.
Check parseAuthTokens(const Where& w, const json& r, NetworkRecord& n) {
  const json* tokens = find(r, "authTokens");
  if (!tokens || tokens->is_null()) return {};
  auto readMap = [&](const json& obj) -> Check {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      uint64_t expiry = 0;
      if (auto e = readUnsigned(w, it.value(), "authTokens." + it.key(), expiry)) return e;
      n.authTokens[it.key()] = expiry;
    }
    return {};
  };
  if (tokens->is_object()) return readMap(*tokens);
  if (!tokens->is_array()) return bad(w, "authTokens", "expected {token: expiry} or [null]");
  for (const json& e : *tokens) {
    if (e.is_null()) continue;
    if (!e.is_object()) return bad(w, "authTokens", "expected {token: expiry} or [null]");
    if (auto err = readMap(e)) return err;
  }
  return {};
}

Check parseAssignModes(const Where& w, const json& r, NetworkRecord& n) {
  const json* v4 = find(r, "v4AssignMode");
  const json* v6 = find(r, "v6AssignMode");
  if (!v4 || !v4->is_object()) return bad(w, "v4AssignMode", "expected {\"zt\": bool}");
  if (!v6 || !v6->is_object()) return bad(w, "v6AssignMode", "expected {\"rfc4193\", \"zt\", \"6plane\"}");
  Where w4{w.field("v4AssignMode")}, w6{w.field("v6AssignMode")};
  if (auto e = readBool(w4, *v4, "zt", n.v4Zt, false)) return e;
  if (auto e = readBool(w6, *v6, "rfc4193", n.v6Rfc4193, false)) return e;
  if (auto e = readBool(w6, *v6, "zt", n.v6Zt, false)) return e;
  return readBool(w6, *v6, "6plane", n.v6SixPlane, false);
}

}  // namespace

std::optional<uint64_t> parseNetworkId(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  auto raw = fromHex(text);
  if (!raw) return std::nullopt;
  return loadU64(raw->data());
}


Result<NetworkRecord> NetworkRecord::parse(const json& r) {
  if (!r.is_object()) return fail("network record: expected a JSON object");
  auto id = networkIdOf(r, true);
  if (!id) return fail(id.error());
  NetworkRecord n;
  n.id = *id;
  Where w{"network " + hex64(n.id)};
  bool sso = false;
  uint64_t window = 0;
  for (Check c : {readString(w, r, "name", n.name), readBool(w, r, "private", n.isPrivate, true),
                  readBool(w, r, "enableBroadcast", n.enableBroadcast, true),
                  readUnsignedField(w, r, "multicastLimit", n.multicastLimit, uint64_t(32)),
                  readUnsignedField(w, r, "mtu", n.mtu, uint64_t(NetworkConfig::kDefaultMtu)),
                  readUnsignedField(w, r, "revision", n.revision, uint64_t(0)),
                  readUnsignedField(w, r, "certificateTimeoutWindowSize", window, kDefaultCredentialWindow),
                  readBool(w, r, "ssoEnabled", sso, false), parseAssignModes(w, r, n), parsePools(w, r, n),
                  parseRoutes(w, r, n), parseCapabilities(w, r, n), parseTagDefs(w, r, n), parseDns(w, r, n),
                  parseAuthTokens(w, r, n), readTraceTarget(w, r, n.remoteTraceTarget, n.remoteTraceLevel)})
    if (c) return *c;
  if (const json* rules = find(r, "rules"); rules) {
    if (auto e = parseRuleList(w, *rules, "rules", kMaxNetworkRules, n.rules)) return *e;
  } else {
    n.rules = {Rule{RuleType::ActionAccept}};
  }
  if (sso) return bad(w, "ssoEnabled", "SSO networks are not supported");
  n.credentialTimeMaxDelta = std::clamp(window, kMinCredentialWindow, kMaxCredentialWindow);
  return n;
}

Result<MemberRecord> MemberRecord::parse(const json& r) {
  if (!r.is_object()) return fail("member record: expected a JSON object");
  auto nwid = networkIdOf(r, false);
  if (!nwid) return fail(nwid.error());
  auto address = memberAddressOf(r);
  if (!address) return fail(address.error());
  MemberRecord m;
  m.networkId = *nwid;
  m.address = *address;
  Where w{"member " + hex64(m.networkId) + "/" + m.address.toString()};
  for (Check c : {readBool(w, r, "authorized", m.authorized, false), readBool(w, r, "activeBridge", m.activeBridge, false),
                  readBool(w, r, "noAutoAssignIps", m.noAutoAssignIps, false),
                  readUnsignedField(w, r, "revision", m.revision, uint64_t(0)),
                  readTraceTarget(w, r, m.remoteTraceTarget, m.remoteTraceLevel)})
    if (c) return *c;

  if (const json* id = find(r, "identity"); id && !id->is_null()) {
    auto identity = id->is_string() ? Identity::fromString(id->get<std::string>()) : fail("expected text");
    if (!identity) return bad(w, "identity", identity.error());
    if (identity->address() != m.address) return bad(w, "identity", "belongs to " + identity->address().toString());
    m.identity = identity->publicOnly();
  }
  const json* ips = readArray(r, "ipAssignments");
  if (!ips) return bad(w, "ipAssignments", "expected an array of IP addresses");
  for (size_t i = 0; i < ips->size(); ++i) {
    auto ip = plainIp(w, (*ips)[i], indexed("ipAssignments", i));
    if (!ip) return fail(ip.error());
    m.ipAssignments.push_back(*ip);
  }
  const json* tags = readArray(r, "tags");
  if (!tags) return bad(w, "tags", "expected an array of [id, value] pairs");
  for (size_t i = 0; i < tags->size(); ++i) {
    const json& t = (*tags)[i];
    std::pair<uint32_t, uint32_t> tag;
    if (!t.is_array() || t.size() != 2) return bad(w, indexed("tags", i), "expected [id, value]");
    if (auto e = readUnsigned(w, t[0], indexed("tags", i) + "[0]", tag.first)) return *e;
    if (auto e = readUnsigned(w, t[1], indexed("tags", i) + "[1]", tag.second)) return *e;
    if (!m.tags.empty() && m.tags.back().first >= tag.first) return bad(w, indexed("tags", i), "ids must ascend");
    m.tags.push_back(tag);
  }
  const json* caps = readArray(r, "capabilities");
  if (!caps) return bad(w, "capabilities", "expected an array of capability ids");
  for (size_t i = 0; i < caps->size(); ++i) {
    uint32_t id = 0;
    if (auto e = readUnsigned(w, (*caps)[i], indexed("capabilities", i), id)) return *e;
    if (!m.capabilities.empty() && m.capabilities.back() >= id) return bad(w, indexed("capabilities", i), "ids must ascend");
    m.capabilities.push_back(id);
  }
  for (const char* key : {"vMajor", "vMinor", "vRev", "vProto"})
    if (const json* v = find(r, key); v && !v->is_null() && !v->is_number_integer()) return bad(w, key, "expected a whole number");
  return m;
}

Result<json> normalizeNetwork(json r, uint64_t now) {
  if (!r.is_object()) return fail("network record: expected a JSON object");
  auto id = networkIdOf(r, true);
  if (!id) return fail(id.error());
  r["id"] = r["nwid"] = hex64(*id);
  for (auto& [key, value] : std::initializer_list<std::pair<const char*, json>>{
           {"objtype", "network"}, {"name", ""}, {"private", true}, {"enableBroadcast", true},
           {"multicastLimit", 32}, {"mtu", NetworkConfig::kDefaultMtu}, {"v4AssignMode", json::object()},
           {"v6AssignMode", json::object()}, {"ipAssignmentPools", json::array()}, {"routes", json::array()},
           {"rules", json::array({{{"not", false}, {"or", false}, {"type", "ACTION_ACCEPT"}}})},
           {"capabilities", json::array()}, {"tags", json::array()}, {"dns", json::array()},
           {"authTokens", json::array({nullptr})}, {"revision", 0}, {"creationTime", now},
           {"remoteTraceTarget", nullptr}, {"remoteTraceLevel", 0}, {"rulesSource", ""}, {"ssoEnabled", false},
           {"clientId", ""}, {"authorizationEndpoint", ""}})
    setDefault(r, key, value);
  if (r["v4AssignMode"].is_object()) setDefault(r["v4AssignMode"], "zt", false);
  if (json& v6 = r["v6AssignMode"]; v6.is_object())
    for (const char* key : {"rfc4193", "zt", "6plane"}) setDefault(v6, key, false);
  if (r["routes"].is_array())
    for (json& route : r["routes"])
      if (route.is_object()) setDefault(route, "via", nullptr);
  sortUniqueById(&r["capabilities"], objectId);
  sortUniqueById(&r["tags"], objectId);
  auto parsed = NetworkRecord::parse(r);
  if (!parsed) return fail(parsed.error());
  return r;
}

Result<json> normalizeMember(json r, uint64_t now) {
  if (!r.is_object()) return fail("member record: expected a JSON object");
  auto nwid = networkIdOf(r, false);
  if (!nwid) return fail(nwid.error());
  auto address = memberAddressOf(r);
  if (!address) return fail(address.error());
  r["nwid"] = hex64(*nwid);
  r["id"] = r["address"] = address->toString();
  for (auto& [key, value] : std::initializer_list<std::pair<const char*, json>>{
           {"objtype", "member"}, {"authorized", false}, {"activeBridge", false}, {"noAutoAssignIps", false},
           {"ipAssignments", json::array()}, {"tags", json::array()}, {"capabilities", json::array()},
           {"revision", 0}, {"creationTime", now}, {"lastAuthorizedTime", 0}, {"lastDeauthorizedTime", 0},
           {"lastAuthorizedCredentialType", nullptr}, {"lastAuthorizedCredential", nullptr}, {"vMajor", -1},
           {"vMinor", -1}, {"vRev", -1}, {"vProto", -1}, {"ssoExempt", false}, {"authenticationExpiryTime", 0},
           {"remoteTraceTarget", nullptr}, {"remoteTraceLevel", 0}})
    setDefault(r, key, value);
  sortUniqueById(&r["tags"], pairId);
  sortUniqueById(&r["capabilities"], plainId);
  auto parsed = MemberRecord::parse(r);
  if (!parsed) return fail(parsed.error());
  return r;
}

json newMemberRecord(uint64_t networkId, Address address, uint64_t now) {
  return *normalizeMember({{"nwid", hex64(networkId)}, {"id", address.toString()}}, now);
}

bool sameRecord(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return a == b;
  json x = a, y = b;
  x.erase("revision");
  y.erase("revision");
  return x == y;
}

// --- MemoryControllerStore ---------------------------------------------------------------------

std::optional<json> MemoryControllerStore::network(uint64_t networkId) {
  auto it = networks_.find(networkId);
  if (it == networks_.end()) return std::nullopt;
  return it->second;
}

std::optional<json> MemoryControllerStore::member(uint64_t networkId, Address address) {
  auto it = members_.find({networkId, address});
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

std::vector<json> MemoryControllerStore::members(uint64_t networkId) {
  std::vector<json> out;
  for (auto it = members_.lower_bound({networkId, Address{}}); it != members_.end() && it->first.first == networkId; ++it)
    out.push_back(it->second);
  return out;
}

Result<bool> MemoryControllerStore::load(const std::vector<json>& networks, const std::vector<json>& members,
                                         uint64_t now) {
  for (const json& network : networks) {
    Result<json> record = normalizeNetwork(network, now);
    if (!record) return fail("controller network record: " + record.error());
    saveNetwork(*record);
  }
  for (const json& member : members) {
    Result<json> record = normalizeMember(member, now);
    if (!record) return fail("controller member record: " + record.error());
    saveMember(*record);
  }
  return true;
}

void MemoryControllerStore::saveNetwork(const json& record) {
  auto id = networkIdOf(record, true);
  if (!id) return;
  networks_[*id] = record;
  notify({ControllerStoreChange::Kind::SaveNetwork, *id, Address{}, record});
}

void MemoryControllerStore::saveMember(const json& record) {
  auto nwid = networkIdOf(record, false);
  auto address = memberAddressOf(record);
  if (!nwid || !address) return;
  members_[{*nwid, *address}] = record;
  notify({ControllerStoreChange::Kind::SaveMember, *nwid, *address, record});
}

void MemoryControllerStore::deleteMember(uint64_t networkId, Address address) {
  if (members_.erase({networkId, address})) notify({ControllerStoreChange::Kind::DeleteMember, networkId, address, {}});
}

void MemoryControllerStore::deleteNetwork(uint64_t networkId) {
  if (networks_.erase(networkId)) notify({ControllerStoreChange::Kind::DeleteNetwork, networkId, Address{}, {}});
}

}  // namespace zt
