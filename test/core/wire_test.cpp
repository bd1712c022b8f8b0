// The packet layer against the ZeroTier 1.14 captures: reassembly, dearmoring, decompression,
// every verb codec (parse then write reproduces each captured payload), fragmentation, and bad
// input that must be rejected without a crash.
#include <gtest/gtest.h>
#include <lz4.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "crypto/armor.hpp"
#include "wire/compress.hpp"
#include "wire/decode.hpp"
#include "wire/fragment.hpp"
#include "wire/verbs.hpp"

namespace zt::wire {
namespace {

using nlohmann::json;

std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Bytes hex(const std::string& text) {
  auto b = fromHex(text);
  EXPECT_TRUE(b) << "bad hex in vectors: " << text;
  return b.value_or(Bytes{});
}

// One capture directory: its records in order and every node's secret identity by address.
struct Capture {
  std::filesystem::path dir;
  std::vector<json> records;
  std::map<std::string, Identity> identities;

  explicit Capture(const std::string& name) : dir(std::filesystem::path(ZT_VECTORS) / name) {
    std::istringstream lines(readText(dir / "session.jsonl"));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) records.push_back(json::parse(line));
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.path().string().ends_with(".identity.secret")) continue;
      std::string text = readText(entry.path());
      while (!text.empty() && std::isspace(uint8_t(text.back()))) text.pop_back();
      auto id = Identity::fromString(text);
      EXPECT_TRUE(id) << entry.path() << ": " << id.error();
      if (id) identities.emplace(id->address().toString(), *id);
    }
  }

  const Identity& identity(const json& address) const { return identities.at(address.get<std::string>()); }

  // The packets 1.14 authenticated.
  std::vector<const json*> packets() const {
    std::vector<const json*> out;
    for (const json& r : records)
      if (r["kind"] == "packet" && r["authenticated"] == true) out.push_back(&r);
    return out;
  }

  // The datagrams of a packet as they crossed the wire, fragments (from their own records)
  // first and in reverse order, the head last: reassembly must not depend on arrival order.
  std::vector<Bytes> datagrams(const json& packet) const {
    std::vector<Bytes> out;
    for (const json& r : records)
      if (r["kind"] == "fragment" && r["packetId"] == packet["packetId"] && r["src"] == packet["src"])
        out.insert(out.begin(), hex(r["wire"]));
    out.push_back(hex(packet["wire"]));
    return out;
  }

  SymmetricKey key(const json& packet) const {
    return identity(packet["destination"]).agree(identity(packet["source"])).value();
  }
};

const Capture& sessionCapture() {
  static const Capture c("session");
  return c;
}
const Capture& richCapture() {
  static const Capture c("rich");
  return c;
}

Result<json> decode(const Identity& receiver, const Identity& sender, const std::vector<Bytes>& datagrams) {
  std::vector<ByteView> views(datagrams.begin(), datagrams.end());
  return decodePacket(receiver, sender, views);
}

// Decodes every authenticated packet of a capture from its wire datagrams and checks it against
// the record; returns how many were checked.
size_t decodeWholeCapture(const Capture& capture) {
  std::map<int, size_t> perCipher;
  size_t fragmentedCount = 0;
  for (const json* r : capture.packets()) {
    const json& rec = *r;
    std::vector<Bytes> datagrams = capture.datagrams(rec);
    auto decoded = decode(capture.identity(rec["destination"]), capture.identity(rec["source"]), datagrams);
    EXPECT_TRUE(decoded) << rec["packetId"] << ": " << decoded.error();
    if (!decoded) continue;
    const json& d = *decoded;
    std::string id = rec["packetId"];
    EXPECT_EQ(d["authenticated"], true) << id;
    EXPECT_EQ(d["plaintextHex"], rec["plaintextHex"]) << id;
    EXPECT_EQ(d["verb"], rec["verb"]) << id;
    for (const char* field : {"packetId", "destination", "source", "hops", "cipher", "fragmented"})
      EXPECT_EQ(d[field], rec[field]) << id << " " << field;
    EXPECT_TRUE(d.contains("fields")) << id << ": " << d.value("fieldsError", std::string());
    EXPECT_EQ(d["fragmented"].get<bool>(), datagrams.size() > 1) << id;
    ++perCipher[rec["cipher"].get<int>()];
    fragmentedCount += datagrams.size() > 1;
  }
  std::cout << "[ " << capture.dir.filename().string() << " ] decoded per cipher:";
  for (auto [cipher, n] : perCipher) std::cout << " suite " << cipher << ": " << n;
  std::cout << "; reassembled from fragments: " << fragmentedCount << "\n";
  size_t total = 0;
  for (auto [cipher, n] : perCipher) total += n;
  EXPECT_EQ(fragmentedCount, 4u);
  return total;
}

