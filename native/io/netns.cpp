#include "io/netns.hpp"

#include <fcntl.h>
#include <sched.h>

#include <optional>
#include <thread>

namespace zt::io {

Result<UniqueFd> openNetns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sysError("open network namespace " + path);
  return fd;
}

Result<bool> runInNetns(const std::string& path, const std::function<void()>& fn) {
  if (path.empty()) {
    fn();
    return true;
  }
  Result<UniqueFd> ns = openNetns(path);
  if (!ns) return Error{ns.error()};
  std::optional<Error> failure;
  std::thread worker([&] {
    if (::setns(ns->get(), CLONE_NEWNET) != 0) {
      failure = sysError("enter network namespace " + path);
      return;
    }
    fn();
  });
  worker.join();
  if (failure) return *failure;
  return true;
}

}  // namespace zt::io
