/*  stripe_metrics - the stripe-worker's gauges for /metrics. */
#include "services/stripe-worker/stripe_metrics.h"

#include "common/ob_metrics_query.h"
#include "services/stripe-worker/stripe_state.h"

static const ob_metrics_column_t s_columns[] = {
    {"ob_stripe_inbox_events", "Stripe webhook events in the inbox by status (pending: not processed yet; failed: gave up).",
     "status", "pending"},
    {"ob_stripe_inbox_events", "Stripe webhook events in the inbox by status (pending: not processed yet; failed: gave up).",
     "status", "failed"},
    {"ob_stripe_inbox_oldest_pending_age_seconds", "Age of the oldest pending Stripe webhook event (0 when none).", NULL, NULL},
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
}

void
stripe_metrics_refresh(void *state)
{
    stripe_state_t *stripe = state;
    ob_metrics_query_gauges(stripe->pg, "stripe_metrics", s_columns, sizeof s_columns / sizeof s_columns[0]);
}
