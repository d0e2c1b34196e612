/*  subs_notify - lifecycle notification requests. */
#include "services/subscription-worker/subs_notify.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
s_live(const subs_notify_row_t *row)
{
    return row->exists &&
           (strcmp(row->status, "active") == 0 || strcmp(row->status, "trialing") == 0 || strcmp(row->status, "past_due") == 0);
}

size_t
subs_notify_decide(const subs_notify_row_t *before, const subs_notify_row_t *after, subs_notify_cause_t *causes)
{
    size_t n = 0;
    if (!after->exists || !after->user_id[0])
        return 0;
    bool was_live = s_live(before), live = s_live(after);
    /* past_due is still live, but a subscription that only ever reached it was never welcomed as active */
    if (!was_live && live && strcmp(after->status, "past_due") != 0)
        causes[n++] = SUBS_NOTIFY_WELCOME;
    if (was_live && live && before->plan_id[0] && after->plan_id[0] && strcmp(before->plan_id, after->plan_id) != 0)
        causes[n++] = SUBS_NOTIFY_PLAN_CHANGED;
    if (live && after->cancel_at_period_end && !(before->exists && before->cancel_at_period_end))
        causes[n++] = SUBS_NOTIFY_CANCEL_REQUESTED;
    if (strcmp(after->status, "canceled") == 0 && before->exists && strcmp(before->status, "canceled") != 0 &&
        strcmp(before->status, "incomplete") != 0 && strcmp(before->status, "incomplete_expired") != 0)
        causes[n++] = SUBS_NOTIFY_ENDED;
    return n;
}

#define S_ROW                                                                                                                      \
    "SELECT id, coalesce(user_id, ''), status, coalesce(plan_id, ''), coalesce(interval, ''), cancel_at_period_end,"               \
    " coalesce(extract(epoch FROM current_period_start)::bigint, 0), coalesce(extract(epoch FROM current_period_end)::bigint, 0)," \
    " coalesce(extract(epoch FROM canceled_at)::bigint, 0) FROM subscriptions"

void
subs_notify_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "subs_notify_read", S_ROW " WHERE id = $1 FOR UPDATE", 1);
    ob_pg_prepare(pg, "subs_notify_live_of_user", S_ROW " WHERE user_id = $1 AND status IN ('active', 'trialing') FOR UPDATE", 1);
    ob_pg_prepare(pg, "subs_notify_insert",
                  "INSERT INTO notifications (dedupe_key, kind, user_id, payload) VALUES ($1, $2, $3, $4::jsonb)"
                  " ON CONFLICT (dedupe_key) DO NOTHING",
                  4);
}

static void
s_fill(const PGresult *r, int i, subs_notify_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->exists = true;
    snprintf(row->id, sizeof row->id, "%s", PQgetvalue(r, i, 0));
    snprintf(row->user_id, sizeof row->user_id, "%s", PQgetvalue(r, i, 1));
    snprintf(row->status, sizeof row->status, "%s", PQgetvalue(r, i, 2));
    snprintf(row->plan_id, sizeof row->plan_id, "%s", PQgetvalue(r, i, 3));
    snprintf(row->interval, sizeof row->interval, "%s", PQgetvalue(r, i, 4));
    row->cancel_at_period_end = strcmp(PQgetvalue(r, i, 5), "t") == 0;
    row->period_start = strtoll(PQgetvalue(r, i, 6), NULL, 10);
    row->period_end = strtoll(PQgetvalue(r, i, 7), NULL, 10);
    row->canceled_at = strtoll(PQgetvalue(r, i, 8), NULL, 10);
}

ob_err_t
subs_notify_read(ob_pg_t *pg, const char *id, subs_notify_row_t *row)
{
    memset(row, 0, sizeof *row);
    if (!id)
        return OB_OK;
    const char *values[] = {id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "subs_notify_read", 1, values, &r);
    if (err == OB_OK && PQntuples(r) == 1)
        s_fill(r, 0, row);
    PQclear(r);
    return err;
}

static ob_err_t
s_insert(ob_pg_t *pg, subs_notify_cause_t cause, const subs_notify_row_t *before, const subs_notify_row_t *after,
         const char *event_id)
{
    static const char *kinds[] = {"welcome", "plan_changed", "canceled", "canceled"};
    char key[512];
    switch (cause) {
    case SUBS_NOTIFY_WELCOME:
        snprintf(key, sizeof key, "subscription:%s:activated", after->id);
        break;
    case SUBS_NOTIFY_PLAN_CHANGED:
        snprintf(key, sizeof key, "subscription:%s:plan:%s:%s", after->id, after->plan_id, event_id ? event_id : "");
        break;
    case SUBS_NOTIFY_CANCEL_REQUESTED:
        snprintf(key, sizeof key, "subscription:%s:cancel_requested:%" PRId64, after->id, after->period_end);
        break;
    case SUBS_NOTIFY_ENDED:
        snprintf(key, sizeof key, "subscription:%s:ended", after->id);
        break;
    }
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:b}", "subscription_id", after->id, "plan", after->plan_id, "status", after->status,
                          "interval", after->interval, "cancel_at_period_end", after->cancel_at_period_end);
    if (!p)
        return OB_ERR_INTERNAL;
    if (after->period_start)
        json_object_set_new(p, "current_period_start", json_integer(after->period_start));
    if (after->period_end)
        json_object_set_new(p, "current_period_end", json_integer(after->period_end));
    if (cause == SUBS_NOTIFY_PLAN_CHANGED)
        json_object_set_new(p, "previous_plan", json_string(before->plan_id));
    if (cause == SUBS_NOTIFY_CANCEL_REQUESTED || cause == SUBS_NOTIFY_ENDED) {
        json_object_set_new(p, "cancellation", json_string(cause == SUBS_NOTIFY_ENDED ? "ended" : "at_period_end"));
        int64_t until = cause == SUBS_NOTIFY_ENDED && after->canceled_at ? after->canceled_at : after->period_end;
        if (until)
            json_object_set_new(p, "access_until", json_integer(until));
    }
    if (event_id)
        json_object_set_new(p, "event_id", json_string(event_id));
    char *payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (!payload)
        return OB_ERR_INTERNAL;
    const char *values[] = {key, kinds[cause], after->user_id, payload};
    ob_err_t err = ob_pg_run(pg, "subs_notify_insert", 4, values, NULL);
    free(payload);
    return err;
}

ob_err_t
subs_notify_changed(ob_pg_t *pg, const char *id, const subs_notify_row_t *before, const char *event_id)
{
    subs_notify_row_t after;
    ob_err_t err = subs_notify_read(pg, id, &after);
    subs_notify_cause_t causes[SUBS_NOTIFY_MAX];
    size_t n = err == OB_OK ? subs_notify_decide(before, &after, causes) : 0;
    for (size_t i = 0; i < n && err == OB_OK; i++)
        err = s_insert(pg, causes[i], before, &after, event_id);
    return err;
}

ob_err_t
subs_notify_linked(ob_pg_t *pg, const char *user_id)
{
    const char *values[] = {user_id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "subs_notify_live_of_user", 1, values, &r);
    subs_notify_row_t none = {.exists = false};
    for (int i = 0; err == OB_OK && i < PQntuples(r); i++) {
        subs_notify_row_t row;
        s_fill(r, i, &row);
        err = s_insert(pg, SUBS_NOTIFY_WELCOME, &none, &row, NULL);
    }
    PQclear(r);
    return err;
}
