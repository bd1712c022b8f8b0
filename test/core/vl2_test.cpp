// VL2 network-config content layer against the 1.14 captures (session/ and rich/).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "crypto/identity.hpp"
#include "vl2/credentials.hpp"
#include "vl2/dictionary.hpp"
#include "vl2/netconf.hpp"
#include "vl2/netconf_json.hpp"
#include "vl2/rules.hpp"

namespace zt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kVectors = ZT_VECTORS;

Bytes readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

json readJson(const fs::path& path) { return json::parse(std::ifstream(path)); }

Identity readIdentity(const fs::path& path) {
  Bytes raw = readFile(path);
  std::string text(raw.begin(), raw.end());
  while (!text.empty() && isspace(uint8_t(text.back()))) text.pop_back();
  auto id = Identity::fromString(text);
  EXPECT_TRUE(id) << path << ": " << id.error();
  return *id;
}

std::vector<fs::path> netconfDicts() {
  std::vector<fs::path> out;
  for (const char* capture : {"session", "rich"})
    for (const auto& e : fs::directory_iterator(kVectors / capture))
      if (e.path().filename().string().starts_with("netconf-")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The member address in "netconf-<member>-<updateId>.dict".
std::string memberOf(const fs::path& dict) { return dict.filename().string().substr(8, 10); }

NetworkConfig loadConfig(const fs::path& path) {
  auto dict = Dictionary::parse(readFile(path));
  EXPECT_TRUE(dict) << path;
  auto config = NetworkConfig::fromDictionary(*dict);
  EXPECT_TRUE(config) << path << ": " << config.error();
  return *config;
}

// Every node identity of a capture, by address.
std::map<std::string, Identity> identities(const fs::path& capture) {
  std::map<std::string, Identity> out;
  for (const auto& e : fs::directory_iterator(capture))
    if (e.path().string().ends_with(".identity.public")) {
      Identity id = readIdentity(e.path());
      out.emplace(id.address().toString(), id);
    }
  return out;
}

// listnetworks-*.json of a capture, by member address.
std::map<std::string, json> listnetworks(const fs::path& capture) {
  std::map<std::string, json> out;
  for (const auto& e : fs::directory_iterator(capture)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with("listnetworks-")) continue;
    std::string node = name.substr(13, name.size() - 13 - 5);
    out[readIdentity(capture / (node + ".identity.public")).address().toString()] = readJson(e.path())[0];
  }
  return out;
}

template <class Credential>
Bytes serialize(const Credential& c) {
  Writer w;
  c.write(w);
  return w.take();
}

template <class Credential>
Credential reparse(ByteView bytes) {
  Reader r(bytes);
  auto c = Credential::read(r);
  EXPECT_TRUE(c) << c.error();
  EXPECT_TRUE(r.atEnd());
  return *c;
}

// Flips one byte of a credential's serialized form and checks it no longer verifies.
template <class Credential>
void expectFlipBreaks(const Credential& c, const Identity& controller, size_t offset) {
  Bytes bytes = serialize(c);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] ^= 0x01;
  Reader r(bytes);
  auto flipped = Credential::read(r);
  ASSERT_TRUE(flipped) << "byte " << offset << ": " << flipped.error();
  EXPECT_FALSE(flipped->verify(controller)) << "byte " << offset;
}

// ---------------------------------------------------------------------------------------------
// Dictionary

TEST(Vl2Dictionary, CapturedDictsRoundTripByteForByte) {
  auto files = netconfDicts();
  ASSERT_EQ(files.size(), 14u);
  for (const auto& f : files) {
    Bytes raw = readFile(f);
    auto dict = Dictionary::parse(raw);
    ASSERT_TRUE(dict) << f << ": " << dict.error();
    EXPECT_EQ(dict->serialize(), raw) << f;
    auto again = Dictionary::parse(dict->serialize());
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *dict);
  }
}

