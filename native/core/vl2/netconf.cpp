#include "vl2/netconf.hpp"

#include <algorithm>

namespace zt {
namespace {

constexpr uint64_t kMinReadableVersion = 6;  // older configs use the obsolete text format

// An InetAddress inside a config value. Unlike InetAddress::read (which yields an empty address
// for unknown types), an unknown type byte here makes the value malformed.
Result<InetAddress> readConfigAddress(Reader& r, ByteView value) {
  size_t at = r.position();
  if (at < value.size()) {
    uint8_t type = value[at];
    if (type != 0 && type != 1 && type != 2 && type != 3 && type != 4 && type != 6)
      return fail("unknown address type " + std::to_string(type) + " at byte " + std::to_string(at));
  }
  InetAddress a = InetAddress::read(r);
  if (r.failed()) return fail("address truncated at byte " + std::to_string(at));
  return a;
}

ByteView valueOf(const Dictionary& dict, const char* key) {
  const Bytes* v = dict.get(key);
  return v ? ByteView(*v) : ByteView();
}

Error badKey(const char* key, const std::string& why) { return fail(std::string("config key ") + key + ": " + why); }

Result<std::vector<InetAddress>> readAddresses(ByteView value) {
  Reader r(value);
  std::vector<InetAddress> out;
  while (r.remaining() > 0) {
    auto a = readConfigAddress(r, value);
    if (!a) return badKey("I", a.error());
    if (!a->empty() && out.size() < NetworkConfig::kMaxAddresses) out.push_back(*a);
  }
  return out;
}

Result<std::vector<Route>> readRoutes(ByteView value) {
  Reader r(value);
  std::vector<Route> out;
  while (r.remaining() > 0 && out.size() < NetworkConfig::kMaxRoutes) {
    auto target = readConfigAddress(r, value);
    if (!target) return badKey("RT", target.error());
    auto via = readConfigAddress(r, value);
    if (!via) return badKey("RT", via.error());
    Route route{*target, *via, r.u16(), r.u16()};
    if (r.failed()) return badKey("RT", "route truncated");
    out.push_back(route);
  }
  return out;
}

Result<DnsConfig> readDns(ByteView value) {
  DnsConfig dns;
  if (value.empty()) return dns;
  Reader r(value);
  ByteView domain = r.bytes(DnsConfig::kDomainLength);
  if (r.failed()) return badKey("DNS", "shorter than its 128-byte domain");
  size_t length = std::find(domain.begin(), domain.end(), 0) - domain.begin();
  dns.domain.assign(domain.begin(), domain.begin() + std::min(length, DnsConfig::kDomainLength - 1));
  for (size_t i = 0; i < DnsConfig::kMaxServers; ++i) {
    auto server = readConfigAddress(r, value);
    if (!server) return badKey("DNS", server.error());
    if (!server->empty()) dns.servers.push_back(*server);
  }
  return dns;
}

// Back-to-back credentials of one kind. `stopOnError`: a malformed one ends the list (CAP, TAG);
// otherwise it makes the config invalid (COO).
template <class Credential>
Result<std::vector<Credential>> readCredentials(const char* key, ByteView value, size_t keep, bool stopOnError) {
  Reader r(value);
  std::vector<Credential> out;
  while (r.remaining() > 0) {
    auto c = Credential::read(r);
    if (!c) {
      if (stopOnError) break;
      return badKey(key, c.error());
    }
    if (out.size() < keep) out.push_back(std::move(*c));
  }
  return out;
}

template <class Credential>
void sortById(std::vector<Credential>& list) {
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
}

template <class Credential>
void setCredentials(Dictionary& dict, const char* key, const std::vector<Credential>& list) {
  if (list.empty()) return;
  Writer w;
  for (const auto& c : list) c.write(w);
  dict.set(key, w.data());
}

Bytes writeDns(const DnsConfig& dns) {
  Writer w;
  Bytes domain(DnsConfig::kDomainLength, 0);
  std::copy_n(dns.domain.begin(), std::min(dns.domain.size(), DnsConfig::kDomainLength - 1), domain.begin());
  w.bytes(domain);
  for (size_t i = 0; i < DnsConfig::kMaxServers; ++i)
    (i < dns.servers.size() ? dns.servers[i] : InetAddress{}).write(w);
  return w.take();
}

}  // namespace

Result<NetworkConfig> NetworkConfig::fromDictionary(const Dictionary& dict) {
  NetworkConfig c;
  // Numbers first: any malformed one is reported by its key.
  struct NumberKey {
    const char* key;
    uint64_t* field;
    uint64_t fallback;
  };
  uint64_t issuedTo = 0, traceTarget = 0, type = 0, mtu = 0;
  for (auto [key, field, fallback] : {NumberKey{"v", &c.version, 0}, NumberKey{"nwid", &c.networkId, 0},
                                      NumberKey{"ts", &c.timestamp, 0}, NumberKey{"ctmd", &c.credentialTimeMaxDelta, 0},
                                      NumberKey{"r", &c.revision, 0}, NumberKey{"id", &issuedTo, 0},
                                      NumberKey{"tt", &traceTarget, 0}, NumberKey{"tl", &c.remoteTraceLevel, 0},
                                      NumberKey{"f", &c.flags, 0}, NumberKey{"ml", &c.multicastLimit, 0},
                                      NumberKey{"t", &type, 0}, NumberKey{"mtu", &mtu, kDefaultMtu},
                                      NumberKey{"ssov", &c.ssoVersion, 0}, NumberKey{"aexpt", &c.authenticationExpiryTime, 0}}) {
    auto v = dict.getNumber(key, fallback);
    if (!v) return fail(v.error());
    *field = *v;
  }
  if (c.version < kMinReadableVersion) return fail("config format version " + std::to_string(c.version) + " is too old");
  if (c.networkId == 0) return fail("config has no network id (nwid)");
  c.issuedTo = Address{issuedTo & 0xffffffffffULL};
  if (c.issuedTo.value == 0) return fail("config has no issued-to address (id)");
  c.remoteTraceTarget = Address{traceTarget & 0xffffffffffULL};
  c.type = type == 1 ? NetworkType::Public : NetworkType::Private;
  c.mtu = unsigned(std::clamp<uint64_t>(mtu, kMinMtu, kMaxMtu));
  c.name = dict.getString("n").substr(0, kMaxNameLength);

  if (ByteView v = valueOf(dict, "C"); !v.empty()) {
    Reader r(v);
    auto com = CertificateOfMembership::read(r);
    if (!com) return badKey("C", com.error());
    c.com = std::move(*com);
  }
  auto caps = readCredentials<Capability>("CAP", valueOf(dict, "CAP"), kMaxCapabilities, true);
  auto tags = readCredentials<Tag>("TAG", valueOf(dict, "TAG"), kMaxTags, true);
  auto coos = readCredentials<CertificateOfOwnership>("COO", valueOf(dict, "COO"), kMaxCoos, false);
  if (!coos) return fail(coos.error());
  c.capabilities = std::move(*caps);
  c.tags = std::move(*tags);
  c.coos = std::move(*coos);
  sortById(c.capabilities);
  sortById(c.tags);

  Reader specialists(valueOf(dict, "S"));
  while (specialists.remaining() >= 8 && c.specialists.size() < kMaxSpecialists)
    c.specialists.push_back({specialists.u64()});

  auto routes = readRoutes(valueOf(dict, "RT"));
  if (!routes) return fail(routes.error());
  c.routes = std::move(*routes);
  auto addresses = readAddresses(valueOf(dict, "I"));
  if (!addresses) return fail(addresses.error());
  c.assignedAddresses = std::move(*addresses);
  auto rules = parseRules(valueOf(dict, "R"), kMaxNetworkRules);
  if (!rules) return badKey("R", rules.error());
  c.rules = std::move(*rules);
  auto dns = readDns(valueOf(dict, "DNS"));
  if (!dns) return fail(dns.error());
  c.dns = std::move(*dns);

  c.ssoEnabled = dict.getBool("ssoe");
  c.authenticationUrl = dict.getString("aurl");
  c.issuerUrl = dict.getString("iurl");
  c.centralEndpointUrl = dict.getString("ssoce");
  c.ssoNonce = dict.getString("sson");
  c.ssoState = dict.getString("ssos");
  c.ssoClientId = dict.getString("ssocid");
  if (std::string provider = dict.getString("ssop"); !provider.empty()) c.ssoProvider = provider;
  return c;
}

Dictionary NetworkConfig::toDictionary() const {
  Dictionary d;
  d.setNumber("v", version);
  d.setNumber("nwid", networkId);
  d.setNumber("ts", timestamp);
  d.setNumber("ctmd", credentialTimeMaxDelta);
  d.setNumber("r", revision);
  d.setAddress("id", issuedTo);
  d.setAddress("tt", remoteTraceTarget);
  d.setNumber("tl", remoteTraceLevel);
  d.setNumber("f", flags);
  d.setNumber("ml", multicastLimit);
  d.setNumber("t", uint64_t(type));
  d.setString("n", std::string_view(name).substr(0, kMaxNameLength));
  d.setNumber("mtu", mtu);
  if (com) {
    Writer w;
    com->write(w);
    d.set("C", w.data());
  }
  setCredentials(d, "CAP", capabilities);
  setCredentials(d, "TAG", tags);
  setCredentials(d, "COO", coos);
  if (!specialists.empty()) {
    Writer w;
    for (const Specialist& s : specialists) w.u64(s.raw);
    d.set("S", w.data());
  }
  if (!routes.empty()) {
    Writer w;
    for (const Route& r : routes) {
      r.target.write(w);
      r.via.write(w);
      w.u16(r.flags).u16(r.metric);
    }
    d.set("RT", w.data());
  }
  if (!assignedAddresses.empty()) {
    Writer w;
    for (const InetAddress& a : assignedAddresses) a.write(w);
    d.set("I", w.data());
  }
  if (!rules.empty()) d.set("R", encodeRules(rules));
  d.set("DNS", writeDns(dns));
  d.setNumber("ssov", ssoVersion);
  d.setBool("ssoe", ssoEnabled);
  if (ssoVersion == 0) {
    if (ssoEnabled && !authenticationUrl.empty()) d.setString("aurl", authenticationUrl);
    if (ssoEnabled) d.setNumber("aexpt", authenticationExpiryTime);
  } else if (ssoVersion == 1) {
    d.setString("iurl", issuerUrl);
    d.setString("ssoce", centralEndpointUrl);
    d.setString("sson", ssoNonce);
    d.setString("ssos", ssoState);
    d.setString("ssocid", ssoClientId);
    d.setString("ssop", ssoProvider);
  }
  return d;
}

}  // namespace zt
