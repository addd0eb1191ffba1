-- wrk script for bench:ack: POSTs the bodies of a file (separated by NUL bytes) on a fixed
-- schedule, one request every `interval` ms, whatever the answers' latency (an open loop), on
-- whichever connection is free. wrk alone runs a closed loop (it has no rate option), and
-- autocannon's overallRate sends each second's requests in one burst: neither holds a steady rate.
--   wrk -t1 -cN -s wrk-open-loop.lua URL -- <interval ms> <bodies file> <path>
-- Prints one line of JSON at the end: latencies in ms, requests, failures, and how many requests
-- left later than 1 ms after their slot (every connection busy: raise -c).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } lh_timespec;
int clock_gettime(int clock, lh_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("lh_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local bodies, count, nextBody = {}, 0, 0
local interval, target, due = 0, "/", nil
late, non2xx = 0, 0

function init(args)
  interval = tonumber(args[1])
  local file = assert(io.open(args[2], "rb"))
  local data = file:read("*a")
  file:close()
  for body in data:gmatch("(.-)%z") do
    count = count + 1
    bodies[count] = body
  end
  assert(count > 0, "no bodies in " .. args[2])
  target = args[3]
end

function delay()
  local t = now_ms()
  if due == nil then due = t end
  local wait = due - t
  due = due + interval
  if wait < -1 then late = late + 1 end
  if wait < 0 then return 0 end
  return wait
end

function request()
  nextBody = nextBody % count + 1
  return wrk.format("POST", target, nil, bodies[nextBody])
end

function response(status)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency)
  local lateTotal, non2xxTotal = 0, 0
  for _, thread in ipairs(threads) do
    lateTotal = lateTotal + thread:get("late")
    non2xxTotal = non2xxTotal + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"p99_9":%.3f,"max":%.3f,"non2xx":%d,"socketErrors":%d,"late":%d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    non2xxTotal, e.connect + e.read + e.write + e.timeout, lateTotal))
end