TEST(Vl2Dictionary, EveryByteValueSurvivesAndOnlyFiveAreEscaped) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = uint8_t(i);
  Dictionary d;
  d.set("all", all);
  d.setString("n", "a=b\\c");
  d.setNumber("x", 0x1a2b);
  Bytes text = d.serialize();
  // 256 bytes + 5 escapes, "all=" and two more entries.
  std::string expectedTail = "\nn=a\\eb\\\\c\nx=0000000000001a2b";
  ASSERT_GE(text.size(), expectedTail.size());
  EXPECT_EQ(std::string(text.end() - expectedTail.size(), text.end()), expectedTail);
  EXPECT_EQ(text.size(), 4 + 256 + 5 + expectedTail.size());
  EXPECT_EQ(std::count(text.begin(), text.end(), 0), 0);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 0);
  auto back = Dictionary::parse(text);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, d);
  EXPECT_EQ(*back->get("all"), all);
  EXPECT_EQ(*back->getNumber("x"), 0x1a2bu);
}

TEST(Vl2Dictionary, ReaderRules) {
  auto d = Dictionary::parse(asBytes("a=1\rb=\\q\\0z\n\nb=second\nneg=-5\nbool=true\nup=FF\nempty="));
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->getString("b"), std::string("q\0z", 3));  // first entry wins; unknown escape = the byte
  EXPECT_EQ(*d->getNumber("a"), 1u);
  EXPECT_EQ(*d->getNumber("neg"), uint64_t(-5));
  EXPECT_EQ(*d->getNumber("up"), 255u);
  EXPECT_EQ(*d->getNumber("empty", 42), 42u);
  EXPECT_EQ(*d->getNumber("missing", 7), 7u);
  EXPECT_TRUE(d->getBool("bool"));
  EXPECT_FALSE(d->getBool("a=", false));
  EXPECT_FALSE(d->contains("B"));  // keys are case-sensitive
}

TEST(Vl2Dictionary, BadInputErrors) {
  EXPECT_FALSE(Dictionary::parse(asBytes("a=1\nnovalue")));
  EXPECT_FALSE(Dictionary::parse(asBytes("=x")));
  auto d = Dictionary::parse(asBytes("n=12zz"));
  ASSERT_TRUE(d);
  auto n = d->getNumber("n");
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().find("'n'"), std::string::npos);
  EXPECT_FALSE(Dictionary::parse(asBytes("n=11112222333344445"))->getNumber("n"));  // 17 digits
}

// ---------------------------------------------------------------------------------------------
// Rules

json networkRules(const char* capture) { return readJson(kVectors / capture / "network.json")["rules"]; }

TEST(Vl2Rules, NetworkJsonRoundTripsThroughWire) {
  json expected = networkRules("rich");
  ASSERT_EQ(expected.size(), 44u);
  auto rules = rulesFromJson(expected);
  ASSERT_TRUE(rules) << rules.error();
  Bytes wire = encodeRules(*rules);
  auto back = parseRules(wire);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, *rules);
  EXPECT_EQ(rulesToJson(*back), expected);
}

TEST(Vl2Rules, CapturedRulesEqualNetworkJson) {
  for (const char* capture : {"session", "rich"}) {
    auto rules = rulesFromJson(networkRules(capture));
    ASSERT_TRUE(rules) << rules.error();
    Bytes expected = encodeRules(*rules);
    int seen = 0;
    for (const auto& f : netconfDicts()) {
      if (f.parent_path().filename() != capture) continue;
      auto dict = Dictionary::parse(readFile(f));
      ASSERT_TRUE(dict);
      EXPECT_EQ(*dict->get("R"), expected) << f;
      ++seen;
    }
    EXPECT_GT(seen, 0);
  }
  EXPECT_EQ(encodeRules(*rulesFromJson(networkRules("session"))), (Bytes{0x01, 0x00}));
}

TEST(Vl2Rules, RequestRulesAsTheControllerKeptThem) {
  json request = readJson(kVectors / "rich" / "network-request.json")["rules"];
  ASSERT_EQ(request.size(), 45u);
  auto kept = rulesFromJson(request, InvalidRules::Drop);
  ASSERT_TRUE(kept) << kept.error();
  EXPECT_EQ(rulesToJson(*kept), networkRules("rich"));
  auto strict = rulesFromJson(request);
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.error().find("rule 32"), std::string::npos) << strict.error();
  EXPECT_NE(strict.error().find("INTEGER_RANGE"), std::string::npos) << strict.error();
}

