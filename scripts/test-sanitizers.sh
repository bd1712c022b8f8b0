#!/usr/bin/env bash
# Builds core_tests with gcc under AddressSanitizer + UndefinedBehaviorSanitizer (Debug, build-asan)
# and runs it; any sanitizer report fails the run. Usage: scripts/test-sanitizers.sh [gtest args]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-asan"

cmake -S "$root" -B "$build" -G Ninja -DZT_TESTS=ON -DCMAKE_BUILD_TYPE=Debug \
  -DZT_SANITIZE=address,undefined -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
ninja -C "$build" -j2 core_tests

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
"$build/core_tests" "$@"
