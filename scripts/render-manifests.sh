#!/usr/bin/env bash
# Renders manifests/install.yaml from the chart with its default values, for `kubectl apply`
# users: the namespace, the CRD, then everything the chart installs. test/k8s/manifests.test.ts
# fails when the file is out of date with the chart. Usage: scripts/render-manifests.sh [OUTPUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-manifests/install.yaml}
helm=${HELM:-${ZTKUBE_TOOLS:-$HOME/.cache/ztkube}/bin/helm}
{
  echo "# ztkube install manifest, rendered from charts/ztkube with its default values by"
  echo "# scripts/render-manifests.sh (do not edit): kubectl apply --server-side -f manifests/install.yaml"
  printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ztkube-system\n'
  "$helm" template ztkube charts/ztkube --namespace ztkube-system --include-crds
} >"$out"