TEST(Vl2Rules, SpecExamplesDecode) {
  struct Example {
    Bytes wire;
    json rule;
  };
  std::vector<Example> examples = {
      {{0xa5, 0x02, 0x08, 0x00}, {{"type", "MATCH_ETHERTYPE"}, {"not", true}, {"or", false}, {"etherType", 2048}}},
      {{0x00, 0x00}, {{"type", "ACTION_DROP"}}},
      {{0xac, 0x08, 0, 0, 0, 0x64, 0, 0, 0, 2},
       {{"type", "MATCH_TAGS_DIFFERENCE"}, {"not", true}, {"or", false}, {"id", 100}, {"value", 2}}},
      {{0x59, 0x05, 0xab, 0xcd, 0xef, 0x01, 0x23},
       {{"type", "MATCH_DEST_ZEROTIER_ADDRESS"}, {"not", false}, {"or", true}, {"zt", "abcdef0123"}}},
      {{0x02, 0x0e, 0, 0, 0, 0x64, 0xa5, 0xe0, 0x1e, 0xa0, 0, 0, 0, 0, 0, 0x80},
       {{"type", "ACTION_TEE"}, {"address", "64a5e01ea0"}, {"flags", 0}, {"length", 128}}},
  };
  for (const auto& e : examples) {
    auto rules = parseRules(e.wire);
    ASSERT_TRUE(rules) << rules.error();
    ASSERT_EQ(rules->size(), 1u);
    EXPECT_EQ(ruleToJson(rules->front()), e.rule);
    EXPECT_EQ(encodeRules(*rules), e.wire);
  }
}

TEST(Vl2Rules, IntegerRangeAndUnknownTypesRoundTrip) {
  json range = {{"type", "MATCH_INTEGER_RANGE"}, {"start", 5}, {"end", 500}, {"idx", 40}, {"little", true}, {"bits", 16}};
  auto rule = ruleFromJson(range);
  ASSERT_TRUE(rule) << rule.error();
  EXPECT_EQ(rule->integerFormat, 0x8f);
  Bytes wire = encodeRules(std::vector<Rule>{*rule});
  EXPECT_EQ(wire.size(), 21u);
  auto back = parseRules(wire);
  ASSERT_TRUE(back);
  json expected = range;
  expected["not"] = false;
  expected["or"] = false;
  EXPECT_EQ(ruleToJson(back->front()), expected);

  // An unknown match with a 3-byte value and a reserved action: skipped by length, kept by type.
  auto unknown = parseRules(Bytes{0x94, 0x03, 1, 2, 3, 0x09, 0x01, 0xff, 0x01, 0x00});
  ASSERT_TRUE(unknown) << unknown.error();
  ASSERT_EQ(unknown->size(), 3u);
  json j = rulesToJson(*unknown);
  EXPECT_EQ(j[0], (json{{"type", "UNKNOWN"}, {"ruleType", 20}, {"not", true}, {"or", false}}));
  EXPECT_EQ(j[1], (json{{"type", "UNKNOWN"}, {"ruleType", 9}}));
  EXPECT_EQ(j[2]["type"], "ACTION_ACCEPT");
  auto again = rulesFromJson(j);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(*again, *unknown);
  EXPECT_EQ(encodeRules(*again), (Bytes{0x94, 0x00, 0x09, 0x00, 0x01, 0x00}));
}

TEST(Vl2Rules, IcmpCodeNullMeansAnyCode) {
  auto any = ruleFromJson({{"type", "MATCH_ICMP"}, {"icmpType", 8}, {"icmpCode", nullptr}});
  auto exact = ruleFromJson({{"type", "MATCH_ICMP"}, {"icmpType", 3}, {"icmpCode", 1}});
  ASSERT_TRUE(any && exact);
  EXPECT_EQ(encodeRules(std::vector<Rule>{*any, *exact}), (Bytes{0x26, 3, 8, 0, 0, 0x26, 3, 3, 1, 1}));
}

