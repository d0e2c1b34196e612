/*  lago_usage - the usage API: ingest, authorize, usage so far.
 *
 *  usage.ingest and usage.authorize are handle_batch methods: every waiting
 *  request of the method shares one Postgres transaction (group commit) and
 *  is answered only after it committed (docs/usage.md has the design).
 */
#ifndef LAGO_USAGE_H_INCLUDED
#define LAGO_USAGE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "common/ob_worker.h"
#include "services/lago-worker/lago_events.h"
#include "services/lago-worker/lago_quota.h"

typedef struct {
    ob_pg_t *pg;         /* borrowed */
    ob_redis_t *redis;   /* borrowed */
    lago_quota_t *quota; /* owned */
    lago_metrics_t metrics;
    bool fail_open;      /* AUTHORIZE_REDIS_FAILURE_POLICY=open */
    bool counters_dirty; /* the ledger got usage Redis did not count: bump the epoch */
    bool scripts_loaded;
    int64_t redis_warned_at; /* monotonic ms of the last "Redis is down" line */
} lago_usage_t;

/*  Sets up state for pg and redis (statements registered on pg). metrics
 *  are the known codes. -1 on OOM. */
int lago_usage_init(lago_usage_t *self, ob_pg_t *pg, ob_redis_t *redis, const lago_metrics_t *metrics, bool fail_open);
void lago_usage_release(lago_usage_t *self);

/*  POST /api/v1/usage/events (handle_batch; state is a lago_usage_t). */
void lago_usage_ingest(void *state, ob_job_t **jobs, size_t count);

/*  POST /api/v1/usage/authorize (handle_batch). */
void lago_usage_authorize(void *state, ob_job_t **jobs, size_t count);

/*  GET /api/v1/usage/me and /api/v1/usage/{user_id} (handle). */
void lago_usage_get(void *state, ob_job_t *job);

/*  "2026-01-31T00:00:00Z" for Unix seconds into buf. */
void lago_usage_iso8601(int64_t t, char *buf, size_t cap);

#endif
