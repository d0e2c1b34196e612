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
    bool fail_open;           /* AUTHORIZE_REDIS_FAILURE_POLICY=open */
    bool counters_dirty;      /* the ledger got usage Redis did not count: bump the epoch (also in usage_counters_dirty) */
    bool dirty_mark_failed;   /* the durable marker could not be written in this transaction: do not commit */
    int64_t dirty_checked_at; /* monotonic ms of the last look at the durable marker */
    bool scripts_loaded;
    int64_t redis_warned_at; /* monotonic ms of the last "Redis is down" line */
} usage_state_t;

/*  Sets up state for pg and redis (statements registered on pg). metrics
 *  are the known codes. -1 on OOM. */
int usage_state_init(usage_state_t *self, ob_pg_t *pg, ob_redis_t *redis, const usage_metrics_t *metrics, bool fail_open);
void usage_state_release(usage_state_t *self);

/*  One clear line when Redis cannot be used, at most every 10 s. */
void usage_state_redis_down(usage_state_t *self);

/*  Inside the transaction that writes ledger rows Redis did not count:
 *  raises the flag and writes the durable marker (usage_counters_dirty) in
 *  that transaction, so the rows and the marker commit together and a
 *  restart cannot lose it. When the marker cannot be written,
 *  dirty_mark_failed is set and the caller must not commit. */
void usage_state_mark_dirty(usage_state_t *self);

/*  Before touching counters, inside the round's transaction: if usage went
 *  into the ledger while Redis could not count it (the flag, or the durable
 *  marker, looked at on the first call and every few seconds: another
 *  process, or this one before a restart, may have left it), invalidates
 *  every counter (bumps the epoch) so they are rebuilt from the ledger, then
 *  deletes the marker of the generation it saw. */
void usage_state_settle_dirty(usage_state_t *self);

/*  The wall clock in Unix seconds. */
double usage_now_s(void);

/*  Compact JSON text of value (malloc'd, NULL on OOM); steals the reference. */
char *usage_json_take_text(json_t *value);

/*  "2026-01-31T00:00:00Z" for Unix seconds into buf. */
void usage_iso8601(int64_t t, char *buf, size_t cap);

#endif
