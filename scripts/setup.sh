#!/usr/bin/env bash
# Installs what building and testing need, only where missing: Debian packages (as root, or via
# sudo) and the npm packages of package-lock.json. Run by `npm test`, `npm run demo` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ca-certificates cmake ninja-build g++ pkg-config libsodium-dev libssl-dev liblz4-dev
  libmnl-dev nlohmann-json3-dev libgtest-dev clang-14 libclang-rt-14-dev iproute2 iputils-ping python3 bc)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null; then
  echo "setup: Node.js >= 20.17 is required (package.json engines)" >&2
  exit 1
fi

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.ztkube-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi
