#!/usr/bin/env bash
# The slipway demo, a guided tour: installs what is missing, builds, and starts two simulated vLLM servers (a
# clean "fp16" baseline and an "int4" canary whose slippage hides in slices), the gateway in front of them,
# Prometheus (our recording and alert rules) and Alertmanager on loopback, and mixed OpenAI traffic. When
# the canary's slice regression trips a rollback trigger (about two minutes), it shows the rollback and where
# to look. Ctrl-C stops everything it started.
#
#   ./demo.sh [--duration SECONDS] [--rate N] [--no-build] [--exit-on-rollback]
#
#   --duration SECONDS  stop by itself after that long (default: run until Ctrl-C)
#   --rate N            requests per second of demo traffic (default: 40)
#   --no-build          skip installing and building; use the binaries already in $BUILD_DIR (default build/)
#   --exit-on-rollback  stop once the rollback has been shown (exit 0), or fail when --duration ends first
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
repo_root="$(pwd)"

duration=0
rate=40
build=1
exit_on_rollback=0
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --duration) duration="${2:?--duration needs a value}"; shift 2 ;;
    --duration=*) duration="${1#*=}"; shift ;;
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --rate=*) rate="${1#*=}"; shift ;;
    --no-build) build=0; shift ;;
    --exit-on-rollback) exit_on_rollback=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $duration =~ ^[0-9]+$ ]] || { echo "demo.sh: --duration must be a whole number of seconds" >&2; exit 2; }
