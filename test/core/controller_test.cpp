// The network controller against the 1.14 captures (session/ and rich/): configs reproduced key by
// key, address assignment, refusals, duplicates, revocations, pushes and restarts.
//
// Reconstruction of the records behind each captured config (the captures hold the records only
// at one moment):
// - session/: network.json and member-m*.json as taken at authorisation (before any request).
// - rich/: member-*.json as at the end, with m3 (64a5e01ea0) authorised for its own configs; for
//   revision-1 configs the network before the rename (name "rich", multicastLimit 8, revision 1).
//   The members' ipAssignments are the ones 1.14 picked at their first request, so every config
//   lists them through §8.4 step 3. The first-request replies of m2 and m3 are also rebuilt from
//   empty ipAssignments (RichFirstRepliesPickPoolAddresses): there the IPv6 pool pick is random.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "vectors.hpp"
#include "controller/address_assignment.hpp"
#include "controller/controller.hpp"
#include "controller/records.hpp"
#include "vl2/netconf.hpp"
#include "wire/verbs_vl2.hpp"

namespace zt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Kind = ControllerMessage::Kind;

using test::kVectors;
const fs::path kSession = kVectors / "session";
const fs::path kRich = kVectors / "rich";

using test::readFile;
using test::readIdentity;
using test::readJson;

// The identity in <capture>/<name>.identity.public whose address is `address`.
Identity memberIdentity(const fs::path& capture, const std::string& address) {
  for (const auto& e : fs::directory_iterator(capture))
    if (e.path().string().ends_with(".identity.public")) {
      Identity id = readIdentity(e.path());
      if (id.address().toString() == address) return id;
    }
  ADD_FAILURE() << "no identity for " << address;
  return Identity();
}

// The metadata 1.14.1 sends (§2.2), in its order.
Bytes metadata(uint64_t rulesEngineRevision = 1, const std::string& auth = "") {
  Dictionary d;
  for (auto [key, value] : std::initializer_list<std::pair<const char*, uint64_t>>{
           {"v", 7}, {"vend", 1}, {"pv", 12}, {"majv", 1}, {"minv", 14}, {"revv", 1}, {"mr", 1024}, {"mc", 128},
           {"mcr", 64}, {"mt", 128}, {"f", 0}, {"revr", rulesEngineRevision}})
    d.setNumber(key, value);
  d.setString("o", "linux/x86_64");
  if (!auth.empty()) d.setString("a", auth);
  return d.serialize();
}

