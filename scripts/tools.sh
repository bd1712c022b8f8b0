#!/usr/bin/env bash
# Builds the Go programs the tests and benchmarks need from Go modules (no prebuilt downloads) and
# caches them in ${ZTKUBE_TOOLS:-~/.cache/ztkube}/bin. Usage: scripts/tools.sh [wireguard|k8s|all|promtool]...
set -euo pipefail

CACHE=${ZTKUBE_TOOLS:-$HOME/.cache/ztkube}
BIN=$CACHE/bin
K8S_VERSION=v1.31.14
ETCD_VERSION=v3.5.35
HELM_VERSION=v3.16.4
CNI_VERSION=v1.3.0
CNI_PLUGINS_VERSION=v1.6.2
WIREGUARD_GO_VERSION=v0.0.0-20260522210424-ecfc5a8d5446
PROMETHEUS_OPERATOR_VERSION=v0.85.0
PROMETHEUS_VERSION=v0.316.0  # the Go module version of Prometheus 3.16.0
mkdir -p "$BIN"

have() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }
mark() { echo "$2" >"$BIN/.$1.version"; }
say() { echo "tools: $*" >&2; }

wireguard() {
  have wireguard-go "$WIREGUARD_GO_VERSION" && return
  say "building wireguard-go $WIREGUARD_GO_VERSION"
  local dir; dir=$(mktemp -d)
  (cd "$dir" && go mod init ztkube-tools/wg >/dev/null 2>&1 &&
    go get "golang.zx2c4.com/wireguard@$WIREGUARD_GO_VERSION" >/dev/null 2>&1 &&
    go build -trimpath -o "$BIN/wireguard-go" golang.zx2c4.com/wireguard)
  rm -rf "$dir"
  mark wireguard-go "$WIREGUARD_GO_VERSION"
}

# The newest release of a staging module up to the wanted one: the module proxy reachable here
# lacks some patch releases of the less used staging modules.
staging_version() {
  local want=$2
  go list -m -versions "$1" 2>/dev/null | tr ' ' '\n' | grep "^${want%.*}\." |
    awk -F. -v max="${want##*.}" '$3 + 0 <= max + 0' | sort -t. -k3 -n | tail -1 || true
}

# k8s.io/kubernetes is built as a dependency of a wrapper module that replaces each staging module
# (which its own go.mod points at ./staging) with the matching v0.x release.
kubernetes() {
  have kube-apiserver "$K8S_VERSION" && have kube-controller-manager "$K8S_VERSION" &&
    have kube-scheduler "$K8S_VERSION" && return
  say "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION (a few minutes)"
  local dir staging minor gomod
  dir=$CACHE/src/kubernetes-$K8S_VERSION
  mkdir -p "$dir"
  minor=${K8S_VERSION#v1.}
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | sort -u)
  {
    echo "module ztkube-tools/kubernetes"
    echo "go 1.22"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    for m in $staging; do
      local v; v=$(staging_version "$m" "v0.$minor")
      if [ -n "$v" ]; then echo "replace $m => $m $v"; fi
    done
  } >"$dir/go.mod"
  # The tools-file idiom keeps the commands' packages (and so k8s.io/kubernetes) in go.mod.
  printf '//go:build tools\n\npackage tools\n\nimport (\n' >"$dir/tools.go"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd" >>"$dir/tools.go"
  done
  echo ')' >>"$dir/tools.go"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$dir" && go mod tidy &&
    for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
      go build -trimpath -ldflags "$ldflags" -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd"
      mark "$cmd" "$K8S_VERSION"
    done)
}

etcd() {
  have etcd "$ETCD_VERSION" && return
  say "building etcd $ETCD_VERSION"
  local dir=$CACHE/src/etcd-$ETCD_VERSION
  mkdir -p "$dir"
  cat >"$dir/main.go" <<'GO'
// etcd's own entry point, built from the go.etcd.io/etcd/server/v3 module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  printf 'module ztkube-tools/etcd\ngo 1.22\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >/dev/null && go build -trimpath -o "$BIN/etcd" .)
  mark etcd "$ETCD_VERSION"
}

goinstall() {  # name version package@version
  have "$1" "$2" && return
  say "building $1 $2"
  GOBIN=$BIN go install "$3"
  mark "$1" "$2"
}

# The Prometheus Operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule...) as its release
# ships them in example/prometheus-operator-crd/, from the Go module: what the chart's optional
# monitoring objects are checked against. Kept in $CACHE/prometheus-operator-crd/.
prometheus_crds() {
  local dir=$CACHE/prometheus-operator-crd
  [ "$(cat "$dir/.version" 2>/dev/null)" = "$PROMETHEUS_OPERATOR_VERSION" ] && return
  say "fetching the Prometheus Operator CRDs $PROMETHEUS_OPERATOR_VERSION"
  local module
  module=$(cd "$CACHE" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
    sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$module"/example/prometheus-operator-crd/*.yaml "$dir"/
  echo "$PROMETHEUS_OPERATOR_VERSION" >"$dir/.version"
}

k8s() {
  prometheus_crds
  kubernetes
  etcd
  goinstall helm "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  goinstall cnitool "$CNI_VERSION" "github.com/containernetworking/cni/cnitool@$CNI_VERSION"
  for p in main/bridge main/loopback ipam/host-local; do
    goinstall "$(basename $p)" "$CNI_PLUGINS_VERSION" "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION"
  done
}

# Only when asked (not in `all`): even without service discovery (remove_all_sd) promtool takes
# 10 minutes or more to build on two cores. test/k8s/chart-monitoring.test.ts runs it if present.
promtool() {
  GOFLAGS=-tags=remove_all_sd goinstall promtool "$PROMETHEUS_VERSION" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
}

[ $# -gt 0 ] || set -- all
for what in "$@"; do
  case $what in
    wireguard) wireguard ;;
    k8s) k8s ;;
    all) wireguard; k8s ;;
    promtool) promtool ;;
    *) echo "usage: $0 [wireguard|k8s|all|promtool]..." >&2; exit 2 ;;
  esac
done
echo "$BIN"
