#!/usr/bin/env bash
# Builds every libFuzzer target in test/fuzz/ with clang-14 (build-fuzz) and runs each for a bounded
# budget from seeds generated out of the 1.14 vectors; exits non-zero if any target crashes.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: scripts/fuzz.sh            each target -runs=20000 (a short CI run)
       scripts/fuzz.sh SECONDS    each target for SECONDS seconds
       scripts/fuzz.sh -runs=N    each target for N executions
       scripts/fuzz.sh --record N each target for N executions, for bench/README.md
Runs are also capped at ZT_FUZZ_MAX_SECONDS per target (default 60, with --record 600): slow
targets report the executions they reached.
USAGE
  exit 2
}

runs=20000
maxSeconds="${ZT_FUZZ_MAX_SECONDS:-60}"
case "${1:-}" in
  "") ;;
  --record) [[ "${2:-}" =~ ^[0-9]+$ ]] || usage; runs="$2"; maxSeconds="${ZT_FUZZ_MAX_SECONDS:-600}" ;;
  -runs=*) runs="${1#-runs=}"; [[ "$runs" =~ ^[0-9]+$ ]] || usage ;;
  *) [[ "$1" =~ ^[0-9]+$ ]] || usage; runs=-1; maxSeconds="$1" ;;  # -runs=-1: unlimited
esac
budget=(-runs="$runs" -max_total_time="$maxSeconds")

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
vectors="${ZT_VECTORS:-$root/../shared/vectors/zt-1.14}"

mapfile -t targets < <(find "$root/test/fuzz" -maxdepth 1 -name '*.cpp' -printf '%f\n' | sed 's/\.cpp$//' | sort)
[[ ${#targets[@]} -gt 0 ]] || { echo "no fuzz targets in test/fuzz" >&2; exit 1; }

cmake -S "$root" -B "$build" -G Ninja -DZT_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
ninja -C "$build" -j2 "${targets[@]}"

# Seed corpora, generated from the vectors (never committed): worlds, packets (wire datagrams and
# decrypted plaintexts), network-config dictionaries, identity text forms.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
seeds="$work/seeds"
mkdir -p "$seeds"/{worlds,packets,dicts,identities}
cp "$vectors"/world/*.bin "$seeds/worlds/"
cp "$vectors"/session/*.dict "$vectors"/rich/*.dict "$seeds/dicts/"
for identity in "$vectors"/{session,rich}/*.identity.{public,secret}; do
  cp "$identity" "$seeds/identities/$(basename "$(dirname "$identity")")-$(basename "$identity")"
done
python3 - "$seeds/packets" "$vectors"/{session,rich}/session.jsonl <<'PY'
import json, sys
out, sources = sys.argv[1], sys.argv[2:]
n = 0
for source in sources:
    for line in open(source):
        record = json.loads(line)
        for field in ("wire", "reassembledHex", "plaintextHex"):
            if record.get(field):
                open(f"{out}/{n:05d}-{field}", "wb").write(bytes.fromhex(record[field]))
                n += 1
PY

seedsFor() {
  case "$1" in
    *world*) echo "$seeds/worlds" ;;
    *identity*) echo "$seeds/identities" ;;
    *dict* | *netconf* | *config* | *rule* | *credential*) echo "$seeds/dicts" ;;
    *packet* | *frag* | *armor* | *wire* | *verb* | *frame*) echo "$seeds/packets" ;;
    *) echo "$seeds"/* ;;  # unknown input kind: every seed
  esac
}

mkdir -p "$build/artifacts" "$build/logs"
rows=()
failed=0
for target in "${targets[@]}"; do
  corpus="$work/corpus-$target"
  log="$build/logs/$target.log"
  mkdir -p "$corpus"
  rm -f "$build/artifacts/$target-"*
  echo "== $target (${budget[*]})"
  start=$(date +%s.%N)
  status=0
  # shellcheck disable=SC2046  # seed directories are word-split on purpose
  "$build/$target" "${budget[@]}" -print_final_stats=1 -timeout=20 \
    -artifact_prefix="$build/artifacts/$target-" "$corpus" $(seedsFor "$target") >"$log" 2>&1 || status=$?
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$build/artifacts" -name "$target-*" | wc -l)
  if [[ $status -ne 0 ]]; then
    failed=1
    [[ $crashes -gt 0 ]] || crashes=1
    tail -40 "$log"
  fi
  rows+=("$(printf '| %s | %s | %s | %.1f |' "$target" "${executions:-?}" "$crashes" "$seconds")")
done

echo
echo "| target | executions | crashes | seconds |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "logs: $build/logs, crash inputs: $build/artifacts"
exit $failed