TEST(Vl2Rules, BadJsonErrorsNameTheProblem) {
  struct Case {
    json rule;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {{{"type", "MATCH_NOPE"}}, "unknown rule type 'MATCH_NOPE'"},
      {{{"etherType", 1}}, "'type'"},
      {json::array(), "object"},
      {{{"type", "MATCH_ETHERTYPE"}}, "MATCH_ETHERTYPE: field 'etherType' is missing"},
      {{{"type", "MATCH_ETHERTYPE"}, {"etherType", 70000}}, "'etherType' must be an integer in 0..65535"},
      {{{"type", "MATCH_ETHERTYPE"}, {"etherType", -1}}, "'etherType'"},
      {{{"type", "MATCH_ETHERTYPE"}, {"etherType", "2048"}}, "'etherType'"},
      {{{"type", "MATCH_ETHERTYPE"}, {"etherType", 2048}, {"not", "yes"}}, "'not' must be true or false"},
      {{{"type", "MATCH_IPV4_SOURCE"}, {"ip", "fd00::/8"}}, "MATCH_IPV4_SOURCE: field 'ip' must be an IPv4"},
      {{{"type", "MATCH_IPV6_DEST"}, {"ip", "fd00::/129"}}, "'ip'"},
      {{{"type", "MATCH_MAC_SOURCE"}, {"mac", "02:11:22:33:44"}}, "'mac'"},
      {{{"type", "MATCH_SOURCE_ZEROTIER_ADDRESS"}, {"zt", "123"}}, "'zt' must be a 10-digit hex"},
      {{{"type", "ACTION_TEE"}, {"address", "64a5e01ea0"}, {"flags", 0}}, "'length' is missing"},
      {{{"type", "MATCH_CHARACTERISTICS"}, {"mask", "xyz"}}, "'mask' must be up to 16 hex digits"},
      {{{"type", "MATCH_INTEGER_RANGE"}, {"start", 0}, {"end", 1}, {"idx", 0}, {"bits", 0}}, "'bits' must be an integer in 1..64"},
      {{{"type", "UNKNOWN"}, {"ruleType", 37}}, "MATCH_ETHERTYPE"},
  };
  for (const auto& c : cases) {
    auto r = ruleFromJson(c.rule);
    ASSERT_FALSE(r) << c.rule.dump();
    EXPECT_NE(r.error().find(c.mentions), std::string::npos) << r.error();
  }
  EXPECT_FALSE(rulesFromJson(json::object()));
}

TEST(Vl2Rules, BadWireErrors) {
  EXPECT_FALSE(parseRules(Bytes{0x25, 0x02, 0x08}));  // value truncated
  EXPECT_FALSE(parseRules(Bytes{0x25}));              // length missing
  auto shortValue = parseRules(Bytes{0x01, 0x00, 0x25, 0x01, 0x08});
  ASSERT_FALSE(shortValue);
  EXPECT_NE(shortValue.error().find("rule 1: MATCH_ETHERTYPE"), std::string::npos) << shortValue.error();
  // A longer value than the type needs is skipped past.
  auto longer = parseRules(Bytes{0x25, 0x03, 0x08, 0x06, 0xee, 0x01, 0x00});
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->size(), 2u);
  EXPECT_EQ(longer->front().etherType, 0x0806);
  EXPECT_EQ(parseRules(Bytes(2 * 1100, 0))->size(), kMaxNetworkRules);  // stops at 1024
}

// ---------------------------------------------------------------------------------------------
// Credentials

