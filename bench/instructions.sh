#!/usr/bin/env bash
# bench/instructions.sh: user-space instructions per request of slipway, counted by valgrind (callgrind),
# for A/B comparisons of two builds that the shared machine's noise hides. CPU time per request
# (bench/profile.sh) varies by about ±30 % between runs of one binary here; this count does not depend on
# the machine's load (it leaves out the kernel: compare system calls with bench/syscalls.sh).
#
#   bench/instructions.sh [--slipway BIN] [--sim BIN] [--target slipway|slipway-noval]
#                         [--workload chat|schema|tools|stream] [--seconds S] [--top N] [--keep FILE [--lines]]
#
# Starts the simulators and slipway (under callgrind) as bench/profile.sh does, warms up, zeroes the
# counters, runs wrk -c8 for S seconds (default 10: a few thousand requests under callgrind), dumps the
# counters and prints instructions per request (the ≤ 8 requests in flight at the end add < 0.5 %).
# --top N also prints where they go: the self cost per request grouped by where the code comes from
# (slipway, Beast, Asio, simdjson, RE2, allocation, ...) and the N functions with the most (lib/callgrind_self.py).
# --keep FILE keeps the callgrind dump (bench/lib/callgrind_self.py FILE REQUESTS: where they go); with --lines
# it also records source lines (a build with -g: callgrind_annotate --auto=yes FILE shows them).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
SLIPWAY_BIN=$ROOT/build-bench/slipway; SIM_BIN=$ROOT/build-bench/vllm-sim
TARGET=slipway; WORKLOAD=chat; SECONDS_RUN=10; KEEP=; DUMP_LINES=no; TOP=
while [[ $# -gt 0 ]]; do
  case $1 in
    --slipway) SLIPWAY_BIN=$2; shift 2 ;;
    --sim) SIM_BIN=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --workload) WORKLOAD=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --lines) DUMP_LINES=yes; shift ;;
    --top) TOP=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "instructions.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $TARGET == slipway* ]] || { echo "instructions.sh measures slipway only (--target slipway|slipway-noval)" >&2; exit 2; }
for tool in valgrind callgrind_control callgrind_annotate curl wrk; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind wrk)" >&2; exit 1; }
done

CG_OUT=$(mktemp /tmp/slipway-callgrind.XXXXXX)
WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$CG_OUT.%p --dump-instr=no --dump-line=$DUMP_LINES"
source "$BENCH/lib/one_proxy.sh"
trap 'cleanup; rm -f "$CG_OUT" "$CG_OUT".*' EXIT
# valgrind's own process is the one to talk to: wait until slipway answers under it.
for _ in $(seq 200); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.1
done

headers=; [[ $WORKLOAD == stream ]] && headers="x-sim-output-tokens: 300"
load() { BENCH_BODY=$BENCH/lib/body-$WORKLOAD.json BENCH_HEADERS=$headers \
  "${LOAD[@]}" wrk -t1 -c8 -d"$1s" --timeout 10s -s "$BENCH/lib/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions"; }
load 3 >/dev/null 2>&1   # warm-up: pools, caches, compiled schemas
callgrind_control -z "$PROXY" >/dev/null 2>&1
out=$(load "$SECONDS_RUN" 2>&1)
callgrind_control -d "$PROXY" >/dev/null 2>&1
requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
[[ ${requests:-0} -gt 0 ]] || { echo "no requests completed: $out" >&2; exit 1; }
dump=$(ls -t "$CG_OUT".*.* 2>/dev/null | head -1)   # the dump: FILE.<pid>.1
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
[[ -n $total ]] || { echo "no totals in $dump" >&2; exit 1; }
awk -v t="$total" -v r="$requests" -v tg="$TARGET" -v w="$WORKLOAD" \
  'BEGIN { printf "%s/%s: %d requests, %.0f instructions per request (user space, callgrind)\n", tg, w, r, t / r }'
[[ -z $TOP ]] || python3 "$BENCH/lib/callgrind_self.py" "$dump" "$requests" "$TOP"
[[ -z $KEEP ]] || { cp "$dump" "$KEEP"; echo "callgrind dump: $KEEP (callgrind_annotate --inclusive=no $KEEP)"; }
