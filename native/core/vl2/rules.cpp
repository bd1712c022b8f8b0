#include "vl2/rules.hpp"

#include <cstring>

#include "vl2/dictionary.hpp"
#include "vl2/text_forms.hpp"

namespace zt {
namespace {

using nlohmann::json;
using T = RuleType;

struct TypeInfo {
  RuleType type;
  const char* name;
  uint8_t valueLength;
};

constexpr TypeInfo kTypes[] = {
    {T::ActionDrop, "ACTION_DROP", 0},
    {T::ActionAccept, "ACTION_ACCEPT", 0},
    {T::ActionTee, "ACTION_TEE", 14},
    {T::ActionWatch, "ACTION_WATCH", 14},
    {T::ActionRedirect, "ACTION_REDIRECT", 14},
    {T::ActionBreak, "ACTION_BREAK", 0},
    {T::ActionPriority, "ACTION_PRIORITY", 0},
    {T::MatchSourceZeroTierAddress, "MATCH_SOURCE_ZEROTIER_ADDRESS", 5},
    {T::MatchDestZeroTierAddress, "MATCH_DEST_ZEROTIER_ADDRESS", 5},
    {T::MatchVlanId, "MATCH_VLAN_ID", 2},
    {T::MatchVlanPcp, "MATCH_VLAN_PCP", 1},
    {T::MatchVlanDei, "MATCH_VLAN_DEI", 1},
    {T::MatchMacSource, "MATCH_MAC_SOURCE", 6},
    {T::MatchMacDest, "MATCH_MAC_DEST", 6},
    {T::MatchIpv4Source, "MATCH_IPV4_SOURCE", 5},
    {T::MatchIpv4Dest, "MATCH_IPV4_DEST", 5},
    {T::MatchIpv6Source, "MATCH_IPV6_SOURCE", 17},
    {T::MatchIpv6Dest, "MATCH_IPV6_DEST", 17},
    {T::MatchIpTos, "MATCH_IP_TOS", 3},
    {T::MatchIpProtocol, "MATCH_IP_PROTOCOL", 1},
    {T::MatchEthertype, "MATCH_ETHERTYPE", 2},
    {T::MatchIcmp, "MATCH_ICMP", 3},
    {T::MatchIpSourcePortRange, "MATCH_IP_SOURCE_PORT_RANGE", 4},
    {T::MatchIpDestPortRange, "MATCH_IP_DEST_PORT_RANGE", 4},
    {T::MatchCharacteristics, "MATCH_CHARACTERISTICS", 8},
    {T::MatchFrameSizeRange, "MATCH_FRAME_SIZE_RANGE", 4},
    {T::MatchRandom, "MATCH_RANDOM", 4},
    {T::MatchTagsDifference, "MATCH_TAGS_DIFFERENCE", 8},
    {T::MatchTagsBitwiseAnd, "MATCH_TAGS_BITWISE_AND", 8},
    {T::MatchTagsBitwiseOr, "MATCH_TAGS_BITWISE_OR", 8},
    {T::MatchTagsBitwiseXor, "MATCH_TAGS_BITWISE_XOR", 8},
    {T::MatchTagsEqual, "MATCH_TAGS_EQUAL", 8},
    {T::MatchTagSender, "MATCH_TAG_SENDER", 8},
    {T::MatchTagReceiver, "MATCH_TAG_RECEIVER", 8},
    {T::MatchIntegerRange, "MATCH_INTEGER_RANGE", 19},
};

const TypeInfo* infoOf(RuleType type) {
  for (const TypeInfo& t : kTypes)
    if (t.type == type) return &t;
  return nullptr;
}

const TypeInfo* infoNamed(std::string_view name) {
  for (const TypeInfo& t : kTypes)
    if (name == t.name) return &t;
  return nullptr;
}

constexpr const char* kUnknownTypeName = "UNKNOWN";

bool isIpv4Match(RuleType t) { return t == T::MatchIpv4Source || t == T::MatchIpv4Dest; }
bool isIpv6Match(RuleType t) { return t == T::MatchIpv6Source || t == T::MatchIpv6Dest; }
bool isCopyAction(RuleType t) { return t == T::ActionTee || t == T::ActionWatch || t == T::ActionRedirect; }
bool isRangeMatch(RuleType t) {
  return t == T::MatchIpSourcePortRange || t == T::MatchIpDestPortRange || t == T::MatchFrameSizeRange;
}
bool isTagMatch(RuleType t) { return t >= T::MatchTagsDifference && t <= T::MatchTagReceiver; }
bool isZeroTierMatch(RuleType t) { return t == T::MatchSourceZeroTierAddress || t == T::MatchDestZeroTierAddress; }
bool isMacMatch(RuleType t) { return t == T::MatchMacSource || t == T::MatchMacDest; }

// Reads the fields of a known type from its value (at least valueLength bytes).
void readValue(Reader& v, Rule& rule) {
  RuleType t = rule.type;
  if (isCopyAction(t)) {
    rule.address = Address{v.u64() & 0xffffffffffULL};
    rule.actionFlags = v.u32();
    rule.copyLength = v.u16();
  } else if (isZeroTierMatch(t)) {
    rule.address = Address{v.u40()};
  } else if (t == T::MatchVlanId) {
    rule.vlanId = v.u16();
  } else if (t == T::MatchVlanPcp) {
    rule.vlanPcp = v.u8();
  } else if (t == T::MatchVlanDei) {
    rule.vlanDei = v.u8();
  } else if (isMacMatch(t)) {
    rule.mac = v.array<6>();
  } else if (isIpv4Match(t)) {
    auto ip = v.array<4>();
    rule.ip = InetAddress::v4(ip, v.u8());
  } else if (isIpv6Match(t)) {
    auto ip = v.array<16>();
    rule.ip = InetAddress::v6(ip, v.u8());
  } else if (t == T::MatchIpTos) {
    rule.tosMask = v.u8();
    rule.rangeStart = v.u8();
    rule.rangeEnd = v.u8();
  } else if (t == T::MatchIpProtocol) {
    rule.ipProtocol = v.u8();
  } else if (t == T::MatchEthertype) {
    rule.etherType = v.u16();
  } else if (t == T::MatchIcmp) {
    rule.icmpType = v.u8();
    rule.icmpCode = v.u8();
    rule.icmpFlags = v.u8();
  } else if (isRangeMatch(t)) {
    rule.rangeStart = v.u16();
    rule.rangeEnd = v.u16();
  } else if (t == T::MatchCharacteristics) {
    rule.characteristics = v.u64();
  } else if (t == T::MatchRandom) {
    rule.probability = v.u32();
  } else if (isTagMatch(t)) {
    rule.tagId = v.u32();
    rule.tagValue = v.u32();
  } else if (t == T::MatchIntegerRange) {
    rule.integerStart = v.u64();
    rule.integerEnd = v.u64();
    rule.integerIndex = v.u16();
    rule.integerFormat = v.u8();
  }
}

void writeValue(Writer& w, const Rule& rule) {
  RuleType t = rule.type;
  if (isCopyAction(t)) {
    w.u64(rule.address.value).u32(rule.actionFlags).u16(rule.copyLength);
  } else if (isZeroTierMatch(t)) {
    w.u40(rule.address.value);
  } else if (t == T::MatchVlanId) {
    w.u16(rule.vlanId);
  } else if (t == T::MatchVlanPcp) {
    w.u8(rule.vlanPcp);
  } else if (t == T::MatchVlanDei) {
    w.u8(rule.vlanDei);
  } else if (isMacMatch(t)) {
    w.bytes(rule.mac);
  } else if (isIpv4Match(t) || isIpv6Match(t)) {
    size_t n = isIpv4Match(t) ? 4 : 16;
    w.bytes(ByteView(rule.ip.ip.data(), n)).u8(uint8_t(rule.ip.port));
  } else if (t == T::MatchIpTos) {
    w.u8(rule.tosMask).u8(uint8_t(rule.rangeStart)).u8(uint8_t(rule.rangeEnd));
  } else if (t == T::MatchIpProtocol) {
    w.u8(rule.ipProtocol);
  } else if (t == T::MatchEthertype) {
    w.u16(rule.etherType);
  } else if (t == T::MatchIcmp) {
    w.u8(rule.icmpType).u8(rule.icmpCode).u8(rule.icmpFlags);
  } else if (isRangeMatch(t)) {
    w.u16(rule.rangeStart).u16(rule.rangeEnd);
  } else if (t == T::MatchCharacteristics) {
    w.u64(rule.characteristics);
  } else if (t == T::MatchRandom) {
    w.u32(rule.probability);
  } else if (isTagMatch(t)) {
    w.u32(rule.tagId).u32(rule.tagValue);
  } else if (t == T::MatchIntegerRange) {
    w.u64(rule.integerStart).u64(rule.integerEnd).u16(rule.integerIndex).u8(rule.integerFormat);
  }
}

// Reads the fields of one JSON rule; the first problem is kept in `error`, later reads give 0.
class JsonFields {
 public:
  JsonFields(const json& j, std::string typeName) : j_(j), type_(std::move(typeName)) {}
  const std::string& error() const { return error_; }

