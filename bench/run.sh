#!/usr/bin/env bash
# bench/run.sh: slipway against direct-to-backend, nginx and haproxy (and optionally Portkey),
# side by side in one run, against vllm-sim with zero think time. One command, bounded in time
# (the default run takes about 4 minutes after the build), every process it starts is stopped on exit.
#
#   bench/run.sh [--duration S] [--connections N] [--targets a,b,..] [--workloads a,b,..]
#                [--rate R|auto] [--repeat N] [--ttfb-requests N] [--open-streams N,N|0] [--with-portkey] [--nice N]
#                [--build-dir DIR] [--slipway BIN] [--sim BIN] [--slipway-desc TEXT] [--no-build] [--no-install]
#                [--out FILE] [--no-write] [--quick]
#
# See bench/README.md for what is measured and how; results go to docs/benchmarks.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
COMMAND_LINE="bench/run.sh${*:+ $*}"

# ---------------------------------------------------------------------------------------------
# options
DURATION=10          # seconds per throughput run
WARMUP=2             # seconds of warm-up before each throughput run (not measured)
CONNECTIONS=32       # wrk -c
TARGETS=direct,nginx,haproxy,slipway,slipway-noval
WORKLOADS=chat,stream,schema,tools
RATE=auto            # fixed-rate run: requests/s, or auto = half the slowest proxy's chat throughput
REPEAT=1             # runs per cell (throughput, fixed rate, TTFB), in rounds over the targets; medians are reported
TTFB_REQUESTS=1000   # sequential streamed requests per target for time to first byte
# Streams held open at once, per step (a fresh proxy per step). Each open stream holds two descriptors in the
# proxy (client and upstream side): N must stay under the hard open-files limit (ulimit -Hn), so 10,000
# becomes the largest count that fits when that limit is 20,000 (see open_stream_counts below).
OPEN_STREAMS=1000,10000
WITH_PORTKEY=0
BUILD_DIR=$ROOT/build-bench
SLIPWAY_BIN=
SIM_BIN=
SLIPWAY_DESC=        # how the slipway binary was built, for the report (default: this tree's commit)
DO_BUILD=1
DO_INSTALL=1
OUT=$ROOT/docs/benchmarks.md
WRITE=1
PROXY_CORE=0         # simulators and the proxy under test
LOAD_CORE=1          # wrk and the TTFB client
NICE=-10             # priority of everything the benchmark starts (root only; 0 = unchanged)

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --ttfb-requests) TTFB_REQUESTS=$2; shift 2 ;;
    --open-streams) OPEN_STREAMS=$2; shift 2 ;;
    --with-portkey) WITH_PORTKEY=1; shift ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --slipway) SLIPWAY_BIN=$2; shift 2 ;;
    --sim) SIM_BIN=$2; shift 2 ;;
    --slipway-desc) SLIPWAY_DESC=$2; shift 2 ;;
    --nice) NICE=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --no-install) DO_INSTALL=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --no-write) WRITE=0; shift ;;
    --quick) DURATION=3; WARMUP=1; TTFB_REQUESTS=200; OPEN_STREAMS=1000; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage 2 ;;
  esac
done
if [[ $WITH_PORTKEY == 1 && ",$TARGETS," != *,portkey,* ]]; then TARGETS=$TARGETS,portkey; fi
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
SLIPWAY_BIN=${SLIPWAY_BIN:-$BUILD_DIR/slipway}
SIM_BIN=${SIM_BIN:-$BUILD_DIR/vllm-sim}
PACED_BIN=${PACED_BIN:-$(dirname "$SIM_BIN")/bench/paced-load}  # the fixed-rate run's load generator

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# what it needs
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || need_apt+=(nginx-light)
[[ -x /usr/sbin/haproxy ]] || command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v curl >/dev/null || need_apt+=(curl)
if [[ ! -x $SLIPWAY_BIN || ! -x $SIM_BIN || $DO_BUILD == 1 ]]; then
  command -v cmake >/dev/null || need_apt+=(cmake)
  command -v ninja >/dev/null || need_apt+=(ninja-build)
