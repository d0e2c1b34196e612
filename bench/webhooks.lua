-- wrk script: POSTs pre-signed distinct Stripe events (bench/webhook_events.py)
-- and remembers which ones were answered 200. The event id travels as
-- X-Request-Id, which the gateway echoes, so each answer names its event.
-- Each thread sends every THREADS-th line, so no event is sent twice.
local events_file = os.getenv("BENCH_EVENTS")
local path = os.getenv("BENCH_PATH") or "/api/v1/billing/webhooks/stripe"
local threads = {}
local counter = 0

function setup(thread)
    thread:set("index", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
    requests_list = {}
    local n = 0
    for line in io.lines(events_file) do
        if n % nthreads == index then
            local id, signature, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
            table.insert(requests_list, wrk.format("POST", path, {
                ["Content-Type"] = "application/json",
                ["Stripe-Signature"] = signature,
                ["X-Request-Id"] = id,
            }, body))
        end
        n = n + 1
    end
    next_request = 1
    ok = {}
    ok_count = 0
    other = 0
    exhausted = 0
end

function request()
    local r = requests_list[next_request]
    if r == nil then
        -- Out of distinct events: stop rather than send a duplicate.
        exhausted = exhausted + 1
        wrk.thread:stop()
        return requests_list[#requests_list]
    end
    next_request = next_request + 1
    return r
end

function response(status, headers, body)
    if status == 200 then
        ok_count = ok_count + 1
        ok[ok_count] = headers["x-request-id"] or headers["X-Request-Id"] or ""
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local out = io.open(os.getenv("BENCH_OK_FILE"), "w")
    local total_ok, total_other, sent, exhausted_threads = 0, 0, 0, 0
    for _, thread in ipairs(threads) do
        local ids = thread:get("ok")
        local n = thread:get("ok_count")
        for i = 1, n do
            out:write(ids[i], "\n")
        end
        total_ok = total_ok + n
        total_other = total_other + thread:get("other")
        sent = sent + thread:get("next_request") - 1
        if thread:get("exhausted") > 0 then exhausted_threads = exhausted_threads + 1 end
    end
    out:close()
    local seconds = summary.duration / 1e6
    io.write(string.format("RESULT requests=%d ok=%d non200=%d sent=%d errors=%d seconds=%.2f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f exhausted_threads=%d\n",
        summary.requests, total_ok, total_other, sent,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, exhausted_threads))
end