TEST(WireDecode, EverySessionPacketDecodesToItsPlaintext) { EXPECT_EQ(decodeWholeCapture(sessionCapture()), 180u); }

TEST(WireDecode, EveryRichPacketDecodesToItsPlaintext) { EXPECT_EQ(decodeWholeCapture(richCapture()), 882u); }

// ---- verb codecs ----------------------------------------------------------------------------

// The verb payload of a captured packet as its codec sees it (HELLO's moon list decrypted).
Bytes capturedPayload(const Capture& capture, const json& rec) {
  Bytes plaintext = hex(rec["plaintextHex"]);
  if (rec["verb"] == int(Verb::Hello)) {
    EXPECT_TRUE(cryptHelloMoons(plaintext, capture.key(rec)));
  }
  return Bytes(plaintext.begin() + kPayloadOffset, plaintext.end());
}

TEST(WireCodec, EveryCapturedPayloadRoundTrips) {
  std::map<std::string, size_t> perVerb;
  std::set<size_t> codecs;
  for (const Capture* capture : {&sessionCapture(), &richCapture()}) {
    for (const json* r : capture->packets()) {
      Bytes payload = capturedPayload(*capture, *r);
      uint8_t verb = uint8_t(r->at("verb").get<int>());
      auto parsed = parsePayload(verb, payload);
      ASSERT_TRUE(parsed) << r->at("packetId") << ": " << parsed.error();
      Writer w;
      writePayload(*parsed, w);
      EXPECT_EQ(toHex(w.data()), toHex(payload)) << r->at("packetId") << " " << verbName(verb);
      std::string name = verbName(verb);
      if (verb == uint8_t(Verb::Ok) || verb == uint8_t(Verb::Error)) name += std::string("(") + verbName(payload[0]) + ")";
      ++perVerb[name];
      codecs.insert(parsed->index());
    }
  }
  std::cout << "[ round trip ]";
  for (auto [name, n] : perVerb) std::cout << " " << name << ": " << n;
  std::cout << "\n";
  EXPECT_EQ(perVerb.size(), 22u);  // every verb and OK/ERROR form the captures hold
  EXPECT_EQ(codecs.size(), 20u);   // ERROR is one codec for its three in-re verbs
}