fi
if [[ ${#need_apt[@]} -gt 0 ]]; then
  [[ $DO_INSTALL == 1 ]] || die "missing: ${need_apt[*]} (and --no-install given)"
  SUDO=; [[ $(id -u) == 0 ]] || SUDO=sudo
  log "installing ${need_apt[*]}"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # the Debian packages start system services; the benchmark starts its own instances
  for svc in nginx haproxy; do
    [[ " ${need_apt[*]} " == *" $svc"* ]] && { $SUDO systemctl stop "$svc" 2>/dev/null || $SUDO service "$svc" stop 2>/dev/null || true; }
  done
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

if [[ ",$TARGETS," == *,portkey,* && ! -f $BENCH/lib/node_modules/@portkey-ai/gateway/build/start-server.js ]]; then
  [[ $DO_INSTALL == 1 ]] || die "Portkey not installed in bench/lib (and --no-install given)"
  log "installing @portkey-ai/gateway (npm, bench/lib; slow the first time)"
  (cd "$BENCH/lib" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

if [[ $DO_BUILD == 1 ]]; then
  log "building slipway and vllm-sim (Release) in $BUILD_DIR"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$BUILD_DIR.cmake.log" 2>&1 ||
      { tail -20 "$BUILD_DIR.cmake.log" >&2; die "cmake failed (log: $BUILD_DIR.cmake.log)"; }
  fi
  ninja -C "$BUILD_DIR" slipway vllm-sim paced-load >/dev/null || die "build failed"
fi
[[ -x $SLIPWAY_BIN ]] || die "no slipway binary at $SLIPWAY_BIN"
[[ -x $SIM_BIN ]] || die "no vllm-sim binary at $SIM_BIN"
[[ -x $PACED_BIN ]] || die "no paced-load binary at $PACED_BIN (ninja -C $(dirname "$SIM_BIN") paced-load, or PACED_BIN=...)"

# ---------------------------------------------------------------------------------------------
# processes: every one started here is recorded and stopped on exit
WORK=$(mktemp -d /tmp/slipway-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers run as nobody and need the temp dirs
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [[ -z ${AUTOGROUP_OLD:-} ]] || echo "$AUTOGROUP_OLD" >/proc/self/autogroup 2>/dev/null || true
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PIN_PROXY=(); PIN_LOAD=()
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  PIN_PROXY=(taskset -c "$PROXY_CORE"); PIN_LOAD=(taskset -c "$LOAD_CORE")
fi
# On a shared machine, other work on the same cores takes CPU from whichever of our processes
# is runnable, unevenly across targets; a higher priority for everything the benchmark starts
# (root only) keeps that out of the figures. --nice 0 turns it off.
# With the kernel's autogroup scheduling (the default on desktop and many server kernels), CPU is
# shared between sessions first and nice only counts inside one, so the session's own weight is
# raised too (/proc/self/autogroup) and put back when the run ends.
AUTOGROUP_OLD=
if [[ $NICE != 0 && $(id -u) == 0 ]]; then
  PIN_PROXY=(nice -n "$NICE" "${PIN_PROXY[@]}"); PIN_LOAD=(nice -n "$NICE" "${PIN_LOAD[@]}")
  if [[ -w /proc/self/autogroup && $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) == 1 ]]; then
    AUTOGROUP_OLD=$(sed -n 's/.* nice \(-\{0,1\}[0-9]*\).*/\1/p' /proc/self/autogroup)
    echo "$NICE" >/proc/self/autogroup 2>/dev/null || AUTOGROUP_OLD=
  fi
else
  NICE=0
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
NEXT_PORT=$((19100 + RANDOM % 400))
free_port() { # var: set var to a free port (not in a subshell, so NEXT_PORT advances)
  while ! port_free "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
  printf -v "$1" '%s' "$NEXT_PORT"; NEXT_PORT=$((NEXT_PORT + 1))
}
wait_port() { # port seconds [pid]: until something listens on port (fails early when pid exits)
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    port_free "$1" || return 0
    [[ -z ${3:-} ]] || kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# Connection limits of the proxies' configs: the throughput runs use a few dozen connections; the
# open-streams steps start fresh proxies with room for every stream (OPEN_MAXCONN, set per step).
OPEN_MAXCONN=
render() { # template out PORT
  local nginx_conns=8192 haproxy_maxconn=8000
  if [[ -n $OPEN_MAXCONN ]]; then nginx_conns=$((3 * OPEN_MAXCONN)); haproxy_maxconn=$((OPEN_MAXCONN + 16)); fi
  sed -e "s|@DIR@|$WORK|g" -e "s|@PORT@|$3|g" -e "s|@BASELINE_PORT@|$SIM_BASELINE_PORT|g" \
      -e "s|@CANARY_PORT@|$SIM_CANARY_PORT|g" -e "s|@NGINX_CONNECTIONS@|$nginx_conns|g" \
      -e "s|@HAPROXY_MAXCONN@|$haproxy_maxconn|g" "$1" >"$2"
}
start_sim() { # label var: starts a simulator, sets var to its port (not in a subshell: PIDS must see it)
  local label=$1 out=$WORK/sim-$1.out
  "${PIN_PROXY[@]}" "$SIM_BIN" --port 0 --model bench --ttft-ms 0 --token-ms 0 --threads 1 \
    --name "$label" >"$out" 2>"$WORK/sim-$label.err" &
  PIDS+=($!)
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q '"listening"' "$out" 2>/dev/null && break
    sleep 0.05
  done
  printf -v "$2" '%s' "$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out" | head -1)"
}

# ---------------------------------------------------------------------------------------------
# targets. A target is a function target_<name> (dashes become underscores) that starts what it
# needs and sets TARGET_PORT, TARGET_PIDS (the processes whose memory and CPU are reported; empty
# for none) and optionally TARGET_HEADERS (extra request headers, one per line).
# Adding a target = a function of a few lines + its name in --targets.

target_direct() { TARGET_PORT=$SIM_BASELINE_PORT; TARGET_PIDS=; }

target_nginx() {
  free_port TARGET_PORT
  mkdir -p "$WORK/nginx"
  render "$BENCH/configs/nginx.conf" "$WORK/nginx/nginx.conf" "$TARGET_PORT"
  "${PIN_PROXY[@]}" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e stderr 2>"$WORK/nginx.err" &
  TARGET_PIDS=$!; PIDS+=($!)
}

target_haproxy() {
  free_port TARGET_PORT
  render "$BENCH/configs/haproxy.cfg" "$WORK/haproxy.cfg" "$TARGET_PORT"
  "${PIN_PROXY[@]}" "$HAPROXY" -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  TARGET_PIDS=$!; PIDS+=($!)
}

start_slipway() { # name config-template
  free_port TARGET_PORT
  render "$BENCH/configs/$2" "$WORK/$1.yaml" "$TARGET_PORT"
  "${PIN_PROXY[@]}" "$SLIPWAY_BIN" --config "$WORK/$1.yaml" >"$WORK/$1.log" 2>&1 &
  TARGET_PIDS=$!; PIDS+=($!)
}
target_slipway() { start_slipway slipway slipway.yaml; }              # inline validation on (default)
target_slipway_noval() { start_slipway slipway-noval slipway-noval.yaml; }  # validation off
# The same configuration from another binary (env SLIPWAY_BEFORE_BIN): a before/after comparison in one run.
target_slipway_before() { SLIPWAY_BIN=${SLIPWAY_BEFORE_BIN:?set SLIPWAY_BEFORE_BIN to the other slipway binary} start_slipway slipway-before slipway.yaml; }
target_slipway_nometrics() { start_slipway slipway-nometrics slipway-nometrics.yaml; }  # metrics off

target_portkey() {
  free_port TARGET_PORT
  (cd "$BENCH/lib" && exec "${PIN_PROXY[@]}" node node_modules/@portkey-ai/gateway/build/start-server.js \
     --headless --port="$TARGET_PORT") \
    >"$WORK/portkey.log" 2>&1 &
  TARGET_PIDS=$!; PIDS+=($!)
  local t='{"provider":"openai","custom_host":"http://127.0.0.1:%s/v1","api_key":"sk-bench","weight":%s}'
  TARGET_HEADERS="x-portkey-config: {\"strategy\":{\"mode\":\"loadbalance\"},\"targets\":[$(printf "$t" "$SIM_BASELINE_PORT" 0.9),$(printf "$t" "$SIM_CANARY_PORT" 0.1)]}"
}

# ---------------------------------------------------------------------------------------------
# workloads: body file (bench/lib/body-*.json, "__USER__" is replaced per request) + headers
workload_body() { case $1 in open) echo "$BENCH/lib/body-stream.json" ;; *) echo "$BENCH/lib/body-$1.json" ;; esac; }
workload_headers() {
  case $1 in
    stream) echo "x-sim-output-tokens: 300" ;;  # with max_tokens 200: exactly 200 content chunks
    open) printf '%s\n' "x-sim-ttft-ms: 0" "x-sim-token-ms: 3000" ;;  # slow: 200 tokens take 10 minutes
    *) echo "" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# measurements
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # pids (and their children) -> utime+stime ticks
  local total=0 p kids
  for p in "$@"; do
    kids=$(pgrep -P "$p" 2>/dev/null || true)
    for q in $p $kids; do
      [[ -r /proc/$q/stat ]] || continue
      total=$((total + $(sed 's/^.*) //' "/proc/$q/stat" | awk '{print $12 + $13}')))
    done
  done
  echo "$total"
}
rss_kib() {
  local total=0 p kids v
  for p in "$@"; do
    kids=$(pgrep -P "$p" 2>/dev/null || true)
    for q in $p $kids; do
      v=$(awk '/^VmRSS:/{print $2}' "/proc/$q/status" 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
  done
  echo "$total"
}

RESULTS=$WORK/results.jsonl
declare -A T_PORT T_PIDS T_HEADERS SKIP

# The fixed-rate run: bench/paced_load.cpp sends at evenly spaced times (wrk's Lua pacing releases a burst each
# millisecond; see the file). Same result line as run_wrk.
run_paced() { # workload target duration connections rate -> appends a result line
  local w=$1 t=$2 d=$3 c=$4 rate=$5 headers out line
  headers=$(printf '%s\n%s' "$(workload_headers "$w")" "${T_HEADERS[$t]}")
  local pids=${T_PIDS[$t]} c0=0 c1=0 rss=0
  # shellcheck disable=SC2086
  [[ -n $pids ]] && c0=$(cpu_ticks $pids)
  out=$(timeout $((d + WARMUP + 30)) "${PIN_LOAD[@]}" "$PACED_BIN" --url "http://127.0.0.1:${T_PORT[$t]}/v1/chat/completions" \
        --body "$(workload_body "$w")" --headers "$headers" --rate "$rate" --warmup "$WARMUP" --duration "$d" --connections "$c" \
        --tag "$w/$t" 2>&1) || { log "paced-load failed for $w/$t: $out"; return 1; }
  line=$(grep '^BENCH_RESULT ' <<<"$out" | sed 's/^BENCH_RESULT //')
  [[ -n $line ]] || { log "no result from paced-load for $w/$t: $out"; return 1; }
  # shellcheck disable=SC2086
  [[ -n $pids ]] && { c1=$(cpu_ticks $pids); rss=$(rss_kib $pids); }
  echo "{\"kind\":\"rate\",\"workload\":\"$w\",\"target\":\"$t\",\"connections\":$c,\"rate\":$rate,\"proxy\":$([[ -n $pids ]] && echo true || echo false),\"cpu_ticks\":$((c1 - c0)),\"clk_tck\":$CLK_TCK,\"rss_kib\":$rss,\"wrk\":$line}" >>"$RESULTS"
  echo "$line"
}

run_wrk() { # kind workload target duration connections [rate] -> appends a result line
  local kind=$1 w=$2 t=$3 d=$4 c=$5 rate=${6:-}
  local headers
  headers=$(printf '%s\n%s' "$(workload_headers "$w")" "${T_HEADERS[$t]}")
  local url="http://127.0.0.1:${T_PORT[$t]}/v1/chat/completions"
  local pids=${T_PIDS[$t]} c0=0 c1=0 out
  # shellcheck disable=SC2086
  [[ -n $pids ]] && c0=$(cpu_ticks $pids)
  out=$(BENCH_BODY=$(workload_body "$w") BENCH_HEADERS=$headers BENCH_RATE=$rate BENCH_TAG="$w/$t" \
        timeout $((d + 30)) "${PIN_LOAD[@]}" wrk -t1 -c"$c" -d"${d}s" --timeout 5s \
        -s "$BENCH/lib/post.lua" "$url" 2>&1) || { log "wrk failed for $w/$t: $out"; return 1; }
  local line; line=$(grep '^BENCH_RESULT ' <<<"$out" | sed 's/^BENCH_RESULT //')
  [[ -n $line ]] || { log "no result from wrk for $w/$t: $out"; return 1; }
  local rss=0
  # shellcheck disable=SC2086
  [[ -n $pids ]] && { c1=$(cpu_ticks $pids); rss=$(rss_kib $pids); }
  echo "{\"kind\":\"$kind\",\"workload\":\"$w\",\"target\":\"$t\",\"connections\":$c,\"rate\":${rate:-null},\"proxy\":$([[ -n $pids ]] && echo true || echo false),\"cpu_ticks\":$((c1 - c0)),\"clk_tck\":$CLK_TCK,\"rss_kib\":$rss,\"wrk\":$line}" >>"$RESULTS"
  echo "$line"
}

check_target() { # target workload: one request, must be a 200 with the right shape
  local t=$1 w=$2 body hdrs=() code
  body=$(sed 's/__USER__/bench-check/' "$(workload_body "$w")")
  while IFS= read -r h; do [[ -n $h ]] && hdrs+=(-H "$h"); done < <(printf '%s\n%s\n' "$(workload_headers "$w")" "${T_HEADERS[$t]}")
  code=$(curl -s -m 10 -o "$WORK/check-$t-$w" -w '%{http_code}' -H 'content-type: application/json' \
         -H 'x-bench-user: bench-check' "${hdrs[@]}" --data-binary "$body" "http://127.0.0.1:${T_PORT[$t]}/v1/chat/completions") || true
  if [[ $code != 200 ]]; then
    log "$t/$w: check request got HTTP $code: $(head -c 300 "$WORK/check-$t-$w")"; return 1
  fi
  if [[ $w == stream ]]; then
    local n; n=$(grep -c '^data: {' "$WORK/check-$t-$w" || true)
    [[ $n -ge 200 ]] || { log "$t/$w: expected >= 200 SSE events, got $n"; return 1; }
  else
    grep -q '"chat.completion"' "$WORK/check-$t-$w" || { log "$t/$w: not a chat.completion"; return 1; }
    if [[ $w == tools ]]; then
      grep -q '"tool_calls":\[{' "$WORK/check-$t-$w" || { log "$t/$w: no tool call in the answer"; return 1; }
    fi
  fi
}

# ---------------------------------------------------------------------------------------------
# the run
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START_TS=$(date +%s)
log "load average before: $LOAD_BEFORE (nproc $(nproc))"
start_sim baseline SIM_BASELINE_PORT
start_sim canary SIM_CANARY_PORT
[[ -n $SIM_BASELINE_PORT && -n $SIM_CANARY_PORT ]] || die "simulators did not start ($(cat "$WORK"/sim-*.err))"
log "simulators on 127.0.0.1:$SIM_BASELINE_PORT (baseline) and :$SIM_CANARY_PORT (canary)"

for t in "${TARGET_LIST[@]}"; do
  fn=target_${t//-/_}
  declare -F "$fn" >/dev/null || die "unknown target $t (no function $fn in bench/run.sh)"
  TARGET_PORT=; TARGET_PIDS=; TARGET_HEADERS=
  "$fn"
  T_PORT[$t]=$TARGET_PORT; T_PIDS[$t]=$TARGET_PIDS; T_HEADERS[$t]=$TARGET_HEADERS
  wait_port "$TARGET_PORT" 20 "${TARGET_PIDS%% *}" || die "$t did not start listening on $TARGET_PORT (see $WORK)"
  log "$t on 127.0.0.1:$TARGET_PORT${TARGET_PIDS:+ (pid $TARGET_PIDS)}"
done
for t in "${TARGET_LIST[@]}"; do
  for w in "${WORKLOAD_LIST[@]}"; do
    ok=0
    for _ in 1 2 3 4 5 6 7 8 9 10; do check_target "$t" "$w" 2>/dev/null && { ok=1; break; }; sleep 0.5; done
    if [[ $ok != 1 ]]; then
      reason=$(check_target "$t" "$w" 2>&1 | sed -e 's/^\[bench [0-9:]*\] //' -e "s|^$t/$w: ||" | head -c 300) || true
      log "SKIPPING $t/$w: $reason"
      SKIP[$t/$w]=1
      echo "{\"kind\":\"skip\",\"workload\":\"$w\",\"target\":\"$t\",\"reason\":$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$reason")}" >>"$RESULTS"
    fi
  done