std::vector<fs::path> dictsIn(const fs::path& capture) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(capture))
    if (e.path().filename().string().starts_with("netconf-")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string memberOf(const fs::path& dict) { return dict.filename().string().substr(8, 10); }

Dictionary parseDict(ByteView bytes) {
  auto d = Dictionary::parse(bytes);
  EXPECT_TRUE(d) << d.error();
  return d ? *d : Dictionary();
}

struct Assembled {
  Bytes dictionary;
  uint64_t updateId = 0;
};

// Reassembles a message's chunks, checking §3.1: signature by `controller`, one non-zero update
// id, flags 0, indices in order, total = the sum.
Assembled assemble(const ControllerMessage& m, const Identity& controller, uint64_t networkId) {
  Assembled out;
  for (const Bytes& payload : m.payloads) {
    auto chunk = wire::NetworkConfigChunk::parse(payload);
    EXPECT_TRUE(chunk) << chunk.error();
    if (!chunk) return out;
    EXPECT_EQ(chunk->networkId, networkId);
    EXPECT_TRUE(chunk->signedPart.has_value());
    const auto& s = *chunk->signedPart;
    EXPECT_EQ(s.flags, 0);
    EXPECT_NE(s.updateId, 0u);
    if (out.updateId) {
      EXPECT_EQ(s.updateId, out.updateId);
    }
    out.updateId = s.updateId;
    EXPECT_EQ(s.index, out.dictionary.size());
    EXPECT_EQ(s.signatureType, 1);
    EXPECT_TRUE(controller.verify(chunk->signedMessage(), s.signature)) << "chunk signature";
    EXPECT_LE(chunk->chunk.size(), kMaxConfigChunk);
    out.dictionary.insert(out.dictionary.end(), chunk->chunk.begin(), chunk->chunk.end());
    if (&payload == &m.payloads.back()) {
      EXPECT_EQ(s.totalLength, out.dictionary.size());
    }
  }
  return out;
}

NetworkConfig configOf(const Bytes& dictionary) {
  auto config = NetworkConfig::fromDictionary(parseDict(dictionary));
  EXPECT_TRUE(config) << config.error();
  return config ? *config : NetworkConfig();
}

// Every credential of a config verifies with the controller, carries the config's timestamp and
// is issued to the config's member.
void expectSignedCredentials(const NetworkConfig& c, const Identity& controller) {
  ASSERT_TRUE(c.com);
  EXPECT_TRUE(c.com->verify(controller));
  EXPECT_EQ(c.com->timestamp(), c.timestamp);
  EXPECT_EQ(c.com->issuedTo(), c.issuedTo);
  for (const auto& cap : c.capabilities) {
    EXPECT_TRUE(cap.verify(controller));
    EXPECT_EQ(cap.timestamp, c.timestamp);
    EXPECT_EQ(cap.issuedTo(), c.issuedTo);
  }
  for (const auto& tag : c.tags) {
    EXPECT_TRUE(tag.verify(controller));
    EXPECT_EQ(tag.timestamp, c.timestamp);
  }
  for (const auto& coo : c.coos) {
    EXPECT_TRUE(coo.verify(controller));
    ASSERT_EQ(coo.things.size(), c.assignedAddresses.size());
    for (size_t i = 0; i < coo.things.size(); ++i) EXPECT_TRUE(coo.owns(c.assignedAddresses[i]));
  }
}

// Key order and every value equal, except `exempt` keys (compared by the caller).
void expectSameDictionary(const Bytes& ours, const Bytes& captured, const std::string& label,
                          const std::vector<std::string>& exempt = {}) {
  Dictionary a = parseDict(ours), b = parseDict(captured);
  ASSERT_EQ(a.entries().size(), b.entries().size()) << label;
  for (size_t i = 0; i < a.entries().size(); ++i) {
    const auto& x = a.entries()[i];
    const auto& y = b.entries()[i];
    ASSERT_EQ(x.key, y.key) << label << " entry " << i;
    if (std::find(exempt.begin(), exempt.end(), x.key) != exempt.end()) continue;
    EXPECT_EQ(toHex(x.value), toHex(y.value)) << label << " key " << x.key;
  }
}

// A controller over a store preloaded with records, answering as the captured one did.
struct Lab {
  MemoryControllerStore store;
  Identity controller;
  NetworkController ctl;
  uint64_t packetId = 0x1000;

  Lab(const fs::path& capture, const json& network, const std::vector<json>& members)
      : controller(readIdentity(capture / "ctl.identity.secret")), ctl(controller, store) {
    store.saveNetwork(network);
    for (const json& m : members) store.saveMember(m);
  }

  std::vector<ControllerMessage> request(uint64_t now, const Identity& member, uint64_t nwid,
                                         const Bytes& meta = metadata()) {
    return ctl.handleRequest(now, member, nwid, meta, ++packetId, *InetAddress::parse("198.18.0.3/9993"));
  }
};

uint64_t nwidOf(const json& network) { return *parseNetworkId(network["id"].get<std::string>()); }

std::vector<json> sessionMembers() { return {readJson(kSession / "member-m1.json"), readJson(kSession / "member-m2.json")}; }

std::vector<json> richMembers(bool firstRequest) {
  std::vector<json> out;
  for (const char* a : {"1233366eb5", "89fafc907b", "64a5e01ea0"}) {
    json m = readJson(kRich / ("member-" + std::string(a) + ".json"));
    m["authorized"] = true;
    if (firstRequest && a != std::string("1233366eb5")) m["ipAssignments"] = json::array();  // picked at that request
    out.push_back(m);
  }
  return out;
}

json richNetwork(uint64_t revision) {
  json n = readJson(kRich / "network.json");
  if (revision == 1) {
    n["name"] = "rich";
    n["multicastLimit"] = 8;
    n["revision"] = 1;
  }
  return n;
}

uint64_t keyNumber(const Bytes& dict, const char* key) { return *parseDict(dict).getNumber(key); }

// --- configs against the captures --------------------------------------------------------------

TEST(ControllerVectors, SessionConfigsMatchCapture) {
  json network = readJson(kSession / "network.json");
  Identity ctlPublic = readIdentity(kSession / "ctl.identity.public");
  auto dicts = dictsIn(kSession);
  ASSERT_EQ(dicts.size(), 4u);
  for (const fs::path& path : dicts) {
    Bytes captured = readFile(path);
    uint64_t ts = keyNumber(captured, "ts");
    Lab lab(kSession, network, sessionMembers());
    auto messages = lab.request(ts, memberIdentity(kSession, memberOf(path)), nwidOf(network));
    // The first request of an authorised member: the reply, then the push of its changed record.
    ASSERT_EQ(messages.size(), 2u) << path;
    EXPECT_EQ(messages[0].kind, Kind::ConfigReply);
    EXPECT_EQ(messages[0].inRePacketId, lab.packetId);
    EXPECT_EQ(messages[1].kind, Kind::ConfigPush);
    Assembled reply = assemble(messages[0], ctlPublic, nwidOf(network));
    Assembled push = assemble(messages[1], ctlPublic, nwidOf(network));
    EXPECT_NE(reply.updateId, push.updateId);
    // Ed25519 is deterministic: with the capture's `ts`, every key, signatures included, is equal.
    expectSameDictionary(reply.dictionary, captured, path.filename());
    EXPECT_EQ(reply.dictionary, push.dictionary);
    expectSignedCredentials(configOf(reply.dictionary), ctlPublic);
  }
}

TEST(ControllerVectors, RichConfigsMatchCapture) {
  Identity ctlPublic = readIdentity(kRich / "ctl.identity.public");
  auto dicts = dictsIn(kRich);
  ASSERT_EQ(dicts.size(), 10u);
  for (const fs::path& path : dicts) {
    Bytes captured = readFile(path);
    uint64_t ts = keyNumber(captured, "ts");
    json network = richNetwork(keyNumber(captured, "r"));
    Lab lab(kRich, network, richMembers(false));
    auto messages = lab.request(ts, memberIdentity(kRich, memberOf(path)), nwidOf(network));
    ASSERT_GE(messages.size(), 1u) << path;
    EXPECT_EQ(messages[0].kind, Kind::ConfigReply);
    Assembled reply = assemble(messages[0], ctlPublic, nwidOf(network));
    expectSameDictionary(reply.dictionary, captured, path.filename());
    expectSignedCredentials(configOf(reply.dictionary), ctlPublic);
  }
}

// m2's and m3's first replies, from records without addresses: the IPv4 picks are the captured
// ones; the IPv6 pool pick is random, so `I` and `COO` are compared apart from it.
TEST(ControllerVectors, RichFirstRepliesPickPoolAddresses) {
  Identity ctlPublic = readIdentity(kRich / "ctl.identity.public");
  json network = richNetwork(1);
  IpPool v6Pool{*InetAddress::parse("fd00:1234::10"), *InetAddress::parse("fd00:1234::ff")};
  for (const char* name : {"netconf-89fafc907b-9b73b66102ba4fe4.dict", "netconf-64a5e01ea0-2cb47c3e7d615d3a.dict"}) {
    Bytes captured = readFile(kRich / name);
    Lab lab(kRich, network, richMembers(true));
    std::string address = memberOf(kRich / name);
    auto messages = lab.request(keyNumber(captured, "ts"), memberIdentity(kRich, address), nwidOf(network));
    ASSERT_EQ(messages.size(), 2u) << name;
    Assembled reply = assemble(messages[0], ctlPublic, nwidOf(network));
    expectSameDictionary(reply.dictionary, captured, name, {"I", "COO"});
    NetworkConfig ours = configOf(reply.dictionary), theirs = configOf(captured);
    expectSignedCredentials(ours, ctlPublic);
    ASSERT_EQ(ours.assignedAddresses.size(), 4u);
    ASSERT_EQ(theirs.assignedAddresses.size(), 4u);
    for (size_t i : {0, 1, 3}) EXPECT_EQ(ours.assignedAddresses[i], theirs.assignedAddresses[i]) << name << " I[" << i << "]";
    const InetAddress& pick = ours.assignedAddresses[2];
    EXPECT_EQ(pick.port, 64);
    EXPECT_TRUE(inNetwork(*InetAddress::parse("fd00:1234::/64"), pick));
    EXPECT_GE(loadU64(pick.ip.data() + 8), loadU64(v6Pool.start.ip.data() + 8));
    EXPECT_LT(loadU64(pick.ip.data() + 8), loadU64(v6Pool.end.ip.data() + 8));
    // The picks were stored in the record, IPv6 first, as in the captured records.
    json stored = *lab.store.member(nwidOf(network), *Address::parse(address));
    json expected = readJson(kRich / ("member-" + address + ".json"))["ipAssignments"];
    ASSERT_EQ(stored["ipAssignments"].size(), 2u);
    EXPECT_EQ(stored["ipAssignments"][1], expected[1]);
    EXPECT_EQ(stored["ipAssignments"][0], pick.ipString());
  }
}

TEST(ControllerVectors, RecordsLearnedAtFirstRequestMatchCapture) {
  // After its first request a session member's record holds what rich/ shows for its members:
  // the identity, versions 1/14/1/12, the pool pick, revision 2.
  json network = readJson(kSession / "network.json");
  Lab lab(kSession, network, sessionMembers());
  Identity m1 = readIdentity(kSession / "m1.identity.public");
  lab.request(1795558785500, m1, nwidOf(network));
  json record = *lab.store.member(nwidOf(network), m1.address());
  EXPECT_EQ(record["identity"], m1.toString());
  EXPECT_EQ(record["ipAssignments"], json::array({"198.19.0.12"}));
  EXPECT_EQ(record["revision"], 2);
  for (auto [key, value] : {std::pair{"vMajor", 1}, {"vMinor", 14}, {"vRev", 1}, {"vProto", 12}}) EXPECT_EQ(record[key], value);
  json richRecord = readJson(kRich / "member-1233366eb5.json");
  for (const auto& [key, value] : richRecord.items()) EXPECT_TRUE(record.contains(key)) << key;
  EXPECT_EQ(record.size(), richRecord.size());
}

// --- address assignment ------------------------------------------------------------------------

TEST(ControllerAddresses, PoolFormulaReproducesCapture) {
  auto sessionNet = NetworkRecord::parse(readJson(kSession / "network.json"));
  auto richNet = NetworkRecord::parse(readJson(kRich / "network.json"));
  ASSERT_TRUE(sessionNet) << sessionNet.error();
  ASSERT_TRUE(richNet) << richNet.error();
  auto never = []() -> uint64_t { return 0; };
  struct Case {
    const NetworkRecord& net;
    const char* member;
    const char* expected;
  };
  for (const Case& c : {Case{*sessionNet, "6c87e3ee02", "198.19.0.12/24"}, Case{*sessionNet, "783f56158b", "198.19.0.229/24"},
                        Case{*richNet, "89fafc907b", "198.19.1.19/24"}, Case{*richNet, "64a5e01ea0", "198.19.1.14/24"}}) {
    MemberRecord m;
    m.address = *Address::parse(c.member);
    NetworkRecord v4Only = c.net;
    v4Only.v6Zt = false;
    auto a = assignAddresses(v4Only, m, {}, never);
    ASSERT_FALSE(a.addresses.empty());
    EXPECT_EQ(a.addresses.back().toString(), c.expected) << c.member;
    ASSERT_EQ(a.picked.size(), 1u);
    EXPECT_EQ(a.picked[0].port, 0);
  }
}

TEST(ControllerAddresses, Rfc4193And6PlaneFormulas) {
  EXPECT_EQ(rfc4193Address(0x67efb704a1f746f2, *Address::parse("6c87e3ee02")).toString(),
            "fd67:efb7:4a1:f746:f299:936c:87e3:ee02/88");
  EXPECT_EQ(sixPlaneAddress(0x315595f4f8c0ffee, *Address::parse("89fafc907b")).toString(), "fcc9:956a:1a89:fafc:907b::1/40");
}

TEST(ControllerAddresses, TakenAddressesAreSkippedAndStaticOnesOutsideRoutesIgnored) {
  auto net = NetworkRecord::parse(readJson(kSession / "network.json"));
  ASSERT_TRUE(net);
  MemberRecord m;
  m.address = *Address::parse("6c87e3ee02");
  m.ipAssignments = {*InetAddress::parse("10.1.2.3")};  // in no route: kept, not sent
  auto never = []() -> uint64_t { return 0; };
  auto a = assignAddresses(*net, m, {*InetAddress::parse("198.19.0.12")}, never);
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_EQ(a.addresses[1].toString(), "198.19.0.13/24");  // the next counter value
  m.noAutoAssignIps = true;
  m.ipAssignments = {*InetAddress::parse("198.19.0.99")};
  a = assignAddresses(*net, m, {}, never);
  ASSERT_EQ(a.addresses.size(), 1u);
  EXPECT_EQ(a.addresses[0].toString(), "198.19.0.99/24");
  EXPECT_FALSE(a.ndpEmulation);
}

// --- refusals and rate limits ------------------------------------------------------------------

// A request that `lab` refuses with ERROR `code` quoting its packet id and the network id.
void expectRefusal(Lab& lab, uint8_t code, uint64_t now, const Identity& member, uint64_t nwid, const Bytes& meta = metadata()) {
  auto messages = lab.request(now, member, nwid, meta);
  uint64_t packetId = lab.packetId;
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].kind, Kind::Error);
  EXPECT_EQ(messages[0].inRePacketId, packetId);
  ASSERT_EQ(messages[0].payloads.size(), 1u);
  Writer w;
  w.u8(code).u64(nwid);
  EXPECT_EQ(messages[0].payloads[0], w.data());
}

