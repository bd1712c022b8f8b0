// Running work inside another network namespace. setns() changes only the calling thread, and
// sockets, TAP fds and netlink sockets stay bound to the namespace they were created in, so we
// create them on a short-lived thread that entered the namespace and use them from any thread.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "io/fd.hpp"

namespace zt::io {

// Opens a namespace handle from a path such as /var/run/netns/<name> or /proc/<pid>/ns/net.
Result<UniqueFd> openNetns(const std::string& path);

// Runs fn on a fresh thread that first entered the namespace (empty path: the caller's own
// namespace, run inline). Fails only if the namespace cannot be entered.
Result<bool> runInNetns(const std::string& path, const std::function<void()>& fn);

// runInNetns for work that itself returns a Result.
template <class T>
Result<T> inNetns(const std::string& path, const std::function<Result<T>()>& fn) {
  std::optional<Result<T>> out;
  Result<bool> entered = runInNetns(path, [&] { out.emplace(fn()); });
  if (!entered) return Error{entered.error()};
  return std::move(*out);
}

}  // namespace zt::io
