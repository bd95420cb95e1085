-- wrk script for slipway's benchmarks (bench/run.sh).
--
-- POSTs a JSON body read from a file; the body template's "__USER__" is replaced by one of
-- BENCH_USERS user names (default 1000), rotated per request, so a sticky splitter sees many
-- users. The same name goes in the header x-bench-user (nginx's split_clients keys on it).
--
-- Environment:
--   BENCH_BODY     file with the request body (required)
--   BENCH_PATH     request path (default /v1/chat/completions)
--   BENCH_HEADERS  extra headers, one "Name: value" per line
--   BENCH_USERS    number of distinct users (default 1000)
--   BENCH_RATE     if set, total requests per second (open-loop schedule shared by all
--                  connections of the thread; use -t1). wrk's timers tick in whole
--                  milliseconds, so arrivals are released in bursts of about RATE/1000.
--   BENCH_TAG      a label echoed in the result line
--
-- At the end prints one line: BENCH_RESULT {json} (latencies in microseconds).

local body_file = os.getenv("BENCH_BODY")
local path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
local nusers = tonumber(os.getenv("BENCH_USERS") or "1000")
local rate = tonumber(os.getenv("BENCH_RATE") or "")

local reqs = {}
local nreq = 0
local idx = 0

function init(args)
  local f = assert(io.open(body_file, "rb"), "cannot open BENCH_BODY " .. tostring(body_file))
  local template = f:read("*a")
  f:close()
  template = template:gsub("%s+$", "")
  local headers = { ["Content-Type"] = "application/json" }
  local extra = os.getenv("BENCH_HEADERS") or ""
  for line in extra:gmatch("[^\n]+") do
    local k, v = line:match("^%s*([^:]+):%s*(.*)$")
    if k then headers[k] = v end
  end
  for i = 1, nusers do
    local user = string.format("bench-user-%05d", i)
    headers["x-bench-user"] = user
    local body = template:gsub("__USER__", user)
    reqs[i] = wrk.format("POST", path, headers, body)
  end
  nreq = nusers
  idx = math.random(nusers) - 1
end

function request()
  idx = idx + 1
  if idx > nreq then idx = 1 end
  return reqs[idx]
end

if rate and rate > 0 then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk, bench_timespec *ts);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_at = nil
  -- called by wrk before each request on a connection: how many ms to wait
  function delay()
    local t = now_ms()
    if next_at == nil or next_at < t - 1 then next_at = t end -- no catch-up bursts
    local wait = next_at - t
    next_at = next_at + interval
    if wait < 0 then wait = 0 end
    return wait
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH_RESULT {"tag":"%s","requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    os.getenv("BENCH_TAG") or "", summary.requests, secs, summary.requests / secs, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