TEST(ControllerRequests, UnauthorisedMemberIsDeniedAndRecorded) {
  json network = richNetwork(1);
  Lab lab(kRich, network, {});
  Identity m3 = readIdentity(kRich / "m3.identity.public");
  const uint64_t t = 1795566157156;
  expectRefusal(lab, 0x07, t, m3, nwidOf(network));
  json record = *lab.store.member(nwidOf(network), m3.address());
  EXPECT_EQ(record["authorized"], false);
  EXPECT_EQ(record["identity"], m3.toString());
  EXPECT_EQ(record["revision"], 1);
  EXPECT_EQ(record["creationTime"], t);
  EXPECT_EQ(record["vMajor"], -1);  // versions are learned only from authorised requests
  json captured = readJson(kRich / "member-64a5e01ea0.json");
  for (const auto& [key, value] : captured.items()) EXPECT_TRUE(record.contains(key)) << key;
  // Asking again 5 s later: denied again, the record is not rewritten.
  expectRefusal(lab, 0x07, t + 5000, m3, nwidOf(network));
  EXPECT_EQ((*lab.store.member(nwidOf(network), m3.address()))["revision"], 1);
  // Authorised through the API while it still asks: its config is pushed at once (it need not
  // wait for its next request), and that request is answered too.
  auto changed = lab.ctl.setMember(t + 6000, {{"nwid", network["id"]}, {"id", m3.address().toString()}, {"authorized", true}});
  ASSERT_TRUE(changed) << changed.error();
  ASSERT_FALSE(changed->empty());
  EXPECT_EQ((*changed)[0].to, m3.address());
  EXPECT_EQ((*changed)[0].kind, Kind::ConfigPush);
  auto messages = lab.request(t + 10000, m3, nwidOf(network));
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].kind, Kind::ConfigReply);
  json authorised = *lab.store.member(nwidOf(network), m3.address());
  EXPECT_EQ(authorised["lastAuthorizedTime"], t + 6000);
  EXPECT_EQ(authorised["lastAuthorizedCredentialType"], "api");
  EXPECT_EQ(authorised["revision"], 4);  // authorised, served by the push, then versions learned
  EXPECT_EQ(authorised["tags"], json::array({json::array({100, 1})}));  // the network's default tag
}