  uint64_t number(const char* key, uint64_t max, uint64_t min = 0) {
    const json* v = find(key);
    if (!v) return 0;
    bool natural = v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0);
    uint64_t n = natural ? v->get<uint64_t>() : 0;
    if (!natural || n < min || n > max)
      return bad(key, "must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
    return n;
  }
  bool flag(const char* key) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return false;
    if (!it->is_boolean()) return bad(key, "must be true or false"), false;
    return it->get<bool>();
  }
  Address address(const char* key) {
    const json* v = find(key);
    if (!v) return {};
    auto a = v->is_string() ? Address::parse(v->get<std::string>()) : std::nullopt;
    if (!a) return bad(key, "must be a 10-digit hex ZeroTier address"), Address{};
    return *a;
  }
  std::array<uint8_t, 6> mac(const char* key) {
    const json* v = find(key);
    if (!v) return {};
    std::string text = v->is_string() ? v->get<std::string>() : "";
    std::erase(text, ':');
    auto raw = fromHex(text);
    std::array<uint8_t, 6> out{};
    if (!raw || raw->size() != 6) return bad(key, "must be a MAC address like 02:11:22:33:44:55"), out;
    std::memcpy(out.data(), raw->data(), 6);
    return out;
  }
  InetAddress prefix(const char* key, InetAddress::Family family) {
    const json* v = find(key);
    if (!v) return {};
    std::string text = v->is_string() ? v->get<std::string>() : "";
    bool v4 = family == InetAddress::Family::V4;
    auto ip = InetAddress::parse(text);
    unsigned maxBits = v4 ? 32 : 128;
    if (!ip || ip->family != family || ip->port > maxBits)
      return bad(key, std::string("must be an ") + (v4 ? "IPv4" : "IPv6") + " address with an optional /bits (0.." +
                          std::to_string(maxBits) + ")"),
             InetAddress{};
    if (text.find('/') == std::string::npos) ip->port = uint16_t(maxBits);
    return *ip;
  }
  uint64_t hexOrNumber(const char* key) {
    const json* v = find(key);
    if (!v) return 0;
    if (v->is_string()) {
      if (auto n = parseHexNumber(v->get<std::string>()); n && v->get<std::string>()[0] != '-') return *n;
      return bad(key, "must be up to 16 hex digits");
    }
    return number(key, UINT64_MAX);
  }
  bool present(const char* key) const {
    auto it = j_.find(key);
    return it != j_.end() && !it->is_null();
  }

