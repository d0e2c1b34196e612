/*  subs_admin_user - method "admin.user.get". */
#include "services/subscription-worker/subs_admin_user.h"

#include <stdlib.h>
#include <string.h>

#include "services/subscription-worker/subs_state.h"
#include "services/subscription-worker/subs_status.h"

#define S_RECENT "20"

void
subs_admin_user_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(
        pg, "admin_user",
        "SELECT EXISTS (SELECT 1 FROM customers WHERE user_id = $1) OR EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $1)"
        " OR EXISTS (SELECT 1 FROM usage_recent($1, 1)) OR EXISTS (SELECT 1 FROM notifications_for_user($1, 1)),"
        " json_build_object("
        "'customer', (SELECT row_to_json(c) FROM (SELECT user_id, email, stripe_customer_id, created_at"
        " FROM customers WHERE user_id = $1) c),"
        " 'subscriptions', coalesce((SELECT json_agg(s) FROM (SELECT id, plan_id, interval, status, stripe_customer_id,"
        " started_at, current_period_start, current_period_end, cancel_at_period_end, trial_end, canceled_at, updated_at"
        " FROM subscriptions WHERE user_id = $1 ORDER BY updated_at DESC, id LIMIT 10) s), '[]'),"
        " 'recent_usage', coalesce((SELECT json_agg(u) FROM usage_recent($1, " S_RECENT ") u), '[]'),"
        " 'recent_events', coalesce((SELECT json_agg(e) FROM stripe_events_for_user($1, " S_RECENT ") e), '[]'),"
        " 'notifications', coalesce((SELECT json_agg(n) FROM notifications_for_user($1, " S_RECENT ") n), '[]'))::text",
        1);
}

void
subs_admin_user_get(void *state, ob_job_t *job)
{
    subs_state_t *ctx = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (call.path_param.len == 0 || call.path_param.len > 255 || memchr(call.path_param.ptr, '\0', call.path_param.len)) {
        ob_job_reply_error(job, 400, "invalid_user_id", "a user id of 1-255 bytes is required");
        return;
    }
    char user_id[256];
    memcpy(user_id, call.path_param.ptr, call.path_param.len);
    user_id[call.path_param.len] = '\0';

    const char *values[] = {user_id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(ctx->pg, "admin_user", 1, values, &r);
    if (err != OB_OK || PQntuples(r) != 1) {
        PQclear(r);
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the user's billing cannot be read now");
        return;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        PQclear(r);
        ob_job_reply_error(job, 404, "not_found", "no billing record of this user");
        return;
    }
    json_t *body = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
    PQclear(r);
    json_t *status = body ? subs_status_for(ctx, user_id, &err) : NULL;
    if (!status) {
        json_decref(body);
        ob_job_reply_err(job, body ? err : OB_ERR_INTERNAL, NULL, "the user's entitlements cannot be read now");
        return;
    }
    json_object_set(body, "usage", json_object_get(status, "usage"));
    json_object_del(status, "usage");
    json_object_set_new(body, "entitlements", status);
    json_object_set_new(body, "user_id", json_string(user_id));
    ob_job_reply_json(job, 200, body);
}
