#!/usr/bin/env bash
# bench/webhooks.sh - durable webhook ingest under load (a benchmark, not a test).
#
# Posts a stream of distinct, correctly signed Stripe events at a running
# gateway with many concurrent connections (wrk), prints events/s and
# latency percentiles, then checks in Postgres that every event answered 200
# is stored exactly once. For comparison it first measures the machine's
# plain HTTP ceiling the same way (GET /health: the gateway alone).
#
# Against a running stack:
#   GATEWAY_URL=http://127.0.0.1:8084 STRIPE_WEBHOOK_SECRET=whsec_... \
#   DATABASE_URL=postgres://... bench/webhooks.sh
# Or let it start one (gateway + stripe-worker from $OB_BUILD_DIR on a fresh
# database created with createdb in the server of ADMIN_DATABASE_URL):
#   START_STACK=1 OB_BUILD_DIR=build-rel ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres bench/webhooks.sh
#
# Knobs: CONNECTIONS (64), THREADS (wrk threads, 1), DURATION (seconds, 10),
# EVENTS (distinct events to pre-sign; default 120000 per second of DURATION),
# EVENT_TYPE (charge.succeeded: recorded then marked ignored by the processor).
# With 64 connections each waiting for its commit, throughput is bounded by
# 64 / (commit latency): check the disk's fsync time first (an idle NVMe does
# well under 1 ms; a busy shared disk 10-30 ms).
set -euo pipefail
# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "$0")/../deploy/scripts/lib.sh"
cd "$OB_ROOT"

CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
DURATION=${DURATION:-10}
EVENTS=${EVENTS:-$((120000 * DURATION))}
EVENT_TYPE=${EVENT_TYPE:-charge.succeeded}
RUN=${RUN:-b$(date +%s)}
WORK=$(mktemp -d /tmp/ob-bench-webhooks.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ "${START_STACK:-0}" == 1 ]]; then
    BUILD=${OB_BUILD_DIR:-build}
    : "${ADMIN_DATABASE_URL:?ADMIN_DATABASE_URL (a database URL on the server to create the bench database in)}"
    DBNAME="ob_bench_${RUN}"
    psql "$ADMIN_DATABASE_URL" -qc "CREATE DATABASE $DBNAME" >/dev/null
    # DB_URL_SUFFIX, e.g. '?options=-csynchronous_commit%3Doff', shows what the pipeline does without
    # waiting for the disk (diagnosis only: 200 must mean flushed to disk in production).
    DATABASE_URL="${ADMIN_DATABASE_URL%/*}/$DBNAME${DB_URL_SUFFIX:-}"
    export DATABASE_URL ENV_FILE=/dev/null MIGRATIONS_DIR=deploy/migrations LOG_LEVEL=warn
    "$BUILD/billing-admin" migrate >/dev/null
    PORT=$(ob_free_port)
    export GATEWAY_PORT=$PORT BROKER_BIND="tcp://127.0.0.1:$(ob_free_port)"
    export BROKER_ENDPOINT=$BROKER_BIND STRIPE_WEBHOOK_SECRET=${STRIPE_WEBHOOK_SECRET:-whsec_bench} ADMIN_TOKEN=bench
    GATEWAY_URL="http://127.0.0.1:$PORT"
    "$BUILD/gateway" 2>"$WORK/gateway.log" & PIDS+=($!)
    "$BUILD/stripe-worker" 2>"$WORK/stripe-worker.log" & PIDS+=($!)
    for _ in $(seq 100); do
        curl -fs -H "Authorization: Bearer bench" "$GATEWAY_URL/api/v1/admin/webhook-events?limit=1" >/dev/null && break
        sleep 0.1
    done
fi
: "${GATEWAY_URL:?}" "${STRIPE_WEBHOOK_SECRET:?}" "${DATABASE_URL:?}"

echo "== machine: $(nproc) cores; $CONNECTIONS connections, $THREADS wrk thread(s), ${DURATION}s each"
echo "== plain HTTP ceiling: GET /health (gateway only)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/http_ceiling.lua "$GATEWAY_URL/health" | grep '^RESULT'

echo "== signing $EVENTS distinct $EVENT_TYPE events"
"$OB_PYTHON" bench/webhook_events.py "$EVENTS" "$STRIPE_WEBHOOK_SECRET" "$RUN" "$EVENT_TYPE" "$WORK/events.tsv"

echo "== durable webhook ingest: POST /api/v1/billing/webhooks/stripe"
BENCH_EVENTS="$WORK/events.tsv" BENCH_THREADS="$THREADS" BENCH_OK_FILE="$WORK/ok.txt" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/webhooks.lua "$GATEWAY_URL" | grep '^RESULT'

echo "== check: every event answered 200 is in stripe_events exactly once"
psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE ok_ids (id text);
\copy ok_ids FROM '$WORK/ok.txt'
SELECT format('answered_200=%s distinct=%s missing_in_db=%s stored_rows_for_run=%s duplicate_ids_in_db=%s',
              (SELECT count(*) FROM ok_ids),
              (SELECT count(DISTINCT id) FROM ok_ids),
              (SELECT count(*) FROM (SELECT DISTINCT id FROM ok_ids) o WHERE NOT EXISTS (SELECT 1 FROM stripe_events e WHERE e.id = o.id)),
              (SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_${RUN}_%'),
              (SELECT count(*) - count(DISTINCT id) FROM stripe_events WHERE id LIKE 'evt_${RUN}_%'));
SELECT CASE WHEN (SELECT count(*) FROM (SELECT DISTINCT id FROM ok_ids) o
                  WHERE NOT EXISTS (SELECT 1 FROM stripe_events e WHERE e.id = o.id)) = 0
            THEN 'CHECK OK' ELSE 'CHECK FAILED: an event answered 200 is not stored' END;
SQL