TEST(Vl2Credentials, EveryCredentialInEveryConfigVerifies) {
  size_t coms = 0, caps = 0, tags = 0, coos = 0;
  for (const auto& f : netconfDicts()) {
    auto ids = identities(f.parent_path());
    const Identity& ctl = ids.at(readIdentity(f.parent_path() / "ctl.identity.public").address().toString());
    const Identity& member = ids.at(memberOf(f));
    NetworkConfig c = loadConfig(f);
    ASSERT_TRUE(c.com) << f;
    EXPECT_TRUE(c.com->verify(ctl)) << f;
    EXPECT_FALSE(c.com->verify(member)) << f;
    EXPECT_EQ(c.com->timestamp(), c.timestamp);
    EXPECT_EQ(c.com->networkId(), c.networkId);
    EXPECT_EQ(c.com->issuedTo(), member.address());
    // The identity hash qualifiers are the member's (so the whole COM is what the controller makes).
    EXPECT_EQ(CertificateOfMembership::forMember(c.networkId, c.timestamp, c.credentialTimeMaxDelta, member).qualifiers,
              c.com->qualifiers);
    expectFlipBreaks(*c.com, ctl, 18);  // the timestamp qualifier
    ++coms;
    for (const auto& cap : c.capabilities) {
      EXPECT_TRUE(cap.verify(ctl)) << f;
      EXPECT_EQ(cap.timestamp, c.timestamp);
      EXPECT_EQ(cap.issuedTo(), member.address());
      EXPECT_EQ(cap.signer(), ctl.address());
      expectFlipBreaks(cap, ctl, 12);
      expectFlipBreaks(cap, ctl, serialize(cap).size() - 20);  // inside the signature
      ++caps;
    }
    for (const auto& tag : c.tags) {
      EXPECT_TRUE(tag.verify(ctl)) << f;
      EXPECT_EQ(tag.timestamp, c.timestamp);
      EXPECT_EQ(tag.issuedTo, member.address());
      expectFlipBreaks(tag, ctl, 23);  // the value
      ++tags;
    }
    for (const auto& coo : c.coos) {
      EXPECT_TRUE(coo.verify(ctl)) << f;
      EXPECT_EQ(coo.id, 1u);
      EXPECT_EQ(coo.timestamp, c.timestamp);
      ASSERT_EQ(coo.things.size(), c.assignedAddresses.size());
      for (const auto& a : c.assignedAddresses) EXPECT_TRUE(coo.owns(a)) << a.toString();
      expectFlipBreaks(coo, ctl, 40);
      ++coos;
    }
  }
  EXPECT_EQ(coms, 14u);
  EXPECT_EQ(caps, 4u);
  EXPECT_EQ(tags, 10u);
  EXPECT_EQ(coos, 14u);
}

TEST(Vl2Credentials, ControllerKeyReproducesCapturedSignatures) {
  fs::path rich = kVectors / "rich";
  Identity ctl = readIdentity(rich / "ctl.identity.secret");
  ASSERT_TRUE(ctl.hasSecret());
  NetworkConfig c = loadConfig(rich / "netconf-1233366eb5-e5fefb7e5a0d14cf.dict");
  ASSERT_EQ(c.capabilities.size(), 1u);
  ASSERT_EQ(c.tags.size(), 1u);

  CertificateOfMembership com = *c.com;
  com.sign(ctl);
  EXPECT_EQ(com, *c.com);
  Tag tag = c.tags[0];
  tag.signature = {};
  tag.sign(ctl);
  EXPECT_EQ(tag, c.tags[0]);
  CertificateOfOwnership coo = c.coos[0];
  coo.signature = {};
  coo.sign(ctl);
  EXPECT_EQ(coo, c.coos[0]);
  Capability cap = c.capabilities[0];
  cap.custody.clear();
  cap.sign(ctl, c.issuedTo);
  EXPECT_EQ(cap, c.capabilities[0]);
}

