/*  usage_service - more runtimes of the broker service "usage" in the
 *  lago-worker process, each on its own thread with its own Postgres
 *  session, Redis connection and usage_state_t.
 *
 *  One runtime runs its group commits in series on one session: while
 *  Postgres inserts and commits one batch, the runtime waits, and the next
 *  batch waits for it (one core busy, the other idle). With several, the
 *  broker hands requests to them round robin and their transactions run at
 *  once, as several lago-worker processes would (everything they share
 *  lives in Postgres and Redis: the advisory locks, the counters, the
 *  durable counters-dirty marker). USAGE_RUNTIMES (default 1) counts the
 *  main thread's runtime too. All stop on the same SIGTERM.
 */
#ifndef USAGE_SERVICE_H_INCLUDED
#define USAGE_SERVICE_H_INCLUDED

#include <stdbool.h>

#include "common/ob_worker.h"
#include "services/lago-worker/usage_events.h"

typedef struct _usage_service_t usage_service_t;

/*  Starts one more "usage" runtime on a thread with its own sessions to
 *  database_url and redis_url; config is copied except for state (the
 *  thread's own usage_state_t) and on_metrics (the main runtime's alone).
 *  NULL when a session, the state or the thread cannot be made. */
usage_service_t *usage_service_start(const char *database_url, const char *redis_url, const usage_metrics_t *metrics,
                                     bool fail_open, const ob_worker_config_t *config);

/*  Asks every runtime to stop (as on SIGTERM), waits for this one and frees
 *  everything. NULL-safe; nulls *self_p. */
void usage_service_stop(usage_service_t **self_p);

#endif