 private:
  const json* find(const char* key) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return bad(key, "is missing"), nullptr;
    return &*it;
  }
  uint64_t bad(const char* key, const std::string& what) {
    if (error_.empty()) error_ = type_ + ": field '" + key + "' " + what;
    return 0;
  }

  const json& j_;
  std::string type_;
  std::string error_;
};

void readJsonValue(JsonFields& f, Rule& rule) {
  RuleType t = rule.type;
  if (isCopyAction(t)) {
    rule.address = f.address("address");
    rule.actionFlags = uint32_t(f.number("flags", UINT32_MAX));
    rule.copyLength = uint16_t(f.number("length", UINT16_MAX));
  } else if (isZeroTierMatch(t)) {
    rule.address = f.address("zt");
  } else if (t == T::MatchVlanId) {
    rule.vlanId = uint16_t(f.number("vlanId", UINT16_MAX));
  } else if (t == T::MatchVlanPcp) {
    rule.vlanPcp = uint8_t(f.number("vlanPcp", UINT8_MAX));
  } else if (t == T::MatchVlanDei) {
    rule.vlanDei = uint8_t(f.number("vlanDei", UINT8_MAX));
  } else if (isMacMatch(t)) {
    rule.mac = f.mac("mac");
  } else if (isIpv4Match(t) || isIpv6Match(t)) {
    rule.ip = f.prefix("ip", isIpv4Match(t) ? InetAddress::Family::V4 : InetAddress::Family::V6);
  } else if (t == T::MatchIpTos) {
    rule.tosMask = uint8_t(f.number("mask", UINT8_MAX));
    rule.rangeStart = uint16_t(f.number("start", UINT8_MAX));
    rule.rangeEnd = uint16_t(f.number("end", UINT8_MAX));
  } else if (t == T::MatchIpProtocol) {
    rule.ipProtocol = uint8_t(f.number("ipProtocol", UINT8_MAX));
  } else if (t == T::MatchEthertype) {
    rule.etherType = uint16_t(f.number("etherType", UINT16_MAX));
  } else if (t == T::MatchIcmp) {
    rule.icmpType = uint8_t(f.number("icmpType", UINT8_MAX));
    if (f.present("icmpCode")) {
      rule.icmpCode = uint8_t(f.number("icmpCode", UINT8_MAX));
      rule.icmpFlags = kIcmpMatchCode;
    }
  } else if (isRangeMatch(t)) {
    rule.rangeStart = uint16_t(f.number("start", UINT16_MAX));
    rule.rangeEnd = uint16_t(f.number("end", UINT16_MAX));
  } else if (t == T::MatchCharacteristics) {
    rule.characteristics = f.hexOrNumber("mask");
  } else if (t == T::MatchRandom) {
    rule.probability = uint32_t(f.number("probability", UINT32_MAX));
  } else if (isTagMatch(t)) {
    rule.tagId = uint32_t(f.number("id", UINT32_MAX));
    rule.tagValue = uint32_t(f.number("value", UINT32_MAX));
  } else if (t == T::MatchIntegerRange) {
    rule.integerStart = f.number("start", UINT64_MAX);
    rule.integerEnd = f.number("end", UINT64_MAX);
    rule.integerIndex = uint16_t(f.number("idx", UINT16_MAX));
    uint64_t bits = f.number("bits", 64, 1);
    rule.integerFormat = uint8_t((f.flag("little") ? kIntegerRangeLittleEndian : 0) | ((bits - 1) & 63));
  }
}

}  // namespace

