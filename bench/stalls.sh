#!/usr/bin/env bash
# bench/stalls.sh: where a fixed-rate run's p99 comes from. One proxy (or the simulator alone, --target direct)
# under bench/paced-load at R req/s, pinned as bench/run.sh pins (simulators and proxy on core 0, the load
# generator on core 1), N runs; for each: p50/p99/max, how much of core 0 the simulators and the proxy used,
# the proxy's CPU and involuntary context switches per request, and the stalls: requests slower than --slow-ms grouped by when they were due (a gap of 50 ms starts a new group).
#
#   bench/stalls.sh [--slipway BIN] [--sim BIN] [--target slipway|slipway-noval|nginx|haproxy|direct]
#                   [--rate R] [--seconds S] [--runs N] [--slow-ms X] [--paced BIN]
#
# Defaults: slipway, 6000 req/s (bench/run.sh's rate on this machine kind), 10 s, 3 runs, 3 ms.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
SLIPWAY_BIN=$ROOT/build-bench/slipway; SIM_BIN=$ROOT/build-bench/vllm-sim; PACED_BIN=
TARGET=slipway; RATE=6000; SECONDS_RUN=10; RUNS=3; SLOW_MS=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --slipway) SLIPWAY_BIN=$2; shift 2 ;;
    --sim) SIM_BIN=$2; shift 2 ;;
    --paced) PACED_BIN=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --slow-ms) SLOW_MS=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "stalls.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PACED_BIN=${PACED_BIN:-$(dirname "$SIM_BIN")/bench/paced-load}
[[ -x $PACED_BIN ]] || { echo "no paced-load at $PACED_BIN (ninja -C build-bench paced-load, or --paced BIN)" >&2; exit 1; }

# direct: the simulator alone (one_proxy.sh still starts a proxy, of a kind that costs nothing here).
proxy_target=$TARGET; [[ $TARGET == direct ]] && TARGET=haproxy
source "$BENCH/lib/one_proxy.sh"
url_port=$PORT; [[ $proxy_target == direct ]] && url_port=$BP
TARGET=$proxy_target

# Core 0's load is what the simulators and the proxy used of it (the machine's own idle counters are unreliable
# in this VM); the proxy's involuntary context switches are preemptions, mostly by a simulator it just woke.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
preempted() { cat /proc/"$PROXY"/task/*/status | awk '/^nonvoluntary_ctxt_switches/ {s += $2} END {print s}'; }
core0_pids=("${PIDS[@]:0:2}"); [[ $proxy_target != direct ]] && core0_pids+=("$PROXY")
hz=$(getconf CLK_TCK)
for ((run = 1; run <= RUNS; run++)); do
  c0=$(ticks "${core0_pids[@]}"); p0=$(ticks "$PROXY"); v0=$(preempted); s0=$(date +%s%N)
  "${LOAD[@]}" "$PACED_BIN" --url "http://127.0.0.1:$url_port/v1/chat/completions" --body "$BENCH/lib/body-chat.json" \
    --rate "$RATE" --warmup 2 --duration "$SECONDS_RUN" --connections 32 --tag "$TARGET" --dump "$WORK/dump" \
    >"$WORK/paced.out" 2>&1 || { cat "$WORK/paced.out" >&2; exit 1; }
  c1=$(ticks "${core0_pids[@]}"); p1=$(ticks "$PROXY"); v1=$(preempted); s1=$(date +%s%N)
  n=$(( (SECONDS_RUN + 2) * RATE ))  # with the warm-up
  busy=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v ns=$((s1 - s0)) 'BEGIN { printf "%.0f", 100 * d / hz / (ns / 1e9) }')
  proxy=$(awk -v d=$((p1 - p0)) -v v=$((v1 - v0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f us, preempted %.2f times", d * 1e6 / hz / n, v / n }')
  [[ $TARGET == direct ]] && proxy="-"
  python3 - "$WORK/dump" "$TARGET" "$run" "$busy" "$proxy" "$SLOW_MS" <<'PY'
import sys
dump, target, run, busy, proxy, slow_ms = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6])
rows = [tuple(map(int, l.split())) for l in open(dump) if l.strip()]
lat = sorted(r[1] for r in rows)
n = len(lat)
q = lambda p: lat[min(n - 1, int(n * p))] / 1000
print(f"{target} run {run}: {n} requests, p50 {q(0.5):.3f} ms, p99 {q(0.99):.3f} ms, max {lat[-1] / 1000:.1f} ms; "
      f"core 0 used by simulators and proxy {busy} %; per request, the proxy's CPU {proxy}")
groups = []
for due, l in sorted(r for r in rows if r[1] > slow_ms * 1000):
    if groups and due - groups[-1][1] < 50_000:
        g = groups[-1]; g[1] = due; g[2] += 1; g[3] = max(g[3], l)
    else:
        groups.append([due, due, 1, l])
slow = sum(g[2] for g in groups)
print(f"  {slow} requests over {slow_ms:g} ms ({100 * slow / max(n, 1):.2f} %) in {len(groups)} stalls")
for a, b, c, m in sorted(groups, key=lambda g: -g[2])[:5]:
    print(f"  stall at {a / 1e6:.3f}-{b / 1e6:.3f} s: {c} requests, worst {m / 1000:.1f} ms")
PY
done
