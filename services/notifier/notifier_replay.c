/*  notifier_replay - "admin.notifications.replay". */
#include "services/notifier/notifier_replay.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/notifier/notifier_state.h"

void
notifier_replay_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "notifications_replay",
                  "WITH r AS (UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = "
                  "NULL, last_error = NULL"
                  " WHERE id = $1::bigint AND status = 'failed' RETURNING id)"
                  " SELECT (SELECT count(*) FROM r), (SELECT status FROM notifications WHERE id = $1::bigint),"
                  " pg_notify('notifications', '')",
                  1);
}

void
notifier_replay(void *state, ob_job_t *job)
{
    ob_pg_t *pg = ((notifier_state_t *)state)->pg;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char id[24] = "";
    bool digits = call.path_param.len > 0 && call.path_param.len < 19;
    for (size_t i = 0; digits && i < call.path_param.len; i++)
        digits = call.path_param.ptr[i] >= '0' && call.path_param.ptr[i] <= '9';
    if (!digits) {
        ob_job_reply_error(job, 400, "invalid_id", "the notification id is a positive integer");
        return;
    }
    memcpy(id, call.path_param.ptr, call.path_param.len);
    const char *values[] = {id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "notifications_replay", 1, values, &r);
    if (err != OB_OK || PQntuples(r) != 1)
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the notification cannot be replayed now");
    else if (strcmp(PQgetvalue(r, 0, 0), "1") == 0)
        ob_job_reply_json(job, 200, json_pack("{s:I,s:s}", "id", (json_int_t)strtoll(id, NULL, 10), "status", "pending"));
    else if (PQgetisnull(r, 0, 1))
        ob_job_reply_error(job, 404, "not_found", "no notification has this id");
    else
        ob_job_reply_error(job, 409, "not_failed", "only a notification that failed can be replayed");
    PQclear(r);
}
