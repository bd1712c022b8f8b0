// Byte containers, hex text, and bounds-checked big-endian readers/writers shared by every codec.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zt {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

std::string toHex(ByteView data);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<Bytes> fromHex(std::string_view text);
// 1 to 16 hex digits (either case) as a number; nullopt otherwise.
std::optional<uint64_t> parseHex64(std::string_view text);

inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Cursor over untrusted input. Every read past the end sets failed() and yields zeros, so a codec
// can read a whole structure and check failed() once at the end: it never reads out of bounds.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u40();
  uint64_t u64();
  // A view of the next n bytes (empty and failed() if fewer remain).
  ByteView bytes(size_t n);
  template <size_t N>
  std::array<uint8_t, N> array() {
    std::array<uint8_t, N> out{};
    ByteView b = bytes(N);
    if (b.size() == N) std::memcpy(out.data(), b.data(), N);
    return out;
  }
  void skip(size_t n) { bytes(n); }
  ByteView rest() { return bytes(remaining()); }
  size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool failed() const { return failed_; }
  bool atEnd() const { return !failed_ && pos_ == data_.size(); }
  void fail() { failed_ = true; }

 private:
  ByteView data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// Appends big-endian fields to a growable buffer.
class Writer {
 public:
  Writer() = default;
  explicit Writer(Bytes initial) : out_(std::move(initial)) {}
  Writer& u8(uint8_t v);
  Writer& u16(uint16_t v);
  Writer& u32(uint32_t v);
  Writer& u40(uint64_t v);
  Writer& u64(uint64_t v);
  Writer& bytes(ByteView v);
  // Overwrites a 16-bit field already written at offset (for lengths known only later).
  void patchU16(size_t offset, uint16_t v);
  size_t size() const { return out_.size(); }
  const Bytes& data() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

inline uint16_t loadU16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint64_t loadU40(const uint8_t* p) {
  return uint64_t(p[0]) << 32 | uint64_t(p[1]) << 24 | uint64_t(p[2]) << 16 | uint64_t(p[3]) << 8 | p[4];
}
inline uint64_t loadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
inline void storeU16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void storeU40(uint8_t* p, uint64_t v) {
  for (int i = 4; i >= 0; --i, v >>= 8) p[i] = uint8_t(v);
}
inline void storeU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = uint8_t(v);
}

// Inline: every packet read goes through these.
inline ByteView Reader::bytes(size_t n) {
  if (failed_ || data_.size() - pos_ < n) {
    failed_ = true;
    return {};
  }
  ByteView out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

inline uint8_t Reader::u8() {
  ByteView b = bytes(1);
  return b.empty() ? 0 : b[0];
}
inline uint16_t Reader::u16() {
  ByteView b = bytes(2);
  return b.empty() ? 0 : loadU16(b.data());
}
inline uint32_t Reader::u32() {
  ByteView b = bytes(4);
  return b.empty() ? 0 : uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
}
inline uint64_t Reader::u40() {
  ByteView b = bytes(5);
  return b.empty() ? 0 : loadU40(b.data());
}
inline uint64_t Reader::u64() {
  ByteView b = bytes(8);
  return b.empty() ? 0 : loadU64(b.data());
}

// Inline: every packet built goes through these, a dozen fields per packet.
inline Writer& Writer::bytes(ByteView v) {
  out_.insert(out_.end(), v.begin(), v.end());
  return *this;
}
inline Writer& Writer::u8(uint8_t v) {
  out_.push_back(v);
  return *this;
}
inline Writer& Writer::u16(uint16_t v) {
  uint8_t b[2];
  storeU16(b, v);
  return bytes(b);
}
inline Writer& Writer::u40(uint64_t v) {
  uint8_t b[5];
  storeU40(b, v);
  return bytes(b);
}
inline Writer& Writer::u64(uint64_t v) {
  uint8_t b[8];
  storeU64(b, v);
  return bytes(b);
}

}  // namespace zt
