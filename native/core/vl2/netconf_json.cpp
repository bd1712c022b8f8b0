#include "vl2/netconf_json.hpp"

#include "vl2/netconf.hpp"
#include "vl2/text_forms.hpp"

namespace zt {
namespace {

using nlohmann::json;

json signatureJson(const std::optional<Signature>& s) { return s ? json(toHex(*s)) : json(nullptr); }

json addressOrNull(Address a) { return a.value == 0 ? json(nullptr) : json(a.toString()); }

const char* credentialTypeName(CredentialType t) {
  switch (t) {
    case CredentialType::None: return "NONE";
    case CredentialType::Com: return "COM";
    case CredentialType::Capability: return "CAPABILITY";
    case CredentialType::Tag: return "TAG";
    case CredentialType::Coo: return "COO";
    case CredentialType::Revocation: return "REVOCATION";
  }
  return "UNKNOWN";
}

json thingJson(const CertificateOfOwnership::Thing& t) {
  using Type = CertificateOfOwnership::ThingType;
  switch (t.type) {
    case Type::Ipv4Address:
      return {{"type", "ipv4"}, {"value", InetAddress::v4({t.value[0], t.value[1], t.value[2], t.value[3]}, 0).ipString()}};
    case Type::Ipv6Address:
      return {{"type", "ipv6"}, {"value", InetAddress::v6(t.value, 0).ipString()}};
    case Type::MacAddress:
      return {{"type", "mac"}, {"value", macText(t.value.data())}};
    default:
      return {{"type", uint8_t(t.type)}, {"value", toHex(t.value)}};
  }
}

json routeJson(const Route& r) {
  return {{"target", r.target.toString()},
          {"via", r.via.empty() ? json(nullptr) : json(r.via.ipString())},
          {"flags", r.flags},
          {"metric", r.metric}};
}

json specialistJson(const Specialist& s) {
  return {{"address", s.address().toString()},
          {"activeBridge", bool(s.raw & Specialist::kActiveBridge)},
          {"anchor", bool(s.raw & Specialist::kAnchor)},
          {"multicastReplicator", bool(s.raw & Specialist::kMulticastReplicator)}};
}

template <class List>
json listJson(const List& list) {
  json out = json::array();
  for (const auto& item : list) out.push_back(credentialToJson(item));
  return out;
}

}  // namespace

json credentialToJson(const CertificateOfMembership& com) {
  json qualifiers = json::array();
  for (const auto& q : com.qualifiers)
    qualifiers.push_back({{"id", q.id}, {"value", hex64(q.value)}, {"maxDelta", hex64(q.maxDelta)}});
  return {{"type", "COM"},
          {"id", 0},
          {"networkId", hex64(com.networkId())},
          {"timestamp", com.timestamp()},
          {"issuedTo", com.issuedTo().toString()},
          {"signer", addressOrNull(com.signer)},
          {"qualifiers", qualifiers},
          {"signature", com.signer.value ? json(toHex(com.signature)) : json(nullptr)}};
}

json credentialToJson(const Capability& cap) {
  json custody = json::array();
  for (const auto& c : cap.custody)
    custody.push_back({{"to", c.to.toString()}, {"from", c.from.toString()}, {"signature", signatureJson(c.signature.signature)}});
  return {{"type", "CAPABILITY"},
          {"id", cap.id},
          {"networkId", hex64(cap.networkId)},
          {"timestamp", cap.timestamp},
          {"issuedTo", addressOrNull(cap.issuedTo())},
          {"signer", addressOrNull(cap.signer())},
          {"maxCustodyChain", cap.maxCustodyChain},
          {"custody", custody},
          {"rules", rulesToJson(cap.rules)}};
}

json credentialToJson(const Tag& tag) {
  return {{"type", "TAG"},
          {"id", tag.id},
          {"value", tag.value},
          {"networkId", hex64(tag.networkId)},
          {"timestamp", tag.timestamp},
          {"issuedTo", tag.issuedTo.toString()},
          {"signer", tag.signer.toString()},
          {"signature", signatureJson(tag.signature.signature)}};
}

json credentialToJson(const CertificateOfOwnership& coo) {
  json things = json::array();
  for (const auto& t : coo.things) things.push_back(thingJson(t));
  return {{"type", "COO"},
          {"id", coo.id},
          {"networkId", hex64(coo.networkId)},
          {"timestamp", coo.timestamp},
          {"flags", coo.flags},
          {"things", things},
          {"issuedTo", coo.issuedTo.toString()},
          {"signer", coo.signer.toString()},
          {"signature", signatureJson(coo.signature.signature)}};
}

json credentialToJson(const Revocation& rev) {
  return {{"type", "REVOCATION"},
          {"id", rev.id},
          {"networkId", hex64(rev.networkId)},
          {"credentialType", credentialTypeName(rev.credentialType)},
          {"credentialId", rev.credentialId},
          {"threshold", rev.threshold},
          {"flags", rev.flags},
          {"target", rev.target.toString()},
          {"signer", rev.signer.toString()},
          {"signature", signatureJson(rev.signature.signature)}};
}

json networkConfigToJson(const NetworkConfig& c) {
  json addresses = json::array(), routes = json::array(), servers = json::array(), specialists = json::array();
  for (const auto& a : c.assignedAddresses) addresses.push_back(a.toString());
  for (const auto& r : c.routes) routes.push_back(routeJson(r));
  for (const auto& s : c.dns.servers) servers.push_back(s.ipString());
  for (const auto& s : c.specialists) specialists.push_back(specialistJson(s));
  json sso = {{"version", c.ssoVersion}, {"enabled", c.ssoEnabled}};
  if (c.ssoEnabled) {
    sso["authenticationUrl"] = c.authenticationUrl;
    sso["authenticationExpiryTime"] = c.authenticationExpiryTime;
    sso["issuerUrl"] = c.issuerUrl;
    sso["centralEndpointUrl"] = c.centralEndpointUrl;
    sso["nonce"] = c.ssoNonce;
    sso["state"] = c.ssoState;
    sso["clientId"] = c.ssoClientId;
    sso["provider"] = c.ssoProvider;
  }
  return {{"version", c.version},
          {"networkId", hex64(c.networkId)},
          {"controller", controllerOf(c.networkId).toString()},
          {"timestamp", c.timestamp},
          {"credentialTimeMaxDelta", c.credentialTimeMaxDelta},
          {"revision", c.revision},
          {"issuedTo", c.issuedTo.toString()},
          {"remoteTraceTarget", addressOrNull(c.remoteTraceTarget)},
          {"remoteTraceLevel", c.remoteTraceLevel},
          {"flags", c.flags},
          {"broadcastEnabled", c.broadcastEnabled()},
          {"ndpEmulation", c.ndpEmulation()},
          {"multicastLimit", c.multicastLimit},
          {"type", c.isPublic() ? "PUBLIC" : "PRIVATE"},
          {"name", c.name},
          {"mtu", c.mtu},
          {"assignedAddresses", addresses},
          {"routes", routes},
          {"dns", {{"domain", c.dns.domain}, {"servers", servers}}},
          {"specialists", specialists},
          {"rules", rulesToJson(c.rules)},
          {"credentials",
           {{"com", c.com ? credentialToJson(*c.com) : json(nullptr)},
            {"capabilities", listJson(c.capabilities)},
            {"tags", listJson(c.tags)},
            {"coos", listJson(c.coos)},
            {"revocations", json::array()}}},
          {"sso", sso}};
}

Result<json> decodeNetconf(ByteView dictionary) {
  auto dict = Dictionary::parse(dictionary);
  if (!dict) return fail("netconf: " + dict.error());
  auto config = NetworkConfig::fromDictionary(*dict);
  if (!config) return fail("netconf: " + config.error());
  return networkConfigToJson(*config);
}

}  // namespace zt
