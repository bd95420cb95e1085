#!/usr/bin/env bash
# The slipway demo: installs what is missing, builds, and starts two simulated vLLM servers (a clean "fp16"
# baseline and an "int4" canary with injected slippage), the gateway in front of them, and a generator of
# mixed OpenAI traffic. Ctrl-C stops everything it started.
#
#   ./demo.sh [--duration SECONDS] [--rate N] [--no-build]
#
#   --duration SECONDS  stop by itself after that long (default: run until Ctrl-C)
#   --rate N            requests per second of demo traffic (default: 10)
#   --no-build          skip installing and building; use the binaries already in $BUILD_DIR (default build/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo_root="$(pwd)"

duration=0
rate=10
build=1
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --duration) duration="${2:?--duration needs a value}"; shift 2 ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --rate=*) rate="${1#*=}"; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] || { echo "demo.sh: --duration must be a whole number of seconds" >&2; exit 2; }
[[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "demo.sh: --rate must be a number" >&2; exit 2; }

build_dir="${BUILD_DIR:-build}"
gateway_port=8080
baseline_port=8001
canary_port=8002

# ---- install and build --------------------------------------------------------------------------------
if ((build)); then
  tools/install-deps.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build_dir" slipway vllm-sim
fi

slipway_bin="$build_dir/slipway"
sim_bin="$(find "$build_dir" -type f -name vllm-sim -perm -u+x 2>/dev/null | head -n1)"
[[ -x $slipway_bin ]] || { echo "demo.sh: $slipway_bin was not built" >&2; exit 1; }
[[ -n $sim_bin ]] || { echo "demo.sh: vllm-sim was not built" >&2; exit 1; }

# ---- ports must be free ---------------------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $baseline_port $canary_port $gateway_port; do
  if port_busy "$p"; then
    echo "demo.sh: 127.0.0.1:$p is already in use (another demo running?); stop it first" >&2
    exit 1
  fi
done

# ---- processes, logs, cleanup -----------------------------------------------------------------------------
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/slipway-demo.XXXXXX")"
pids=()
names=()
cleaned=0
cleanup() {
  ((cleaned)) && return
  cleaned=1
  trap - INT TERM
  if ((${#pids[@]})); then
    echo
    echo "demo.sh: stopping ${names[*]}"
    # Traffic first, then the gateway, then the simulators (reverse start order).
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
    for _ in $(seq 30); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
  echo "demo.sh: stopped. Logs are in $log_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() {  # start NAME LOGFILE CMD...
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

wait_for_log() {  # wait_for_log NAME LOGFILE PATTERN TIMEOUT_S
  local name=$1 log=$2 pattern=$3 timeout=$4 pid=${pids[-1]}
  for _ in $(seq $((timeout * 10))); do
    grep -q "$pattern" "$log" 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo.sh: $name exited during startup; its log ($log):" >&2
      tail -n 30 "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "demo.sh: $name did not start within ${timeout}s; its log ($log):" >&2
  tail -n 30 "$log" >&2
  exit 1
}

start "baseline-sim" "$log_dir/baseline-sim.log" \
  "$sim_bin" --port "$baseline_port" --model demo-fp16 --profile tools/vllm-sim/profiles/fp16-clean.yaml --name baseline
wait_for_log "baseline simulator" "$log_dir/baseline-sim.log" '"event":"listening"' 10
start "canary-sim" "$log_dir/canary-sim.log" \
  "$sim_bin" --port "$canary_port" --model demo-int4 --profile tools/vllm-sim/profiles/int4-slippage.yaml --name canary
wait_for_log "canary simulator" "$log_dir/canary-sim.log" '"event":"listening"' 10
start "gateway" "$log_dir/gateway.log" "$slipway_bin" --config config/examples/demo.yaml
wait_for_log "gateway" "$log_dir/gateway.log" '"event":"listening"' 15

# GET a path on the gateway and print the HTTP status (no curl needed).
http_status() {
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
    IFS=" " read -r _ status _ <&3 && echo "$status"' _ "$1" "$2" 2>/dev/null || true
}
ready=0
code=
for _ in $(seq 150); do
  code="$(http_status "$gateway_port" /readyz)"
  if [[ $code == 200 ]]; then ready=1; break; fi
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
if ((!ready)); then
  echo "demo.sh: the gateway did not become ready (GET /readyz = ${code:-none}); its log:" >&2
  tail -n 30 "$log_dir/gateway.log" >&2
  exit 1
fi

cat <<EOF

slipway demo is up
  gateway           http://127.0.0.1:$gateway_port/v1   (model "demo"; config config/examples/demo.yaml)
  health            http://127.0.0.1:$gateway_port/healthz  http://127.0.0.1:$gateway_port/readyz
  baseline (fp16)   http://127.0.0.1:$baseline_port   vllm-sim, clean profile
  canary (int4)     http://127.0.0.1:$canary_port   vllm-sim, slippage profile; 10% of users
  logs              $log_dir/{gateway,baseline-sim,canary-sim,traffic}.log

Try it:
  curl -s http://127.0.0.1:$gateway_port/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"demo","user":"alice","messages":[{"role":"user","content":"Hello"}]}' -D - 
  Edit config/examples/demo.yaml (canary weight) and watch the canary share move.

Traffic: $rate req/s$( ((duration)) && echo ", for ${duration}s" || echo ", until Ctrl-C"). A line every 3 s:
EOF

# The traffic generator's summary lines go to the terminal and to traffic.log.
start "traffic" "$log_dir/traffic.log" node tools/demo-traffic.mjs --duration "$duration" --rate "$rate" --interval 3
traffic_pid=${pids[-1]}
tail -n +1 -f --pid="$traffic_pid" "$log_dir/traffic.log" &
tail_pid=$!

# Stop when the traffic generator ends (after --duration), or when a service dies.
rc=0
while kill -0 "$traffic_pid" 2>/dev/null; do
  for i in 0 1 2; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "demo.sh: ${names[$i]} exited unexpectedly; last lines of its log:" >&2
      tail -n 20 "$log_dir/${names[$i]}.log" >&2 2>/dev/null || true
      rc=1
      break 2
    fi
  done
  sleep 0.5
done
if ((rc == 0)); then
  wait "$traffic_pid" || rc=$?
fi
wait "$tail_pid" 2>/dev/null || true
exit "$rc"