TEST(ControllerRequests, IdentityMismatchIsDenied) {
  json network = readJson(kSession / "network.json");
  json m1 = readJson(kSession / "member-m1.json");
  Identity real = readIdentity(kSession / "m1.identity.public");
  std::string pinned = real.toString();
  pinned[pinned.size() - 1] = pinned.back() == '0' ? '1' : '0';  // same address, another key
  m1["identity"] = pinned;
  Lab lab(kSession, network, {m1});
  expectRefusal(lab, 0x07, 1795558785500, real, nwidOf(network));
  EXPECT_EQ(*lab.store.member(nwidOf(network), real.address()), m1);  // nothing saved
}

TEST(ControllerRequests, UnknownNetworkAndForeignNetwork) {
  json network = readJson(kSession / "network.json");
  Lab lab(kSession, network, sessionMembers());
  Identity m1 = readIdentity(kSession / "m1.identity.public");
  uint64_t unknown = (nwidOf(network) & ~0xffffffULL) | 0x123456;
  expectRefusal(lab, 0x03, 1795558785500, m1, unknown);
  EXPECT_TRUE(lab.request(1795558785500, m1, 0x1122334455000001ULL).empty());  // not our network: dropped
}

TEST(ControllerRequests, DuplicateWithinOneSecondIsDropped) {
  json network = readJson(kSession / "network.json");
  Lab lab(kSession, network, sessionMembers());
  Identity m1 = readIdentity(kSession / "m1.identity.public");
  const uint64_t t = 1795558785500;
  EXPECT_EQ(lab.request(t, m1, nwidOf(network)).size(), 2u);
  EXPECT_TRUE(lab.request(t + 1000, m1, nwidOf(network)).empty());
  auto later = lab.request(t + 1001, m1, nwidOf(network));
  ASSERT_EQ(later.size(), 1u);  // nothing changed: the reply only
  EXPECT_EQ(later[0].kind, Kind::ConfigReply);
}

