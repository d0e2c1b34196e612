/*  notifier_messages - listing, attempt log and replay of webhook messages. */
#include "services/notifier/notifier_messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_query.h"
#include "services/notifier/notifier_reply.h"
#include "services/notifier/notifier_state.h"

void
notifier_messages_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "messages_list",
                  "SELECT json_build_object('messages', coalesce(json_agg(json_build_object("
                  "'id', id, 'endpoint_id', endpoint_id, 'notification_id', notification_id, 'event_type', event_type,"
                  " 'status', status, 'attempts', attempts, 'last_status', last_status, 'last_error', last_error,"
                  " 'next_attempt_at', CASE WHEN status = 'pending' THEN next_attempt_at END,"
                  " 'created_at', created_at, 'sent_at', sent_at) ORDER BY created_at DESC, id), '[]'))::text"
                  " FROM (SELECT * FROM webhook_messages WHERE ($1::text IS NULL OR status = $1)"
                  "   AND ($2::text IS NULL OR endpoint_id = $2) ORDER BY created_at DESC, id LIMIT $3::int) AS m",
                  3);
    ob_pg_prepare(pg, "messages_attempts",
                  "SELECT json_build_object('id', m.id, 'attempts', coalesce((SELECT json_agg(json_build_object("
                  "'attempt', a.attempt, 'ok', a.ok, 'status', a.status_code, 'duration_ms', a.duration_ms,"
                  " 'response', a.response, 'error', a.error, 'at', a.created_at) ORDER BY a.id)"
                  " FROM delivery_attempts a WHERE a.message_id = m.id), '[]'))::text"
                  " FROM webhook_messages m WHERE m.id = $1",
                  1);
    ob_pg_prepare(pg, "messages_replay",
                  "UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL"
                  " WHERE id = $1 RETURNING json_build_object('id', id, 'status', status)::text",
                  1);
}

void
notifier_messages_list(void *state, ob_job_t *job)
{
    notifier_state_t *api = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char status[16] = "", endpoint[72] = "", limit_text[8];
    long limit = 50;
    /* One rule for parameters: a value given but unusable is a 400, never ignored. */
    bool readable = ob_query_text(call.query, "status", status, sizeof status) != OB_QUERY_INVALID &&
                    ob_query_text(call.query, "endpoint", endpoint, sizeof endpoint) != OB_QUERY_INVALID;
    bool known = !status[0] || strcmp(status, "pending") == 0 || strcmp(status, "sent") == 0 || strcmp(status, "failed") == 0;
    if (!readable || !known || ob_query_long(call.query, "limit", 1, 500, &limit) == OB_QUERY_INVALID) {
        ob_job_reply_error(job, 400, "invalid_query", "status must be pending, sent or failed; endpoint an id; limit 1-500");
        return;
    }
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    const char *values[] = {status[0] ? status : NULL, endpoint[0] ? endpoint : NULL, limit_text};
    notifier_reply_query(api->pg, job, 200, "messages_list", 3, values, "none");
}

static void
s_by_id(notifier_state_t *api, ob_job_t *job, int status, const char *statement)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char *id = strndup(call.path_param.ptr ? call.path_param.ptr : "", call.path_param.len);
    if (!id || !id[0] || strlen(id) > 64)
        ob_job_reply_error(job, 400, "invalid_id", "the message id is malformed");
    else
        notifier_reply_query(api->pg, job, status, statement, 1, (const char *const[]){id}, "no such webhook message");
    free(id);
}

void
notifier_messages_attempts(void *api, ob_job_t *job)
{
    s_by_id(api, job, 200, "messages_attempts");
}

void
notifier_messages_replay(void *api, ob_job_t *job)
{
    s_by_id(api, job, 202, "messages_replay");
}
