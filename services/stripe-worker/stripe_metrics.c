/*  stripe_metrics - the stripe-worker's gauges for /metrics. */
#include "services/stripe-worker/stripe_metrics.h"

#include "clients/reconcile_drift.h"
#include "common/ob_metrics_query.h"
#include "services/stripe-worker/stripe_state.h"

static const ob_metrics_column_t s_columns[] = {
    {"ob_stripe_inbox_events", "Stripe webhook events in the inbox by status (pending: not processed yet; failed: gave up).",
     "status", "pending"},
    {"ob_stripe_inbox_events", "Stripe webhook events in the inbox by status (pending: not processed yet; failed: gave up).",
     "status", "failed"},
    {"ob_stripe_inbox_oldest_pending_age_seconds", "Age of the oldest pending Stripe webhook event (0 when none).", NULL, NULL},
};

/*  The daily reconcile's last good run (stripe_reconcile.h), the same row for
 *  every stripe-worker. */
static const ob_metrics_column_t s_reconcile_columns[] = {
    {"ob_reconcile_drift", OB_RECONCILE_DRIFT_HELP, "kind", "missing_here"},
    {"ob_reconcile_drift", OB_RECONCILE_DRIFT_HELP, "kind", "missing_in_stripe"},
    {"ob_reconcile_drift", OB_RECONCILE_DRIFT_HELP, "kind", "status_mismatch"},
    {"ob_reconcile_drift", OB_RECONCILE_DRIFT_HELP, "kind", "price_mismatch"},
    {"ob_reconcile_last_success_timestamp_seconds", "When the last daily reconcile completed (Unix seconds; 0: never).", NULL,
     NULL},
};

void
stripe_metrics_prepare(ob_pg_t *pg)
{
    /* Both counts ride the (status, received_at) index. */
    ob_pg_prepare(pg, "stripe_metrics",
                  "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed'), "
                  "COALESCE(EXTRACT(EPOCH FROM now() - min(received_at) FILTER (WHERE status = 'pending')), 0) "
                  "FROM stripe_events WHERE status IN ('pending', 'failed')",
                  0);
    ob_pg_prepare(pg, "stripe_metrics_reconcile",
                  "SELECT (counts->>'missing_here')::bigint, (counts->>'missing_in_stripe')::bigint,"
                  " (counts->>'status_mismatch')::bigint, (counts->>'price_mismatch')::bigint,"
                  " COALESCE(EXTRACT(EPOCH FROM last_ok_at), 0) FROM stripe_reconcile_runs",
                  0);
}

void
stripe_metrics_refresh(void *state)
{
    stripe_state_t *stripe = state;
    ob_metrics_query_gauges(stripe->pg, "stripe_metrics", s_columns, sizeof s_columns / sizeof s_columns[0]);
    ob_metrics_query_gauges(stripe->pg, "stripe_metrics_reconcile", s_reconcile_columns,
                            sizeof s_reconcile_columns / sizeof s_reconcile_columns[0]);
}
