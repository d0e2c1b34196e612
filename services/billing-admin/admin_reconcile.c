/*  admin_reconcile - `billing-admin reconcile [--fix] [--json] [--since WHEN] [--wait SECONDS]`.
 *
 *  Compares every local subscription with Stripe's and, when LAGO_API_URL
 *  is set, with Lago's, and the usage ledger with what Lago received
 *  (clients/reconcile.h, clients/reconcile_usage.h); prints the drift as a
 *  table, or as JSON with --json.
 *
 *  --since WHEN (Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or Nd / Nh
 *  ago) narrows both checks to what was created, changed or used since.
 *
 *  --fix applies Stripe's truth through the webhook path (inbox events the
 *  stripe-worker maps and the subscription-worker applies) and puts the
 *  usage Lago lacks back in the lago-worker's forwarding queue
 *  (usage_reforward(), same transaction_ids); then waits (--wait, default
 *  15 s) for both and reads the drift again.
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

#include "clients/lago_api.h"
#include "clients/reconcile.h"
#include "clients/reconcile_usage.h"
#include "clients/stripe_api.h"
#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"

static int
s_usage(FILE *out)
{
    fprintf(out, "usage: billing-admin reconcile [--fix] [--json] [--since WHEN] [--wait SECONDS]\n"
                 "  WHEN: Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ (UTC), or Nd / Nh ago\n");
    return out == stdout ? 0 : 2;
}

/*  WHEN as Unix seconds, or -1 when it is none of the accepted forms. */
static long long
s_parse_since(const char *text, time_t now)
{
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end != text && n >= 0 && (strcmp(end, "d") == 0 || strcmp(end, "h") == 0) && n <= 3650 * 24)
        return (long long)now - n * (*end == 'd' ? 86400 : 3600);
    if (end != text && !*end && n >= 0)
        return n;
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct tm tm = {0};
        const char *rest = strptime(text, formats[i], &tm);
        if (rest && !*rest)
            return (long long)timegm(&tm);
    }
    return -1;
}

static const char *
s_or_dash(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s && *s ? s : "-";
}

static const char *
s_fixed_by(const json_t *d)
{
    if (!json_is_true(json_object_get(d, "fixable")))
        return "-";
    return strcmp(s_or_dash(d, "kind"), "usage_not_forwarded") == 0 ? "reforward" : "stripe";
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
        const char *kind = s_or_dash(d, "kind");
        printf("%-20s %-32s %-24s %-28s %-28s %s\n", strcmp(kind, "usage_not_forwarded") == 0 ? "usage not forwarded" : kind,
               s_or_dash(d, "subscription_id"), s_or_dash(d, "user_id"), s_or_dash(d, "local"), s_or_dash(d, "remote"),
               s_fixed_by(d));
    }
}

/*  Both checks into one array (subscriptions first, then usage); NULL when a
 *  side could not be read (said on stderr). */
static json_t *
s_drift(ob_pg_t *pg, stripe_api_t *stripe, lago_api_t *lago, long long since, json_t **stripe_subs)
{
    char error[512];
    json_t *drift = reconcile_subscriptions(pg, stripe, lago, since, stripe_subs, error, sizeof error);
    json_t *usage = drift && lago ? reconcile_usage(pg, lago, since, error, sizeof error) : NULL;
    if (!drift || (lago && !usage)) {
        fprintf(stderr, "reconcile: %s\n", error);
        json_decref(drift);
        json_decref(usage);
        if (stripe_subs) {
            json_decref(*stripe_subs);
            *stripe_subs = NULL;
        }
        return NULL;
    }
    json_array_extend(drift, usage);
    json_decref(usage);
    return drift;
}

int
admin_cmd_reconcile(int argc, char **argv)
{
    static const struct option options[] = {{"fix", no_argument, NULL, 'f'},         {"json", no_argument, NULL, 'j'},
                                            {"since", required_argument, NULL, 's'}, {"wait", required_argument, NULL, 'w'},
                                            {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    bool fix = false, as_json = false;
    long wait_s = 15;
    long long since = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "fjs:w:h", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'f':
            fix = true;
            break;
        case 'j':
            as_json = true;
            break;
        case 's':
            since = s_parse_since(optarg, time(NULL));
            if (since < 0)
                return s_usage(stderr);
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
    json_t *drift = s_drift(pg, stripe, lago, since, &stripe_subs);
    json_t *fixed = json_array(), *reforwarded = json_array();
    int rc = drift ? 0 : 1;
    if (drift && fix) {
        int n = reconcile_record_fixes(pg, drift, stripe_subs, fixed);
        int m = reconcile_usage_reforward(pg, drift, reforwarded);
        if (n < 0 || m < 0) {
            fprintf(stderr, "reconcile: cannot record the fixes\n");
            rc = 1;
        }
        if (n > 0)
            reconcile_wait_processed(pg, fixed, (int)wait_s);
        if (m > 0)
            reconcile_usage_wait(pg, reforwarded, (int)wait_s);
        if (n > 0 || m > 0) {
            json_t *before = drift;
            drift = s_drift(pg, stripe, lago, since, NULL);
            if (!drift) {
                drift = before;
                rc = 1;
            } else {
                json_decref(before);
            }
        }
    }
    if (drift) {
        if (as_json) {
            json_t *out = json_pack("{s:O,s:O,s:O}", "drift", drift, "fix_events", fixed, "reforwarded", reforwarded);
            char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
            printf("%s\n", text ? text : "{}");
            free(text);
            json_decref(out);
        } else {
            if (fix)
                printf("recorded %zu fix events (applied through the webhook path), %zu usage events queued for Lago again\n",
                       json_array_size(fixed), json_array_size(reforwarded));
            s_print_table(drift);
        }
        if (json_array_size(drift) > 0)
            rc = 1;
    }
    json_decref(drift);
    json_decref(fixed);
    json_decref(reforwarded);
    json_decref(stripe_subs);
    stripe_api_destroy(&stripe);
    lago_api_destroy(&lago);
    ob_pg_destroy(&pg);
    return rc;
}
