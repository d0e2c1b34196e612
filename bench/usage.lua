-- wrk script for bench/usage.sh: usage ingest (single events or batches) and
-- authorize, every request with fresh transaction ids (run id, thread, counter)
-- spread over BENCH_USERS users. Prints one RESULT line.
local mode = os.getenv("BENCH_MODE") or "batch"        -- single | batch | authorize | check
local run = os.getenv("BENCH_RUN") or "run"
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local token = os.getenv("BENCH_TOKEN") or "bench"
local threads = {}
local counter = 0

function setup(thread)
    thread:set("index", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    n = 0
    ok = 0
    other = 0
    now = os.time()
    headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
    per_request = (mode == "batch") and batch or 1
end

local function event()
    n = n + 1
    return string.format('{"transaction_id":"%s-%d-%d","user_id":"bench-u%d","code":"api_calls","timestamp":%d}',
        run, index, n, n % users, now)
end

local features = {"tts", "bolt_diy", "chat", "litellm"}

function request()
    if mode == "check" then
        n = n + 1
        return wrk.format("POST", "/api/v1/entitlements/check", headers,
            string.format('{"user_id":"bench-u%d","feature":"%s"}', n % users, features[n % #features + 1]))
    end
    if mode == "authorize" then
        n = n + 1
        return wrk.format("POST", "/api/v1/usage/authorize", headers,
            string.format('{"transaction_id":"%s-%d-%d","user_id":"bench-u%d","code":"api_calls","quantity":1}',
                run, index, n, n % users))
    end
    local parts = {}
    for i = 1, per_request do
        parts[i] = event()
    end
    return wrk.format("POST", "/api/v1/usage/events", headers, '{"events":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
    if status == 200 or status == 202 then
        ok = ok + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local total_ok, total_other, k = 0, 0, 1
    for _, thread in ipairs(threads) do
        total_ok = total_ok + thread:get("ok")
        total_other = total_other + thread:get("other")
        k = thread:get("per_request")
    end
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "RESULT mode=%s requests=%d ok=%d non2xx=%d errors=%d seconds=%.2f rps=%.0f events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
        mode, summary.requests, total_ok, total_other,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        seconds, summary.requests / seconds, total_ok * k / seconds,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