TEST(WireCodec, HelloFieldsMatchTheCapture) {
  size_t checked = 0;
  for (const Capture* capture : {&sessionCapture(), &richCapture()}) {
    for (const json* r : capture->packets()) {
      if (r->at("verb") != int(Verb::Hello)) continue;
      auto hello = Hello::parse(capturedPayload(*capture, *r));
      ASSERT_TRUE(hello) << hello.error();
      EXPECT_EQ(hello->identity, capture->identity(r->at("source")).publicOnly());
      EXPECT_EQ(hello->protocolVersion, 12);
      EXPECT_EQ(hello->versionMinor, 14);
      EXPECT_TRUE(hello->moons.empty());  // every captured HELLO's moon count decrypts to 0
      if (r->at("hops") == 0) {
        EXPECT_EQ(hello->physicalDestination.toString(), r->at("dst").get<std::string>());
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 65u);
}

TEST(WireCodec, OkHelloReportsTheAddressTheHelloCameFrom) {
  size_t checked = 0;
  for (const Capture* capture : {&sessionCapture(), &richCapture()}) {
    for (const json* r : capture->packets()) {
      if (r->at("verb") != int(Verb::Ok) || r->at("hops") != 0) continue;
      Bytes payload = capturedPayload(*capture, *r);
      auto parsed = parsePayload(uint8_t(Verb::Ok), payload);
      ASSERT_TRUE(parsed);
      auto* ok = std::get_if<OkReply<OkHello>>(&*parsed);
      if (!ok) continue;
      EXPECT_EQ(ok->body.physicalSource.toString(), r->at("dst").get<std::string>());
      EXPECT_EQ(ok->body.protocolVersion, 12);
      ++checked;
    }
  }
  EXPECT_GT(checked, 40u);
}

TEST(WireCodec, ConfigChunksAreTheDictionariesAndVerify) {
  size_t checked = 0;
  for (const Capture* capture : {&sessionCapture(), &richCapture()}) {
    for (const json* r : capture->packets()) {
      Bytes payload = capturedPayload(*capture, *r);
      auto parsed = parsePayload(uint8_t(r->at("verb").get<int>()), payload);
      ASSERT_TRUE(parsed);
      const NetworkConfigChunk* chunk = nullptr;
      if (auto* ok = std::get_if<OkReply<NetworkConfigChunk>>(&*parsed)) chunk = &ok->body;
      if (auto* push = std::get_if<NetworkConfigChunk>(&*parsed)) chunk = push;
      if (!chunk) continue;
      ASSERT_TRUE(chunk->signedPart);
      const auto& s = *chunk->signedPart;
      EXPECT_EQ(s.index, 0u);
      EXPECT_EQ(s.totalLength, chunk->chunk.size());
      std::string member = r->at("destination");
      auto dict = readText(capture->dir / ("netconf-" + member + "-" + hex64(s.updateId) + ".dict"));
      EXPECT_EQ(toHex(chunk->chunk), toHex(asBytes(dict)));
      Address controller{chunk->networkId >> 24};
      EXPECT_TRUE(capture->identities.at(controller.toString()).verify(chunk->signedMessage(), s.signature));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 19u);  // 10 OK + 9 NETWORK_CONFIG, relayed copies included
}

TEST(WireCodec, NetworkCredentialsFramingCountsEveryCredential) {
  size_t packets = 0, coms = 0, capabilities = 0, tags = 0, revocations = 0, coos = 0;
  for (const Capture* capture : {&sessionCapture(), &richCapture()}) {
    for (const json* r : capture->packets()) {
      if (r->at("verb") != int(Verb::NetworkCredentials)) continue;
      Bytes payload = capturedPayload(*capture, *r);
      auto c = NetworkCredentials::parse(payload);
      ASSERT_TRUE(c) << c.error();
      ++packets;
      coms += c->coms.size();
      capabilities += c->capabilities.size();
      tags += c->tags.size();
      revocations += c->revocations.size();
      coos += c->certificatesOfOwnership.size();
      for (ByteView com : c->coms) EXPECT_EQ(com.size(), 272u);  // 7 qualifiers, signed
      for (ByteView tag : c->tags) EXPECT_EQ(tag.size(), 135u);
      for (ByteView revocation : c->revocations) EXPECT_EQ(revocation.size(), 152u);
    }
  }
  EXPECT_EQ(packets, 44u);
  EXPECT_EQ(coms, 35u);
  EXPECT_EQ(capabilities, 11u);
  EXPECT_EQ(tags, 32u);
  EXPECT_EQ(revocations, 9u);
  EXPECT_EQ(coos, 35u);
}

TEST(WireCodec, WrittenStructsParseBack) {
  Rendezvous v{0, Address{0x89fafc907b}, *InetAddress::parse("198.18.0.4/9993")};
  Writer w;
  v.write(w);
  EXPECT_EQ(toHex(w.data()), "0089fafc907b270904c6120004");  // as captured
  auto back = Rendezvous::parse(w.data());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->endpoint, v.endpoint);

  RemoteTrace trace{{asBytes("a=1"), asBytes("b=2")}};
  Writer t;
  trace.write(t);
  auto traceBack = RemoteTrace::parse(t.data());
  ASSERT_TRUE(traceBack);
  EXPECT_EQ(traceBack->dictionaries.size(), 2u);

  UserMessage m{0x1234, asBytes("hi")};
  Writer u;
  m.write(u);
  auto mBack = UserMessage::parse(u.data());
  ASSERT_TRUE(mBack);
  EXPECT_EQ(mBack->typeId, 0x1234u);

  ErrorReply e{uint8_t(Verb::MulticastFrame), 42, ErrorCode::UnwantedMulticast, 0x1122334455667788, MulticastGroup{0xffffffffffff, 7}};
  Writer ew;
  e.write(ew);
  auto eBack = ErrorReply::parse(ew.data());
  ASSERT_TRUE(eBack);
  EXPECT_EQ(eBack->group, e.group);
  EXPECT_FALSE(ErrorReply::parse(ByteView(ew.data()).first(ew.size() - 1)));
}

TEST(WireCodec, MalformedPayloadsAreRejected) {
  EXPECT_FALSE(Whois::parse(Bytes(7)));                   // not whole addresses
  EXPECT_FALSE(MulticastLike::parse(Bytes(17)));          // not whole records
  EXPECT_FALSE(Rendezvous::parse(hex("0089fafc907b2709")));  // no IP
  EXPECT_FALSE(Rendezvous::parse(hex("0089fafc907b270905c612000400")));  // IP length 5
  EXPECT_FALSE(RemoteTrace::parse(asBytes("a=1")));       // not NUL-terminated
  EXPECT_FALSE(NetworkCredentials::parse(hex("01")));     // COM cut short, no 0x00 end
  EXPECT_FALSE(NetworkCredentials::parse(hex("0200")));   // not a COM
  EXPECT_FALSE(OkHello::parse(Bytes(10)));
  EXPECT_FALSE(parsePayload(uint8_t(Verb::Ack), {}));     // no codec
  EXPECT_FALSE(parsePayload(0x1f, {}));
  // A config chunk whose type-1 signature is not 96 bytes.
  Bytes chunk = hex("0102030405060708" "0001" "41" "00" "0000000000000001" "00000001" "00000000" "01" "0002" "aabb");
  EXPECT_FALSE(NetworkConfigChunk::parse(chunk));
}

// ---- fragmentation ---------------------------------------------------------------------------

Bytes syntheticPacket(size_t length, uint64_t id, bool flag) {
  Bytes p(length);
  for (size_t i = 0; i < length; ++i) p[i] = uint8_t(i * 31 + id);
  storeU64(p.data(), id);
  storeU40(p.data() + kDestinationOffset, 0x1122334455);
  storeU40(p.data() + kSourceOffset, 0x6677889900);
  p[kFlagsOffset] = flag ? kFlagFragmented : 0;
  return p;
}

std::vector<Bytes> cut(ByteView packet, size_t mtu) {
  std::vector<Bytes> out;
  auto n = fragmentPacket(packet, mtu, [&](ByteView d) { out.emplace_back(d.begin(), d.end()); });
  EXPECT_TRUE(n) << n.error();
  EXPECT_EQ(n ? *n : 0, out.size());
  return out;
}

TEST(WireFragment, CapturedFragmentsReassembleAndRecut) {
  const Capture& c = sessionCapture();
  size_t checked = 0;
  for (const json* r : c.packets()) {
    std::vector<Bytes> datagrams = c.datagrams(*r);
    if (datagrams.size() == 1) continue;
    auto header = FragmentHeader::parse(datagrams.front());
    ASSERT_TRUE(header) << header.error();
    EXPECT_EQ(header->total, 2);
    EXPECT_EQ(header->number, 1);
    EXPECT_EQ(hex64(header->packetId), r->at("packetId"));
    Reassembler reassembler;
    EXPECT_FALSE(reassembler.add(datagrams[0], 1000));
    auto whole = reassembler.add(datagrams[1], 1001);
    ASSERT_TRUE(whole);
    EXPECT_EQ(toHex(*whole), r->at("reassembledHex"));
    EXPECT_EQ(reassembler.pending(), 0u);
    // Cutting it again for 1.14's MTU gives back the very datagrams of the capture.
    std::vector<Bytes> again = cut(hex(r->at("reassembledHex")), kDefaultPhysicalMtu);
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(again[0], datagrams[1]);
    EXPECT_EQ(again[1], datagrams[0]);
    ++checked;
  }
  EXPECT_EQ(checked, 4u);
}

TEST(WireFragment, RoundTripInShuffledOrder) {
  std::mt19937 rng(7);
  Reassembler reassembler;
  int64_t now = 0;
  for (size_t mtu : {size_t(100), size_t(576), size_t(1432)}) {
    for (size_t length : {size_t(28), size_t(99), size_t(100), size_t(101), size_t(500), size_t(2066), size_t(9000)}) {
      auto count = datagramCount(length, mtu);
      if (!count) {
        EXPECT_GT(length, mtu + 6 * (mtu - kFragmentHeaderLength));
        continue;
      }
      Bytes packet = syntheticPacket(length, length * 1000 + mtu, *count > 1);
      std::vector<Bytes> datagrams = cut(packet, mtu);
      ASSERT_EQ(datagrams.size(), *count);
      for (const Bytes& d : datagrams) EXPECT_LE(d.size(), mtu);
      if (*count == 1) {
        EXPECT_EQ(datagrams[0], packet);
        continue;
      }
      std::shuffle(datagrams.begin(), datagrams.end(), rng);
      std::optional<MutableByteView> whole;
      for (size_t i = 0; i < datagrams.size(); ++i) {
        whole = reassembler.add(datagrams[i], now += 10);
        if (i + 1 < datagrams.size()) {
          EXPECT_FALSE(whole) << "complete too early";
        }
        if (i == 0) {  // a duplicate is ignored
          EXPECT_FALSE(reassembler.add(datagrams[0], now));
        }
      }
      ASSERT_TRUE(whole) << "length " << length << " mtu " << mtu;
      EXPECT_EQ(Bytes(whole->begin(), whole->end()), packet);
    }
  }
  EXPECT_EQ(reassembler.pending(), 0u);
}

TEST(WireFragment, CallerBuffersReceiveTheSameDatagrams) {
  Bytes packet = syntheticPacket(3000, 5, true);
  std::array<std::array<uint8_t, 1432>, kMaxFragments> storage;
  std::array<MutableByteView, kMaxFragments> out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = storage[i];
  auto n = fragmentPacket(packet, 1432, out);
  ASSERT_TRUE(n) << n.error();
  std::vector<Bytes> viaCallback = cut(packet, 1432);
  ASSERT_EQ(*n, viaCallback.size());
  for (size_t i = 0; i < *n; ++i) EXPECT_EQ(Bytes(out[i].begin(), out[i].end()), viaCallback[i]);
  std::array<MutableByteView, 2> tooFew{storage[0], storage[1]};
  EXPECT_FALSE(fragmentPacket(packet, 1432, tooFew));
}

TEST(WireFragment, RefusesWhatCannotBeSent) {
  EXPECT_FALSE(fragmentPacket(syntheticPacket(3000, 1, false), 1432, [](ByteView) {}));  // flag missing
  EXPECT_FALSE(datagramCount(kMaxPacketLength + 1, kDefaultPhysicalMtu));               // over 7 datagrams
  // Fragments carry 16 header bytes, so at 1432 the largest packet that can be sent is 9,928.
  EXPECT_EQ(*datagramCount(1432 + 6 * 1416, kDefaultPhysicalMtu), 7u);
  EXPECT_FALSE(datagramCount(1432 + 6 * 1416 + 1, kDefaultPhysicalMtu));
  EXPECT_FALSE(datagramCount(100, 16));
}

TEST(WireFragment, HeaderValidation) {
  Bytes d = hex("199a1c3d27d484c2783f56158bff2100" "abcd");
  auto h = FragmentHeader::parse(d);
  ASSERT_TRUE(h);
  uint8_t written[kFragmentHeaderLength];
  h->write(written);
  EXPECT_EQ(toHex(ByteView(written)), "199a1c3d27d484c2783f56158bff2100");
  for (uint8_t bad : {0x10, 0x11, 0x20, 0x22, 0x83, 0x81}) {  // total < 2, number 0, number >= total, total > 7
    d[14] = bad;
    EXPECT_FALSE(FragmentHeader::parse(d)) << int(bad);
  }
  d[14] = 0x21;
  d[13] = 0x00;
  EXPECT_FALSE(FragmentHeader::parse(d));              // not a fragment
  EXPECT_FALSE(FragmentHeader::parse(ByteView(d).first(15)));  // short
}

TEST(WireFragment, IncompletePacketsExpireAndSlotsRecycle) {
  Reassembler reassembler;
  Bytes packet = syntheticPacket(2000, 99, true);
  std::vector<Bytes> datagrams = cut(packet, 1432);
  EXPECT_FALSE(reassembler.add(datagrams[1], 0));
  // After 5 s the fragment is abandoned: the head alone no longer completes the packet.
  EXPECT_FALSE(reassembler.add(datagrams[0], 5001));
  EXPECT_TRUE(reassembler.add(datagrams[1], 5002));

  // 33 packets in flight: the oldest slot is recycled, so the first packet cannot complete.
  std::vector<std::vector<Bytes>> flights;
  for (uint64_t id = 1; id <= 33; ++id) {
    flights.push_back(cut(syntheticPacket(2000, id, true), 1432));
    EXPECT_FALSE(reassembler.add(flights.back()[0], 10000 + int64_t(id)));
  }
  EXPECT_EQ(reassembler.pending(), Reassembler::kSlots);
  EXPECT_FALSE(reassembler.add(flights[0][1], 10100));
  auto last = reassembler.add(flights[32][1], 10101);
  ASSERT_TRUE(last);
  EXPECT_EQ(Bytes(last->begin(), last->end()), syntheticPacket(2000, 33, true));
}

TEST(WireFragment, RejectsPiecesThatContradictOrOverflow) {
  Reassembler reassembler;
  Bytes packet = syntheticPacket(3000, 3, true);
  std::vector<Bytes> datagrams = cut(packet, 1432);  // head + 2 fragments, total 3
  ASSERT_EQ(datagrams.size(), 3u);
  Bytes liar = datagrams[1];
  liar[14] = 0x21;  // claims total 2
  EXPECT_FALSE(reassembler.add(datagrams[2], 0));
  EXPECT_FALSE(reassembler.add(liar, 0));
  EXPECT_FALSE(reassembler.add(datagrams[0], 0));
  EXPECT_TRUE(reassembler.add(datagrams[1], 0));

  // Pieces adding up to more than the largest packet are given up.
  Bytes big = syntheticPacket(9000, 4, true);
  Bytes hugeFragment(3000, 0xee);
  FragmentHeader{4, Address{0x1122334455}, 2, 1, 0}.write(hugeFragment.data());
  EXPECT_FALSE(reassembler.add(hugeFragment, 0));
  EXPECT_FALSE(reassembler.add(big, 0));
  EXPECT_EQ(reassembler.pending(), 0u);
  EXPECT_FALSE(reassembler.add(Bytes(10), 0));  // short: not the reassembler's business
}

// ---- compression -----------------------------------------------------------------------------

TEST(WireCompress, CompressesOnlyWhenItHelps) {
  Bytes packet = syntheticPacket(28 + 500, 1, false);
  packet[kVerbOffset] = uint8_t(Verb::MulticastLike);
  std::fill(packet.begin() + kPayloadOffset, packet.end(), 0x5a);
  Bytes original = packet;
  size_t n = compressPacket(packet);
  ASSERT_LT(n, original.size());
  EXPECT_TRUE(compressed(ByteView(packet).first(n)));
  Bytes out(kMaxPacketLength);
  auto back = decompressPacket(ByteView(packet).first(n), out);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(Bytes(out.begin(), out.begin() + *back), original);

  Bytes small = syntheticPacket(28 + 64, 2, false);
  std::fill(small.begin() + kPayloadOffset, small.end(), 0);
  EXPECT_EQ(compressPacket(small), small.size());  // 64 bytes: never compressed
  Bytes noisy = syntheticPacket(28 + 400, 3, false);
  std::mt19937 rng(1);
  for (size_t i = kPayloadOffset; i < noisy.size(); ++i) noisy[i] = uint8_t(rng());
  EXPECT_EQ(compressPacket(noisy), noisy.size());  // incompressible: left alone
  EXPECT_FALSE(compressed(noisy));
}

TEST(WireCompress, DecompressionIsBounded) {
  // A block that expands to more than the largest packet.
  Bytes huge(kMaxPacketLength, 0);
  Bytes block(LZ4_COMPRESSBOUND(kMaxPacketLength));
  Bytes packet = syntheticPacket(28, 1, false);
  int n = LZ4_compress_default(reinterpret_cast<const char*>(huge.data()), reinterpret_cast<char*>(block.data()),
                               int(huge.size()), int(block.size()));
  ASSERT_GT(n, 0);
  packet.insert(packet.end(), block.begin(), block.begin() + n);
  packet[kVerbOffset] = kVerbCompressed | uint8_t(Verb::Frame);
  Bytes out(kMaxPacketLength + 100);
  EXPECT_FALSE(decompressPacket(packet, out));
  // A corrupt block.
  packet.resize(28);
  packet.insert(packet.end(), {0xff, 0xff, 0xff, 0x01});
  EXPECT_FALSE(decompressPacket(packet, out));
}

// ---- decode: bad input -------------------------------------------------------------------------

struct SamplePacket {
  const Identity* receiver;
  const Identity* sender;
  std::vector<Bytes> datagrams;
};

std::vector<SamplePacket> samples() {
  const Capture& c = sessionCapture();
  std::vector<SamplePacket> out;
  std::set<int> ciphersSeen;
  for (const json* r : c.packets()) {
    std::vector<Bytes> d = c.datagrams(*r);
    bool interesting = ciphersSeen.insert(r->at("cipher").get<int>() * 2 + (d.size() > 1)).second;
    if (interesting) out.push_back({&c.identity(r->at("destination")), &c.identity(r->at("source")), d});
  }
  return out;
}

// True only for a complete packet that authenticates (a damaged head may also fail to pair with
// its fragments, which is an error: not a packet).
bool authenticates(const Identity& receiver, const Identity& sender, const std::vector<Bytes>& datagrams) {
  auto d = decode(receiver, sender, datagrams);
  if (d && !d->at("authenticated").get<bool>()) {
    EXPECT_FALSE(d->contains("fields"));
  }
  return d && d->at("authenticated").get<bool>();
}

TEST(WireDecode, FlippedBitsTruncationAndWrongKeysDoNotAuthenticate) {
  std::vector<SamplePacket> all = samples();
  ASSERT_GE(all.size(), 4u);  // suites 0, 1, 3 whole and 3 fragmented
  const Identity& stranger = sessionCapture().identities.at("b9d1c81165");  // the root
  for (const SamplePacket& s : all) {
    ASSERT_TRUE(authenticates(*s.receiver, *s.sender, s.datagrams));
    size_t headBits = 8 * s.datagrams.back().size();
    for (size_t bit : {size_t(0), size_t(8 * 20), size_t(8 * 27 + 3), headBits - 1}) {
      std::vector<Bytes> flipped = s.datagrams;
      flipped.back()[bit / 8] ^= uint8_t(1 << bit % 8);
      EXPECT_FALSE(authenticates(*s.receiver, *s.sender, flipped)) << "bit " << bit;
    }
    if (s.datagrams.size() > 1) {  // damage in a fragment fails the whole packet
      std::vector<Bytes> flipped = s.datagrams;
      flipped.front().back() ^= 1;
      EXPECT_FALSE(authenticates(*s.receiver, *s.sender, flipped));
    }
    std::vector<Bytes> truncated = s.datagrams;
    truncated.back().resize(truncated.back().size() - 1);
    EXPECT_FALSE(authenticates(*s.receiver, *s.sender, truncated));
    const Identity& wrong = s.sender->address() == stranger.address() ? sessionCapture().identities.at("67efb704a1") : stranger;
    auto w = decode(*s.receiver, wrong, s.datagrams);
    ASSERT_TRUE(w);
    EXPECT_FALSE(w->at("authenticated").get<bool>());
  }
}

TEST(WireDecode, NonPacketsAreErrors) {
  const Identity& a = sessionCapture().identities.at("6c87e3ee02");
  const Identity& b = sessionCapture().identities.at("783f56158b");
  EXPECT_FALSE(decode(a, b, {}));
  EXPECT_FALSE(decode(a, b, {hex("3489a919")}));  // a keepalive
  EXPECT_FALSE(decode(a, b, {Bytes(27, 1)}));
  std::vector<SamplePacket> all = samples();
  for (const SamplePacket& s : all) {
    if (s.datagrams.size() < 2) continue;
    EXPECT_FALSE(decode(*s.receiver, *s.sender, {s.datagrams.front()}));  // a fragment alone
    // A head alone is taken as a reassembled packet: it decodes, but its MAC fails.
    auto head = decode(*s.receiver, *s.sender, {s.datagrams.back()});
    ASSERT_TRUE(head);
    EXPECT_FALSE(head->at("authenticated").get<bool>());
  }
  // Random datagrams of every size class, oversized included: never a crash.
  std::mt19937 rng(3);
  for (size_t size : {size_t(16), size_t(28), size_t(100), size_t(1432), size_t(20000)}) {
    Bytes junk(size);
    for (uint8_t& x : junk) x = uint8_t(rng());
    auto d = decode(a, b, {junk});
    if (d) {
      EXPECT_FALSE(d->at("authenticated").get<bool>());
    }
  }
}

TEST(WireDecode, WrittenHelloWithMoonsDecodes) {
  const Identity& m1 = sessionCapture().identities.at("6c87e3ee02");
  const Identity& root = sessionCapture().identities.at("b9d1c81165");
  Hello hello;
  hello.protocolVersion = 12;
  hello.versionMajor = 1;
  hello.versionMinor = 14;
  hello.versionRevision = 1;
  hello.timestamp = 1234567;
  hello.identity = m1.publicOnly();
  hello.physicalDestination = *InetAddress::parse("198.18.0.1/9993");
  hello.planetId = 149604618;
  hello.planetTimestamp = 1;
  hello.moons = {{1, 0xdeadbeefcafe, 0}, {1, 0x1234, 99}};
  Writer w;
  w.u64(0x0102030405060708).u40(root.address().value).u40(m1.address().value).u8(0).u64(0).u8(uint8_t(Verb::Hello));
  hello.write(w);
  Bytes packet = w.take();
  Bytes plain = packet;
  SymmetricKey key = m1.agree(root).value();
  ASSERT_TRUE(cryptHelloMoons(packet, key));
  EXPECT_NE(packet, plain);  // the moon list is hidden on the wire
  PeerCipher(key).armor(packet, Cipher::Poly1305);
  auto d = decode(root, m1, {packet});
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->at("authenticated").get<bool>());
  const json& moons = d->at("fields").at("moons");
  ASSERT_EQ(moons.size(), 2u);
  EXPECT_EQ(moons[0]["id"], "0000deadbeefcafe");
  EXPECT_EQ(moons[1]["timestamp"], 99);
  EXPECT_EQ(d->at("fields").at("identity"), m1.toString());
}

}  // namespace
}  // namespace zt::wire
