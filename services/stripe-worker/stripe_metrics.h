/*  stripe_metrics - the stripe-worker's gauges for /metrics: the webhook
 *  inbox's pending and failed events and the age of the oldest pending
 *  one, from one indexed query every METRICS_INTERVAL_MS (the runtime's
 *  on_metrics), never per scrape. */
#ifndef STRIPE_METRICS_H_INCLUDED
#define STRIPE_METRICS_H_INCLUDED

#include "common/ob_pg.h"

/*  Registers the statement on the session. */
void stripe_metrics_prepare(ob_pg_t *pg);

/*  ob_worker_config_t.on_metrics; state is the stripe_state_t. */
void stripe_metrics_refresh(void *state);

#endif
