#include "wire/verbs_vl2.hpp"

namespace zt::wire {

using nlohmann::json;

namespace {

constexpr size_t kSignatureLength = 96;

// A credential's signature block: type, length, signature (type 1 must be 96 bytes).
void skipSignatureBlock(Reader& r) {
  uint8_t type = r.u8();
  uint16_t length = r.u16();
  if (type == 1 && length != kSignatureLength) r.fail();
  r.skip(length);
}

void skipExtension(Reader& r) { r.skip(r.u16()); }

// Measures one credential with skip on a copy of the reader, then takes exactly those bytes.
template <class Skip>
ByteView take(Reader& r, Skip skip) {
  Reader probe = r;
  size_t start = probe.position();
  skip(probe);
  if (probe.failed()) {
    r.fail();
    return {};
  }
  return r.bytes(probe.position() - start);
}

json hexList(const std::vector<ByteView>& blobs) {
  json list = json::array();
  for (ByteView b : blobs) list.push_back(toHex(b));
  return list;
}

void writeCounted(Writer& w, const std::vector<ByteView>& blobs) {
  w.u16(uint16_t(blobs.size()));
  for (ByteView b : blobs) w.bytes(b);
}

}  // namespace

ByteView takeCom(Reader& r) {
  return take(r, [](Reader& p) {
    if (p.u8() != 1) p.fail();
    uint16_t qualifiers = p.u16();
    if (qualifiers > 8) p.fail();
    p.skip(24 * size_t(qualifiers));
    if (p.u40()) p.skip(kSignatureLength);  // a zero signer means unsigned
  });
}

ByteView takeCapability(Reader& r) {
  return take(r, [](Reader& p) {
    p.skip(20);  // network id, timestamp, capability id
    uint16_t rules = p.u16();
    for (uint16_t i = 0; i < rules && !p.failed(); ++i) {
      p.u8();
      p.skip(p.u8());
    }
    uint8_t maxCustody = p.u8();
    if (maxCustody < 1 || maxCustody > 7) p.fail();
    for (unsigned entries = 0; !p.failed() && p.u40(); ++entries) {  // a zero "to" ends the chain
      if (entries == maxCustody) p.fail();
      p.skip(5);
      skipSignatureBlock(p);
    }
    skipExtension(p);
  });
}

ByteView takeTag(Reader& r) {
  return take(r, [](Reader& p) {
    p.skip(34);
    skipSignatureBlock(p);
    skipExtension(p);
  });
}

ByteView takeRevocation(Reader& r) {
  return take(r, [](Reader& p) {
    p.skip(51);
    skipSignatureBlock(p);
    skipExtension(p);
  });
}

ByteView takeCertificateOfOwnership(Reader& r) {
  return take(r, [](Reader& p) {
    p.skip(28);
    p.skip(17 * size_t(p.u16()));
    p.skip(10);  // issued-to, signer
    skipSignatureBlock(p);
    skipExtension(p);
  });
}

Result<Frame> Frame::parse(ByteView payload) {
  Reader r(payload);
  Frame f;
  f.networkId = r.u64();
  f.etherType = r.u16();
  f.payload = r.rest();
  return finish(r, std::move(f), "FRAME");
}

void Frame::write(Writer& w) const { w.u64(networkId).u16(etherType).bytes(payload); }

json Frame::describe() const {
  return {{"networkId", hex64(networkId)}, {"etherType", etherType}, {"payloadLength", payload.size()}, {"payloadHex", toHex(payload)}};
}

Result<ExtFrame> ExtFrame::parse(ByteView payload) {
  Reader r(payload);
  ExtFrame f;
  f.networkId = r.u64();
  f.flags = r.u8();
  if (f.flags & kFlagCom) f.com = takeCom(r);
  f.destinationMac = readMac(r);
  f.sourceMac = readMac(r);
  f.etherType = r.u16();
  f.payload = r.rest();
  return finish(r, std::move(f), "EXT_FRAME");
}

void ExtFrame::write(Writer& w) const {
  w.u64(networkId).u8(flags);
  if (flags & kFlagCom) w.bytes(com);
  writeMac(w, destinationMac);
  writeMac(w, sourceMac);
  w.u16(etherType).bytes(payload);
}

json ExtFrame::describe() const {
  json j = {{"networkId", hex64(networkId)}, {"flags", flags}};
  if (flags & kFlagCom) j["comHex"] = toHex(com);
  j.update({{"destinationMac", macToString(destinationMac)},
            {"sourceMac", macToString(sourceMac)},
            {"etherType", etherType},
            {"payloadLength", payload.size()},
            {"payloadHex", toHex(payload)}});
  return j;
}

Result<OkExtFrame> OkExtFrame::parse(ByteView body) {
  Reader r(body);
  OkExtFrame o;
  o.networkId = r.u64();
  return finish(r, std::move(o), "OK(EXT_FRAME)");
}

void OkExtFrame::write(Writer& w) const { w.u64(networkId); }

json OkExtFrame::describe() const { return {{"networkId", hex64(networkId)}}; }

Result<MulticastLike> MulticastLike::parse(ByteView payload) {
  if (payload.empty() || payload.size() % 18) return fail("MULTICAST_LIKE: length is not a positive multiple of 18");
  Reader r(payload);
  MulticastLike like;
  while (r.remaining()) {
    MulticastSubscription s;
    s.networkId = r.u64();
    s.group = MulticastGroup::read(r);
    like.subscriptions.push_back(s);
  }
  return finish(r, std::move(like), "MULTICAST_LIKE");
}

void MulticastLike::write(Writer& w) const {
  for (const MulticastSubscription& s : subscriptions) {
    w.u64(s.networkId);
    s.group.write(w);
  }
}

json MulticastLike::describe() const {
  json list = json::array();
  for (const MulticastSubscription& s : subscriptions) {
    json j = s.group.describe();
    j["networkId"] = hex64(s.networkId);
    list.push_back(j);
  }
  return {{"subscriptions", list}};
}

Result<NetworkCredentials> NetworkCredentials::parse(ByteView payload) {
  Reader r(payload);
  NetworkCredentials c;
  for (;;) {
    if (!r.remaining()) return fail("NETWORK_CREDENTIALS: COM list has no 0x00 end");
    Reader peek = r;
    if (peek.u8() == 0) {
      r.skip(1);
      break;
    }
    c.coms.push_back(takeCom(r));
    if (r.failed()) return fail("NETWORK_CREDENTIALS: COM " + std::to_string(c.coms.size() - 1) + " malformed");
  }
  struct Section {
    std::vector<ByteView>* list;
    ByteView (*take)(Reader&);
    const char* name;
  };
  const Section sections[] = {{&c.capabilities, takeCapability, "capability"},
                              {&c.tags, takeTag, "tag"},
                              {&c.revocations, takeRevocation, "revocation"},
                              {&c.certificatesOfOwnership, takeCertificateOfOwnership, "certificate of ownership"}};
  c.sections = 0;
  for (const Section& s : sections) {
    if (r.atEnd()) break;
    uint16_t n = r.u16();
    for (uint16_t i = 0; i < n; ++i) {
      s.list->push_back(s.take(r));
      if (r.failed()) return fail(std::string("NETWORK_CREDENTIALS: ") + s.name + " " + std::to_string(i) + " malformed");
    }
    ++c.sections;
  }
  return finish(r, std::move(c), "NETWORK_CREDENTIALS");
}

void NetworkCredentials::write(Writer& w) const {
  for (ByteView com : coms) w.bytes(com);
  w.u8(0);
  const std::vector<ByteView>* lists[] = {&capabilities, &tags, &revocations, &certificatesOfOwnership};
  for (int i = 0; i < sections; ++i) writeCounted(w, *lists[i]);
}

json NetworkCredentials::describe() const {
  return {{"comsHex", hexList(coms)},
          {"capabilitiesHex", hexList(capabilities)},
          {"tagsHex", hexList(tags)},
          {"revocationsHex", hexList(revocations)},
          {"certificatesOfOwnershipHex", hexList(certificatesOfOwnership)},
          {"sections", sections}};
}

Result<NetworkConfigRequest> NetworkConfigRequest::parse(ByteView payload) {
  Reader r(payload);
  NetworkConfigRequest q;
  q.networkId = r.u64();
  if (r.remaining()) q.metadata = r.bytes(r.u16());
  if (r.remaining()) {
    HeldConfig held;
    held.revision = r.u64();
    held.timestamp = r.u64();
    q.held = held;
  }
  return finish(r, std::move(q), "NETWORK_CONFIG_REQUEST");
}

void NetworkConfigRequest::write(Writer& w) const {
  w.u64(networkId);
  if (metadata) w.u16(uint16_t(metadata->size())).bytes(*metadata);
  if (held) w.u64(held->revision).u64(held->timestamp);
}

json NetworkConfigRequest::describe() const {
  json j = {{"networkId", hex64(networkId)}};
  if (metadata) j["metadataHex"] = toHex(*metadata);
  if (held) j.update({{"heldRevision", held->revision}, {"heldTimestamp", held->timestamp}});
  return j;
}

Result<NetworkConfigChunk> NetworkConfigChunk::parse(ByteView payload) {
  Reader r(payload);
  NetworkConfigChunk c;
  c.networkId = r.u64();
  c.chunk = r.bytes(r.u16());
  if (r.remaining()) {
    Signed s;
    s.flags = r.u8();
    s.updateId = r.u64();
    s.totalLength = r.u32();
    s.index = r.u32();
    s.signatureType = r.u8();
    s.signature = r.bytes(r.u16());
    if (s.signatureType == 1 && s.signature.size() != kSignatureLength && !r.failed())
      return fail("NETWORK_CONFIG chunk: type 1 signature of " + std::to_string(s.signature.size()) + " bytes");
    c.signedPart = s;
  }
  return finish(r, std::move(c), "NETWORK_CONFIG chunk");
}

Bytes NetworkConfigChunk::signedMessage() const {
  Writer w;
  w.u64(networkId).u16(uint16_t(chunk.size())).bytes(chunk);
  if (signedPart) w.u8(signedPart->flags).u64(signedPart->updateId).u32(signedPart->totalLength).u32(signedPart->index);
  return w.take();
}

void NetworkConfigChunk::write(Writer& w) const {
  w.bytes(signedMessage());
  if (signedPart) w.u8(signedPart->signatureType).u16(uint16_t(signedPart->signature.size())).bytes(signedPart->signature);
}

json NetworkConfigChunk::describe() const {
  json j = {{"networkId", hex64(networkId)}, {"chunkLength", chunk.size()}, {"chunkHex", toHex(chunk)}};
  if (signedPart)
    j.update({{"flags", signedPart->flags},
              {"updateId", hex64(signedPart->updateId)},
              {"totalLength", signedPart->totalLength},
              {"index", signedPart->index},
              {"signatureType", signedPart->signatureType},
              {"signatureHex", toHex(signedPart->signature)}});
  return j;
}

Result<MulticastGather> MulticastGather::parse(ByteView payload) {
  Reader r(payload);
  MulticastGather g;
  g.networkId = r.u64();
  g.flags = r.u8();
  g.group = MulticastGroup::read(r);
  g.gatherLimit = r.u32();
  if (g.flags & kFlagCom) g.com = takeCom(r);
  return finish(r, std::move(g), "MULTICAST_GATHER");
}

void MulticastGather::write(Writer& w) const {
  w.u64(networkId).u8(flags);
  group.write(w);
  w.u32(gatherLimit);
  if (flags & kFlagCom) w.bytes(com);
}

json MulticastGather::describe() const {
  json j = {{"networkId", hex64(networkId)}, {"flags", flags}, {"group", group.describe()}, {"gatherLimit", gatherLimit}};
  if (flags & kFlagCom) j["comHex"] = toHex(com);
  return j;
}

Result<OkMulticastGather> OkMulticastGather::parse(ByteView body) {
  Reader r(body);
  OkMulticastGather o;
  o.networkId = r.u64();
  o.group = MulticastGroup::read(r);
  o.results = GatherResults::read(r);
  return finish(r, std::move(o), "OK(MULTICAST_GATHER)");
}

void OkMulticastGather::write(Writer& w) const {
  w.u64(networkId);
  group.write(w);
  results.write(w);
}

json OkMulticastGather::describe() const {
  return {{"networkId", hex64(networkId)}, {"group", group.describe()}, {"results", results.describe()}};
}

Result<MulticastFrame> MulticastFrame::parse(ByteView payload) {
  Reader r(payload);
  MulticastFrame f;
  f.networkId = r.u64();
  f.flags = r.u8();
  if (f.flags & kFlagCom) f.com = takeCom(r);
  if (f.flags & kFlagGatherLimit) f.gatherLimit = r.u32();
  if (f.flags & kFlagSourceMac) f.sourceMac = readMac(r);
  f.group = MulticastGroup::read(r);
  f.etherType = r.u16();
  f.payload = r.rest();
  return finish(r, std::move(f), "MULTICAST_FRAME");
}

void MulticastFrame::write(Writer& w) const {
  w.u64(networkId).u8(flags);
  if (flags & kFlagCom) w.bytes(com);
  if (flags & kFlagGatherLimit) w.u32(gatherLimit);
  if (flags & kFlagSourceMac) writeMac(w, sourceMac);
  group.write(w);
  w.u16(etherType).bytes(payload);
}

json MulticastFrame::describe() const {
  json j = {{"networkId", hex64(networkId)}, {"flags", flags}};
  if (flags & kFlagCom) j["comHex"] = toHex(com);
  if (flags & kFlagGatherLimit) j["gatherLimit"] = gatherLimit;
  if (flags & kFlagSourceMac) j["sourceMac"] = macToString(sourceMac);
  j.update({{"group", group.describe()}, {"etherType", etherType}, {"payloadLength", payload.size()}, {"payloadHex", toHex(payload)}});
  return j;
}

Result<OkMulticastFrame> OkMulticastFrame::parse(ByteView body) {
  Reader r(body);
  OkMulticastFrame o;
  o.networkId = r.u64();
  o.group = MulticastGroup::read(r);
  o.flags = r.u8();
  if (o.flags & kFlagCom) o.com = takeCom(r);
  if (o.flags & kFlagGatherResults) o.results = GatherResults::read(r);
  return finish(r, std::move(o), "OK(MULTICAST_FRAME)");
}

void OkMulticastFrame::write(Writer& w) const {
  w.u64(networkId);
  group.write(w);
  w.u8(flags);
  if (flags & kFlagCom) w.bytes(com);
  if (flags & kFlagGatherResults) results.write(w);
}

json OkMulticastFrame::describe() const {
  json j = {{"networkId", hex64(networkId)}, {"group", group.describe()}, {"flags", flags}};
  if (flags & kFlagCom) j["comHex"] = toHex(com);
  if (flags & kFlagGatherResults) j["results"] = results.describe();
  return j;
}

}  // namespace zt::wire
