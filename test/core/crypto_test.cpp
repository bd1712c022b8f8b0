// Identities, signatures, key agreement and packet armoring against the ZeroTier 1.14 vectors.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/aes_ctr32.hpp"
#include "crypto/aes_vaes.hpp"
#include "crypto/armor.hpp"
#include "crypto/identity.hpp"

namespace zt {
namespace {

using nlohmann::json;

std::string readText(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json readJson(const std::string& name) { return json::parse(readText(std::string(ZT_VECTORS) + "/" + name)); }

Bytes hex(const std::string& text) {
  auto b = fromHex(text);
  EXPECT_TRUE(b) << "bad hex in vectors: " << text;
  return b.value_or(Bytes{});
}

Identity parse(const std::string& text) {
  auto id = Identity::fromString(text);
  EXPECT_TRUE(id) << id.error();
  return id ? *id : Identity{};
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(uint8_t(s.back()))) s.pop_back();
  return s;
}

// ---- identities -----------------------------------------------------------------------------

TEST(CryptoIdentity, ValidVectorsValidateAndDerivePublic) {
  json v = readJson("identities.json");
  ASSERT_EQ(v["valid"].size(), 30u);
  for (const json& e : v["valid"]) {
    Identity pub = parse(e["public"]);
    Identity sec = parse(e["secret"]);
    EXPECT_EQ(pub.address().toString(), e["address"].get<std::string>());
    EXPECT_TRUE(pub.validate()) << e["public"];
    EXPECT_FALSE(pub.hasSecret());
    EXPECT_TRUE(sec.hasSecret());
    EXPECT_EQ(sec.toString(), e["public"].get<std::string>());  // getpublic
    EXPECT_EQ(sec.toString(true), e["secret"].get<std::string>());
    EXPECT_EQ(publicKeyOf(sec.secretKey()), pub.publicKey());
  }
}

TEST(CryptoIdentity, TamperedVectorsFail) {
  json v = readJson("identities.json");
  ASSERT_FALSE(v["tampered"].empty());
  std::map<std::string, int> failedAt;
  for (const json& e : v["tampered"]) {
    ASSERT_FALSE(e["valid"].get<bool>());
    auto id = Identity::fromString(e["public"].get<std::string>());
    bool parsed = id.ok();
    if (parsed) {
      EXPECT_FALSE(id->validate()) << e["public"];
    }
    failedAt[e["tamper"].get<std::string>() + (parsed ? " (validate)" : " (parse)")]++;
  }
  for (auto& [what, n] : failedAt) std::printf("  tampered %-28s %d rejected\n", what.c_str(), n);
}

TEST(CryptoIdentity, BinaryFormRoundTrips) {
  json v = readJson("identities.json");
  Identity sec = parse(v["valid"][0]["secret"]);
  for (bool withSecret : {false, true}) {
    Writer w;
    sec.write(w, withSecret);
    EXPECT_EQ(w.size(), withSecret ? 135u : 71u);
    Reader r(w.data());
    auto back = Identity::read(r);
    ASSERT_TRUE(back) << back.error();
    EXPECT_TRUE(r.atEnd());
    EXPECT_EQ(*back, sec);
    EXPECT_EQ(back->hasSecret(), withSecret);
    EXPECT_EQ(back->toString(true), sec.toString(withSecret));

    Bytes bytes = w.data();
    for (size_t cut = 0; cut < bytes.size(); ++cut) {  // every truncation fails
      Reader shortReader(ByteView(bytes).first(cut));
      EXPECT_FALSE(Identity::read(shortReader)) << cut;
    }
  }
  Writer w;
  sec.write(w, true);
  Bytes bytes = w.data();
  bytes[5] = 1;  // type 1 is not supported
  Reader typeReader(bytes);
  EXPECT_FALSE(Identity::read(typeReader));
  bytes[5] = 0;
  bytes[70] = 32;  // secret length neither 0 nor 64
  Reader lengthReader(bytes);
  EXPECT_FALSE(Identity::read(lengthReader));
  bytes[70] = 64;
  bytes[71 + 40] ^= 1;  // Ed25519 seed no longer matches the public key
  Reader mismatchReader(bytes);
  EXPECT_FALSE(Identity::read(mismatchReader));
}

TEST(CryptoIdentity, TextFormRejectsMalformed) {
  json v = readJson("identities.json");
  const std::string secret = v["valid"][0]["secret"];
  const std::string pub = v["valid"][0]["public"];
  std::string body = pub.substr(10);  // ":0:<public>"
  EXPECT_TRUE(Identity::fromString(pub));
  std::string upper = secret;
  for (char& c : upper) c = char(std::toupper(uint8_t(c)));
  EXPECT_TRUE(Identity::fromString(upper)) << "hex is read in either case";

  const std::vector<std::string> bad = {
      "",
      "0000000000" + body,                     // reserved: zero
      "ff12345678" + body,                     // reserved: 0xff prefix
      pub.substr(1),                           // short address
      std::string("g").append(pub, 1),         // non-hex address
      pub.substr(0, 11) + "1" + pub.substr(12),  // type 1
      pub.substr(0, pub.size() - 2),           // short public key
      pub + "00",                              // long public key
      pub.substr(0, 20) + "zz" + pub.substr(22),  // non-hex public key
      pub + ":",                               // empty secret
      secret + ":00",                          // five fields
      pub.substr(0, 12),                       // two fields
      secret.substr(0, secret.size() - 2),     // short secret
  };
  for (const std::string& text : bad) EXPECT_FALSE(Identity::fromString(text)) << text;

  std::string mismatched = secret;
  mismatched.back() = mismatched.back() == '0' ? '1' : '0';  // Ed25519 seed changed
  auto r = Identity::fromString(mismatched);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("does not match"), std::string::npos) << r.error();
}

TEST(CryptoIdentity, GenerateMakesValidIdentity) {
  Identity id = Identity::generate();
  EXPECT_TRUE(id.hasSecret());
  EXPECT_FALSE(id.address().reserved());
  EXPECT_TRUE(id.validate());
  EXPECT_EQ(publicKeyOf(id.secretKey()), id.publicKey());
  auto again = Identity::fromString(id.toString(true));
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(*again, id);
  Identity tampered = *Identity::fromString(id.address().toString() + ":0:" +
                                            toHex(std::array<uint8_t, 64>{}));
  EXPECT_FALSE(tampered.validate());
}

// ---- signatures and agreement ---------------------------------------------------------------

TEST(CryptoSignature, VectorsVerifyAndReproduce) {
  json v = readJson("signatures.json");
  ASSERT_FALSE(v.empty());
  int verified = 0, reproduced = 0;
  for (const json& e : v) {
    Identity pub = parse(e["public"]);
    Bytes message = hex(e["messageHex"]);
    Bytes signature = hex(e["signature"]);
    EXPECT_EQ(pub.verify(message, signature), e["valid"].get<bool>()) << e.dump();
    EXPECT_EQ(verifyWithKey(pub.publicKey(), message, signature), e["valid"].get<bool>());
    ++verified;
    if (e.contains("secret") && e["secret"].is_string()) {
      Identity sec = parse(e["secret"]);
      Signature mine = sec.sign(message);
      EXPECT_EQ(toHex(mine), toHex(signature).substr(0, 192)) << e.dump();
      EXPECT_EQ(toHex(signWithKeys(sec.secretKey(), sec.publicKey(), message)), toHex(mine));
      EXPECT_TRUE(pub.verify(message, mine));
      ++reproduced;
    }
  }
  std::printf("  signatures: %d verdicts checked, %d reproduced\n", verified, reproduced);
  EXPECT_GT(reproduced, 0);
}

TEST(CryptoSignature, RejectsWrongLengthAndTampering) {
  json v = readJson("identities.json");
  Identity sec = parse(v["valid"][1]["secret"]);
  Bytes message = {1, 2, 3};
  Signature sig = sec.sign(message);
  EXPECT_TRUE(sec.verify(message, sig));
  EXPECT_FALSE(sec.verify(message, ByteView(sig).first(95)));
  for (size_t i = 0; i < sig.size(); ++i) {
    Signature bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(sec.verify(message, bad)) << i;
  }
  Identity other = parse(v["valid"][2]["public"]);
  EXPECT_FALSE(other.verify(message, sig));
}

TEST(CryptoAgreement, VectorsAgreeBothWays) {
  json v = readJson("agreements.json");
  ASSERT_EQ(v.size(), 10u);
  for (const json& e : v) {
    Identity a = parse(e["secretA"]), b = parse(e["secretB"]);
    Identity aPub = parse(e["publicA"]), bPub = parse(e["publicB"]);
    auto ab = a.agree(bPub), ba = b.agree(aPub);
    ASSERT_TRUE(ab && ba);
    EXPECT_EQ(toHex(*ab), e["key"].get<std::string>());
    EXPECT_EQ(toHex(*ba), e["key"].get<std::string>());
  }
}

TEST(CryptoAgreement, RefusesLowOrderPointsAndMissingSecret) {
  json v = readJson("identities.json");
  Identity sec = parse(v["valid"][0]["secret"]);
  Identity pub = parse(v["valid"][1]["public"]);
  EXPECT_FALSE(pub.agree(sec)) << "no secret, no agreement";
  PublicKey key = pub.publicKey();
  for (uint8_t lowOrder0 : {0x00, 0x01}) {  // the points 0 and 1 have order dividing 8
    std::fill(key.begin(), key.begin() + 32, 0);
    key[0] = lowOrder0;
    Writer w;
    w.u40(pub.address().value).u8(0).bytes(key).u8(0);
    Reader r(w.data());
    auto peer = Identity::read(r);
    ASSERT_TRUE(peer);
    EXPECT_FALSE(sec.agree(*peer));
  }
}

// ---- armor ----------------------------------------------------------------------------------

Bytes samplePacket(size_t payload, uint64_t seed) {
  Bytes p(28 + payload);
  for (size_t i = 0; i < p.size(); ++i) p[i] = uint8_t(seed * 131 + i * 7 + (i >> 8));
  p[18] = 0;  // flags: hop count 0, no cipher yet
  return p;
}

SymmetricKey sampleKey() {
  SymmetricKey k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = uint8_t(i * 29 + 3);
  return k;
}

// Both suite-3 engines where the CPU has VAES, OpenSSL's alone where it does not.
std::vector<AesEngine> enginesHere() {
  if (vaes::supported()) return {AesEngine::Fastest, AesEngine::OpenSsl};
  return {AesEngine::OpenSsl};
}

std::string engineName(const testing::TestParamInfo<AesEngine>& info) {
  return info.param == AesEngine::OpenSsl ? "OpenSsl" : "Vaes";
}

class CryptoArmorEngines : public testing::TestWithParam<AesEngine> {};
INSTANTIATE_TEST_SUITE_P(Engines, CryptoArmorEngines, testing::ValuesIn(enginesHere()),
                         engineName);

TEST_P(CryptoArmorEngines, RoundTripAndTamperDetection) {
  PeerCipher sender(sampleKey(), GetParam()), receiver(sampleKey(), GetParam());
  for (Cipher suite : {Cipher::Poly1305, Cipher::Salsa2012Poly1305, Cipher::AesGmacSiv}) {
    for (size_t payload : {0u, 1u, 15u, 16u, 63u, 64u, 65u, 1372u, 2800u}) {
      SCOPED_TRACE(testing::Message() << "suite " << int(suite) << " payload " << payload);
      Bytes plain = samplePacket(payload, payload);
      Bytes wire = plain;
      sender.armor(wire, suite);
      EXPECT_EQ((wire[18] >> 3) & 7, int(suite));
      EXPECT_EQ((wire[18] & 0x80) != 0, suite == Cipher::Salsa2012Poly1305);
      Bytes armoredPart(wire.begin() + 27, wire.end()), plainPart(plain.begin() + 27, plain.end());
      if (suite == Cipher::Poly1305) {
        EXPECT_EQ(armoredPart, plainPart) << "suite 0 does not encrypt";
      } else if (payload >= 16) {
        EXPECT_NE(armoredPart, plainPart);
      }

      Bytes opened = wire;
      ASSERT_TRUE(receiver.dearmor(opened));
      EXPECT_EQ(Bytes(opened.begin() + 27, opened.end()), Bytes(plain.begin() + 27, plain.end()));
      EXPECT_EQ(Bytes(opened.begin() + 8, opened.begin() + 18), Bytes(plain.begin() + 8, plain.begin() + 18));
      Bytes elsewhere(wire.size(), 0xee);  // opened into another buffer, the datagram untouched
      const Bytes sent = wire;
      ASSERT_TRUE(receiver.dearmor(ByteView(wire), elsewhere.data()));
      EXPECT_EQ(elsewhere, opened);
      EXPECT_EQ(wire, sent);

      for (uint8_t hop = 1; hop < 8; ++hop) {  // relays change only the hop bits
        Bytes relayed = wire;
        relayed[18] = uint8_t((relayed[18] & ~7) | hop);
        EXPECT_TRUE(receiver.dearmor(relayed)) << "hops " << int(hop);
      }
      for (size_t i = 0; i < wire.size(); ++i) {  // every other bit is authenticated
        for (uint8_t bit : {0x01, 0x80}) {
          if (i == 18 && bit == 0x01) continue;  // a hop bit
          Bytes bad = wire;
          bad[i] ^= bit;
          EXPECT_FALSE(receiver.dearmor(bad)) << "byte " << i << " bit " << int(bit);
        }
      }
      Bytes truncated(wire.begin(), wire.end() - 1);
      EXPECT_FALSE(receiver.dearmor(truncated));
    }
  }
  PeerCipher stranger(SymmetricKey{}, GetParam());
  Bytes wire = samplePacket(100, 1);
  sender.armor(wire, Cipher::AesGmacSiv);
  EXPECT_FALSE(stranger.dearmor(wire));
  Bytes trusted = samplePacket(10, 2), before = trusted;
  sender.armor(trusted, Cipher::TrustedPath);
  EXPECT_EQ(trusted[18], 2 << 3);
  trusted[18] = before[18];
  EXPECT_EQ(trusted, before) << "suite 2 touches nothing but the cipher bits";
  trusted[18] = 2 << 3;
  EXPECT_FALSE(receiver.dearmor(trusted)) << "suite 2 is never accepted";
  Bytes tiny(27);
  EXPECT_FALSE(receiver.dearmor(tiny));
}

TEST(CryptoArmor, Salsa2012XorIsItsOwnInverse) {
  uint8_t key[32] = {1, 2, 3}, nonce[8] = {4, 5};
  Bytes data(200, 0);
  salsa2012Xor(data, key, nonce);
  EXPECT_NE(data, Bytes(200, 0));
  Bytes firstBlock(64, 0);
  salsa2012Xor(firstBlock, key, nonce);
  EXPECT_TRUE(std::equal(firstBlock.begin(), firstBlock.end(), data.begin()));
  salsa2012Xor(data, key, nonce);
  EXPECT_EQ(data, Bytes(200, 0));
  EXPECT_NE(randomU64(), randomU64());
}

TEST(CryptoArmor, CtrCounterWrapsInLast32BitsOnly) {
  const uint8_t key[32] = {9, 8, 7};
  EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(ecb, EVP_aes_256_ecb(), nullptr, key, nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ecb, 0);
  uint8_t counter[16];
  for (int i = 0; i < 16; ++i) counter[i] = uint8_t(0x40 + i);
  const uint32_t first = 0xffffffd0;  // 48 blocks before the wrap
  for (int i = 0; i < 4; ++i) counter[12 + i] = uint8_t(first >> (24 - 8 * i));
  Bytes data(80 * 16 + 5, 0);  // crosses the wrap and more than one keystream chunk
  aesCtr32Xor(ecb, counter, data);

  Bytes expected;  // each counter block encrypted alone, only bytes 12..16 counting
  for (uint32_t n = first, blocks = 0; blocks < 81; ++n, ++blocks) {
    uint8_t block[16], out[16];
    int len = 0;
    std::memcpy(block, counter, 12);
    for (int i = 0; i < 4; ++i) block[12 + i] = uint8_t(n >> (24 - 8 * i));
    ASSERT_EQ(EVP_EncryptUpdate(ecb, out, &len, block, 16), 1);
    expected.insert(expected.end(), out, out + 16);
  }
  expected.resize(data.size());
  EXPECT_EQ(toHex(data), toHex(expected));
  EVP_CIPHER_CTX_free(ecb);
}

// The VAES primitives against OpenSSL's: single blocks both ways, and the 32-bit counter across
// its wrap at every length up to a few blocks past the 16-block stride.
TEST(CryptoArmor, VaesBlocksAndCtrMatchOpenSsl) {
  if (!vaes::supported()) GTEST_SKIP() << "no VAES/VPCLMULQDQ on this CPU";
  const uint8_t key[32] = {9, 8, 7, 6, 5};
  auto keys = std::make_unique<vaes::SivKeys>();
  vaes::expandKeys(key, key, *keys);
  EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(ecb, EVP_aes_256_ecb(), nullptr, key, nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ecb, 0);
  uint8_t in[16], ours[16], theirs[16], back[16];
  for (int i = 0; i < 16; ++i) in[i] = uint8_t(i * 17 + 1);
  int len = 0;
  ASSERT_EQ(EVP_EncryptUpdate(ecb, theirs, &len, in, 16), 1);
  vaes::encryptK1(*keys, in, ours);
  EXPECT_EQ(toHex(ByteView(ours, 16)), toHex(ByteView(theirs, 16)));
  vaes::decryptK1(*keys, ours, back);
  EXPECT_EQ(toHex(ByteView(back, 16)), toHex(ByteView(in, 16)));

  uint8_t counter[16];
  for (int i = 0; i < 16; ++i) counter[i] = uint8_t(0x40 + i);
  for (uint32_t first : {0u, 0xfffffff0u, 0xffffffffu}) {
    for (int i = 0; i < 4; ++i) counter[12 + i] = uint8_t(first >> (24 - 8 * i));
    for (size_t length = 0; length <= 20 * 16 + 1; ++length) {
      Bytes a(length), b(length);
      for (size_t i = 0; i < length; ++i) a[i] = b[i] = uint8_t(i * 3);
      aesCtr32Xor(ecb, counter, a);
      vaes::ctr32Xor(*keys, counter, b);
      ASSERT_EQ(toHex(b), toHex(a)) << "first counter " << first << ", " << length << " bytes";
    }
  }
  EVP_CIPHER_CTX_free(ecb);
}

// Suite 3 on VAES gives OpenSSL's bytes for every length around the block and stride edges, and
// each opens the other's packets.
TEST(CryptoArmor, VaesSuite3MatchesOpenSsl) {
  if (!vaes::supported()) GTEST_SKIP() << "no VAES/VPCLMULQDQ on this CPU";
  PeerCipher fast(sampleKey(), AesEngine::Fastest), reference(sampleKey(), AesEngine::OpenSsl);
  for (size_t payload = 0; payload <= 600; ++payload) {
    for (size_t seed : {1u, 2u}) {
      SCOPED_TRACE(testing::Message() << "payload " << payload << " seed " << seed);
      const Bytes plain = samplePacket(payload, payload * 7 + seed);
      Bytes ours = plain, theirs = plain;
      fast.armor(ours, Cipher::AesGmacSiv);
      reference.armor(theirs, Cipher::AesGmacSiv);
      ASSERT_EQ(toHex(ours), toHex(theirs));
      Bytes forged = ours;
      forged[forged.size() - 1] ^= 1;
      ASSERT_FALSE(fast.dearmor(forged));
      ASSERT_TRUE(reference.dearmor(ours));
      ASSERT_TRUE(fast.dearmor(theirs));
      ASSERT_EQ(Bytes(theirs.begin() + 27, theirs.end()), Bytes(plain.begin() + 27, plain.end()));
    }
  }
}

// The identities of one capture, by address, and a cipher per (source, destination) pair.
class CaptureKeys {
 public:
  CaptureKeys(const std::string& dir, AesEngine engine) : engine_(engine) {
    for (const char* node : {"root", "ctl", "m1", "m2", "m3"}) {
      std::string base = std::string(ZT_VECTORS) + "/" + dir + "/" + node + ".identity.";
      if (!std::ifstream(base + "secret")) continue;
      Identity secret = parse(trimmed(readText(base + "secret")));
      Identity pub = parse(trimmed(readText(base + "public")));
      EXPECT_EQ(secret, pub);
      secrets_.emplace(secret.address().toString().substr(0, 10), secret);
    }
  }
  PeerCipher* cipher(const std::string& source, const std::string& destination) {
    auto key = source + destination;
    auto found = ciphers_.find(key);
    if (found != ciphers_.end()) return found->second.get();
    auto a = secrets_.find(destination), b = secrets_.find(source);
    if (a == secrets_.end() || b == secrets_.end()) return nullptr;
    auto agreed = a->second.agree(b->second.publicOnly());
    if (!agreed) return nullptr;
    return (ciphers_[key] = std::make_unique<PeerCipher>(*agreed, engine_)).get();
  }
  size_t nodes() const { return secrets_.size(); }