const char* ruleTypeName(RuleType type) {
  const TypeInfo* info = infoOf(type);
  return info ? info->name : nullptr;
}

Result<Rule> readRule(Reader& r) {
  uint8_t typeByte = r.u8();
  uint8_t length = r.u8();
  ByteView value = r.bytes(length);
  if (r.failed()) return fail("rule truncated");
  Rule rule;
  rule.type = RuleType(typeByte & kRuleTypeMask);
  if (!isAction(rule.type)) {
    rule.negate = typeByte & kRuleNotBit;
    rule.orWith = typeByte & kRuleOrBit;
  }
  const TypeInfo* info = infoOf(rule.type);
  if (!info) return rule;  // unknown: value skipped
  if (length < info->valueLength)
    return fail(std::string(info->name) + " rule has a " + std::to_string(length) + "-byte value, needs " +
                std::to_string(info->valueLength));
  Reader v(value);
  readValue(v, rule);
  return rule;
}

void writeRule(Writer& w, const Rule& rule) {
  uint8_t typeByte = uint8_t(rule.type) & kRuleTypeMask;
  if (!isAction(rule.type)) typeByte |= (rule.negate ? kRuleNotBit : 0) | (rule.orWith ? kRuleOrBit : 0);
  const TypeInfo* info = infoOf(rule.type);
  w.u8(typeByte).u8(info ? info->valueLength : 0);
  writeValue(w, rule);
}

Result<std::vector<Rule>> parseRules(ByteView data, size_t maxRules) {
  Reader r(data);
  std::vector<Rule> rules;
  while (r.remaining() > 0 && rules.size() < maxRules) {
    auto rule = readRule(r);
    if (!rule) return fail("rule " + std::to_string(rules.size()) + ": " + rule.error());
    rules.push_back(*rule);
  }
  return rules;
}

Result<std::vector<Rule>> readRules(Reader& r, size_t count) {
  std::vector<Rule> rules;
  for (size_t i = 0; i < count; ++i) {
    auto rule = readRule(r);
    if (!rule) return fail("rule " + std::to_string(i) + ": " + rule.error());
    rules.push_back(*rule);
  }
  return rules;
}

void writeRules(Writer& w, std::span<const Rule> rules) {
  for (const Rule& rule : rules) writeRule(w, rule);
}

Bytes encodeRules(std::span<const Rule> rules) {
  Writer w;
  writeRules(w, rules);
  return w.take();
}