TEST(ControllerRequests, PublicNetworkAndJoinTokensAuthorise) {
  json network = readJson(kSession / "network.json");
  Identity m1 = readIdentity(kSession / "m1.identity.public");
  Identity m2 = readIdentity(kSession / "m2.identity.public");
  json open = network;
  open["private"] = false;
  Lab lab(kSession, open, {});
  auto messages = lab.request(1000, m1, nwidOf(network));
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages[0].kind, Kind::ConfigReply);
  EXPECT_EQ(configOf(assemble(messages[0], lab.controller, nwidOf(network)).dictionary).type, NetworkType::Public);
  EXPECT_EQ((*lab.store.member(nwidOf(network), m1.address()))["lastAuthorizedCredentialType"], "public");

  json tokens = network;
  tokens["authTokens"] = {{"letmein", 0}, {"expired", 500}};
  Lab lab2(kSession, tokens, {});
  expectRefusal(lab2, 0x07, 1000, m1, nwidOf(network), metadata(1, "token:expired"));
  messages = lab2.request(1000, m2, nwidOf(network), metadata(1, "token:letmein"));
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages[0].kind, Kind::ConfigReply);
  json record = *lab2.store.member(nwidOf(network), m2.address());
  EXPECT_EQ(record["lastAuthorizedCredentialType"], "token");
  EXPECT_EQ(record["lastAuthorizedCredential"], "letmein");
}

TEST(ControllerRequests, OldRulesEngineGetsAcceptAllAndNoCapabilities) {
  json network = richNetwork(1);
  Lab lab(kRich, network, richMembers(false));
  Identity m1 = readIdentity(kRich / "m1.identity.public");
  auto messages = lab.request(1795566157691, m1, nwidOf(network), metadata(0));
  ASSERT_FALSE(messages.empty());
  NetworkConfig c = configOf(assemble(messages[0], lab.controller, nwidOf(network)).dictionary);
  ASSERT_EQ(c.rules.size(), 1u);
  EXPECT_EQ(c.rules[0].type, RuleType::ActionAccept);
  EXPECT_TRUE(c.capabilities.empty());
  EXPECT_TRUE(c.tags.empty());
}

TEST(ControllerRequests, LargeConfigIsChunked) {
  json network = readJson(kSession / "network.json");
  json rules = json::array();
  for (int i = 0; i < 1000; ++i) rules.push_back({{"type", "MATCH_IPV6_SOURCE"}, {"ip", "fd00::/8"}, {"not", false}, {"or", false}});
  rules.push_back({{"type", "ACTION_ACCEPT"}});
  network["rules"] = rules;
  Lab lab(kSession, network, sessionMembers());
  auto messages = lab.request(1000, readIdentity(kSession / "m1.identity.public"), nwidOf(network));
  ASSERT_FALSE(messages.empty());
  EXPECT_GE(messages[0].payloads.size(), 3u);
  NetworkConfig c = configOf(assemble(messages[0], lab.controller, nwidOf(network)).dictionary);
  EXPECT_EQ(c.rules.size(), 1001u);
}

