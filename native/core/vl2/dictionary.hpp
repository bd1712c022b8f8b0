// The dictionary format of network configs and config requests (vl2-config-controller.md §4):
// `key=value` entries separated by LF, values escaped so they may hold any byte.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "util/bytes.hpp"
#include "util/result.hpp"

namespace zt {

// Hex text as dictionaries write numbers: 1-16 digits of either case, optionally after `-` (the
// two's complement of the magnitude). nullopt for anything else.
std::optional<uint64_t> parseHexNumber(std::string_view text);

class Dictionary {
 public:
  struct Entry {
    std::string key;
    Bytes value;  // unescaped
    bool operator==(const Entry&) const = default;
  };

  // Splits on unescaped LF, CR or zero bytes; empty lines are skipped. A non-empty entry
  // without `=` or with an empty key is an error.
  static Result<Dictionary> parse(ByteView text);
  // Entries in order, LF-separated, no trailing LF, values escaped (the 1.14 writer's form).
  Bytes serialize() const;

  const std::vector<Entry>& entries() const { return entries_; }
  bool contains(std::string_view key) const { return get(key) != nullptr; }
  // The first entry with this exact key, or null.
  const Bytes* get(std::string_view key) const;
  std::string getString(std::string_view key) const;  // empty when missing
  // Hex number (any digit count up to 16, optional leading `-`); `fallback` when missing or
  // empty; an error names the key when the value is not hex.
  Result<uint64_t> getNumber(std::string_view key, uint64_t fallback = 0) const;
  // `1`, `t` or `T` first means true; `fallback` when missing or empty.
  bool getBool(std::string_view key, bool fallback = false) const;

  // Setters replace the first entry with that key or append a new one (keeping key order).
  void set(std::string_view key, ByteView value);
  void setString(std::string_view key, std::string_view value) { set(key, asBytes(value)); }
  void setNumber(std::string_view key, uint64_t value);  // 16 lowercase hex digits
  void setBool(std::string_view key, bool value) { setString(key, value ? "1" : "0"); }
  void setAddress(std::string_view key, Address value) { setString(key, value.toString()); }

  bool operator==(const Dictionary&) const = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace zt
