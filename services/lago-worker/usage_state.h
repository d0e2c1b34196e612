/*  usage_state - the usage service's state: owned by main.c, passed to every
 *  method as `state` (the runtime's ob_worker_config_t.state), the same
 *  pattern as every worker (stripe_state_t, subs_state_t).
 *
 *  The methods live in usage_ingest.c, usage_authorize.c and usage_read.c
 *  (docs/usage.md has the design).
 */
#ifndef USAGE_STATE_H_INCLUDED
#define USAGE_STATE_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/lago-worker/quota.h"
#include "services/lago-worker/usage_events.h"

typedef struct {
    ob_pg_t *pg;       /* borrowed */
    ob_redis_t *redis; /* borrowed */
    quota_t *quota;    /* owned */
    usage_metrics_t metrics;
    bool fail_open;      /* AUTHORIZE_REDIS_FAILURE_POLICY=open */
    bool counters_dirty; /* the ledger got usage Redis did not count: bump the epoch */
    bool scripts_loaded;
    int64_t redis_warned_at; /* monotonic ms of the last "Redis is down" line */
} usage_state_t;

/*  Sets up state for pg and redis (statements registered on pg). metrics
 *  are the known codes. -1 on OOM. */
int usage_state_init(usage_state_t *self, ob_pg_t *pg, ob_redis_t *redis, const usage_metrics_t *metrics, bool fail_open);
void usage_state_release(usage_state_t *self);

/*  One clear line when Redis cannot be used, at most every 10 s. */
void usage_state_redis_down(usage_state_t *self);

/*  Before touching counters: if usage went into the ledger while Redis could
 *  not count it, invalidates every counter so they are rebuilt from the ledger. */
void usage_state_settle_dirty(usage_state_t *self);

/*  The wall clock in Unix seconds. */
double usage_now_s(void);

/*  Compact JSON text of value (malloc'd, NULL on OOM); steals the reference. */
char *usage_json_take_text(json_t *value);

/*  "2026-01-31T00:00:00Z" for Unix seconds into buf. */
void usage_iso8601(int64_t t, char *buf, size_t cap);

#endif
