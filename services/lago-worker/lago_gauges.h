/*  lago_gauges - the lago-worker's backlog gauges for /metrics: usage not
 *  yet forwarded to Lago (count, the oldest one's age, how many of them have
 *  failed at least once) and Lago's webhook inbox (pending, failed). One
 *  query over partial indexes every METRICS_INTERVAL_MS (the runtime's
 *  on_metrics), never per scrape. The counters (authorize decisions, quota
 *  rebuilds) are counted where they happen (usage_authorize.c). */
#ifndef LAGO_GAUGES_H_INCLUDED
#define LAGO_GAUGES_H_INCLUDED

#include "common/ob_pg.h"

/*  Registers the statement on the session and the counters at 0. */
void lago_gauges_prepare(ob_pg_t *pg);

/*  ob_worker_config_t.on_metrics; state is the usage_state_t. */
void lago_gauges_refresh(void *state);

#endif
