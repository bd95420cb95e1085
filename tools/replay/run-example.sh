#!/usr/bin/env bash
# Replays the example golden set (tools/replay/golden/example.jsonl) against two simulated vLLMs on loopback:
# a clean "fp16" baseline and an "int4" candidate whose slippage is confined to slices (schemas nested 3+
# levels, 5+ tools, prompts over 8k tokens; tools/vllm-sim/profiles/int4-slippage.yaml). The simulators use
# the profiles generated beside the golden set (the shipped ones, told which prompts are harmful).
# Prints the Markdown report and exits with slipway-replay's status (1: a slice regressed).
#
#   tools/replay/run-example.sh [BUILD_DIR] [extra slipway-replay options...]     (BUILD_DIR default: build)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$src/build}" && pwd)"
shift || true
sim="$build/vllm-sim"
replay="$build/slipway-replay"
for b in "$sim" "$replay"; do
  [[ -x "$b" ]] || { echo "run-example.sh: $b not built (ninja -C $build vllm-sim slipway-replay)" >&2; exit 2; }
done

logs="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$logs"; }
trap cleanup EXIT

# The simulators start in this shell (not in a $(...) subshell) so that their pids reach the cleanup trap.
"$sim" --port 0 --model example --name baseline --profile "$here/golden/sim-baseline.yaml" \
  >"$logs/baseline.out" 2>"$logs/baseline.err" &
pids+=($!)
"$sim" --port 0 --model example --name candidate --profile "$here/golden/sim-candidate.yaml" \
  >"$logs/candidate.out" 2>"$logs/candidate.err" &
pids+=($!)
port_of() {  # name -> the port from its listening line
  for _ in $(seq 200); do
    if grep -q '"listening"' "$logs/$1.out" 2>/dev/null; then sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$logs/$1.out"; return; fi
    sleep 0.05
  done
  echo "run-example.sh: the $1 simulator did not start: $(cat "$logs/$1.err")" >&2
  return 1
}
baseline_port="$(port_of baseline)"
candidate_port="$(port_of candidate)"

set +e
cd "$src"   # the report names the golden file by its path in the repository
"$replay" --golden tools/replay/golden/example.jsonl --baseline "http://127.0.0.1:$baseline_port" \
  --candidate "http://127.0.0.1:$candidate_port" --concurrency 8 "$@"
status=$?
set -e
exit $status
