-- wrk script for bench/run.py: sends requests that run.py built and formatted
-- beforehand (BENCH_REQUESTS.<thread index>, one file per wrk thread), read
-- once in init(). request() only hands out the next ready string, and there
-- is no response() hook: both cost wrk CPU per request
-- (shared/notes/performance-observations.md); the stored rows are counted
-- afterwards instead, against wrk's own non-2xx count (summary.errors.status).
--
-- File format: for each request a line with its length in bytes, then the
-- request itself (raw HTTP/1.1, Content-Length included).
-- BENCH_CYCLE=1 starts again at the first request once all were sent (for
-- read-only paths); otherwise a thread that runs out sends a request that is
-- answered 404 (never a duplicate) and stops, and RESULT says exhausted=N.
local threads = {}
local counter = 0

function setup(thread)
    thread:set("index", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local f = assert(io.open(os.getenv("BENCH_REQUESTS") .. "." .. index, "rb"))
    list = {}
    while true do
        local len = f:read("*l")
        if not len then break end
        list[#list + 1] = f:read(tonumber(len))
    end
    f:close()
    cycle = os.getenv("BENCH_CYCLE") == "1"
    exhausted_request = "GET /bench-requests-exhausted HTTP/1.1\r\nHost: bench\r\n\r\n"
    nextr = 1
    sent = 0
    exhausted = 0
end

function request()
    local r = list[nextr]
    if r == nil then
        if not cycle then
            exhausted = 1
            wrk.thread:stop()
            return exhausted_request
        end
        nextr = 1
        r = list[1]
    end
    nextr = nextr + 1
    sent = sent + 1
    return r
end

function done(summary, latency, requests)
    local sent_total, exhausted_threads = 0, 0
    for _, thread in ipairs(threads) do
        sent_total = sent_total + thread:get("sent")
        exhausted_threads = exhausted_threads + thread:get("exhausted")
    end
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format("RESULT requests=%d non2xx=%d errors=%d timeouts=%d seconds=%.3f rps=%.1f " ..
        "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f sent=%d exhausted=%d\n",
        summary.requests, e.status, e.connect + e.read + e.write, e.timeout, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, sent_total, exhausted_threads))
end
