/*  notifier_gauges - the notifier's gauges for /metrics: notifications
 *  waiting to be delivered (pending or being sent), the age of the oldest,
 *  and deliveries that failed for good; the same for outgoing webhook
 *  messages (one per notification and endpoint). One query every
 *  METRICS_INTERVAL_MS (the runtime's on_metrics), never per scrape. */
#ifndef NOTIFIER_GAUGES_H_INCLUDED
#define NOTIFIER_GAUGES_H_INCLUDED

#include "common/ob_pg.h"

/*  Registers the statement on the session. */
void notifier_gauges_prepare(ob_pg_t *pg);

/*  ob_worker_config_t.on_metrics; state is the notifier_state_t. */
void notifier_gauges_refresh(void *state);

#endif
