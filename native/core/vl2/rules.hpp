// Network rules (vl2-frames-multicast-rules.md §5.1): the wire codec of a rule list and the JSON
// form 1.14's controller records in its network objects (`type`, `not`, `or`, per-type fields).
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "address.hpp"
#include "inet_address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt {

// The low 6 bits of a rule's type byte. Values 0-15 are actions, 16-63 matches; values without a
// name here (reserved actions 7-15, matches 16-23 and 52-63) are carried as unknown rules.
enum class RuleType : uint8_t {
  ActionDrop = 0, ActionAccept = 1, ActionTee = 2, ActionWatch = 3, ActionRedirect = 4,
  ActionBreak = 5, ActionPriority = 6,
  MatchSourceZeroTierAddress = 24, MatchDestZeroTierAddress = 25, MatchVlanId = 26,
  MatchVlanPcp = 27, MatchVlanDei = 28, MatchMacSource = 29, MatchMacDest = 30,
  MatchIpv4Source = 31, MatchIpv4Dest = 32, MatchIpv6Source = 33, MatchIpv6Dest = 34,
  MatchIpTos = 35, MatchIpProtocol = 36, MatchEthertype = 37, MatchIcmp = 38,
  MatchIpSourcePortRange = 39, MatchIpDestPortRange = 40, MatchCharacteristics = 41,
  MatchFrameSizeRange = 42, MatchRandom = 43, MatchTagsDifference = 44, MatchTagsBitwiseAnd = 45,
  MatchTagsBitwiseOr = 46, MatchTagsBitwiseXor = 47, MatchTagsEqual = 48, MatchTagSender = 49,
  MatchTagReceiver = 50, MatchIntegerRange = 51,
};

constexpr uint8_t kRuleNotBit = 0x80, kRuleOrBit = 0x40, kRuleTypeMask = 0x3f;
constexpr size_t kMaxNetworkRules = 1024, kMaxCapabilityRules = 64;
constexpr uint8_t kIcmpMatchCode = 0x01;        // MATCH_ICMP flags: also compare the code
constexpr uint8_t kIntegerRangeLittleEndian = 0x80;  // MATCH_INTEGER_RANGE format bit 7

// "ACTION_DROP", "MATCH_ETHERTYPE", …; nullptr for a type without a name.
const char* ruleTypeName(RuleType type);
inline bool isAction(RuleType type) { return uint8_t(type) <= 15; }

// One rule. Only the fields of its type are meaningful (see the table in the frames spec §5.1);
// the others stay zero so rules compare by value.
struct Rule {
  RuleType type = RuleType::ActionDrop;
  bool negate = false;  // NOT bit (matches only)
  bool orWith = false;  // OR bit (matches only)

  Address address;              // ZeroTier address matches; TEE/WATCH/REDIRECT target
  uint32_t actionFlags = 0;     // TEE/WATCH/REDIRECT
  uint16_t copyLength = 0;      // TEE/WATCH/REDIRECT
  uint16_t vlanId = 0;
  uint8_t vlanPcp = 0, vlanDei = 0;
  std::array<uint8_t, 6> mac{};
  InetAddress ip;               // IPv4/IPv6 source/dest; port = prefix length
  uint8_t tosMask = 0;
  uint16_t rangeStart = 0, rangeEnd = 0;  // IP_TOS (8-bit), port and frame-size ranges
  uint8_t ipProtocol = 0;
  uint16_t etherType = 0;
  uint8_t icmpType = 0, icmpCode = 0, icmpFlags = 0;
  uint64_t characteristics = 0;
  uint32_t probability = 0;
  uint32_t tagId = 0, tagValue = 0;  // TAGS_* and TAG_SENDER/RECEIVER
  uint64_t integerStart = 0, integerEnd = 0;  // INTEGER_RANGE; end absolute, inclusive
  uint16_t integerIndex = 0;
  uint8_t integerFormat = 0;           // bit 7 little-endian, bits 0-5 = bit width - 1

  bool operator==(const Rule&) const = default;
};

// Wire form. readRule fails on truncation or a value too short for its type; longer values are
// skipped past the fields we know. writeRule emits exactly the lengths of the table.
Result<Rule> readRule(Reader& r);
void writeRule(Writer& w, const Rule& rule);
// A whole `R` value: rules until the end of data, at most maxRules (extra ones are ignored).
Result<std::vector<Rule>> parseRules(ByteView data, size_t maxRules = kMaxNetworkRules);
// `count` rules (a capability's list).
Result<std::vector<Rule>> readRules(Reader& r, size_t count);
void writeRules(Writer& w, std::span<const Rule> rules);
Bytes encodeRules(std::span<const Rule> rules);

// JSON form. Actions carry no `not`/`or`; matches always do. Rules of unnamed types become
// {"type": "UNKNOWN", "ruleType": n, "not", "or"} so they survive a round trip.
nlohmann::json ruleToJson(const Rule& rule);
nlohmann::json rulesToJson(std::span<const Rule> rules);
// Accepts what 1.14's controller accepts and records: `not`/`or` optional (false), numbers as
// JSON numbers, `zt`/`address` 10 hex digits, `mac` "xx:xx:xx:xx:xx:xx", `ip` "addr/bits"
// (no bits: a host prefix), `mask` of CHARACTERISTICS as hex text or a number, `icmpCode` null
// or absent for "any code", MATCH_INTEGER_RANGE as {start, end, idx, little, bits}. Errors name
// the rule's type and the bad field.
Result<Rule> ruleFromJson(const nlohmann::json& json);
// Strict fails on the first invalid rule (its index in the message); DropInvalid skips invalid
// rules as 1.14's controller does (its `rich` network kept 44 of the 45 requested).
enum class InvalidRules { Strict, Drop };
Result<std::vector<Rule>> rulesFromJson(const nlohmann::json& json, InvalidRules policy = InvalidRules::Strict);

}  // namespace zt