 private:
  AesEngine engine_;
  std::map<std::string, Identity> secrets_;
  std::map<std::string, std::unique_ptr<PeerCipher>> ciphers_;
};

// Opens every authenticated packet of a capture (fragmented ones from their reassembled bytes)
// and compares the result with 1.14's plaintext where it is not LZ4-compressed.
// (Suite 3's output depends on the packet id before armoring, which the capture does not show.)
void dearmorCapture(const std::string& dir, AesEngine engine) {
  CaptureKeys keys(dir, engine);
  ASSERT_GE(keys.nodes(), 4u);
  std::ifstream in(std::string(ZT_VECTORS) + "/" + dir + "/session.jsonl");
  ASSERT_TRUE(in);
  std::map<int, int> opened, compared;
  int compressed = 0, reassembled = 0, rearmoredCount = 0;
  for (std::string line; std::getline(in, line);) {
    json e = json::parse(line);
    if (e["kind"] != "packet" || !e.value("authenticated", false)) continue;
    std::string source = e["source"], destination = e["destination"];
    PeerCipher* cipher = keys.cipher(source, destination);
    ASSERT_NE(cipher, nullptr) << source << "->" << destination;
    bool fragmented = e.value("fragmented", false);
    const std::string& wireHex = e[fragmented ? "reassembledHex" : "wire"].get_ref<const std::string&>();
    Bytes packet = hex(wireHex);
    int suite = e["cipher"];
    ASSERT_TRUE(cipher->dearmor(packet)) << line;
    opened[suite]++;
    reassembled += fragmented;
    Bytes plain = hex(e["plaintextHex"]);
    ASSERT_GE(plain.size(), 28u);
    EXPECT_EQ(packet[27] & 0x1f, e["verb"].get<int>());
    if (packet[27] & 0x80) {
      ++compressed;  // LZ4 payloads are compared by the wire codec's tests
      continue;
    }
    EXPECT_EQ(toHex(ByteView(packet).subspan(27)), toHex(ByteView(plain).subspan(27))) << line;
    compared[suite]++;
    if (suite != 3) {  // suites 0 and 1 are deterministic: armoring 1.14's plaintext gives its wire bytes
      Bytes rearmored = plain;
      cipher->armor(rearmored, Cipher(suite));
      EXPECT_EQ(toHex(rearmored), wireHex) << line;
      ++rearmoredCount;
    }

    Bytes forged = hex(wireHex);  // and a single flipped payload bit is refused
    forged.back() ^= 0x04;
    EXPECT_FALSE(cipher->dearmor(forged));
  }
  std::printf("  %s: opened suite0=%d suite1=%d suite3=%d (%d reassembled); plaintext equal %d/%d/%d;"
              " compressed %d; re-armored byte-exact %d\n",
              dir.c_str(), opened[0], opened[1], opened[3], reassembled, compared[0], compared[1],
              compared[3], compressed, rearmoredCount);
  EXPECT_GT(opened[0], 0);
  EXPECT_GT(opened[1], 0);
  EXPECT_GT(opened[3], 0);
  EXPECT_EQ(reassembled, 4);
}

class CryptoArmorVectors : public CryptoArmorEngines {};
INSTANTIATE_TEST_SUITE_P(Engines, CryptoArmorVectors, testing::ValuesIn(enginesHere()),
                         engineName);
TEST_P(CryptoArmorVectors, SessionCaptureOpens) { dearmorCapture("session", GetParam()); }
TEST_P(CryptoArmorVectors, RichCaptureOpens) { dearmorCapture("rich", GetParam()); }

}  // namespace
}  // namespace zt
