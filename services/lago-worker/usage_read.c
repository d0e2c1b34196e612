/*  usage_read - GET /api/v1/usage/me and /api/v1/usage/{user_id}. */
#include "services/lago-worker/usage_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_clock.h"
#include "common/ob_entitlements.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_strset.h"
#include "services/lago-worker/usage_ledger.h"
#include "services/lago-worker/usage_state.h"

void
usage_read_prepare(ob_pg_t *pg)
{
    /* usage_used() is the ledger's published reading (migration 022). */
    ob_pg_prepare(pg, "usage_used",
                  "SELECT code, quota, used FROM usage_used($1, to_timestamp($2::bigint), to_timestamp(nullif($3::bigint, 0)))", 3);
}

void
usage_read(void *state, ob_job_t *job)
{
    usage_state_t *self = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char user_id[USAGE_EVENTS_ID_MAX + 1];
    ob_bytes_t who = {NULL, 0};
    if (ob_bytes_eq(call.role, "user"))
        who = call.principal;
    else if (ob_bytes_eq(call.role, "service"))
        who = call.path_param;
    if (!who.ptr || who.len == 0 || who.len > USAGE_EVENTS_ID_MAX || memchr(who.ptr, '\0', who.len)) {
        ob_job_reply_error(job, ob_bytes_eq(call.role, "user") || ob_bytes_eq(call.role, "service") ? 400 : 403, "invalid_user_id",
                           "no valid user id for this request");
        return;
    }
    memcpy(user_id, who.ptr, who.len);
    user_id[who.len] = '\0';

    ob_entitlement_t e;
    ob_err_t err = ob_entitlements_get(self->redis, self->pg, user_id, &e);
    if (err == OB_ERR_NOT_FOUND || (err == OB_OK && !e.plan_id[0])) {
        ob_job_reply_json(job, 200,
                          json_pack("{s:s,s:n,s:b,s:n,s:[]}", "user_id", user_id, "plan", "live", 0, "period", "metrics"));
        return;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, "usage_unavailable", "usage cannot be read right now");
        return;
    }
    char start[24], end[24], when[32];
    snprintf(start, sizeof start, "%" PRId64, e.period_start);
    snprintf(end, sizeof end, "%" PRId64, e.period_end);
    const char *values[] = {user_id, start, end};
    PGresult *result = ob_pg_exec(self->pg, "usage_used", 3, values, NULL, NULL);
    err = ob_pg_classify(self->pg, result);
    if (err != OB_OK) {
        PQclear(result);
        ob_job_reply_err(job, err, "usage_unavailable", "usage cannot be read right now");
        return;
    }
    json_t *metrics = json_array();
    json_t *resets = json_null();
    if (e.period_end > 0) {
        usage_iso8601(e.period_end, when, sizeof when);
        json_decref(resets);
        resets = json_string(when);
    }
    for (int i = 0; i < PQntuples(result); i++) {
        bool quota = PQgetvalue(result, i, 1)[0] == 't';
        int64_t used = strtoll(PQgetvalue(result, i, 2), NULL, 10);
        bool limited = quota && e.limit >= 0;
        int64_t remaining = e.limit - used;
        json_array_append_new(metrics,
                              json_pack("{s:s,s:I,s:o,s:o,s:O}", "code", PQgetvalue(result, i, 0), "used", (json_int_t)used,
                                        "limit", limited ? json_integer(e.limit) : json_null(), "remaining",
                                        limited ? json_integer(remaining > 0 ? remaining : 0) : json_null(), "resets_at", resets));
    }
    PQclear(result);
    usage_iso8601(e.period_start, when, sizeof when);
    json_t *period = json_pack("{s:s,s:s,s:O}", "kind", e.period, "start", when, "end", resets);
    json_decref(resets);
    ob_job_reply_json(job, 200,
                      json_pack("{s:s,s:s,s:s,s:b,s:s,s:o,s:o}", "user_id", user_id, "plan", e.plan_id, "status", e.status, "live",
                                e.live, "subscription_id", e.subscription_id, "period", period, "metrics", metrics));
}