// --- record changes: pushes, revocations, restarts ---------------------------------------------

struct OnlineSession : Lab {
  Identity m1 = readIdentity(kSession / "m1.identity.public");
  Identity m2 = readIdentity(kSession / "m2.identity.public");
  uint64_t nwid;
  static constexpr uint64_t t0 = 1795558785500;
  OnlineSession() : Lab(kSession, readJson(kSession / "network.json"), sessionMembers()) {
    nwid = nwidOf(*store.network(*parseNetworkId("67efb704a1f746f2")));
    request(t0, m1, nwid);
    request(t0 + 17, m2, nwid);
  }
};

TEST(ControllerChanges, DeauthorisationRevokesAtEveryOnlineMember) {
  OnlineSession lab;
  const uint64_t now = OnlineSession::t0 + 30000;
  EXPECT_EQ(lab.ctl.onlineMembers(now, lab.nwid), (std::vector<Address>{lab.m1.address(), lab.m2.address()}));
  auto result = lab.ctl.setMember(now, {{"nwid", "67efb704a1f746f2"}, {"id", lab.m2.address().toString()}, {"authorized", false}});
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->size(), 2u);  // one revocation each to m1 and m2; no config for m2
  std::vector<Address> recipients;
  for (const ControllerMessage& m : *result) {
    EXPECT_EQ(m.kind, Kind::Credentials);
    recipients.push_back(m.to);
    ASSERT_EQ(m.payloads.size(), 1u);
    auto bundle = CredentialBundle::read(m.payloads[0]);
    ASSERT_TRUE(bundle) << bundle.error();
    ASSERT_EQ(bundle->revocations.size(), 1u);
    EXPECT_TRUE(bundle->coms.empty() && bundle->capabilities.empty() && bundle->tags.empty() && bundle->coos.empty());
    const Revocation& r = bundle->revocations[0];
    EXPECT_TRUE(r.verify(lab.controller));
    EXPECT_EQ(r.target, lab.m2.address());
    EXPECT_EQ(r.threshold, now);
    EXPECT_EQ(r.flags, Revocation::kFlagFastPropagation);
    EXPECT_EQ(r.credentialType, CredentialType::Com);
    EXPECT_EQ(r.credentialId, 0u);
    EXPECT_EQ(r.networkId, lab.nwid);
  }
  EXPECT_EQ(recipients, (std::vector<Address>{lab.m1.address(), lab.m2.address()}));
  json record = *lab.store.member(lab.nwid, lab.m2.address());
  EXPECT_EQ(record["lastDeauthorizedTime"], now);
  EXPECT_EQ(record["revision"], 3);
  expectRefusal(lab, 0x07, now + 5000, lab.m2, lab.nwid);
  // Deleting the still-authorised m1 revokes it as well.
  auto deleted = lab.ctl.deleteMember(now + 6000, lab.nwid, lab.m1.address());
  ASSERT_TRUE(deleted);
  ASSERT_EQ(deleted->size(), 2u);
  EXPECT_FALSE(lab.store.member(lab.nwid, lab.m1.address()));
}

TEST(ControllerChanges, NetworkChangePushesNextRevision) {
  OnlineSession lab;
  const uint64_t now = OnlineSession::t0 + 40000;
  auto result = lab.ctl.setNetwork(now, {{"id", "67efb704a1f746f2"}, {"name", "lab-renamed"}, {"multicastLimit", 12}});
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->size(), 2u);
  for (const ControllerMessage& m : *result) {
    EXPECT_EQ(m.kind, Kind::ConfigPush);
    NetworkConfig c = configOf(assemble(m, lab.controller, lab.nwid).dictionary);
    EXPECT_EQ(c.revision, 2u);
    EXPECT_EQ(c.name, "lab-renamed");
    EXPECT_EQ(c.multicastLimit, 12u);
    EXPECT_EQ(c.issuedTo, m.to);
    EXPECT_EQ(c.timestamp, now);
  }
  EXPECT_EQ((*lab.store.network(lab.nwid))["revision"], 2);
  // The same fields again change nothing: no revision, no push.
  result = lab.ctl.setNetwork(now + 1, {{"id", "67efb704a1f746f2"}, {"name", "lab-renamed"}, {"revision", 99}});
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->empty());
  EXPECT_EQ((*lab.store.network(lab.nwid))["revision"], 2);
  // Offline members (> 120 s) get nothing.
  result = lab.ctl.setNetwork(OnlineSession::t0 + 200000, {{"id", "67efb704a1f746f2"}, {"mtu", 1500}});
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->empty());
  EXPECT_EQ((*lab.store.network(lab.nwid))["revision"], 3);
}

