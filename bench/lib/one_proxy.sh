# Sourced by bench/syscalls.sh, bench/profile.sh, bench/instructions.sh, bench/stalls.sh and bench/ttfb-trace.sh: two simulators
# and one proxy under test, pinned as bench/run.sh pins them (simulators and proxy on core 0, the load
# generator on core 1; nice -10 as root), all stopped on exit. Needs BENCH, SIM_BIN, SLIPWAY_BIN, TARGET (slipway, slipway-noval, ...: the config
# bench/configs/$TARGET.yaml; nginx; haproxy) and optionally PRELOAD (LD_PRELOAD for slipway) and WRAPPER
# (a command slipway runs under, such as valgrind). Sets WORK,
# PORT, LOAD (the load generator's prefix) and PROXY (the process to measure: nginx's worker, not its master).
[[ -x $SIM_BIN ]] || { echo "no simulator at $SIM_BIN (--sim BIN; bench/run.sh builds one in build-bench/)" >&2; exit 1; }
[[ $TARGET != slipway* || -x $SLIPWAY_BIN ]] || { echo "no slipway at $SLIPWAY_BIN (--slipway BIN)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/slipway-bench.XXXXXX); chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT
PIN=(taskset -c 0); LOAD=(taskset -c 1)
[[ $(id -u) == 0 ]] && { PIN=(nice -n -10 "${PIN[@]}"); LOAD=(nice -n -10 "${LOAD[@]}"); }

start_sim() { # label var: not in a subshell, so that PIDS records the simulator for the cleanup
  "${PIN[@]}" "$SIM_BIN" --port 0 --model bench --ttft-ms 0 --token-ms 0 --threads 1 --name "$1" >"$WORK/sim-$1.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '"listening"' "$WORK/sim-$1.out" 2>/dev/null && break; sleep 0.05; done
  printf -v "$2" '%s' "$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$WORK/sim-$1.out" | head -1)"
}
start_sim baseline BP; start_sim canary CP
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
render() { sed -e "s|@DIR@|$WORK|g" -e "s|@PORT@|$PORT|g" -e "s|@BASELINE_PORT@|$BP|g" -e "s|@CANARY_PORT@|$CP|g" \
               -e "s|@NGINX_CONNECTIONS@|8192|g" -e "s|@HAPROXY_MAXCONN@|8000|g" "$1" >"$2"; }
case $TARGET in
  slipway*) [[ -f $BENCH/configs/$TARGET.yaml ]] || { echo "no bench/configs/$TARGET.yaml" >&2; exit 2; }
            render "$BENCH/configs/$TARGET.yaml" "$WORK/s.yaml"
            "${PIN[@]}" env ${PRELOAD:+LD_PRELOAD=$PRELOAD} ${WRAPPER:-} "$SLIPWAY_BIN" --config "$WORK/s.yaml" >"$WORK/s.log" 2>&1 & ;;
  nginx) mkdir -p "$WORK/nginx"; render "$BENCH/configs/nginx.conf" "$WORK/nginx/nginx.conf"
         "${PIN[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e stderr 2>"$WORK/nginx.err" & ;;
  haproxy) render "$BENCH/configs/haproxy.cfg" "$WORK/h.cfg"; "${PIN[@]}" haproxy -db -f "$WORK/h.cfg" >"$WORK/h.log" 2>&1 & ;;
  *) echo "unknown target $TARGET" >&2; exit 2 ;;
esac
PIDS+=($!)
PROXY=$!
sleep 1
kill -0 "$PROXY" 2>/dev/null || { echo "$TARGET did not start:" >&2; tail -n 5 "$WORK"/*.log "$WORK"/*.err >&2 2>/dev/null; exit 1; }
if [[ $TARGET == nginx ]]; then PROXY=$(pgrep -P "$PROXY" | head -1); fi   # the worker
