#include "wire/codec_util.hpp"

#include <cstdio>

namespace zt::wire {

uint64_t readMac(Reader& r) {
  uint64_t mac = 0;
  for (uint8_t b : r.bytes(6)) mac = mac << 8 | b;
  return mac;
}

void writeMac(Writer& w, uint64_t mac) {
  uint8_t b[6];
  for (int i = 5; i >= 0; --i, mac >>= 8) b[i] = uint8_t(mac);
  w.bytes(b);
}

std::string macToString(uint64_t mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(mac >> 40 & 0xff), unsigned(mac >> 32 & 0xff),
                unsigned(mac >> 24 & 0xff), unsigned(mac >> 16 & 0xff), unsigned(mac >> 8 & 0xff), unsigned(mac & 0xff));
  return text;
}

std::string hex64(uint64_t v) {
  uint8_t b[8];
  storeU64(b, v);
  return toHex(b);
}

InetAddress readInetAddress(Reader& r) {
  Reader probe = r;
  uint8_t type = probe.u8();
  InetAddress a = InetAddress::read(r);
  if (type != 0 && type != 4 && type != 6) r.fail();
  return a;
}

MulticastGroup MulticastGroup::read(Reader& r) {
  MulticastGroup g;
  g.mac = readMac(r);
  g.adi = r.u32();
  return g;
}

void MulticastGroup::write(Writer& w) const {
  writeMac(w, mac);
  w.u32(adi);
}

nlohmann::json MulticastGroup::describe() const { return {{"mac", macToString(mac)}, {"adi", adi}}; }

GatherResults GatherResults::read(Reader& r) {
  GatherResults g;
  g.totalKnown = r.u32();
  uint16_t n = r.u16();
  for (uint16_t i = 0; i < n && !r.failed(); ++i) g.addresses.push_back(Address{r.u40()});
  return g;
}

void GatherResults::write(Writer& w) const {
  w.u32(totalKnown).u16(uint16_t(addresses.size()));
  for (const Address& a : addresses) w.u40(a.value);
}

nlohmann::json GatherResults::describe() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Address& a : addresses) list.push_back(a.toString());
  return {{"totalKnown", totalKnown}, {"addresses", list}};
}

}  // namespace zt::wire