TEST(Vl2Credentials, SignedCredentialsRoundTripAndRejectOtherSigners) {
  fs::path rich = kVectors / "rich";
  Identity ctl = readIdentity(rich / "ctl.identity.secret");
  Identity m1 = readIdentity(rich / "m1.identity.secret");
  uint64_t nwid = 0x315595f4f8c0ffeeULL;

  Revocation rev;
  rev.id = 0x1234;
  rev.networkId = nwid;
  rev.threshold = 1795566200000;
  rev.flags = Revocation::kFlagFastPropagation;
  rev.target = Address{0x64a5e01ea0};
  rev.sign(ctl);
  Bytes bytes = serialize(rev);
  EXPECT_EQ(bytes.size(), 152u);
  Revocation back = reparse<Revocation>(bytes);
  EXPECT_EQ(back, rev);
  EXPECT_TRUE(back.verify(ctl));
  EXPECT_FALSE(back.verify(m1));
  expectFlipBreaks(rev, ctl, 30);

  Tag forged;
  forged.networkId = nwid;
  forged.id = 100;
  forged.issuedTo = m1.address();
  forged.sign(m1);  // right message, wrong signer
  EXPECT_EQ(serialize(forged).size(), 135u);
  EXPECT_FALSE(forged.verify(ctl));
  EXPECT_FALSE(forged.verify(m1));  // m1 is not the network's controller

  Capability cap;
  cap.networkId = nwid;
  cap.id = 7;
  cap.rules = *rulesFromJson(networkRules("session"));
  cap.sign(ctl, m1.address());
  cap.sign(m1, Address{0x89fafc907b});  // a chain of two needs M >= 2
  EXPECT_FALSE(cap.verify(ctl));
  cap.maxCustodyChain = 2;
  cap.custody.clear();
  cap.sign(ctl, m1.address());
  cap.sign(m1, Address{0x89fafc907b});
  EXPECT_FALSE(cap.verify(ctl));  // m1 unknown without a lookup
  EXPECT_TRUE(cap.verify(ctl, [&](Address a) { return a == m1.address() ? std::optional(m1) : std::nullopt; }));
  Capability capBack = reparse<Capability>(serialize(cap));
  EXPECT_EQ(capBack, cap);
}

TEST(Vl2Credentials, ComAgreement) {
  fs::path rich = kVectors / "rich";
  auto ids = identities(rich);
  NetworkConfig m1 = loadConfig(rich / "netconf-1233366eb5-e5fefb7e5a0d14cf.dict");
  NetworkConfig m2 = loadConfig(rich / "netconf-89fafc907b-ff036df133cf7414.dict");
  const Identity& m1Id = ids.at("1233366eb5");
  const Identity& m2Id = ids.at("89fafc907b");
  EXPECT_TRUE(m1.com->agreesWith(*m2.com, m2Id));
  EXPECT_TRUE(m2.com->agreesWith(*m1.com, m1Id));
  EXPECT_FALSE(m1.com->agreesWith(*m2.com, m1Id));  // identity hash is not the presenter's
  CertificateOfMembership stale = *m2.com;
  stale.qualifiers[0].value -= m1.credentialTimeMaxDelta + 1;
  EXPECT_FALSE(m1.com->agreesWith(stale, m2Id));
}

TEST(Vl2Credentials, BadInputErrors) {
  Bytes com = {0x02, 0x00, 0x00};
  Reader r1(com);
  auto badFormat = CertificateOfMembership::read(r1);
  ASSERT_FALSE(badFormat);
  EXPECT_NE(badFormat.error().find("format 2"), std::string::npos);
  Bytes nine = {0x01, 0x00, 0x09};
  Reader r2(nine);
  EXPECT_FALSE(CertificateOfMembership::read(r2));
  NetworkConfig c = loadConfig(kVectors / "rich" / "netconf-1233366eb5-e5fefb7e5a0d14cf.dict");
  Bytes tag = serialize(c.tags[0]);
  for (size_t n : {size_t(0), size_t(20), tag.size() - 1}) {
    Reader r(ByteView(tag).first(n));
    EXPECT_FALSE(Tag::read(r)) << n;
  }
  tag[36] = 95;  // signature type 1 with length 95
  Reader r3(tag);
  auto badSig = Tag::read(r3);
  ASSERT_FALSE(badSig);
  EXPECT_NE(badSig.error().find("length 95"), std::string::npos) << badSig.error();
  Bytes cap = serialize(c.capabilities[0]);
  cap[33] = 0;  // custody chain length 0
  Reader r4(cap);
  EXPECT_FALSE(Capability::read(r4));
}

