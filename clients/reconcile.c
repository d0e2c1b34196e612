/*  reconcile - our subscriptions against Stripe's and Lago's. */
#include "clients/reconcile.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/reconcile_drift.h"
#include "common/ob_json.h"

#define MAX_PAGES 1000

static json_t *
s_local(ob_pg_t *pg, long long since)
{
    char since_text[24];
    snprintf(since_text, sizeof since_text, "%lld", since);
    const char *values[] = {since_text};
    PGresult *r = ob_pg_exec_sql(pg,
                                 "SELECT coalesce(json_agg(json_build_object('id', id, 'user_id', user_id, 'plan_id', plan_id,"
                                 " 'status', status, 'price_id', stripe_price_id, 'in_window', $1::bigint = 0"
                                 " OR created_at >= to_timestamp($1::bigint) OR updated_at >= to_timestamp($1::bigint))"
                                 " ORDER BY id), '[]')::text FROM subscriptions",
                                 1, values, NULL, NULL);
    json_t *local = ob_pg_classify(pg, r) == OB_OK && PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return local;
}

static json_t *
s_stripe(stripe_api_t *stripe, long long since, char *error, size_t cap)
{
    json_t *all = json_array();
    char after[256] = "";
    for (int page = 0; page < MAX_PAGES; page++) {
        json_t *list = NULL;
        stripe_error_t e;
        if (stripe_api_list_subscriptions(stripe, after[0] ? after : NULL, since, &list, &e) != OB_OK) {
            snprintf(error, cap, "Stripe's subscriptions cannot be listed: %s", e.message);
            json_decref(list);
            json_decref(all);
            return NULL;
        }
        json_t *data = json_object_get(list, "data");
        json_array_extend(all, data);
        const char *last = json_string_value(json_object_get(json_array_get(data, json_array_size(data) - 1), "id"));
        bool more = json_is_true(json_object_get(list, "has_more")) && last;
        if (more)
            snprintf(after, sizeof after, "%s", last);
        json_decref(list);
        if (!more)
            return all;
    }
    return all;
}

static bool
s_listed(const json_t *subs, const char *id)
{
    size_t i;
    const json_t *sub;
    json_array_foreach(subs, i, sub) if (strcmp(json_string_value(json_object_get(sub, "id")), id) == 0) return true;
    return false;
}

/*  With --since, a recent local subscription Stripe created before the
 *  window is not in the listing: fetch it by id (absent: it stays missing). */
static int
s_stripe_lookups(stripe_api_t *stripe, const json_t *local, json_t *theirs, char *error, size_t cap)
{
    size_t i;
    const json_t *mine;
    json_array_foreach(local, i, mine)
    {
        const char *id = json_string_value(json_object_get(mine, "id"));
        if (!id || json_is_false(json_object_get(mine, "in_window")) || s_listed(theirs, id))
            continue;
        json_t *sub = NULL;
        stripe_error_t e;
        ob_err_t rc = stripe_api_retrieve_subscription(stripe, id, &sub, &e);
        if (rc == OB_OK)
            json_array_append(theirs, sub);
        json_decref(sub);
        if (rc != OB_OK && rc != OB_ERR_NOT_FOUND) {
            snprintf(error, cap, "Stripe's subscription %s cannot be read: %s", id, e.message);
            return -1;
        }
    }
    return 0;
}

static json_t *
s_lago(lago_api_t *lago, char *error, size_t cap)
{
    json_t *all = json_array();
    for (int page = 1; page <= MAX_PAGES; page++) {
        json_t *answer = NULL;
        lago_api_error_t e;
        if (lago_api_list_subscriptions(lago, page, &answer, &e) != OB_OK) {
            snprintf(error, cap, "Lago's subscriptions cannot be listed: %s", e.message);
            json_decref(all);
            return NULL;
        }
        json_array_extend(all, json_object_get(answer, "subscriptions"));
        bool more = json_is_integer(json_object_get(json_object_get(answer, "meta"), "next_page"));
        json_decref(answer);
        if (!more)
            break;
    }
    return all;
}

