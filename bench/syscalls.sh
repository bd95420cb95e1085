#!/usr/bin/env bash
# bench/syscalls.sh: system calls per request of one proxy, by kind (strace -c), for the findings in
# docs/benchmarks.md. Starts two simulators and the proxy pinned like bench/run.sh, warms up, then
# attaches strace for a wrk run of a few seconds at -c8 and divides each count by the requests served.
#
#   bench/syscalls.sh [--target slipway|slipway-noval|nginx|haproxy] [--workload chat|stream|schema|tools]
#                     [--slipway BIN] [--sim BIN] [--seconds S] [--rate R]
#
# --rate R: the traced run is R requests/s from bench/paced-load (evenly spaced, 32 connections; built beside
# the simulator) instead of wrk -c8 as fast as it goes: the system calls a request costs when the proxy is
# not busy enough to batch them.
# strace slows the traced process a lot: the counts per request are right, the req/s is not.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
TARGET=slipway; WORKLOAD=chat; SECONDS_TRACED=3; RATE=
SLIPWAY_BIN=$ROOT/build-bench/slipway; SIM_BIN=$ROOT/build-bench/vllm-sim
while [[ $# -gt 0 ]]; do
  case $1 in
    --target) TARGET=$2; shift 2 ;;
    --workload) WORKLOAD=$2; shift 2 ;;
    --slipway) SLIPWAY_BIN=$2; shift 2 ;;
    --sim) SIM_BIN=$2; shift 2 ;;
    --seconds) SECONDS_TRACED=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "syscalls.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v strace >/dev/null || { echo "needs strace (apt-get install strace)" >&2; exit 1; }

source "$BENCH/lib/one_proxy.sh"
TRACED=$PROXY
HEADERS=; [[ $WORKLOAD == stream ]] && HEADERS="x-sim-output-tokens: 300"
wrk_run() { BENCH_BODY=$BENCH/lib/body-$WORKLOAD.json BENCH_HEADERS=$HEADERS BENCH_TAG=$TARGET \
  "${LOAD[@]}" wrk -t1 -c8 -d"$1"s -s "$BENCH/lib/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" 2>&1 | grep '^BENCH_RESULT'; }
paced_run() { "${LOAD[@]}" "$(dirname "$SIM_BIN")/bench/paced-load" --url "http://127.0.0.1:$PORT/v1/chat/completions" \
  --body "$BENCH/lib/body-$WORKLOAD.json" --headers "$HEADERS" --rate "$RATE" --duration "$1" --tag "$TARGET" | grep '^BENCH_RESULT'; }
wrk_run 2 >/dev/null   # warm-up: pools and buffers at their steady state
strace -c -f -p "$TRACED" -o "$WORK/strace.out" 2>/dev/null &
STRACE=$!
sleep 0.5
if [[ -n $RATE ]]; then RESULT=$(paced_run "$SECONDS_TRACED"); else RESULT=$(wrk_run "$SECONDS_TRACED"); fi
sleep 0.3
kill -INT "$STRACE"; wait "$STRACE" 2>/dev/null || true
N=$(sed -E 's/.*"requests":([0-9]+).*/\1/' <<<"$RESULT")
echo "$TARGET/$WORKLOAD: $N requests traced; system calls per request:"
awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls = ($5 ~ /^[0-9]+$/ && NF == 6) ? $4 : $4; c[$NF] = calls; t += calls }
  END { for (k in c) if (c[k] / n >= 0.05) printf "  %-16s %8.2f\n", k, c[k] / n; printf "  %-16s %8.2f\n", "total", t / n }' "$WORK/strace.out" | sort -k2 -rn
