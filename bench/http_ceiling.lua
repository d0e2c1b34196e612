-- wrk script: the same summary line as webhooks.lua, for the plain HTTP ceiling (GET /health,
-- answered by the gateway itself: no broker, no worker, no database).
function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    io.write(string.format("RESULT requests=%d errors=%d seconds=%.2f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
        summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        seconds, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000))
end