TEST(ControllerChanges, MemberChangePushesToThatMember) {
  OnlineSession lab;
  auto result = lab.ctl.setMember(OnlineSession::t0 + 5000,
                                  {{"nwid", "67efb704a1f746f2"}, {"id", lab.m1.address().toString()}, {"activeBridge", true}});
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].to, lab.m1.address());
  NetworkConfig c = configOf(assemble((*result)[0], lab.controller, lab.nwid).dictionary);
  ASSERT_EQ(c.specialists.size(), 1u);
  EXPECT_EQ(c.specialists[0].address(), lab.m1.address());
}

TEST(ControllerChanges, DeletingTheNetworkRevokesAndAnswersNotFound) {
  OnlineSession lab;
  const uint64_t now = OnlineSession::t0 + 10000;
  auto result = lab.ctl.deleteNetwork(now, lab.nwid);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->size(), 2u);
  auto bundle = CredentialBundle::read((*result)[0].payloads[0]);
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->revocations.size(), 2u);
  EXPECT_FALSE(lab.store.network(lab.nwid));
  EXPECT_TRUE(lab.store.members(lab.nwid).empty());
  expectRefusal(lab, 0x03, now + 5000, lab.m1, lab.nwid);
}

TEST(ControllerChanges, RecordsSurviveARestart) {
  OnlineSession lab;
  NetworkController restarted(lab.controller, lab.store);
  for (const Identity& m : {lab.m1, lab.m2}) {
    auto before = lab.request(OnlineSession::t0 + 61000, m, lab.nwid);
    auto after = restarted.handleRequest(OnlineSession::t0 + 61000, m, lab.nwid, metadata(), 7, {});
    ASSERT_EQ(before.size(), 1u);
    ASSERT_EQ(after.size(), 1u);  // nothing new learned: the reply only
    NetworkConfig a = configOf(assemble(before[0], lab.controller, lab.nwid).dictionary);
    NetworkConfig b = configOf(assemble(after[0], lab.controller, lab.nwid).dictionary);
    EXPECT_EQ(a.assignedAddresses, b.assignedAddresses);
  }
  EXPECT_TRUE(restarted.onlineMembers(OnlineSession::t0 + 61000, lab.nwid).size() == 2);
}

TEST(ControllerChanges, StoreListenerSeesEveryWriteAndCanRebuildTheStore) {
  OnlineSession lab;
  MemoryControllerStore copy;
  for (const json& m : lab.store.members(lab.nwid)) copy.saveMember(m);
  copy.saveNetwork(*lab.store.network(lab.nwid));
  std::vector<ControllerStoreChange::Kind> kinds;
  lab.store.setListener([&](const ControllerStoreChange& c) {
    kinds.push_back(c.kind);
    switch (c.kind) {
      case ControllerStoreChange::Kind::SaveNetwork: copy.saveNetwork(c.record); break;
      case ControllerStoreChange::Kind::SaveMember: copy.saveMember(c.record); break;
      case ControllerStoreChange::Kind::DeleteMember: copy.deleteMember(c.networkId, c.member); break;
      case ControllerStoreChange::Kind::DeleteNetwork: copy.deleteNetwork(c.networkId); break;
    }
  });
  ASSERT_TRUE(lab.ctl.setMember(OnlineSession::t0 + 2000,
                                   {{"nwid", "67efb704a1f746f2"}, {"id", lab.m2.address().toString()}, {"authorized", false}}));
  ASSERT_TRUE(lab.ctl.deleteMember(OnlineSession::t0 + 3000, lab.nwid, lab.m1.address()));
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), ControllerStoreChange::Kind::SaveMember), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), ControllerStoreChange::Kind::DeleteMember), kinds.end());
  EXPECT_EQ(copy.member(lab.nwid, lab.m1.address()), std::nullopt);
  EXPECT_EQ(copy.member(lab.nwid, lab.m2.address()), lab.store.member(lab.nwid, lab.m2.address()));
  EXPECT_EQ((*copy.member(lab.nwid, lab.m2.address()))["authorized"], false);
}

TEST(ControllerChanges, MulticastIsServedOnlyForRecentlyAuthorisedMembers) {
  OnlineSession lab;
  const uint64_t now = OnlineSession::t0 + 1000;
  EXPECT_TRUE(lab.ctl.recentlyAuthorized(now, lab.nwid, lab.m1.address()));
  EXPECT_FALSE(lab.ctl.recentlyAuthorized(now, lab.nwid, Address{0x0102030405}));  // never asked
  EXPECT_FALSE(lab.ctl.recentlyAuthorized(OnlineSession::t0 + NetworkController::kOnlineWindow + 1, lab.nwid,
                                          lab.m1.address()));  // asked too long ago
  ASSERT_TRUE(lab.ctl.setMember(now, {{"nwid", "67efb704a1f746f2"}, {"id", lab.m2.address().toString()}, {"authorized", false}}));
  EXPECT_FALSE(lab.ctl.recentlyAuthorized(now, lab.nwid, lab.m2.address()));  // deauthorised since
}

