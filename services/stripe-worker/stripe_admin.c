/*  stripe_admin - list and replay inbox events. */
#include "services/stripe-worker/stripe_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_query.h"
#include "services/stripe-worker/stripe_inbox.h"

void
stripe_admin_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "admin_events_list",
                  "SELECT json_build_object('events', coalesce(json_agg(json_build_object('id', id, 'type', type,"
                  " 'created', created, 'status', status, 'attempts', attempts, 'last_error', last_error,"
                  " 'received_at', received_at, 'processed_at', processed_at) ORDER BY received_at DESC, id), '[]'))::text"
                  " FROM (SELECT * FROM stripe_events WHERE ($1::text IS NULL OR status = $1::text)"
                  "       ORDER BY received_at DESC, id LIMIT $2::int) e",
                  2);
    ob_pg_prepare(pg, "admin_events_replay",
                  "UPDATE stripe_events SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL,"
                  " last_error = NULL, processed_at = NULL WHERE id = $1"
                  " RETURNING json_build_object('id', id, 'status', status)::text",
                  1);
}

int
stripe_admin_status_valid(const char *status)
{
    static const char *const valid[] = {"pending", "processed", "ignored", "failed", NULL};
    for (size_t i = 0; status && valid[i]; i++)
        if (strcmp(status, valid[i]) == 0)
            return 1;
    return 0;
}

static ob_err_t
s_single_text(ob_pg_t *pg, const char *name, int n, const char *const *values, char **json_out)
{
    *json_out = NULL;
    PGresult *r = ob_pg_exec(pg, name, n, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    if (err == OB_OK && PQntuples(r) == 0)
        err = OB_ERR_NOT_FOUND;
    if (err == OB_OK && !(*json_out = strdup(PQgetvalue(r, 0, 0))))
        err = OB_ERR_INTERNAL;
    PQclear(r);
    return err;
}

ob_err_t
stripe_admin_list(ob_pg_t *pg, const char *status, int limit, char **json_out)
{
    char limit_text[16];
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    const char *values[] = {status, limit_text};
    return s_single_text(pg, "admin_events_list", 2, values, json_out);
}

ob_err_t
stripe_admin_replay(ob_pg_t *pg, const char *id, char **json_out)
{
    const char *values[] = {id};
    return s_single_text(pg, "admin_events_replay", 1, values, json_out);
}

static void
s_reply_text(ob_job_t *job, int status, char *json)
{
    free(job->body);
    job->status = status;
    job->body = json;
    job->body_len = strlen(json);
}

void
stripe_admin_events_list(void *state_arg, ob_job_t *job)
{
    stripe_state_t *state = state_arg;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char status[32] = "";
    ob_query_result_t given = ob_query_text(call.query, "status", status, sizeof status);
    bool has_status = given == OB_QUERY_FOUND && status[0] && strcmp(status, "all") != 0;
    if (given == OB_QUERY_INVALID || (has_status && !stripe_admin_status_valid(status))) {
        ob_job_reply_error(job, 400, "invalid_status", "status must be pending, processed, ignored, failed or all");
        return;
    }
    long limit = STRIPE_ADMIN_DEFAULT_LIMIT;
    if (ob_query_long(call.query, "limit", 1, STRIPE_ADMIN_MAX_LIMIT, &limit) == OB_QUERY_INVALID) {
        ob_job_reply_error(job, 400, "invalid_limit", "limit must be an integer from 1 to 1000");
        return;
    }
    char *json;
    ob_err_t err = stripe_admin_list(state->pg, has_status ? status : NULL, (int)limit, &json);
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "the webhook events could not be read");
        return;
    }
    s_reply_text(job, 200, json);
}

void
stripe_admin_events_replay(void *state_arg, ob_job_t *job)
{
    stripe_state_t *state = state_arg;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char id[256];
    if (call.path_param.len == 0 || call.path_param.len >= sizeof id) {
        ob_job_reply_error(job, 400, "invalid_id", "the event id is missing or too long");
        return;
    }
    memcpy(id, call.path_param.ptr, call.path_param.len);
    id[call.path_param.len] = '\0';
    char *json;
    ob_err_t err = stripe_admin_replay(state->pg, id, &json);
    if (err == OB_ERR_NOT_FOUND) {
        ob_job_reply_error(job, 404, "not_found", "no webhook event has this id");
        return;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "the event could not be replayed");
        return;
    }
    s_reply_text(job, 200, json);
    if (state->wake)
        state->wake(state->wake_arg);
}