// NETWORK_CREDENTIALS packets of both captures (the decrypted payloads in session.jsonl).
TEST(Vl2Credentials, CapturedNetworkCredentialsPacketsVerify) {
  size_t packets = 0, coms = 0, caps = 0, tags = 0, revocations = 0, coos = 0;
  for (const char* capture : {"session", "rich"}) {
    fs::path dir = kVectors / capture;
    Identity ctl = readIdentity(dir / "ctl.identity.public");
    std::ifstream lines(dir / "session.jsonl");
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"verb\": 10,") == std::string::npos) continue;
      json p = json::parse(line);
      if (p.value("verb", -1) != 10) continue;
      Bytes plain = *fromHex(p["plaintextHex"].get<std::string>());
      ByteView payload = ByteView(plain).subspan(28);
      auto bundle = CredentialBundle::read(payload);
      ASSERT_TRUE(bundle) << bundle.error();
      EXPECT_EQ(bundle->write(), Bytes(payload.begin(), payload.end())) << p["packetId"];
      ++packets;
      auto allVerify = [&](const auto& list) {
        for (const auto& c : list) EXPECT_TRUE(c.verify(ctl)) << p["packetId"];
        return list.size();
      };
      coms += allVerify(bundle->coms);
      caps += allVerify(bundle->capabilities);
      tags += allVerify(bundle->tags);
      coos += allVerify(bundle->coos);
      for (const auto& c : bundle->revocations) {
        EXPECT_TRUE(c.verify(ctl));
        EXPECT_EQ(c.credentialType, CredentialType::Com);
        EXPECT_EQ(c.credentialId, 0u);
        EXPECT_EQ(c.flags, Revocation::kFlagFastPropagation);
        EXPECT_EQ(c.target, Address{0x64a5e01ea0});
        ++revocations;
      }
    }
  }
  EXPECT_EQ(packets, 44u);
  EXPECT_EQ(coms, 35u);
  EXPECT_EQ(caps, 11u);
  EXPECT_EQ(tags, 32u);
  EXPECT_EQ(revocations, 9u);
  EXPECT_EQ(coos, 35u);
}

// ---------------------------------------------------------------------------------------------
// Network configs

TEST(Vl2Netconf, ConfigRewritesCapturedDictionaryExactly) {
  for (const auto& f : netconfDicts()) {
    NetworkConfig c = loadConfig(f);
    EXPECT_EQ(c.toDictionary().serialize(), readFile(f)) << f;
    auto again = NetworkConfig::fromDictionary(c.toDictionary());
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, c);
  }
}

TEST(Vl2Netconf, EveryDictDecodesToWhatTheMemberReported) {
  std::map<std::string, int> compared;
  for (const auto& f : netconfDicts()) {
    fs::path capture = f.parent_path();
    json want = listnetworks(capture).at(memberOf(f));
    json network = readJson(capture / "network.json");
    auto got = decodeNetconf(readFile(f));
    ASSERT_TRUE(got) << f << ": " << got.error();
    const json& j = *got;
    EXPECT_EQ(j["networkId"], want["nwid"]);
    EXPECT_EQ(j["issuedTo"], memberOf(f));
    EXPECT_EQ(j["type"], want["type"]);
    EXPECT_EQ(j["mtu"], want["mtu"]);
    EXPECT_EQ(j["broadcastEnabled"], want["broadcastEnabled"]);
    EXPECT_EQ(j["flags"], 6);
    // 1.14 records its default rule with "not"/"or" but renders parsed actions without them.
    EXPECT_EQ(j["rules"], rulesToJson(*rulesFromJson(network["rules"]))) << f;
    if (j["revision"] == network["revision"]) EXPECT_EQ(j["multicastLimit"], network["multicastLimit"]) << f;
    if (j["revision"] != want["netconfRevision"]) continue;  // an older config than the member's last
    EXPECT_EQ(j["name"], want["name"]) << f;
    EXPECT_EQ(j["assignedAddresses"], want["assignedAddresses"]) << f;
    EXPECT_EQ(j["routes"], want["routes"]) << f;
    EXPECT_EQ(j["dns"], want["dns"]) << f;
    ++compared[memberOf(f)];
  }
  EXPECT_EQ(compared.size(), 5u);  // every member's latest config was compared
}