done
log "all targets answer every workload; idle RSS:$(for t in "${TARGET_LIST[@]}"; do [[ -n ${T_PIDS[$t]} ]] && printf ' %s=%sKiB' "$t" "$(rss_kib ${T_PIDS[$t]})"; done)"
for t in "${TARGET_LIST[@]}"; do
  [[ -n ${T_PIDS[$t]} ]] && echo "{\"kind\":\"idle\",\"target\":\"$t\",\"rss_kib\":$(rss_kib ${T_PIDS[$t]})}" >>"$RESULTS"
done

# 1. throughput at fixed concurrency, targets interleaved per workload
for w in "${WORKLOAD_LIST[@]}"; do
  for ((r = 1; r <= REPEAT; r++)); do
    for t in "${TARGET_LIST[@]}"; do
      [[ -z ${SKIP[$t/$w]:-} ]] || continue
      run_wrk warmup "$w" "$t" "$WARMUP" "$CONNECTIONS" >/dev/null
      res=$(run_wrk throughput "$w" "$t" "$DURATION" "$CONNECTIONS") || continue
      log "$w/$t: $(sed -E 's/.*"rps":([0-9.]+).*"p50_us":([0-9]+).*"p99_us":([0-9]+).*/\1 req\/s p50 \2us p99 \3us/' <<<"$res")"
    done
  done
