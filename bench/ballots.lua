-- wrk script of bench/bench_ballots.py: POST each pre-signed ballot body exactly once.
-- Usage: wrk -t1 -c64 -d30s -s bench/ballots.lua http://127.0.0.1:PORT -- BODIES_FILE PATH
-- BODIES_FILE has one JSON request body per line. One wrk thread: the bodies are sent in
-- order, each once, for the duration of the run (give more bodies than can be sent).
local bodies = {}
local path = "/"
local sent = 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  path = args[2]
end

function request()
  sent = sent + 1
  -- Past the end (only while the last answers are in flight): resend the last body,
  -- an idempotent retry that adds nothing to the log.
  local body = bodies[math.min(sent, #bodies)]
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT {\"requests\": %d, \"duration_us\": %d, \"status_errors\": %d, " ..
    "\"connect_errors\": %d, \"read_errors\": %d, \"write_errors\": %d, \"timeouts\": %d, " ..
    "\"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, \"max_us\": %d, \"mean_us\": %.1f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