TEST(Vl2Netconf, RichConfigContents) {
  fs::path rich = kVectors / "rich";
  json network = readJson(rich / "network.json");
  auto j = decodeNetconf(readFile(rich / "netconf-1233366eb5-e5fefb7e5a0d14cf.dict"));
  ASSERT_TRUE(j) << j.error();
  EXPECT_EQ((*j)["rules"].size(), 44u);
  EXPECT_EQ((*j)["specialists"], (json::array({{{"address", "89fafc907b"}, {"activeBridge", true}, {"anchor", false},
                                                 {"multicastReplicator", false}}})));
  const json& creds = (*j)["credentials"];
  EXPECT_EQ(creds["com"]["signer"], "315595f4f8");
  EXPECT_EQ(creds["com"]["qualifiers"].size(), 7u);
  ASSERT_EQ(creds["capabilities"].size(), 1u);
  EXPECT_EQ(creds["capabilities"][0]["id"], 1000);
  EXPECT_EQ(creds["capabilities"][0]["rules"], network["capabilities"][0]["rules"]);
  EXPECT_EQ(creds["tags"][0]["id"], 100);
  EXPECT_EQ(creds["tags"][0]["value"], 1);
  EXPECT_EQ(creds["coos"][0]["things"][2], (json{{"type", "ipv4"}, {"value", "198.19.1.5"}}));
  EXPECT_EQ(creds["revocations"], json::array());
  EXPECT_EQ((*j)["credentialTimeMaxDelta"], 1800000);
  EXPECT_EQ((*j)["timestamp"], creds["tags"][0]["timestamp"]);
}

TEST(Vl2Netconf, InvalidConfigsAreRejected) {
  Bytes raw = readFile(kVectors / "session" / "netconf-6c87e3ee02-27c3f11f50877070.dict");
  auto base = Dictionary::parse(raw);
  ASSERT_TRUE(base);
  struct Case {
    const char* key;
    Bytes value;
    const char* mentions;
  };
  std::vector<Case> cases = {
      {"nwid", {'0'}, "nwid"},
      {"id", {'0'}, "(id)"},
      {"v", {'5'}, "version 5"},
      {"ts", {'x'}, "'ts'"},
      {"RT", {0x04, 198, 19}, "RT"},
      {"I", {0x05, 1, 2, 3}, "unknown address type 5"},
      {"R", {0x25, 0x01, 0x08}, "R: rule 0"},
      {"DNS", Bytes(100, 0), "DNS"},
      {"C", {0x01, 0x00, 0x01}, "C: COM truncated"},
      {"COO", {0x00}, "COO"},
  };
  for (const auto& c : cases) {
    Dictionary d = *base;
    d.set(c.key, c.value);
    auto config = NetworkConfig::fromDictionary(d);
    ASSERT_FALSE(config) << c.key;
    EXPECT_NE(config.error().find(c.mentions), std::string::npos) << config.error();
  }
  // A malformed tag list only ends the list.
  Dictionary d = *base;
  d.set("TAG", Bytes{1, 2, 3});
  auto config = NetworkConfig::fromDictionary(d);
  ASSERT_TRUE(config) << config.error();
  EXPECT_TRUE(config->tags.empty());
  EXPECT_FALSE(decodeNetconf(asBytes("v=7\nnwid=1")));
  EXPECT_FALSE(decodeNetconf(asBytes("garbage")));
}

TEST(Vl2Netconf, DefaultsAndLimits) {
  auto d = Dictionary::parse(asBytes("v=7\nnwid=8056c2e21c000001\nid=1234567890\nmtu=100"));
  ASSERT_TRUE(d);
  auto c = NetworkConfig::fromDictionary(*d);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->mtu, NetworkConfig::kMinMtu);
  EXPECT_TRUE(c->rules.empty());
  EXPECT_FALSE(c->com);
  EXPECT_EQ(c->type, NetworkType::Private);
  d->setNumber("mtu", 20000);
  d->setNumber("t", 1);
  c = NetworkConfig::fromDictionary(*d);
  EXPECT_EQ(c->mtu, NetworkConfig::kMaxMtu);
  EXPECT_TRUE(c->isPublic());
}

}  // namespace
}  // namespace zt
