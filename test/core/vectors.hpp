// Reading the interop vectors (../shared/vectors/zt-1.14, passed in as ZT_VECTORS) in tests.
#pragma once
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/identity.hpp"

namespace zt::test {

inline const std::filesystem::path kVectors = ZT_VECTORS;

inline Bytes readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline nlohmann::json readJson(const std::filesystem::path& path) {
  return nlohmann::json::parse(std::ifstream(path));
}

// An identity file's text form, trailing whitespace ignored; a parse failure fails the test.
inline Identity readIdentity(const std::filesystem::path& path) {
  Bytes raw = readFile(path);
  std::string text(raw.begin(), raw.end());
  while (!text.empty() && std::isspace(uint8_t(text.back()))) text.pop_back();
  auto id = Identity::fromString(text);
  EXPECT_TRUE(id) << path << ": " << id.error();
  return *id;
}

}  // namespace zt::test
