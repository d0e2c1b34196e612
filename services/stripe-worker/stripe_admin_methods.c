/*  stripe_admin_methods - the worker's admin methods over the webhook inbox. */
#include "services/stripe-worker/stripe_admin_methods.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/stripe_admin.h"
#include "common/ob_query.h"
#include "services/stripe-worker/stripe_state.h"

static void
s_reply_text(ob_job_t *job, int status, char *json)
{
    ob_job_reply_text(job, status, json);
    free(json);
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
