/*  admin_reconcile - `billing-admin reconcile [--fix] [--json] [--wait SECONDS]`.
 *
 *  Reads every local subscription, every Stripe subscription (list
 *  subscriptions, status=all, all pages) and, when LAGO_API_URL is set,
 *  every Lago subscription (active and terminated, all pages), and prints
 *  the drift (admin_drift.h) as a table, or as JSON with --json.
 *
 *  --fix applies Stripe's truth for the fixable kinds through the same path
 *  as webhooks: for each drifting subscription it records Stripe's object,
 *  as just listed, in the stripe-worker's inbox as an event
 *  ("reconcile_<subscription>_<unix s>", customer.subscription.updated,
 *  created now), which the stripe-worker maps into a subscription_updates
 *  request row and the subscription-worker applies with its one order-proof
 *  rule (an event Stripe sends later still wins). So no second copy of the
 *  mapping exists, and a repeat in the same second is one event. It then
 *  waits (--wait, default 15 s) for those events to be processed and reads
 *  the drift again.
 *
 *  Exit: 0 no drift left, 1 drift left (or an outside API failed), 2 usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/lago_api.h"
#include "clients/stripe_api.h"
#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_json.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"
#include "services/billing-admin/admin_drift.h"

#define MAX_PAGES 1000

static int
s_usage(FILE *out)
{
    fprintf(out, "usage: billing-admin reconcile [--fix] [--json] [--wait SECONDS]\n");
    return out == stdout ? 0 : 2;
}

static json_t *
s_local(ob_pg_t *pg)
{
    PGresult *r = ob_pg_exec_sql(pg,
                                 "SELECT coalesce(json_agg(json_build_object('id', id, 'user_id', user_id, 'plan_id', plan_id,"
                                 " 'status', status, 'price_id', stripe_price_id) ORDER BY id), '[]')::text FROM subscriptions",
                                 0, NULL, NULL, NULL);
    json_t *local = ob_pg_classify(pg, r) == OB_OK && PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    return local;
}

static json_t *
s_stripe(stripe_api_t *stripe)
{
    json_t *all = json_array();
    char after[256] = "";
    for (int page = 0; page < MAX_PAGES; page++) {
        json_t *list = NULL;
        stripe_error_t error;
        if (stripe_api_list_subscriptions(stripe, after[0] ? after : NULL, &list, &error) != OB_OK) {
            fprintf(stderr, "reconcile: Stripe's subscriptions cannot be listed: %s\n", error.message);
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

static json_t *
s_lago(lago_api_t *lago)
{
    json_t *all = json_array();
    for (int page = 1; page <= MAX_PAGES; page++) {
        json_t *answer = NULL;
        lago_api_error_t error;
        if (lago_api_list_subscriptions(lago, page, &answer, &error) != OB_OK) {
            fprintf(stderr, "reconcile: Lago's subscriptions cannot be listed: %s\n", error.message);
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

static const char *
s_or_dash(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s && *s ? s : "-";
}

static void
s_print_table(const json_t *drift)
{
    if (json_array_size(drift) == 0) {
        printf("no drift\n");
        return;
    }
    printf("%-20s %-32s %-24s %-28s %-28s %s\n", "DRIFT", "SUBSCRIPTION", "USER", "LOCAL", "REMOTE", "FIX");
    size_t i;
    const json_t *d;
    json_array_foreach(drift, i, d)
    {
        printf("%-20s %-32s %-24s %-28s %-28s %s\n", s_or_dash(d, "kind"), s_or_dash(d, "subscription_id"), s_or_dash(d, "user_id"),
               s_or_dash(d, "local"), s_or_dash(d, "remote"), json_is_true(json_object_get(d, "fixable")) ? "stripe" : "-");
    }
}

/*  Records Stripe's object for each fixable drift as an inbox event; the ids
 *  recorded go into ids. Returns how many were recorded, -1 on failure. */
static int
s_fix(ob_pg_t *pg, const json_t *drift, const json_t *stripe, json_t *ids)
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
        json_array_foreach(stripe, j, sub) if (strcmp(json_string_value(json_object_get(sub, "id")), id) == 0) object = sub;
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
        if (err != OB_OK) {
            fprintf(stderr, "reconcile: cannot record the fix of %s\n", id);
            return -1;
        }
        json_array_append_new(ids, json_string(event_id));
        count++;
    }
    return count;
}

/*  Waits until none of the events, nor the requests they gave the
 *  subscription-worker, is pending any more (or wait_s passed). */
