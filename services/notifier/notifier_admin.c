/*  notifier_admin - operators' view of the notification requests. */
#include "services/notifier/notifier_admin.h"
#include "services/notifier/notifier_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_query.h"

void
notifier_admin_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "notifications_list",
                  "SELECT json_build_object('notifications', coalesce(json_agg(json_build_object("
                  "'id', id, 'kind', kind, 'user_id', user_id, 'channel', channel, 'status', status,"
                  " 'attempts', attempts, 'payload', payload, 'last_error', last_error, 'email_to', email_to,"
                  " 'message_id', message_id, 'created_at', created_at, 'sent_at', sent_at)"
                  " ORDER BY id DESC), '[]'))::text"
                  " FROM (SELECT * FROM notifications WHERE $1::text IS NULL OR status = $1"
                  " ORDER BY id DESC LIMIT $2::int) AS n",
                  2);
}

void
notifier_admin_list(void *state, ob_job_t *job)
{
    ob_pg_t *pg = ((notifier_state_t *)state)->pg;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char status[16] = "", limit_text[8];
    long limit = 50;
    bool readable = ob_query_text(call.query, "status", status, sizeof status) != OB_QUERY_INVALID;
    static const char *statuses[] = {"pending", "sending", "sent", "failed", "skipped"};
    bool listed = status[0] == '\0';
    for (size_t i = 0; i < 5 && !listed; i++)
        listed = strcmp(status, statuses[i]) == 0;
    if (!readable || !listed || ob_query_long(call.query, "limit", 1, 500, &limit) == OB_QUERY_INVALID) {
        ob_job_reply_error(job, 400, "invalid_query", "status must be pending, sending, sent, failed or skipped; limit 1-500");
        return;
    }
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    const char *values[] = {status[0] ? status : NULL, limit_text};
    PGresult *result = ob_pg_exec(pg, "notifications_list", 2, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, result);
    if (err != OB_OK || PQntuples(result) != 1) {
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the notifications cannot be read now");
    } else {
        ob_job_reply_text(job, 200, PQgetvalue(result, 0, 0));
    }
    PQclear(result);
}
