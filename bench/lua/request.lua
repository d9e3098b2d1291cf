-- wrk script for every bench scenario (bench/run.py sets the environment).
--
--   BENCH_METHOD    GET or POST
--   BENCH_BODY      request body; __UUID__ and __PHONE__ become fresh values on each request
--   BENCH_HEADERS   "Name: value" lines; __UUID__ in a value becomes a fresh UUID too
--
-- At the end it prints one line, "BENCH_JSON {...}", with the counts and the
-- latency percentiles (microseconds) that bench/run.py reads.

local method = os.getenv("BENCH_METHOD") or "GET"
local body_template = os.getenv("BENCH_BODY")
if body_template == "" then body_template = nil end
local headers = {}
local dynamic = body_template ~= nil
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then
    headers[name] = value
    if value:find("__UUID__", 1, true) then dynamic = true end
  end
end

local threads = {}
local counter = 0
local fixed = nil

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  -- A different sequence in every thread and every run; the counter keeps
  -- values unique within a thread even if two random draws collide.
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  if not dynamic then
    fixed = wrk.format(method, nil, headers, nil)
  end
end

local function uuid()
  counter = counter + 1
  return string.format("%04x%04x-%04x-4%03x-a%03x-%04x%08x",
    math.random(0, 65535), math.random(0, 65535), math.random(0, 65535), math.random(0, 4095),
    math.random(0, 4095), tid or 0, counter)
end

local function phone()
  return string.format("+86139%08d", math.random(0, 99999999))
end

function request()
  if fixed then return fixed end
  local key = uuid()
  local h = {}
  for name, value in pairs(headers) do
    h[name] = (value:gsub("__UUID__", key))
  end
  local body = nil
  if body_template then
    body = (body_template:gsub("__UUID__", key):gsub("__PHONE__", phone()))
  end
  return wrk.format(method, nil, h, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p95_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
