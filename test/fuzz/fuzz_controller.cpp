// The network controller under arbitrary input: request metadata, API record JSON, and whatever a
// host's store hands back. It must never crash; bad input is an error value or a refusal.
#include <cstddef>
#include <cstdint>

#include "controller/controller.hpp"

namespace {

using nlohmann::json;

constexpr uint64_t kNow = 1795558785500;

struct Fixture {
  zt::Identity controller = zt::Identity::generate();
  zt::Identity member = zt::Identity::generate();
  uint64_t nwid = controller.address().value << 24 | 0xc0ffee;

  json network() const {
    return {{"id", zt::hex64(nwid)},
            {"private", true},
            {"v4AssignMode", {{"zt", true}}},
            {"v6AssignMode", {{"zt", true}, {"rfc4193", true}, {"6plane", true}}},
            {"ipAssignmentPools", {{{"ipRangeStart", "10.0.0.1"}, {"ipRangeEnd", "10.0.0.9"}},
                                   {{"ipRangeStart", "fd00::10"}, {"ipRangeEnd", "fd00::ff"}}}},
            {"routes", {{{"target", "10.0.0.0/24"}}, {{"target", "fd00::/64"}}}},
            {"tags", {{{"id", 1}, {"default", 2}}}},
            {"capabilities", {{{"id", 7}, {"default", true}, {"rules", {{{"type", "ACTION_ACCEPT"}}}}}}}};
  }
  json memberRecord() const {
    return {{"nwid", zt::hex64(nwid)}, {"id", member.address().toString()}, {"authorized", true}};
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

// Fills `fields` with the fuzzer's JSON, keeping the ids so the record reaches the controller.
json withIds(json fields, const json& ids) {
  if (!fields.is_object()) return fields;
  for (const auto& [key, value] : ids.items())
    if (key == "id" || key == "nwid") fields[key] = value;
  return fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Fixture& f = fixture();
  zt::MemoryControllerStore store;
  zt::NetworkController ctl(f.controller, store, [n = uint64_t(size)]() mutable { return n = n * 6364136223846793005ULL + 1; });
  const uint8_t mode = data[0] % 4;
  zt::ByteView input(data + 1, size - 1);
  json parsed = json::parse(input.begin(), input.end(), nullptr, false);

  switch (mode) {
    case 0:  // metadata dictionaries
      (void)ctl.setNetwork(kNow, f.network());
      (void)ctl.setMember(kNow, f.memberRecord());
      (void)ctl.handleRequest(kNow, f.member, f.nwid, input, 1, {});
      (void)ctl.handleRequest(kNow + 2000, f.member, f.nwid, input, 0, {});
      break;
    case 1:  // API network fields
      (void)ctl.handleRequest(kNow, f.member, f.nwid, {}, 1, {});
      (void)ctl.setNetwork(kNow, withIds(parsed, f.network()));
      (void)ctl.setMember(kNow, f.memberRecord());
      (void)ctl.setNetwork(kNow + 1, parsed);
      (void)ctl.handleRequest(kNow + 2000, f.member, f.nwid, {}, 2, {});
      break;
    case 2:  // API member fields
      (void)ctl.setNetwork(kNow, f.network());
      (void)ctl.handleRequest(kNow, f.member, f.nwid, {}, 1, {});
      (void)ctl.setMember(kNow, withIds(parsed, f.memberRecord()));
      (void)ctl.handleRequest(kNow + 2000, f.member, f.nwid, {}, 2, {});
      (void)ctl.memberStatus(kNow, f.nwid);
      (void)ctl.deleteMember(kNow, f.nwid, f.member.address());
      break;
    default:  // whatever the host's store returns, unvalidated
      store.saveNetwork(withIds(parsed, f.network()));
      store.saveMember(withIds(parsed, f.memberRecord()));
      (void)ctl.handleRequest(kNow, f.member, f.nwid, {}, 1, {});
      (void)ctl.memberStatus(kNow, f.nwid);
      (void)ctl.deleteNetwork(kNow, f.nwid);
      break;
  }
  return 0;
}
