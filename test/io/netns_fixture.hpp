// A named network namespace made for one test and deleted afterwards, even when the test fails.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace zt::test {

class ScopedNetns {
 public:
  explicit ScopedNetns(const std::string& tag)
      : name_("ztt-" + tag + "-" + std::to_string(::getpid())) {
    run("ip netns add " + name_);
    run("ip -n " + name_ + " link set lo up");
  }
  ~ScopedNetns() { run("ip netns delete " + name_); }
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;
  const std::string& name() const { return name_; }
  std::string path() const { return "/var/run/netns/" + name_; }
  // Output of a command run inside the namespace.
  std::string capture(const std::string& command) const {
    std::string out;
    if (FILE* f = ::popen(("ip netns exec " + name_ + " " + command + " 2>&1").c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
      ::pclose(f);
    }
    return out;
  }

 private:
  static void run(const std::string& command) { (void)std::system((command + " >/dev/null 2>&1").c_str()); }
  std::string name_;
};

}  // namespace zt::test
