#!/usr/bin/env bash
# bench/profile.sh: CPU per request of one proxy under wrk -c32, pinned as bench/run.sh pins (simulators and
# proxy on core 0, wrk on core 1), optionally with a perf profile of the proxy. For A/B comparisons of two
# builds: run it alternately for each, a few times (a shared machine is noisy; compare medians).
#
#   bench/profile.sh [--slipway BIN] [--sim BIN] [--target slipway|slipway-noval|nginx|haproxy]
#                    [--workload chat|schema|tools|stream] [--seconds S] [--perf FILE] [--preload LIB]
#
# Prints req/s, CPU per request (utime+stime of the proxy's threads, and utime alone) and context switches (voluntary + involuntary) per
# request. --perf FILE records `perf record --call-graph dwarf` of the proxy into FILE (perf slows it: the
# CPU figure of that run is not comparable). --preload LIB runs slipway with LD_PRELOAD=LIB (an allocator).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
SLIPWAY_BIN=$ROOT/build-bench/slipway; SIM_BIN=$ROOT/build-bench/vllm-sim
TARGET=slipway; WORKLOAD=chat; SECONDS_RUN=5; PERF_OUT=; PRELOAD=
while [[ $# -gt 0 ]]; do
  case $1 in
    --slipway) SLIPWAY_BIN=$2; shift 2 ;;
    --sim) SIM_BIN=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --workload) WORKLOAD=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --perf) PERF_OUT=$2; shift 2 ;;
    --preload) PRELOAD=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[[ -z $PERF_OUT ]] || command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 1; }

source "$BENCH/lib/one_proxy.sh"

headers=; [[ $WORKLOAD == stream ]] && headers="x-sim-output-tokens: 300"
load() { BENCH_BODY=$BENCH/lib/body-$WORKLOAD.json BENCH_HEADERS=$headers \
  "${LOAD[@]}" wrk -t1 -c32 -d"$1s" --timeout 5s -s "$BENCH/lib/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions"; }
load 2 >/dev/null 2>&1  # warm-up
ticks() { awk '{print $14 + $15}' "/proc/$PROXY/stat"; }
user_ticks() { awk '{print $14}' "/proc/$PROXY/stat"; }
switches() { cat /proc/"$PROXY"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
t0=$(ticks); u0=$(user_ticks); v0=$(switches)
if [[ -n $PERF_OUT ]]; then
  perf record -F 1000 --call-graph dwarf,16384 -p "$PROXY" -o "$PERF_OUT" -- sleep "$SECONDS_RUN" >/dev/null 2>&1 &
  PERF_PID=$!
fi
out=$(load "$SECONDS_RUN" 2>&1)
t1=$(ticks); u1=$(user_ticks); v1=$(switches)
[[ -z $PERF_OUT ]] || wait "$PERF_PID"
requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
[[ ${requests:-0} -gt 0 ]] || { echo "no requests completed: $out" >&2; exit 1; }
hz=$(getconf CLK_TCK)
awk -v r="$requests" -v s="$SECONDS_RUN" -v dt=$((t1 - t0)) -v du=$((u1 - u0)) -v dv=$((v1 - v0)) -v hz="$hz" -v t="$TARGET" -v w="$WORKLOAD" 'BEGIN {
  printf "%s/%s: %.0f req/s, CPU per request %.1f us (user %.1f us), context switches per request %.2f\n",
         t, w, r / s, dt * 1e6 / hz / r, du * 1e6 / hz / r, dv / r }'
[[ -z $PERF_OUT ]] || echo "perf data: $PERF_OUT (perf report -i $PERF_OUT --no-children)"
