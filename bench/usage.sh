#!/usr/bin/env bash
# bench/usage.sh - usage ingest and authorize under load (a benchmark, not a test).
#
# Starts its own stack (gateway, subscription-worker, lago-worker from
# $OB_BUILD_DIR, a private redis-server, and a fresh database: in the server
# of ADMIN_DATABASE_URL when set, else in a private Postgres cluster started
# like the integration tests' (fsync=off: this box's disk takes ~20 ms per
# fsync, which would measure the disk, not the code), gives BENCH_USERS users a professional
# subscription, then with wrk at CONNECTIONS connections measures:
#   1. POST /api/v1/usage/events, one event per request      (events/s)
#   2. POST /api/v1/usage/events, batches of 100 events       (events/s)
#   3. POST /api/v1/usage/authorize                           (requests/s)
#   4. POST /api/v1/entitlements/check, one feature a request (requests/s; the hot copy, no Postgres)
# each with p50/p99, then the RSS of each process, and checks that every
# answer 2xx is a committed ledger row (no more, no fewer).
#
#   OB_BUILD_DIR=build-usage bench/usage.sh
#   OB_BUILD_DIR=build-usage ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres bench/usage.sh
#
# Knobs: MODES ("single batch authorize check"), USAGE_RUNTIMES (2), CONNECTIONS (64), THREADS (wrk threads, 1), DURATION (seconds, 10), BENCH_USERS (1000).
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/../deploy/scripts/lib.sh"
cd "$OB_ROOT"

CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
DURATION=${DURATION:-10}
BENCH_USERS=${BENCH_USERS:-1000}
BUILD=${OB_BUILD_DIR:-build}
RUN=${RUN:-u$(date +%s)}
WORK=$(mktemp -d /tmp/ob-bench-usage.XXXXXX)
PIDS=()

cleanup() {
    if [[ -n "${PGDIR:-}" ]]; then
        ob_pg_stop "$PGDIR" immediate 2>/dev/null || true
        rm -rf "$PGDIR"
    fi
    ob_stop_pids "redis-server=$WORK/redis/redis.pid" >/dev/null
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }

if [[ -z "${ADMIN_DATABASE_URL:-}" ]]; then
    PGDIR=$(mktemp -d /tmp/ob-bench-pg.XXXXXX)
    PGPORT=$(ob_free_port)
    OB_PG_NOSYNC=1 ob_pg_start "$PGDIR" "$PGPORT" "$PGDIR/pg.log" trust -c fsync=off -c full_page_writes=off \
        -c synchronous_commit=off -c max_connections=200 -c shared_buffers=256MB
    ADMIN_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
fi
DBNAME="ob_bench_${RUN}"
psql "$ADMIN_DATABASE_URL" -qc "CREATE DATABASE $DBNAME" >/dev/null
DATABASE_URL="${ADMIN_DATABASE_URL%/*}/$DBNAME"
REDIS_PORT=$(ob_free_port)
ob_redis_start "$WORK/redis" "$REDIS_PORT" "" no
REDIS_PID=$(<"$WORK/redis/redis.pid")
PORT=$(ob_free_port)
BROKER="tcp://127.0.0.1:$(ob_free_port)"
export DATABASE_URL ENV_FILE=/dev/null MIGRATIONS_DIR=deploy/migrations LOG_LEVEL=warn PLANS_FILE=deploy/plans.json
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT" GATEWAY_PORT=$PORT BROKER_BIND=$BROKER BROKER_ENDPOINT=$BROKER
export SERVICE_TOKENS=bench ADMIN_TOKEN=bench-admin
# Two usage runtimes in the lago-worker (its group commits run at once; docs/performance.md).
export USAGE_RUNTIMES=${USAGE_RUNTIMES:-2}
"$BUILD/billing-admin" migrate >/dev/null
GATEWAY_URL="http://127.0.0.1:$PORT"
"$BUILD/gateway" 2>"$WORK/gateway.log" & GATEWAY_PID=$!; PIDS+=($!)
"$BUILD/subscription-worker" 2>"$WORK/subscription-worker.log" & SUBS_PID=$!; PIDS+=($!)
LOG_LEVEL=${LAGO_LOG_LEVEL:-warn} "$BUILD/lago-worker" 2>"$WORK/lago-worker.log" & LAGO_PID=$!; PIDS+=($!)
for _ in $(seq 100); do
    curl -fs -H "Authorization: Bearer bench" "$GATEWAY_URL/api/v1/usage/nobody" >/dev/null && break
    sleep 0.1
done
for _ in $(seq 100); do
    [[ $(psql "$DATABASE_URL" -qAtc "SELECT count(*) FROM plans") -ge 4 ]] && break
    sleep 0.1
done
psql "$DATABASE_URL" -qc "
  INSERT INTO customers (user_id) SELECT 'bench-u' || g FROM generate_series(0, $BENCH_USERS - 1) g;
  INSERT INTO subscriptions (id, user_id, plan_id, interval, status, started_at, current_period_start, current_period_end)
  SELECT 'sub_bench_' || g, 'bench-u' || g, 'professional', 'month', 'active', now() - interval '3 days',
         now() - interval '3 days', now() + interval '27 days' FROM generate_series(0, $BENCH_USERS - 1) g;"
# The subscription-worker publishes each user's entitlement copy to Redis
# (as in production, where the copies exist): wait for them, so the first
# seconds do not measure the publishing instead of the job.
for _ in $(seq 300); do
    [[ $(redis-cli -p "$REDIS_PORT" --scan --pattern 'ob:ent:bench-u*' | wc -l) -ge $BENCH_USERS ]] && break
    sleep 0.1
done

echo "== machine: $(nproc) cores; $CONNECTIONS connections, $THREADS wrk thread(s), ${DURATION}s each; $BENCH_USERS users"
run() {
    BENCH_MODE=$1 BENCH_RUN="$RUN-$1" BENCH_USERS=$BENCH_USERS BENCH_TOKEN=bench \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s bench/usage.lua "$GATEWAY_URL" | grep '^RESULT'
}
for mode in ${MODES:-single batch authorize check}; do
    case $mode in
    single) echo "== ingest, single events" ;;
    batch) echo "== ingest, batches of 100" ;;
    authorize) echo "== authorize" ;;
    check) echo "== entitlement check" ;;
    esac
    run "$mode"
done
echo "== RSS: gateway $(rss $GATEWAY_PID), lago-worker $(rss $LAGO_PID), subscription-worker $(rss $SUBS_PID), redis-server $(rss "$REDIS_PID")"
echo "== ledger: $(psql "$DATABASE_URL" -qAtc "SELECT format('ingest rows=%s authorize rows=%s', count(*) FILTER (WHERE source = 'ingest'), count(*) FILTER (WHERE source = 'authorize')) FROM usage_events")"
if [[ -n "${LAGO_LOG_LEVEL:-}" ]]; then
    echo "== lago-worker log (last lines)"
    tail -n "${LOG_LINES:-15}" "$WORK/lago-worker.log"
fi