TEST(ControllerChanges, StatusView) {
  OnlineSession lab;
  auto status = lab.ctl.memberStatus(OnlineSession::t0 + 1000, lab.nwid);
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].address, lab.m1.address());
  EXPECT_TRUE(status[0].authorized);
  EXPECT_TRUE(status[0].online);
  EXPECT_EQ(status[0].lastSeen, OnlineSession::t0);
  EXPECT_EQ(status[0].identity, lab.m1.toString());
  EXPECT_EQ(status[0].ipAssignments, std::vector<std::string>{"198.19.0.12"});
  EXPECT_EQ(status[1].ipAssignments, std::vector<std::string>{"198.19.0.229"});
  EXPECT_EQ(status[0].physicalAddress.toString(), "198.18.0.3/9993");
  EXPECT_FALSE(lab.ctl.memberStatus(OnlineSession::t0 + 200000, lab.nwid)[0].online);
}

// --- records ----------------------------------------------------------------------------------

TEST(ControllerRecords, CapturedRecordsAreAlreadyNormal) {
  for (const fs::path& p : {kSession / "network.json", kRich / "network.json"}) {
    auto n = normalizeNetwork(readJson(p), 1);
    ASSERT_TRUE(n) << p << ": " << n.error();
    EXPECT_EQ(*n, readJson(p)) << p;
  }
  for (const fs::path& capture : {kSession, kRich})
    for (const auto& e : fs::directory_iterator(capture))
      if (e.path().filename().string().starts_with("member-")) {
        auto m = normalizeMember(readJson(e.path()), 1);
        ASSERT_TRUE(m) << e.path() << ": " << m.error();
        EXPECT_EQ(*m, readJson(e.path())) << e.path();
      }
}

TEST(ControllerRecords, DefaultsAreThoseOf114) {
  auto n = normalizeNetwork({{"id", "67efb704a1f746f2"}}, 1795558661522);
  ASSERT_TRUE(n) << n.error();
  json expected = readJson(kSession / "network.json");
  for (const char* k : {"name", "ipAssignmentPools", "routes", "v4AssignMode", "v6AssignMode", "multicastLimit", "revision"})
    expected.erase(k);
  json got = *n;
  for (const char* k : {"name", "ipAssignmentPools", "routes", "v4AssignMode", "v6AssignMode", "multicastLimit", "revision"})
    got.erase(k);
  EXPECT_EQ(got, expected);
  EXPECT_EQ((*n)["v6AssignMode"], json({{"rfc4193", false}, {"zt", false}, {"6plane", false}}));
  EXPECT_EQ((*n)["multicastLimit"], 32);
}

TEST(ControllerRecords, ValidationErrorsNameTheField) {
  OnlineSession lab;
  auto expectError = [&](json fields, const std::string& fragment) {
    fields["id"] = "67efb704a1f746f2";
    auto r = lab.ctl.setNetwork(1, fields);
    ASSERT_FALSE(r) << fields.dump();
    EXPECT_NE(r.error().find(fragment), std::string::npos) << r.error();
  };
  expectError({{"ipAssignmentPools", {{{"ipRangeStart", "10.0.0.1"}, {"ipRangeEnd", "fd00::1"}}}}}, "ipAssignmentPools[0]");
  expectError({{"ipAssignmentPools", {{{"ipRangeStart", "10.0.0.1/8"}, {"ipRangeEnd", "10.0.0.9"}}}}}, "ipAssignmentPools[0].ipRangeStart");
  expectError({{"routes", {{{"target", "10.0.0.0/33"}}}}}, "routes[0].target");
  expectError({{"routes", {{{"target", "10.0.0.0/8"}, {"via", "gateway"}}}}}, "routes[0].via");
  expectError({{"rules", {{{"type", "ACTION_ACCEPT"}}, {{"type", "MATCH_BOGUS"}}}}}, "rules: rule 1");
  expectError({{"capabilities", {{{"id", 1}, {"rules", {{{"type", "MATCH_IP_PROTOCOL"}}}}}}}}, "capabilities[0].rules");
  expectError({{"mtu", "big"}}, "mtu");
  expectError({{"dns", {{"domain", "x"}, {"servers", {"nope"}}}}}, "dns.servers[0]");
  auto foreign = lab.ctl.setNetwork(1, {{"id", "1122334455000001"}});
  EXPECT_FALSE(foreign);
  auto member = lab.ctl.setMember(1, {{"nwid", "67efb704a1f746f2"}, {"id", "6c87e3ee02"}, {"ipAssignments", {"10.0.0.0/8"}}});
  ASSERT_FALSE(member);
  EXPECT_NE(member.error().find("ipAssignments[0]"), std::string::npos) << member.error();
  auto noNetwork = lab.ctl.setMember(1, {{"nwid", "67efb704a1123456"}, {"id", "6c87e3ee02"}});
  EXPECT_FALSE(noNetwork);
  EXPECT_EQ((*lab.store.network(lab.nwid))["revision"], 1);  // nothing was written
}

}  // namespace
}  // namespace zt
