/*  subs_status - "status.get". */
#include "services/subscription-worker/subs_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/subscription-worker/subs_state.h"

void
subs_status_prepare(ob_pg_t *pg)
{
    ob_entitlements_prepare(pg);
    /* Usage comes from the ledger owner's published reading, usage_used()
     * (migration 022); $3/$4: the window in Unix seconds, an end of 0 is open. */
    ob_pg_prepare(pg, "status_usage",
                  "SELECT (SELECT name FROM plans WHERE id = $2),"
                  " (SELECT used FROM usage_used($1, to_timestamp($3::bigint), to_timestamp(nullif($4::bigint, 0)))"
                  "  WHERE code = 'api_calls')",
                  4);
}

static json_t *
s_str_or_null(const char *value)
{
    return value && *value ? json_string(value) : json_null();
}

json_t *
subs_status_json(const ob_entitlement_t *e, const char *plan_name, int64_t used)
{
    bool subscribed = e->plan_id[0] != '\0';
    json_t *features = json_loads(e->features, 0, NULL);
    if (!json_is_array(features) || !subscribed) {
        json_decref(features);
        features = json_array();
    }
    json_t *limit = json_null(), *remaining = json_null();
    if (subscribed && e->limit >= 0) {
        limit = json_integer(e->limit);
        remaining = json_integer(used >= e->limit ? 0 : e->limit - used);
    } else if (!subscribed) {
        /* No plan: nothing may be called. */
        limit = json_integer(0);
        remaining = json_integer(0);
    }
    json_t *usage =
        json_pack("{s:{s:I, s:o, s:o, s:o}}", "api_calls", "used", (json_int_t)used, "limit", limit, "remaining", remaining,
                  "resets_at", subscribed && strcmp(e->period, "total") != 0 ? ob_json_time(e->period_end) : json_null());
    return json_pack("{s:o, s:o, s:s, s:o, s:b, s:o, s:b, s:o, s:o, s:o}", "plan_id", s_str_or_null(e->plan_id), "plan_name",
                     s_str_or_null(subscribed ? plan_name : NULL), "status", subscribed && e->status[0] ? e->status : "none",
                     "interval", s_str_or_null(e->interval), "live", subscribed && e->live, "current_period_end",
                     ob_json_time(e->current_period_end), "cancel_at_period_end", subscribed && e->cancel_at_period_end,
                     "trial_end", ob_json_time(e->trial_end), "features", features, "usage", usage);
}

void
subs_status_get(void *state, ob_job_t *job)
{
    subs_state_t *ctx = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (!ob_bytes_eq(call.role, "user") || call.principal.len == 0 || call.principal.len > 255 ||
        memchr(call.principal.ptr, '\0', call.principal.len)) {
        ob_job_reply_error(job, 401, "not_a_user", "this endpoint needs a signed-in user");
        return;
    }
    char user_id[256];
    memcpy(user_id, call.principal.ptr, call.principal.len);
    user_id[call.principal.len] = '\0';
    ob_entitlement_t e;
    ob_err_t err = ob_entitlements_get(ctx->redis, ctx->pg, user_id, &e);
    if (err != OB_OK && err != OB_ERR_NOT_FOUND) {
        ob_job_reply_err(job, err, NULL, "the subscription status cannot be read now");
        return;
    }
    int64_t used = 0;
    char *plan_name = NULL;
    if (e.plan_id[0]) {
        char start[24], end[24];
        snprintf(start, sizeof start, "%" PRId64, e.period_start);
        snprintf(end, sizeof end, "%" PRId64, strcmp(e.period, "total") == 0 ? 0 : e.period_end);
        const char *values[] = {user_id, e.plan_id, start, end};
        PGresult *r = ob_pg_exec(ctx->pg, "status_usage", 4, values, NULL, NULL);
        err = ob_pg_classify(ctx->pg, r);
        if (err == OB_OK && PQntuples(r) == 1) {
            if (!PQgetisnull(r, 0, 0))
                plan_name = strdup(PQgetvalue(r, 0, 0));
            used = PQgetisnull(r, 0, 1) ? 0 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        }
        PQclear(r);
        if (err != OB_OK) {
            ob_job_reply_err(job, err, NULL, "usage cannot be read now");
            return;
        }
    }
    ob_job_reply_json(job, 200, subs_status_json(&e, plan_name, used));
    free(plan_name);
}