done

# 2. latency at a fixed rate below saturation (chat)
if [[ $RATE == auto ]]; then
  RATE=$(node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
      .filter(r => r.kind === "throughput" && r.workload === "chat" && r.proxy && r.target !== "portkey");
    const min = Math.min(...rows.map(r => r.wrk.rps));
    console.log(isFinite(min) ? Math.max(100, Math.round(min / 2 / 100) * 100) : 1000);' "$RESULTS")
fi
log "fixed-rate run: chat at $RATE req/s, $REPEAT round(s) over the targets"
# --repeat N: N rounds, each over every target in turn (a noisy minute then hits every target alike); the
# report gives the median of each statistic and every round's p99.
for ((round = 1; round <= REPEAT; round++)); do
for t in "${TARGET_LIST[@]}"; do
  [[ -z ${SKIP[$t/chat]:-} ]] || continue
  # a target that cannot sustain the common rate (Portkey) runs at half its own saturation instead
  own=$(node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
      .filter(r => r.kind === "throughput" && r.workload === "chat" && r.target === process.argv[2]);
    const rps = rows.length ? Math.max(...rows.map(r => r.wrk.rps)) : Infinity;
    console.log(rps < 1.05 * Number(process.argv[3]) ? Math.max(10, Math.round(rps / 2)) : process.argv[3]);' "$RESULTS" "$t" "$RATE")
  [[ $own == "$RATE" ]] || log "$t cannot sustain $RATE req/s: its fixed-rate run is at $own req/s"
  res=$(run_paced chat "$t" "$DURATION" "$CONNECTIONS" "$own") || continue
  log "rate/$t: $(sed -E 's/.*"rps":([0-9.]+).*"p50_us":([0-9]+).*"p99_us":([0-9]+).*/\1 req\/s p50 \2us p99 \3us/' <<<"$res")"
done
done

# 3. time to first byte of a stream (requests one after another, unloaded)
if [[ ",$WORKLOADS," == *,stream,* ]]; then
  for ((round = 1; round <= REPEAT; round++)); do
  for t in "${TARGET_LIST[@]}"; do
    [[ -z ${SKIP[$t/stream]:-} ]] || continue
    headers=$(printf '%s\n%s' "$(workload_headers stream)" "${T_HEADERS[$t]}")
    n=$TTFB_REQUESTS; [[ $t == portkey ]] && n=$((n / 5 + 1))
    out=$(timeout 120 "${PIN_LOAD[@]}" node "$BENCH/lib/ttfb.mjs" --url "http://127.0.0.1:${T_PORT[$t]}/v1/chat/completions" \
          --body "$(workload_body stream)" --n "$n" --warmup 50 --headers "$headers" --tag "$t" 2>&1) || { log "ttfb $t failed: $out"; continue; }
    line=$(grep '^BENCH_TTFB ' <<<"$out" | sed 's/^BENCH_TTFB //')
    echo "{\"kind\":\"ttfb\",\"workload\":\"stream\",\"target\":\"$t\",\"ttfb\":$line}" >>"$RESULTS"
    log "ttfb/$t: $line"
  done
  done
fi

# 4. many concurrent open streams: memory per open stream. For each step N, a fresh instance of each
# proxy (limits sized for N), warmed up with a few streams, idle RSS read, then N slow streams opened at
# once by lib/open-streams.mjs and held; RSS read again; per stream = (RSS with N open - idle RSS) / N.
# Every open stream costs the proxy two descriptors; the hard open-files limit caps N (the report says so).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
open_stream_counts() { # the requested counts, each capped to what fits two descriptors per stream
  local n cap=$(( (FD_LIMIT - 100) / 2 ))
  IFS=, read -r -a _req <<<"$OPEN_STREAMS"
  for n in "${_req[@]}"; do
    [[ $n -gt 0 ]] || continue
    if [[ $n -gt $cap ]]; then log "open streams: $n needs $((2 * n)) descriptors in the proxy, the limit is $FD_LIMIT: using $cap"; n=$cap; fi
    echo "$n"
  done
}
stop_pids() { # pids: TERM, then KILL after 5 s
  local p i
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && return 0
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
}
if [[ $OPEN_STREAMS != 0 ]]; then
  mapfile -t OPEN_COUNTS < <(open_stream_counts)
  for n in "${OPEN_COUNTS[@]}"; do
    for t in "${TARGET_LIST[@]}"; do
      [[ $t != direct && $t != portkey && -z ${SKIP[$t/stream]:-} ]] || continue
      fn=target_${t//-/_}
      TARGET_PORT=; TARGET_PIDS=; TARGET_HEADERS=
      OPEN_MAXCONN=$n "$fn"
      opids=$TARGET_PIDS; oport=$TARGET_PORT
      if ! wait_port "$oport" 20 "${opids%% *}"; then log "open/$t: did not start"; stop_pids $opids; continue; fi
      headers=$(printf '%s\n%s' "$(workload_headers stream)" "$TARGET_HEADERS")
      timeout 60 "${PIN_LOAD[@]}" node "$BENCH/lib/ttfb.mjs" --url "http://127.0.0.1:$oport/v1/chat/completions" \
        --body "$(workload_body stream)" --n 100 --warmup 20 --concurrency 8 --headers "$headers" --tag warm >/dev/null 2>&1 || true
      sleep 1
      # shellcheck disable=SC2086
      idle=$(rss_kib $opids)
      rm -f "$WORK/open-ready" "$WORK/open-release"
      headers=$(printf '%s\n%s' "$(workload_headers open)" "$TARGET_HEADERS")
      "${PIN_LOAD[@]}" node "$BENCH/lib/open-streams.mjs" --url "http://127.0.0.1:$oport/v1/chat/completions" \
        --body "$(workload_body open)" --n "$n" --headers "$headers" --ready "$WORK/open-ready" \
        --release "$WORK/open-release" --open-timeout-ms 90000 --hold-ms 150000 >"$WORK/open-$t-$n.out" 2>&1 &
      client=$!; PIDS+=($client)
      i=0
      while [[ ! -s $WORK/open-ready && $i -lt 1000 ]] && kill -0 "$client" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
      if [[ -s $WORK/open-ready ]]; then
        sleep 2   # let every stream's first events settle (the proxy's buffers are all in use)
        # shellcheck disable=SC2086
        held=$(rss_kib $opids); ocpu=$(cpu_ticks $opids)
        echo "{\"kind\":\"open\",\"target\":\"$t\",\"n\":$n,\"rss_idle_kib\":$idle,\"rss_open_kib\":$held,\"fd_limit\":$FD_LIMIT,\"client\":$(cat "$WORK/open-ready")}" >>"$RESULTS"
        log "open/$t: $(cat "$WORK/open-ready") RSS idle ${idle} KiB, with streams open ${held} KiB: $(( (held - idle) * 1024 / n )) B per stream"
      else
        log "open/$t: the client did not report ($(tail -c 300 "$WORK/open-$t-$n.out"))"
      fi
      touch "$WORK/open-release"
      wait "$client" 2>/dev/null || true
      # shellcheck disable=SC2086
      stop_pids $opids
    done
  done
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - START_TS ))

# ---------------------------------------------------------------------------------------------
# report
git_rev=$SLIPWAY_DESC
if [[ -z $git_rev ]]; then
  git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$ROOT" diff --quiet HEAD -- gateway config validators 2>/dev/null || git_rev="$git_rev (+ uncommitted changes in gateway/config/validators)"
fi
cat >"$WORK/meta.json" <<EOF
{"date":"$(date -u +'%Y-%m-%d %H:%M UTC')","command":$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$COMMAND_LINE"),
 "nproc":$(nproc),"cpu":$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"),
 "kernel":"$(uname -r)","load_before":"$LOAD_BEFORE","load_after":"$LOAD_AFTER","elapsed_s":$ELAPSED,
 "nice":$NICE,"pinned":$([[ ${#PIN_PROXY[@]} -gt 0 ]] && echo true || echo false),"proxy_core":$PROXY_CORE,"load_core":$LOAD_CORE,
 "targets":$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "${TARGET_LIST[@]}"),"duration_s":$DURATION,"connections":$CONNECTIONS,"repeat":$REPEAT,"rate":$RATE,"ttfb_requests":$TTFB_REQUESTS,
 "slipway":"commit $git_rev","build_type":"$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$SLIPWAY_BIN")/CMakeCache.txt" 2>/dev/null | head -1)","versions":$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$("$NGINX" -v 2>&1 | sed 's/.*nginx\//nginx /'); $("$HAPROXY" -v 2>/dev/null | head -1 | awk '{print "haproxy "$3}'); $(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}'); node $(node -v)")}
EOF
node "$BENCH/lib/report.mjs" --meta "$WORK/meta.json" --results "$RESULTS" >"$WORK/report.md"
cat "$WORK/report.md"
if [[ $WRITE == 1 ]]; then
  node "$BENCH/lib/report.mjs" --insert "$OUT" --report "$WORK/report.md" --results "$RESULTS"
  log "results written to ${OUT#"$ROOT"/}"
fi
log "done in ${ELAPSED}s"
