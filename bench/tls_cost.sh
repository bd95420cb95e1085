#!/bin/bash
# What TLS costs the gateway (docs/tls.md): gateway CPU per request and throughput for plain HTTP and HTTPS,
# keep-alive and one connection per request. One vllm-sim (0 ms think time), slipway `threads: 1` pinned
# to core 0 (log_level info: a request line each, as the other runs), wrk -t1 -c32 pinned to core 1, bench/lib/post.lua with bench/lib/body-chat.json.
#
# usage: bench/tls_cost.sh SLIPWAY_BIN VLLM_SIM_BIN [SECONDS] [MODES...]
#   MODES: plain tls plain-close tls-close (default: all four)
# Prints one line per mode: requests, rps, p50, gateway CPU µs per request (utime+stime / requests).
set -u
BIN=$1; SIM=$2; D=${3:-6}; shift 2; [[ $# -gt 0 ]] && shift
MODES=${*:-plain tls plain-close tls-close}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/slipway-tls-cost-XXXX)
trap 'rm -rf "$W"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/gw.key" -out "$W/gw.crt" \
  -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null

run() { # mode
  local mode=$1 tls="" scheme=http hdr=""
  "$SIM" --port 0 --model bench --ttft-ms 0 --token-ms 0 --threads 1 --name s >"$W/sim.out" 2>&1 &
  local simpid=$!
  for _ in $(seq 50); do grep -q '"port"' "$W/sim.out" && break; sleep 0.1; done
  local sp; sp=$(grep -o '"port":[0-9]*' "$W/sim.out" | head -1 | cut -d: -f2)
  if [[ $mode == tls* ]]; then tls=", tls: {cert_file: $W/gw.crt, key_file: $W/gw.key}"; scheme=https; fi
  [[ $mode == *close ]] && hdr="Connection: close"
  printf 'listen: {address: 127.0.0.1, port: 0%s}\nthreads: 1\nlog_level: info\nhealth: {check_interval: 0}\nmodels:\n  - name: bench\n    baseline: {served_model: bench, endpoints: ["127.0.0.1:%s"]}\n' \
    "$tls" "$sp" >"$W/gw.yaml"
  taskset -c 0 "$BIN" --config "$W/gw.yaml" >"$W/gw.out" 2>&1 &
  local gwpid=$!
  for _ in $(seq 100); do grep -q '"listening"' "$W/gw.out" && break; sleep 0.1; done
  local gp; gp=$(grep '"listening"' "$W/gw.out" | grep -o '"port":[0-9]*' | head -1 | cut -d: -f2)
  local t0 t1 out
  kill -0 $gwpid 2>/dev/null || { echo "$mode: gateway did not start: $(tail -3 "$W/gw.out")"; kill $simpid; return; }
  t0=$(awk '{print $14+$15}' /proc/$gwpid/stat)
  out=$(BENCH_BODY=$HERE/lib/body-chat.json BENCH_HEADERS="$hdr" BENCH_TAG=$mode taskset -c 1 \
        wrk -t1 -c32 -d"${D}s" --timeout 5s -s "$HERE/lib/post.lua" "$scheme://127.0.0.1:$gp/v1/chat/completions" 2>&1)
  t1=$(awk '{print $14+$15}' /proc/$gwpid/stat)
  kill $gwpid $simpid; wait $gwpid $simpid 2>/dev/null
  local n rps p50 tick_us
  n=$(grep -o '"requests":[0-9]*' <<<"$out" | cut -d: -f2)
  rps=$(grep -o '"rps":[0-9.]*' <<<"$out" | cut -d: -f2)
  p50=$(grep -o '"p50_us":[0-9]*' <<<"$out" | cut -d: -f2)
  tick_us=$((1000000 / $(getconf CLK_TCK)))
  echo "$mode requests=$n rps=$rps p50_us=$p50 gateway_cpu_us_per_req=$(( (t1 - t0) * tick_us / (n > 0 ? n : 1) ))"
}
for m in $MODES; do run "$m"; done
