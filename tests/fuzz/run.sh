#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into a build directory and runs each one in turn.
#   tests/fuzz/run.sh MINUTES                 MINUTES in all (may be fractional), split evenly
#   tests/fuzz/run.sh --seconds-per-target N  N seconds for each target (what ./test.sh uses)
#   tests/fuzz/run.sh ... TARGET...           only these targets (admission sse schema config)
# Environment: FUZZ_BUILD_DIR (default: build-fuzz in the repo), CXX_CLANG (default: clang++-14).
# The seed corpus of each target is tests/fuzz/corpus/<target> (read only); what the fuzzer finds goes to
# FUZZ_BUILD_DIR/corpus/<target>, logs to FUZZ_BUILD_DIR/logs, crash/timeout/oom inputs to
# FUZZ_BUILD_DIR/crashes (kept). Prints executions per target; exits 1 when any target failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$repo/build-fuzz}"
clang="${CXX_CLANG:-clang++-14}"

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" >&2; exit 2; }
(($#)) || usage
if [[ $1 == --seconds-per-target ]]; then
  (($# >= 2)) || usage
  per_target="$2"; shift 2; minutes=""
else
  minutes="$1"; shift
fi
targets=("$@")
((${#targets[@]})) || targets=(admission sse schema config)
[[ -n $minutes ]] && per_target=$(awk -v m="$minutes" -v n="${#targets[@]}" 'BEGIN { s = int(m * 60 / n); print (s < 1 ? 1 : s) }')

command -v "$clang" >/dev/null || { echo "fuzz: $clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$clang" \
  "${launcher[@]}" -DSLIPWAY_FUZZ=ON >/dev/null
ninja -C "$build" "${targets[@]/#/fuzz-}" >/dev/null

max_len() {
  case "$1" in
    admission) echo 16384 ;;  # request bodies: deep nesting and long arrays fit
    *) echo 8192 ;;
  esac
}
dict() {
  case "$1" in
    config) echo "$here/yaml.dict" ;;
    *) echo "$here/json.dict" ;;
  esac
}

mkdir -p "$build/logs" "$build/crashes"
failed=0
total=0
printf '%-10s %8s %14s %10s  %s\n' target seconds executions exec/s result
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log="$build/logs/$t.log"
  set +e
  "$build/tests/fuzz/fuzz-$t" "$build/corpus/$t" "$here/corpus/$t" \
    -max_total_time="$per_target" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -timeout=30 \
    -dict="$(dict "$t")" -artifact_prefix="$build/crashes/$t-" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  result=ok
  if ((rc != 0)); then
    failed=1
    result="FAILED (rc $rc): $(ls -t "$build/crashes/$t-"* 2>/dev/null | head -1), log $log"
    grep -m1 -E 'ERROR: |SUMMARY: |invariant broken' "$log" >&2 || true
  fi
  printf '%-10s %8s %14s %10s  %s\n' "$t" "$per_target" "$runs" "$((runs / (per_target > 0 ? per_target : 1)))" "$result"
done
echo "total executions: $total"
exit "$failed"
