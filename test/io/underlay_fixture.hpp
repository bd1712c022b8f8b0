// A physical underlay for tests: a namespace holding a Linux bridge and, for each host, a
// namespace joined to it by a veth pair with 198.18.0.<n>/24 on its eth0. No default routes.
// Deleting the bridge namespace deletes every veth with it; each host namespace is a ScopedNetns.
#pragma once
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "netns_fixture.hpp"

namespace zt::test {

class BridgedUnderlay {
 public:
  explicit BridgedUnderlay(const std::string& tag) : tag_(tag), bridge_(tag + "-br") {
    ok_ = run("ip -n " + bridge_.name() + " link add br0 type bridge") &&
          run("ip -n " + bridge_.name() + " link set br0 up");
    if (!ok_) error_ = "cannot create the bridge in " + bridge_.name();
  }

  // A host namespace at 198.18.0.<n>; false (and error()) if any step failed.
  bool addHost(const std::string& name, int n) {
    auto ns = std::make_unique<ScopedNetns>(tag_ + "-" + name);
    const std::string veth = "v" + std::to_string(n), br = "ip -n " + bridge_.name() + " ",
                      host = "ip -n " + ns->name() + " ";
    for (const std::string& command :
         {br + "link add " + veth + " type veth peer name eth0 netns " + ns->name(),
          br + "link set " + veth + " master br0 up", host + "addr add " + address(n) + "/24 dev eth0",
          host + "link set eth0 up"}) {
      if (!run(command)) {
        ok_ = false;
        error_ = "failed: " + command;
        return false;
      }
    }
    hosts_[name] = std::move(ns);
    return true;
  }

  static std::string address(int n) { return "198.18.0." + std::to_string(n); }
  const ScopedNetns& host(const std::string& name) const { return *hosts_.at(name); }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  static bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

  std::string tag_;
  ScopedNetns bridge_;
  std::map<std::string, std::unique_ptr<ScopedNetns>> hosts_;
  bool ok_ = true;
  std::string error_;
};

}  // namespace zt::test
