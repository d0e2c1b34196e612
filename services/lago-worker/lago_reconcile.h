/*  lago_reconcile - the lago-worker's half of the daily reconcile: the usage
 *  ledger against what Lago received (clients/reconcile_usage.h).
 *
 *  The stripe-worker's daily run (stripe_reconcile.h) compares subscriptions
 *  with Stripe; Lago's API is the lago-worker's, so this half runs here, on
 *  the background thread, with the same settings (RECONCILE_INTERVAL_S,
 *  RECONCILE_LEASE_S, RECONCILE_FIX) and the same lease pattern on the one
 *  row of usage_reconcile_runs (migration 072): one lago-worker runs it
 *  however many there are. It looks at the last window_s of usage
 *  (RECONCILE_USAGE_WINDOW_S, default 35 days: this period and the last).
 *
 *  It reports (the row, ob_reconcile_drift{kind="usage_not_forwarded"} in
 *  events Lago lacks, a warning log line); with fix it also puts those events
 *  back in its own forwarding queue (usage_reforward()), which the next
 *  forwarding steps send with their original transaction_ids.
 */
#ifndef LAGO_RECONCILE_H_INCLUDED
#define LAGO_RECONCILE_H_INCLUDED

#include <stdbool.h>

#include "clients/lago_api.h"
#include "common/ob_pg.h"

typedef struct {
    long interval_s; /* 0: off */
    long lease_s;    /* default 900 */
    long window_s;   /* default 3024000 */
    bool fix;
    const char *holder; /* host:pid */
} lago_reconcile_config_t;

void lago_reconcile_prepare(ob_pg_t *pg);

/*  Runs the check if it is due and this worker gets the lease. Returns the
 *  seconds until it should be asked again (1..60). */
long lago_reconcile_step(ob_pg_t *pg, lago_api_t *api, const lago_reconcile_config_t *config);

/*  The gauges of the last good run (for on_metrics, the caller's session). */
void lago_reconcile_metrics_prepare(ob_pg_t *pg);
void lago_reconcile_metrics_refresh(ob_pg_t *pg);

#endif