json ruleToJson(const Rule& rule) {
  RuleType t = rule.type;
  const TypeInfo* info = infoOf(t);
  json j = {{"type", info ? info->name : kUnknownTypeName}};
  if (!info) j["ruleType"] = uint8_t(t);
  if (!isAction(t)) {
    j["not"] = rule.negate;
    j["or"] = rule.orWith;
  }
  if (isCopyAction(t)) {
    j["address"] = rule.address.toString();
    j["flags"] = rule.actionFlags;
    j["length"] = rule.copyLength;
  } else if (isZeroTierMatch(t)) {
    j["zt"] = rule.address.toString();
  } else if (t == T::MatchVlanId) {
    j["vlanId"] = rule.vlanId;
  } else if (t == T::MatchVlanPcp) {
    j["vlanPcp"] = rule.vlanPcp;
  } else if (t == T::MatchVlanDei) {
    j["vlanDei"] = rule.vlanDei;
  } else if (isMacMatch(t)) {
    j["mac"] = macText(rule.mac.data());
  } else if (isIpv4Match(t) || isIpv6Match(t)) {
    j["ip"] = rule.ip.toString();
  } else if (t == T::MatchIpTos) {
    j["mask"] = rule.tosMask;
    j["start"] = rule.rangeStart;
    j["end"] = rule.rangeEnd;
  } else if (t == T::MatchIpProtocol) {
    j["ipProtocol"] = rule.ipProtocol;
  } else if (t == T::MatchEthertype) {
    j["etherType"] = rule.etherType;
  } else if (t == T::MatchIcmp) {
    j["icmpType"] = rule.icmpType;
    j["icmpCode"] = (rule.icmpFlags & kIcmpMatchCode) ? json(rule.icmpCode) : json(nullptr);
  } else if (isRangeMatch(t)) {
    j["start"] = rule.rangeStart;
    j["end"] = rule.rangeEnd;
  } else if (t == T::MatchCharacteristics) {
    j["mask"] = hex64(rule.characteristics);
  } else if (t == T::MatchRandom) {
    j["probability"] = rule.probability;
  } else if (isTagMatch(t)) {
    j["id"] = rule.tagId;
    j["value"] = rule.tagValue;
  } else if (t == T::MatchIntegerRange) {
    j["start"] = rule.integerStart;
    j["end"] = rule.integerEnd;
    j["idx"] = rule.integerIndex;
    j["little"] = bool(rule.integerFormat & kIntegerRangeLittleEndian);
    j["bits"] = (rule.integerFormat & 63) + 1;
  }
  return j;
}

json rulesToJson(std::span<const Rule> rules) {
  json out = json::array();
  for (const Rule& rule : rules) out.push_back(ruleToJson(rule));
  return out;
}

Result<Rule> ruleFromJson(const json& j) {
  if (!j.is_object()) return fail("a rule must be a JSON object");
  auto typeIt = j.find("type");
  if (typeIt == j.end() || !typeIt->is_string()) return fail("a rule needs a string field 'type'");
  std::string typeName = typeIt->get<std::string>();
  JsonFields fields(j, typeName);
  Rule rule;
  if (const TypeInfo* info = infoNamed(typeName)) {
    rule.type = info->type;
  } else if (typeName == kUnknownTypeName) {
    uint64_t n = fields.number("ruleType", kRuleTypeMask);
    if (fields.error().empty() && infoOf(RuleType(n)))
      return fail("UNKNOWN: ruleType " + std::to_string(n) + " is " + ruleTypeName(RuleType(n)));
    rule.type = RuleType(n);
  } else {
    return fail("unknown rule type '" + typeName + "'");
  }
  if (!isAction(rule.type)) {
    rule.negate = fields.flag("not");
    rule.orWith = fields.flag("or");
  }
  readJsonValue(fields, rule);
  if (!fields.error().empty()) return fail(fields.error());
  return rule;
}

Result<std::vector<Rule>> rulesFromJson(const json& j, InvalidRules policy) {
  if (!j.is_array()) return fail("rules must be a JSON array");
  std::vector<Rule> rules;
  for (size_t i = 0; i < j.size(); ++i) {
    auto rule = ruleFromJson(j[i]);
    if (rule) {
      rules.push_back(*rule);
    } else if (policy == InvalidRules::Strict) {
      return fail("rule " + std::to_string(i) + ": " + rule.error());
    }
  }
  return rules;
}

}  // namespace zt