[[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "demo.sh: --rate must be a number" >&2; exit 2; }

build_dir="${BUILD_DIR:-build}"
gateway_port=8080
admin_port=8081
baseline_port=8001
canary_port=8002
prometheus_port=9090
alertmanager_port=9093

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
prometheus_bin="$(command -v prometheus || true)"
alertmanager_bin="$(command -v prometheus-alertmanager || command -v alertmanager || true)"
for p in $baseline_port $canary_port $gateway_port $admin_port \
  ${prometheus_bin:+$prometheus_port} ${alertmanager_bin:+$alertmanager_port}; do
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
  : >"$log"  # exists at once, so a `tail -f` started right after cannot miss it
  "$@" >>"$log" 2>&1 &
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
# Alertmanager and Prometheus on loopback, state in the log directory.
if [[ -n $alertmanager_bin ]]; then
  cat >"$log_dir/alertmanager.yml" <<EOF
route: {receiver: demo-on-call, group_wait: 0s, group_by: [alertname, model]}
receivers: [{name: demo-on-call}]
EOF
  start "alertmanager" "$log_dir/alertmanager.log" "$alertmanager_bin" --config.file="$log_dir/alertmanager.yml" \
    --storage.path="$log_dir/alertmanager-data" --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address=
  wait_for_log "alertmanager" "$log_dir/alertmanager.log" 'Listening' 20
fi
if [[ -n $prometheus_bin ]]; then
  cat >"$log_dir/prometheus.yml" <<EOF
global: {scrape_interval: 2s, evaluation_interval: 2s}
rule_files: ["$repo_root/deploy/prometheus/recording_rules.yml", "$repo_root/deploy/prometheus/alert_rules.yml"]
alerting: {alertmanagers: [{static_configs: [{targets: ["127.0.0.1:$alertmanager_port"]}]}]}
scrape_configs: [{job_name: slipway, static_configs: [{targets: ["127.0.0.1:$admin_port"]}]}]
EOF
  start "prometheus" "$log_dir/prometheus.log" "$prometheus_bin" --config.file="$log_dir/prometheus.yml" \
    --storage.tsdb.path="$log_dir/prometheus-data" --web.listen-address="127.0.0.1:$prometheus_port"
  wait_for_log "prometheus" "$log_dir/prometheus.log" 'Server is ready' 30
fi

# The demo config plus what the tour needs: an admin token, a state directory for the latch, alerting.
export SLIPWAY_DEMO_ADMIN_TOKEN="demo-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
mkdir -p "$log_dir/state"
sed 's/^  port: 8081$/  port: 8081\n  token_env: SLIPWAY_DEMO_ADMIN_TOKEN/' config/examples/demo.yaml >"$log_dir/demo.yaml"
{
  echo "state_dir: $log_dir/state"
  if [[ -n $alertmanager_bin ]]; then
    echo "alerting: {alertmanager: {url: \"http://127.0.0.1:$alertmanager_port\"}, resend_every: 30s}"
  fi
} >>"$log_dir/demo.yaml"
start "gateway" "$log_dir/gateway.log" "$slipway_bin" --config "$log_dir/demo.yaml"
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
  gateway           http://127.0.0.1:$gateway_port/v1   (model "demo"; config/examples/demo.yaml, as run: $log_dir/demo.yaml)
  health            http://127.0.0.1:$gateway_port/healthz  http://127.0.0.1:$gateway_port/readyz
  baseline (fp16)   http://127.0.0.1:$baseline_port   vllm-sim, clean profile
  canary (int4)     http://127.0.0.1:$canary_port   vllm-sim, slippage in slices (deep schemas, 5+ tools, long prompts, French); 20% of users
  status page       http://127.0.0.1:$admin_port/status     metrics: http://127.0.0.1:$admin_port/metrics
  admin API token   $SLIPWAY_DEMO_ADMIN_TOKEN   (docs/admin-api.md)
  Prometheus        $([[ -n $prometheus_bin ]] && echo "http://127.0.0.1:$prometheus_port (recording and alert rules of deploy/prometheus/)" || echo "not installed")
  Alertmanager      $([[ -n $alertmanager_bin ]] && echo "http://127.0.0.1:$alertmanager_port" || echo "not installed")
  logs              $log_dir/

Try it:
  curl -s http://127.0.0.1:$gateway_port/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"demo","user":"alice","messages":[{"role":"user","content":"Hello"}]}' -D - 
  Edit $log_dir/demo.yaml (canary weight) and watch the canary share move.
  Wait about two minutes: the canary's slippage on deep schemas trips a rollback trigger, and the tour shows it.

Traffic: $rate req/s$( ((duration)) && echo ", for ${duration}s" || echo ", until Ctrl-C"). A line every 3 s:
EOF

# The tour watches the rollout through the admin API and tells the story; its lines go to the terminal.
services=${#pids[@]}  # the simulators, Alertmanager, Prometheus, the gateway
tour_args=(--admin "http://127.0.0.1:$admin_port" --token "$SLIPWAY_DEMO_ADMIN_TOKEN" --model demo)
[[ -n $prometheus_bin ]] && tour_args+=(--prometheus "http://127.0.0.1:$prometheus_port")
[[ -n $alertmanager_bin ]] && tour_args+=(--alertmanager "http://127.0.0.1:$alertmanager_port")
((exit_on_rollback)) && tour_args+=(--exit 1)
start "tour" "$log_dir/tour.log" node tools/demo-tour.mjs "${tour_args[@]}"
tour_pid=${pids[-1]}
tail -n +1 -f --pid="$tour_pid" "$log_dir/tour.log" &
tour_tail_pid=$!

# The traffic generator's summary lines go to the terminal and to traffic.log.
start "traffic" "$log_dir/traffic.log" node tools/demo-traffic.mjs --duration "$duration" --rate "$rate" --interval 3
traffic_pid=${pids[-1]}
tail -n +1 -f --pid="$traffic_pid" "$log_dir/traffic.log" &
tail_pid=$!

# Stop when the traffic generator ends (after --duration), when the tour has shown the rollback
# (--exit-on-rollback), or when a service dies.
rc=0
rolled_back=0
while kill -0 "$traffic_pid" 2>/dev/null; do
  if ((exit_on_rollback)) && ! kill -0 "$tour_pid" 2>/dev/null; then
    wait "$tour_pid" && rolled_back=1 || rc=$?
    break
  fi
  for ((i = 0; i < services; i++)); do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "demo.sh: ${names[$i]} exited unexpectedly; last lines of its log:" >&2
      tail -n 20 "$log_dir/${names[$i]}.log" >&2 2>/dev/null || true
      rc=1
      break 2
    fi
  done
  sleep 0.5
done
if ((rc == 0 && !rolled_back)); then
  wait "$traffic_pid" || rc=$?
  if ((rc == 0 && exit_on_rollback)); then
    echo "demo.sh: --duration ended before a rollback was shown" >&2
    rc=1
  fi
fi
kill "$tail_pid" "$tour_tail_pid" 2>/dev/null || true
exit "$rc"
