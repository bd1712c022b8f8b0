// VL2 network-config content layer against the 1.14 captures (session/ and rich/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "vl2/dictionary.hpp"
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

std::vector<fs::path> netconfDicts() {
  std::vector<fs::path> out;
  for (const char* capture : {"session", "rich"})
    for (const auto& e : fs::directory_iterator(kVectors / capture))
      if (e.path().filename().string().starts_with("netconf-")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

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

}  // namespace
}  // namespace zt
