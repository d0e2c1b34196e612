/*  lago_gauges - the lago-worker's backlog gauges for /metrics. */
#include "services/lago-worker/lago_gauges.h"

#include "common/ob_metrics.h"
#include "common/ob_metrics_query.h"
#include "services/lago-worker/lago_reconcile.h"
#include "services/lago-worker/usage_authorize.h"
#include "services/lago-worker/usage_state.h"

#define INBOX_HELP "Lago webhooks in the inbox by status (pending: not processed yet; failed: gave up)."

static const ob_metrics_column_t s_columns[] = {
    {"ob_lago_forward_backlog_events", "Usage events recorded and not yet acknowledged by Lago.", NULL, NULL},
    {"ob_lago_forward_oldest_age_seconds", "Age of the oldest usage event not yet acknowledged by Lago (0 when none).", NULL, NULL},
    {"ob_lago_forward_failing_events", "Usage events not yet acknowledged by Lago whose last forwarding attempt failed.", NULL,
     NULL},
    {"ob_lago_inbox_events", INBOX_HELP, "status", "pending"},
    {"ob_lago_inbox_events", INBOX_HELP, "status", "failed"},
};

void
lago_gauges_prepare(ob_pg_t *pg)
{
    /* usage_events_unforwarded_idx and lago_webhooks_pending_idx are partial
     * indexes over exactly these rows; failed webhooks are few. */
    ob_pg_prepare(
        pg, "lago_gauges",
        "SELECT f.n, f.age, f.failing, w.pending, w.failed FROM "
        "(SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0) AS age, "
        "count(*) FILTER (WHERE last_error IS NOT NULL) AS failing FROM usage_events WHERE forwarded_at IS NULL) f, "
        "(SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'failed') AS failed "
        "FROM lago_webhooks WHERE status IN ('pending', 'failed')) w",
        0);
    lago_reconcile_metrics_prepare(pg);
    usage_authorize_count_init();
}

void
lago_gauges_refresh(void *state)
{
    usage_state_t *usage = state;
    ob_metrics_query_gauges(usage->pg, "lago_gauges", s_columns, sizeof s_columns / sizeof s_columns[0]);
    lago_reconcile_metrics_refresh(usage->pg);
}
