/*  notifier_gauges - the notifier's gauges for /metrics. */
#include "services/notifier/notifier_gauges.h"

#include "common/ob_metrics_query.h"
#include "services/notifier/notifier_state.h"

static const ob_metrics_column_t s_columns[] = {
    {"ob_notifications_backlog", "Notifications waiting to be delivered (pending or being sent).", NULL, NULL},
    {"ob_notifications_oldest_pending_age_seconds", "Age of the oldest notification waiting to be delivered (0 when none).", NULL,
     NULL},
    {"ob_notifications_failed", "Notifications whose delivery failed for good (status failed).", NULL, NULL},
    {"ob_webhook_messages", "Outgoing webhook messages by status (pending: not delivered yet; failed: gave up).", "status",
     "pending"},
    {"ob_webhook_messages", "Outgoing webhook messages by status (pending: not delivered yet; failed: gave up).", "status",
     "failed"},
    {"ob_webhook_messages_oldest_pending_age_seconds", "Age of the oldest undelivered webhook message (0 when none).", NULL, NULL},
};

void
notifier_gauges_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(
        pg, "notifier_gauges",
        "SELECT count(*) FILTER (WHERE status IN ('pending', 'sending')), "
        "COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE status IN ('pending', 'sending'))), 0), "
        "count(*) FILTER (WHERE status = 'failed'),"
        " (SELECT count(*) FROM webhook_messages WHERE status = 'pending'),"
        " (SELECT count(*) FROM webhook_messages WHERE status = 'failed'),"
        " (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM webhook_messages WHERE status = 'pending')"
        " FROM notifications WHERE status IN ('pending', 'sending', 'failed')",
        0);
}

void
notifier_gauges_refresh(void *state)
{
    notifier_state_t *notifier = state;
    ob_metrics_query_gauges(notifier->pg, "notifier_gauges", s_columns, sizeof s_columns / sizeof s_columns[0]);
}
