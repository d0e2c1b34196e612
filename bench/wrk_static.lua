-- wrk script for bench/run.py's HTTP ceiling: wrk's static request (no
-- request() or response() hook, the cheapest wrk can be), summary in the same
-- RESULT format as bench/wrk_requests.lua.
function done(summary, latency, requests)
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format("RESULT requests=%d non2xx=%d errors=%d timeouts=%d seconds=%.3f rps=%.1f " ..
        "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f sent=%d exhausted=0\n",
        summary.requests, e.status, e.connect + e.read + e.write, e.timeout, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, summary.requests))
end
