/*  lago_admin - operators' view of usage forwarding to Lago. */
#include "services/lago-worker/lago_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_query.h"

void
lago_admin_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(
        pg, "admin_forwarding_list",
        "SELECT json_build_object('backlog', (SELECT count(*) FROM usage_events WHERE forwarded_at IS NULL),"
        " 'failing', (SELECT count(*) FROM usage_events WHERE forwarded_at IS NULL AND last_error IS NOT NULL),"
        " 'events', coalesce(json_agg(json_build_object('transaction_id', transaction_id, 'user_id', user_id,"
        " 'code', code, 'quantity', quantity, 'occurred_at', occurred_at, 'received_at', received_at,"
        " 'subscription_id', subscription_id, 'forward_attempts', forward_attempts,"
        " 'next_forward_at', next_forward_at, 'last_error', last_error) ORDER BY received_at), '[]'))::text"
        " FROM (SELECT * FROM usage_events WHERE forwarded_at IS NULL AND ($1::text = 'pending' OR last_error IS NOT NULL)"
        " ORDER BY received_at LIMIT $2::int) AS e",
        2);
    ob_pg_prepare(pg, "admin_forwarding_retry",
                  "WITH r AS (UPDATE usage_events SET next_forward_at = now() WHERE transaction_id = $1 AND forwarded_at IS NULL"
                  " RETURNING transaction_id)"
                  " SELECT (SELECT count(*) FROM r), (SELECT forwarded_at IS NOT NULL FROM usage_events WHERE transaction_id = $1)",
                  1);
    ob_pg_prepare(pg, "admin_forwarding_retry_all",
                  "WITH r AS (UPDATE usage_events SET next_forward_at = now()"
                  " WHERE forwarded_at IS NULL AND last_error IS NOT NULL RETURNING 1) SELECT count(*) FROM r",
                  0);
}

void
lago_admin_forwarding_list(ob_pg_t *pg, ob_job_t *job)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char state[16] = "failing", limit_text[8] = "50";
    ob_query_get(call.query, "state", state, sizeof state);
    ob_query_get(call.query, "limit", limit_text, sizeof limit_text);
    char *end;
    long limit = strtol(limit_text, &end, 10);
    if ((strcmp(state, "failing") != 0 && strcmp(state, "pending") != 0) || *end || limit < 1 || limit > 500) {
        ob_job_reply_error(job, 400, "invalid_query", "state must be failing or pending; limit 1-500");
        return;
    }
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    const char *values[] = {state, limit_text};
    PGresult *result = NULL;
    ob_err_t err = ob_pg_run(pg, "admin_forwarding_list", 2, values, &result);
    if (err != OB_OK || PQntuples(result) != 1)
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the forwarding backlog cannot be read now");
    else
        ob_job_reply_text(job, 200, PQgetvalue(result, 0, 0));
    PQclear(result);
}

void
lago_admin_forwarding_retry(ob_pg_t *pg, ob_job_t *job)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (call.path_param.len == 0 || call.path_param.len > 255) {
        ob_job_reply_error(job, 400, "invalid_transaction_id", "a transaction id of 1-255 bytes is required");
        return;
    }
    char *tx = ob_bytes_strdup(call.path_param);
    if (!tx) {
        ob_job_reply_error(job, 500, "internal", "out of memory");
        return;
    }
    const char *values[] = {tx};
    PGresult *result = NULL;
    ob_err_t err = ob_pg_run(pg, "admin_forwarding_retry", 1, values, &result);
    if (err != OB_OK || PQntuples(result) != 1) {
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the event cannot be retried now");
    } else if (strcmp(PQgetvalue(result, 0, 0), "1") == 0) {
        ob_job_reply_json(job, 200, json_pack("{s:s,s:b}", "transaction_id", tx, "retried", 1));
    } else if (PQgetisnull(result, 0, 1)) {
        ob_job_reply_error(job, 404, "not_found", "no usage event has this transaction id");
    } else {
        ob_job_reply_error(job, 409, "already_forwarded", "Lago has acknowledged this event already");
    }
    PQclear(result);
    free(tx);
}

void
lago_admin_forwarding_retry_all(ob_pg_t *pg, ob_job_t *job)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    PGresult *result = NULL;
    ob_err_t err = ob_pg_run(pg, "admin_forwarding_retry_all", 0, NULL, &result);
    if (err != OB_OK || PQntuples(result) != 1)
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the events cannot be retried now");
    else
        ob_job_reply_json(job, 200, json_pack("{s:I}", "retried", (json_int_t)strtoll(PQgetvalue(result, 0, 0), NULL, 10)));
    PQclear(result);
}
