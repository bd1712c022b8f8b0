#include "vl2/dictionary.hpp"

#include <algorithm>

#include "vl2/text_forms.hpp"

namespace zt {
namespace {

bool endsEntry(uint8_t c) { return c == '\n' || c == '\r' || c == 0; }

uint8_t unescape(uint8_t c) {
  switch (c) {
    case 'r': return '\r';
    case 'n': return '\n';
    case '0': return 0;
    case 'e': return '=';
    default: return c;  // `\\` and any other escaped byte stand for themselves
  }
}

// The escape letter for a byte the writer must escape, or 0 for a byte written as is.
uint8_t escapeLetter(uint8_t c) {
  switch (c) {
    case 0: return '0';
    case '\r': return 'r';
    case '\n': return 'n';
    case '\\': return '\\';
    case '=': return 'e';
    default: return 0;
  }
}

}  // namespace

std::optional<uint64_t> parseHexNumber(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  std::optional<uint64_t> v = parseHex64(text);
  if (!v) return std::nullopt;
  return negative ? uint64_t(0) - *v : *v;
}

Result<Dictionary> Dictionary::parse(ByteView text) {
  Dictionary dict;
  size_t i = 0;
  while (i < text.size()) {
    if (endsEntry(text[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && text[i] != '=' && !endsEntry(text[i])) ++i;
    if (i == text.size() || text[i] != '=')
      return fail("dictionary entry at byte " + std::to_string(start) + " has no '='");
    if (i == start) return fail("dictionary entry at byte " + std::to_string(start) + " has an empty key");
    Entry entry{std::string(text.begin() + start, text.begin() + i), {}};
    for (++i; i < text.size() && !endsEntry(text[i]); ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        entry.value.push_back(unescape(text[++i]));
      } else {
        entry.value.push_back(text[i]);
      }
    }
    dict.entries_.push_back(std::move(entry));
  }
  return dict;
}

Bytes Dictionary::serialize() const {
  Bytes out;
  for (const Entry& e : entries_) {
    if (!out.empty()) out.push_back('\n');
    out.insert(out.end(), e.key.begin(), e.key.end());
    out.push_back('=');
    for (uint8_t c : e.value) {
      if (uint8_t letter = escapeLetter(c)) {
        out.push_back('\\');
        out.push_back(letter);
      } else {
        out.push_back(c);
      }
    }
  }
  return out;
}

const Bytes* Dictionary::get(std::string_view key) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  return it == entries_.end() ? nullptr : &it->value;
}

std::string Dictionary::getString(std::string_view key) const {
  const Bytes* v = get(key);
  return v ? std::string(v->begin(), v->end()) : std::string();
}

Result<uint64_t> Dictionary::getNumber(std::string_view key, uint64_t fallback) const {
  std::string text = getString(key);
  if (text.empty()) return fallback;
  if (auto v = parseHexNumber(text)) return *v;
  return fail("dictionary key '" + std::string(key) + "' is not a hex number");
}

bool Dictionary::getBool(std::string_view key, bool fallback) const {
  const Bytes* v = get(key);
  if (!v || v->empty()) return fallback;
  uint8_t c = (*v)[0];
  return c == '1' || c == 't' || c == 'T';
}

void Dictionary::set(std::string_view key, ByteView value) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it == entries_.end()) {
    entries_.push_back({std::string(key), Bytes(value.begin(), value.end())});
  } else {
    it->value.assign(value.begin(), value.end());
  }
}

void Dictionary::setNumber(std::string_view key, uint64_t value) { setString(key, hex64(value)); }

}  // namespace zt
