#include "wire/verbs_vl1.hpp"

#include <cstring>

#include "crypto/armor.hpp"

namespace zt::wire {

using nlohmann::json;

namespace {

// Reads the HELLO fields before the planet and moon part.
Result<Hello> readHelloHead(Reader& r) {
  Hello h;
  h.protocolVersion = r.u8();
  h.versionMajor = r.u8();
  h.versionMinor = r.u8();
  h.versionRevision = r.u16();
  h.timestamp = r.u64();
  auto identity = Identity::read(r);
  if (!identity) return fail("HELLO: identity: " + identity.error());
  if (r.failed()) return fail("HELLO: truncated");
  if (identity->hasSecret()) return fail("HELLO: identity carries its secret");
  h.identity = *identity;
  h.physicalDestination = readInetAddress(r);
  h.planetId = r.u64();
  h.planetTimestamp = r.u64();
  if (r.failed()) return fail("HELLO: truncated or bad physical address");
  return h;
}

}  // namespace

Result<Hello> Hello::parse(ByteView payload) {
  Reader r(payload);
  auto h = readHelloHead(r);
  if (!h) return h;
  uint16_t n = r.u16();
  for (uint16_t i = 0; i < n && !r.failed(); ++i) {
    HelloMoon m;
    m.type = r.u8();
    m.id = r.u64();
    m.timestamp = r.u64();
    h->moons.push_back(m);
  }
  return finish(r, std::move(*h), "HELLO");
}

void Hello::write(Writer& w) const {
  w.u8(protocolVersion).u8(versionMajor).u8(versionMinor).u16(versionRevision).u64(timestamp);
  identity.write(w, false);
  physicalDestination.write(w);
  w.u64(planetId).u64(planetTimestamp).u16(uint16_t(moons.size()));
  for (const HelloMoon& m : moons) w.u8(m.type).u64(m.id).u64(m.timestamp);
}

json Hello::describe() const {
  json list = json::array();
  for (const HelloMoon& m : moons) list.push_back({{"type", m.type}, {"id", hex64(m.id)}, {"timestamp", m.timestamp}});
  return {{"protocolVersion", protocolVersion},
          {"version", std::to_string(versionMajor) + "." + std::to_string(versionMinor) + "." + std::to_string(versionRevision)},
          {"timestamp", timestamp},
          {"identity", identity.toString()},
          {"physicalDestination", physicalDestination.toString()},
          {"planetId", planetId},
          {"planetTimestamp", planetTimestamp},
          {"moons", list}};
}

bool cryptHelloMoons(MutableByteView packet, const SymmetricKey& key) {
  if (packet.size() < kPayloadOffset) return false;
  Reader r(ByteView(packet).subspan(kPayloadOffset));
  if (!readHelloHead(r)) return false;
  uint8_t nonce[8];
  std::memcpy(nonce, packet.data() + kIdOffset, 8);
  nonce[7] &= 0xf8;
  salsa2012Xor(packet.subspan(kPayloadOffset + r.position()), key.data(), nonce);
  return true;
}

Result<ErrorReply> ErrorReply::parse(ByteView payload) {
  Reader r(payload);
  ErrorReply e;
  e.inReVerb = r.u8();
  e.inRePacketId = r.u64();
  e.code = ErrorCode(r.u8());
  switch (e.code) {
    case ErrorCode::ObjNotFound:
    case ErrorCode::UnsupportedOperation:
    case ErrorCode::NeedMembershipCertificate:
    case ErrorCode::NetworkAccessDenied:
      if (r.remaining()) e.networkId = r.u64();
      break;
    case ErrorCode::UnwantedMulticast:
      e.networkId = r.u64();
      e.group = MulticastGroup::read(r);
      break;
    case ErrorCode::NetworkAuthenticationRequired:
      if (r.remaining()) e.networkId = r.u64();
      if (r.remaining() > 2) e.authDictionary = r.bytes(r.u16());
      break;
    default:
      break;
  }
  return finish(r, std::move(e), "ERROR");
}

void ErrorReply::write(Writer& w) const {
  w.u8(inReVerb).u64(inRePacketId).u8(uint8_t(code));
  if (networkId) w.u64(*networkId);
  if (group) group->write(w);
  if (authDictionary) w.u16(uint16_t(authDictionary->size())).bytes(*authDictionary);
}

json ErrorReply::describe() const {
  json j = {{"inReVerb", inReVerb},
            {"inReVerbName", verbName(inReVerb)},
            {"inRePacketId", hex64(inRePacketId)},
            {"code", uint8_t(code)},
            {"codeName", errorCodeName(uint8_t(code))}};
  if (networkId) j["networkId"] = hex64(*networkId);
  if (group) j["group"] = group->describe();
  if (authDictionary) j["authDictionaryHex"] = toHex(*authDictionary);
  return j;
}

Result<OkHeader> OkHeader::parse(ByteView payload) {
  Reader r(payload);
  OkHeader h;
  h.inReVerb = r.u8();
  h.inRePacketId = r.u64();
  h.body = r.rest();
  if (r.failed()) return fail("OK: truncated");
  return h;
}

Result<OkHello> OkHello::parse(ByteView body) {
  Reader r(body);
  OkHello o;
  o.timestampEcho = r.u64();
  o.protocolVersion = r.u8();
  o.versionMajor = r.u8();
  o.versionMinor = r.u8();
  o.versionRevision = r.u16();
  o.physicalSource = readInetAddress(r);
  o.worldUpdates = r.bytes(r.u16());
  return finish(r, std::move(o), "OK(HELLO)");
}

void OkHello::write(Writer& w) const {
  w.u64(timestampEcho).u8(protocolVersion).u8(versionMajor).u8(versionMinor).u16(versionRevision);
  physicalSource.write(w);
  w.u16(uint16_t(worldUpdates.size())).bytes(worldUpdates);
}

json OkHello::describe() const {
  return {{"timestampEcho", timestampEcho},
          {"protocolVersion", protocolVersion},
          {"version", std::to_string(versionMajor) + "." + std::to_string(versionMinor) + "." + std::to_string(versionRevision)},
          {"physicalSource", physicalSource.toString()},
          {"worldUpdatesHex", toHex(worldUpdates)}};
}

Result<OkWhois> OkWhois::parse(ByteView body) {
  Reader r(body);
  OkWhois o;
  while (r.remaining()) {
    auto identity = Identity::read(r);
    if (!identity || r.failed()) return fail("OK(WHOIS): identity " + std::to_string(o.identities.size()) + ": " +
                                             (identity ? "truncated" : identity.error()));
    o.identities.push_back(*identity);
  }
  if (o.identities.empty()) return fail("OK(WHOIS): no identity");
  return finish(r, std::move(o), "OK(WHOIS)");
}

void OkWhois::write(Writer& w) const {
  for (const Identity& id : identities) id.write(w, false);
}

json OkWhois::describe() const {
  json list = json::array();
  for (const Identity& id : identities) list.push_back(id.toString());
  return {{"identities", list}};
}

Result<Whois> Whois::parse(ByteView payload) {
  if (payload.empty() || payload.size() % Address::kLength) return fail("WHOIS: length is not a positive multiple of 5");
  Reader r(payload);
  Whois q;
  while (r.remaining()) q.addresses.push_back(Address{r.u40()});
  return finish(r, std::move(q), "WHOIS");
}

void Whois::write(Writer& w) const {
  for (const Address& a : addresses) w.u40(a.value);
}

json Whois::describe() const {
  json list = json::array();
  for (const Address& a : addresses) list.push_back(a.toString());
  return {{"addresses", list}};
}

Result<Rendezvous> Rendezvous::parse(ByteView payload) {
  Reader r(payload);
  Rendezvous v;
  v.flags = r.u8();
  v.with = Address{r.u40()};
  uint16_t port = r.u16();
  uint8_t ipLength = r.u8();
  ByteView ip = r.bytes(ipLength);
  if (r.failed()) return fail("RENDEZVOUS: truncated");
  if (ipLength == 4) {
    v.endpoint = InetAddress::v4({ip[0], ip[1], ip[2], ip[3]}, port);
  } else if (ipLength == 16) {
    std::array<uint8_t, 16> ip6;
    std::memcpy(ip6.data(), ip.data(), 16);
    v.endpoint = InetAddress::v6(ip6, port);
  } else {
    return fail("RENDEZVOUS: IP length " + std::to_string(ipLength) + " is neither 4 nor 16");
  }
  return finish(r, std::move(v), "RENDEZVOUS");
}

void Rendezvous::write(Writer& w) const {
  w.u8(flags).u40(with.value).u16(endpoint.port).u8(uint8_t(endpoint.ipLength())).bytes(endpoint.ipBytes());
}

json Rendezvous::describe() const {
  return {{"flags", flags}, {"with", with.toString()}, {"endpoint", endpoint.toString()}};
}

Result<Echo> Echo::parse(ByteView payload) { return Echo{payload}; }
void Echo::write(Writer& w) const { w.bytes(data); }
json Echo::describe() const { return {{"dataHex", toHex(data)}}; }

Result<Opaque> Opaque::parse(ByteView payload) { return Opaque{payload}; }
void Opaque::write(Writer& w) const { w.bytes(data); }
json Opaque::describe() const { return {{"dataHex", toHex(data)}}; }

Result<PushDirectPaths> PushDirectPaths::parse(ByteView payload) {
  Reader r(payload);
  PushDirectPaths p;
  uint16_t n = r.u16();
  for (uint16_t i = 0; i < n && !r.failed(); ++i) {
    DirectPath path;
    path.flags = r.u8();
    path.extension = r.bytes(r.u16());
    uint8_t type = r.u8();
    ByteView address = r.bytes(r.u8());
    if (type == 4 && address.size() == 6) {
      path.endpoint = InetAddress::v4({address[0], address[1], address[2], address[3]}, loadU16(address.data() + 4));
    } else if (type == 6 && address.size() == 18) {
      std::array<uint8_t, 16> ip6;
      std::memcpy(ip6.data(), address.data(), 16);
      path.endpoint = InetAddress::v6(ip6, loadU16(address.data() + 16));
    } else {
      path.otherType = type;
      path.otherAddress = address;
    }
    p.paths.push_back(path);
  }
  return finish(r, std::move(p), "PUSH_DIRECT_PATHS");
}

void PushDirectPaths::write(Writer& w) const {
  w.u16(uint16_t(paths.size()));
  for (const DirectPath& path : paths) {
    w.u8(path.flags).u16(uint16_t(path.extension.size())).bytes(path.extension);
    if (path.endpoint.empty()) {
      w.u8(path.otherType).u8(uint8_t(path.otherAddress.size())).bytes(path.otherAddress);
    } else {
      w.u8(uint8_t(path.endpoint.family)).u8(uint8_t(path.endpoint.ipLength() + 2)).bytes(path.endpoint.ipBytes()).u16(path.endpoint.port);
    }
  }
}

json PushDirectPaths::describe() const {
  json list = json::array();
  for (const DirectPath& path : paths) {
    json j = {{"flags", path.flags}, {"extensionHex", toHex(path.extension)}};
    if (path.endpoint.empty()) {
      j["otherType"] = path.otherType;
      j["otherAddressHex"] = toHex(path.otherAddress);
    } else {
      j["endpoint"] = path.endpoint.toString();
    }
    list.push_back(j);
  }
  return {{"paths", list}};
}

Result<UserMessage> UserMessage::parse(ByteView payload) {
  Reader r(payload);
  UserMessage m;
  m.typeId = r.u64();
  m.data = r.rest();
  return finish(r, std::move(m), "USER_MESSAGE");
}

void UserMessage::write(Writer& w) const { w.u64(typeId).bytes(data); }

json UserMessage::describe() const { return {{"typeId", hex64(typeId)}, {"dataHex", toHex(data)}}; }

Result<RemoteTrace> RemoteTrace::parse(ByteView payload) {
  if (payload.empty() || payload.back() != 0) return fail("REMOTE_TRACE: not NUL-terminated dictionaries");
  RemoteTrace t;
  size_t start = 0;
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i]) continue;
    t.dictionaries.push_back(payload.subspan(start, i - start));
    start = i + 1;
  }
  return t;
}

void RemoteTrace::write(Writer& w) const {
  for (ByteView d : dictionaries) w.bytes(d).u8(0);
}

json RemoteTrace::describe() const {
  json list = json::array();
  for (ByteView d : dictionaries) list.push_back(toHex(d));
  return {{"dictionariesHex", list}};
}

}  // namespace zt::wire