json_t *
reconcile_subscriptions(ob_pg_t *pg, stripe_api_t *stripe, lago_api_t *lago, long long since, json_t **stripe_subs, char *error,
                        size_t cap)
{
    if (stripe_subs)
        *stripe_subs = NULL;
    snprintf(error, cap, "the local subscriptions cannot be read");
    json_t *local = s_local(pg, since);
    json_t *theirs = local ? s_stripe(stripe, since, error, cap) : NULL;
    if (theirs && since > 0 && s_stripe_lookups(stripe, local, theirs, error, cap) != 0) {
        json_decref(theirs);
        theirs = NULL;
    }
    json_t *lagos = theirs && lago ? s_lago(lago, error, cap) : NULL;
    json_t *drift = theirs && (!lago || lagos) ? reconcile_drift_compare(local, theirs, lagos) : NULL;
    json_decref(local);
    json_decref(lagos);
    if (stripe_subs && drift)
        *stripe_subs = json_incref(theirs);
    json_decref(theirs);
    return drift;
}

int
reconcile_record_fixes(ob_pg_t *pg, const json_t *drift, const json_t *stripe_subs, json_t *ids)
{
    int count = 0;
    long now = (long)time(NULL);
    size_t i, j;
    const json_t *d, *sub;
    json_array_foreach(drift, i, d)
    {
        const char *id = json_string_value(json_object_get(d, "subscription_id"));
        if (!json_is_true(json_object_get(d, "fixable")) || !id)
            continue;
        char event_id[320];
        snprintf(event_id, sizeof event_id, "reconcile_%s_%ld", id, now);
        bool seen = false;
        json_array_foreach(ids, j, sub) seen = seen || strcmp(json_string_value(sub), event_id) == 0;
        if (seen)
            continue; /* two drifts of one subscription: one event */
        const json_t *object = NULL;
        json_array_foreach(stripe_subs, j, sub) if (strcmp(json_string_value(json_object_get(sub, "id")), id) == 0) object = sub;
        if (!object)
            continue;
        json_t *event =
            json_pack("{s:s,s:s,s:s,s:I,s:b,s:{s:O},s:n,s:b}", "id", event_id, "object", "event", "type",
                      "customer.subscription.updated", "created", (json_int_t)now, "livemode",
                      json_is_true(json_object_get(object, "livemode")), "data", "object", object, "request", "reconcile", 1);
        char *payload = event ? ob_json_dump(event, NULL) : NULL;
        json_decref(event);
        char created[24];
        snprintf(created, sizeof created, "%ld", now);
        const char *values[] = {event_id, created, json_is_true(json_object_get(object, "livemode")) ? "true" : "false", payload};
        PGresult *r = payload ? ob_pg_exec_sql(pg,
                                               "INSERT INTO stripe_events (id, type, created, livemode, payload)"
                                               " VALUES ($1, 'customer.subscription.updated', $2::bigint, $3::boolean, $4)"
                                               " ON CONFLICT (id) DO NOTHING",
                                               4, values, NULL, NULL)
                              : NULL;
        ob_err_t err = payload ? ob_pg_classify(pg, r) : OB_ERR_INTERNAL;
        PQclear(r);
        free(payload);
        if (err != OB_OK)
            return -1;
        json_array_append_new(ids, json_string(event_id));
        count++;
    }
    return count;
}

void
reconcile_wait_none(ob_pg_t *pg, const char *count_sql, const json_t *ids, int wait_s)
{
    char *text = ob_json_dump(ids, NULL);
    const char *values[] = {text};
    for (int tries = 0; text && tries < wait_s * 10; tries++) {
        PGresult *r = ob_pg_exec_sql(pg, count_sql, 1, values, NULL, NULL);
        bool done = ob_pg_classify(pg, r) == OB_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
        PQclear(r);
        if (done)
            break;
        usleep(100 * 1000);
    }
    free(text);
}

void
reconcile_wait_processed(ob_pg_t *pg, const json_t *ids, int wait_s)
{
    /* Processed by the stripe-worker, then applied by the subscription-worker. */
    reconcile_wait_none(pg,
                        "WITH ids AS (SELECT json_array_elements_text($1::json) AS id)"
                        " SELECT (SELECT count(*) FROM stripe_events WHERE status = 'pending' AND id IN (SELECT id FROM ids))"
                        " + (SELECT count(*) FROM subscription_updates WHERE status = 'pending'"
                        " AND source_event_id IN (SELECT id FROM ids))",
                        ids, wait_s);
}

json_t *
reconcile_count_kinds(const json_t *drift)
{
    json_t *counts = json_object();
    size_t i;
    const json_t *d;
    json_array_foreach(drift, i, d)
    {
        const char *kind = json_string_value(json_object_get(d, "kind"));
        if (kind)
            json_object_set_new(counts, kind, json_integer(json_integer_value(json_object_get(counts, kind)) + 1));
    }
    return counts;
}