static void
s_wait_processed(ob_pg_t *pg, const json_t *ids, int wait_s)
{
    char *text = ob_json_dump(ids, NULL);
    const char *values[] = {text};
    for (int tries = 0; text && tries < wait_s * 10; tries++) {
        /* Processed by the stripe-worker, then applied by the subscription-worker. */
        PGresult *r =
            ob_pg_exec_sql(pg,
                           "WITH ids AS (SELECT json_array_elements_text($1::json) AS id)"
                           " SELECT (SELECT count(*) FROM stripe_events WHERE status = 'pending' AND id IN (SELECT id FROM ids))"
                           " + (SELECT count(*) FROM subscription_updates WHERE status = 'pending'"
                           " AND source_event_id IN (SELECT id FROM ids))",
                           1, values, NULL, NULL);
        bool done = ob_pg_classify(pg, r) == OB_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
        PQclear(r);
        if (done)
            break;
        usleep(100 * 1000);
    }
    free(text);
}

static json_t *
s_drift(ob_pg_t *pg, stripe_api_t *stripe, lago_api_t *lago, json_t **stripe_subs)
{
    json_t *local = s_local(pg);
    json_t *theirs = local ? s_stripe(stripe) : NULL;
    json_t *lagos = theirs && lago ? s_lago(lago) : NULL;
    json_t *drift = theirs && (!lago || lagos) ? admin_drift_compare(local, theirs, lagos) : NULL;
    if (!local)
        fprintf(stderr, "reconcile: the local subscriptions cannot be read\n");
    json_decref(local);
    json_decref(lagos);
    if (stripe_subs)
        *stripe_subs = theirs;
    else
        json_decref(theirs);
    return drift;
}

int
admin_cmd_reconcile(int argc, char **argv)
{
    static const struct option options[] = {{"fix", no_argument, NULL, 'f'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"wait", required_argument, NULL, 'w'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    bool fix = false, as_json = false;
    long wait_s = 15;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "fjw:h", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'f':
            fix = true;
            break;
        case 'j':
            as_json = true;
            break;
        case 'w':
            wait_s = strtol(optarg, &end, 10);
            if (*end || wait_s < 0 || wait_s > 3600)
                return s_usage(stderr);
            break;
        case 'h':
            return s_usage(stdout);
        default:
            return s_usage(stderr);
        }
    }
    if (optind != argc)
        return s_usage(stderr);
    if (!ob_config_get("DATABASE_URL") || !ob_config_get("STRIPE_SECRET_KEY")) {
        fprintf(stderr, "reconcile: DATABASE_URL and STRIPE_SECRET_KEY are required\n");
        return 2;
    }
    ob_http_global_init();
    stripe_api_t *stripe =
        stripe_api_new(ob_config_str("STRIPE_API_BASE", "https://api.stripe.com"), ob_config_get("STRIPE_SECRET_KEY"));
    lago_api_t *lago =
        ob_config_get("LAGO_API_URL") ? lago_api_new(ob_config_get("LAGO_API_URL"), ob_config_get("LAGO_API_KEY")) : NULL;
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "billing-admin");
    if (!stripe || !pg || ob_pg_ensure(pg) != 0) {
        fprintf(stderr, "reconcile: %s\n",
                !stripe ? "STRIPE_SECRET_KEY or STRIPE_API_BASE is not usable" : "cannot connect to Postgres");
        stripe_api_destroy(&stripe);
        lago_api_destroy(&lago);
        ob_pg_destroy(&pg);
        return 1;
    }
    json_t *stripe_subs = NULL;
    json_t *drift = s_drift(pg, stripe, lago, &stripe_subs);
    json_t *fixed = json_array();
    int rc = drift ? 0 : 1;
    if (drift && fix) {
        int n = s_fix(pg, drift, stripe_subs, fixed);
        if (n > 0) {
            s_wait_processed(pg, fixed, (int)wait_s);
            json_t *before = drift;
            drift = s_drift(pg, stripe, lago, NULL);
            if (!drift) {
                drift = before;
                rc = 1;
            } else {
                json_decref(before);
            }
        } else if (n < 0) {
            rc = 1;
        }
    }
    if (drift) {
        if (as_json) {
            json_t *out = json_pack("{s:O,s:O}", "drift", drift, "fix_events", fixed);
            char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
            printf("%s\n", text ? text : "{}");
            free(text);
            json_decref(out);
        } else {
            if (fix)
                printf("recorded %zu fix events (applied through the webhook path)\n", json_array_size(fixed));
            s_print_table(drift);
        }
        if (json_array_size(drift) > 0)
            rc = 1;
    }
    json_decref(drift);
    json_decref(fixed);
    json_decref(stripe_subs);
    stripe_api_destroy(&stripe);
    lago_api_destroy(&lago);
    ob_pg_destroy(&pg);
    return rc;
}
