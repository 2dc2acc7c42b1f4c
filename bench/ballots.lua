-- wrk script of bench/bench_ballots.py: POST each pre-signed ballot body exactly once.
-- Usage: wrk -t1 -c64 -d30s -s bench/ballots.lua http://127.0.0.1:PORT -- BODIES_FILE PATH
-- BODIES_FILE has one JSON request body per line. The bodies are sent in order, each once.
-- Bodies are never resent: when they run out the thread stops and the run is reported as
-- "exhausted" (wrk still divides by the full duration, so its rate is then too low; the
-- benchmark sizes the duration to avoid that). Answers are counted 2xx / non-2xx here.
local bodies = {}
local path = "/"
-- Globals, so that done() can read them from each thread (thread:get reads globals).
sent = 0
ok = 0
failed = 0
exhausted = 0
count = 0
local headers = {["Content-Type"] = "application/json"}
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  count = #bodies
  path = args[2]
end

function request()
  sent = sent + 1
  if sent > #bodies then
    exhausted = 1
    wrk.thread:stop()
    -- wrk needs a request; the thread stops before it is answered (not a ballot sent).
    return wrk.format("GET", "/__bodies_exhausted__")
  end
  return wrk.format("POST", path, headers, bodies[sent])
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local ok_all, failed_all, exhausted_any, sent_all = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_all = ok_all + thread:get("ok")
    failed_all = failed_all + thread:get("failed")
    exhausted_any = math.max(exhausted_any, thread:get("exhausted"))
    sent_all = sent_all + math.min(thread:get("sent"), thread:get("count"))
  end
  io.write(string.format(
    "RESULT {\"requests\": %d, \"duration_us\": %d, \"status_errors\": %d, " ..
    "\"connect_errors\": %d, \"read_errors\": %d, \"write_errors\": %d, \"timeouts\": %d, " ..
    "\"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, \"max_us\": %d, \"mean_us\": %.1f, " ..
    "\"ok_2xx\": %d, \"non_2xx\": %d, \"exhausted\": %d, \"bodies_sent\": %d}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, ok_all, failed_all, exhausted_any, sent_all))
end
