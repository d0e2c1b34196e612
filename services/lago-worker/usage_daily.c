/*  usage_daily - calls per day this window, from the ledger. */
#include "services/lago-worker/usage_daily.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_entitlements.h"
#include "services/lago-worker/usage_state.h"

#define DAY_S 86400

void
usage_daily_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "usage_daily",
                  "SELECT floor(extract(epoch FROM occurred_at) / 86400)::bigint, sum(quantity)::bigint FROM usage_events"
                  " WHERE user_id = $1 AND code = 'api_calls' AND occurred_at >= to_timestamp($2)"
                  " AND ($3 = 0 OR occurred_at < to_timestamp($3)) GROUP BY 1 ORDER BY 1",
                  3);
}

void
usage_daily_span(int64_t start, int64_t end, int64_t now, int64_t *first_day, int64_t *last_day)
{
    int64_t last = end > 0 && end <= now ? end - 1 : now;
    *first_day = start / DAY_S;
    *last_day = last / DAY_S;
    if (*last_day < *first_day)
        *last_day = *first_day;
    if (*last_day - *first_day >= USAGE_DAILY_MAX_DAYS)
        *first_day = *last_day - USAGE_DAILY_MAX_DAYS + 1;
}

static void
s_date(int64_t day, char *out, size_t cap)
{
    time_t t = (time_t)(day * DAY_S);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d", &tm);
}

void
usage_daily_get(void *state, ob_job_t *job)
{
    usage_state_t *usage = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char user_id[256];
    if (!ob_bytes_eq(call.role, "user") || call.principal.len == 0 || call.principal.len >= sizeof user_id ||
        memchr(call.principal.ptr, '\0', call.principal.len)) {
        ob_job_reply_error(job, 403, "invalid_user_id", "no valid user id for this request");
        return;
    }
    memcpy(user_id, call.principal.ptr, call.principal.len);
    user_id[call.principal.len] = '\0';

    ob_entitlement_t e;
    ob_err_t err = ob_entitlements_get(usage->redis, usage->pg, user_id, &e);
    if (err == OB_ERR_NOT_FOUND || (err == OB_OK && !e.plan_id[0])) {
        ob_job_reply_json(job, 200, json_pack("{s:s,s:n,s:n,s:i,s:[]}", "code", "api_calls", "period", "limit", "used", 0, "days"));
        return;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, "usage_unavailable", "usage cannot be read right now");
        return;
    }
    int64_t first, last;
    usage_daily_span(e.period_start, e.period_end, (int64_t)time(NULL), &first, &last);
    char start[24], end[24];
    snprintf(start, sizeof start, "%" PRId64, first * DAY_S > e.period_start ? first * DAY_S : e.period_start);
    snprintf(end, sizeof end, "%" PRId64, e.period_end);
    const char *values[] = {user_id, start, end};
    PGresult *result = ob_pg_exec(usage->pg, "usage_daily", 3, values, NULL, NULL);
    err = ob_pg_classify(usage->pg, result);
    if (err != OB_OK) {
        PQclear(result);
        ob_job_reply_err(job, err, "usage_unavailable", "usage cannot be read right now");
        return;
    }
    json_t *days = json_array();
    int64_t used = 0;
    int row = 0, rows = PQntuples(result);
    for (int64_t day = first; day <= last; day++) {
        int64_t calls = 0;
        while (row < rows && strtoll(PQgetvalue(result, row, 0), NULL, 10) <= day) {
            if (strtoll(PQgetvalue(result, row, 0), NULL, 10) == day)
                calls = strtoll(PQgetvalue(result, row, 1), NULL, 10);
            row++;
        }
        used += calls;
        char date[16];
        s_date(day, date, sizeof date);
        json_array_append_new(days, json_pack("{s:s,s:I}", "date", date, "calls", (json_int_t)calls));
    }
    PQclear(result);
    char when[32];
    usage_iso8601(e.period_start, when, sizeof when);
    json_t *period = json_pack("{s:s,s:s}", "kind", e.period, "start", when);
    if (e.period_end > 0) {
        usage_iso8601(e.period_end, when, sizeof when);
        json_object_set_new(period, "end", json_string(when));
    } else {
        json_object_set_new(period, "end", json_null());
    }
    ob_job_reply_json(job, 200,
                      json_pack("{s:s,s:o,s:o,s:I,s:o}", "code", "api_calls", "period", period, "limit",
                                e.limit >= 0 ? json_integer(e.limit) : json_null(), "used", (json_int_t)used, "days", days));
}
