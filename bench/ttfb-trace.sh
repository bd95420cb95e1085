#!/usr/bin/env bash
# bench/ttfb-trace.sh: where a stream's time to first byte goes, request by request. One proxy pinned as
# bench/run.sh pins it (simulators and proxy on core 0, the TTFB client on core 1) serves bench/lib/ttfb.mjs's
# 200-chunk streams one at a time; `perf record` takes the system calls and scheduler switches of the
# simulators, the proxy and the client for a short window, and bench/lib/ttfb_segments.py splits each request
# into the proxy's parts (request in to request out, backend head in to head out, first event in to first
# event out) and the simulator's (request to head, head to first event). Needs perf and root.
#
#   bench/ttfb-trace.sh [--target slipway|slipway-noval|nginx|haproxy] [--slipway BIN] [--sim BIN]
#                       [--window S] [--keep FILE]
#
# --window S: seconds traced (default 0.4: about 100 requests); --keep FILE keeps the `perf script` text.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
SLIPWAY_BIN=$ROOT/build-bench/slipway; SIM_BIN=$ROOT/build-bench/vllm-sim
TARGET=slipway; WINDOW=0.4; KEEP=
while [[ $# -gt 0 ]]; do
  case $1 in
    --slipway) SLIPWAY_BIN=$2; shift 2 ;;
    --sim) SIM_BIN=$2; shift 2 ;;
    --target) TARGET=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ttfb-trace.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "needs root (perf's tracepoints)" >&2; exit 1; }

source "$BENCH/lib/one_proxy.sh"
"${LOAD[@]}" node "$BENCH/lib/ttfb.mjs" --url "http://127.0.0.1:$PORT/v1/chat/completions" --body "$BENCH/lib/body-stream.json" \
  --n 4000 --warmup 200 --tag "$TARGET" --headers "x-sim-output-tokens: 300" >"$WORK/ttfb.out" 2>&1 &
CLIENT=$!
PIDS+=("$CLIENT")
sleep 3  # past the warm-up
perf record -q -o "$WORK/perf.data" -e raw_syscalls:sys_enter,raw_syscalls:sys_exit,sched:sched_switch \
  -p "$(IFS=,; echo "${PIDS[*]:0:2},$PROXY,$CLIENT")" -- sleep "$WINDOW" 2>/dev/null
kill "$CLIENT" 2>/dev/null || true
perf script -i "$WORK/perf.data" -F comm,pid,tid,cpu,time,event,trace >"$WORK/perf.txt" 2>/dev/null
[[ -n $KEEP ]] && cp "$WORK/perf.txt" "$KEEP"
python3 "$BENCH/lib/ttfb_segments.py" "$WORK/perf.txt" "$PROXY" "$CLIENT" "${PIDS[0]},${PIDS[1]}" "$TARGET"
