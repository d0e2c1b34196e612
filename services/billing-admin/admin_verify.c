/*  billing-admin verify - checks that the billing system can work: settings,
 *  the Stripe key, the plans' prices, the webhook secret, Postgres, Redis and
 *  Lago. One line per check, "ok" or "FAIL" with the reason (never a secret);
 *  exit status 1 when any check failed.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/billing-admin/admin_commands.h"
#include "services/billing-admin/admin_setup_stripe.h"
#include "clients/lago_api.h"
#include "clients/stripe_api.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true},           {"REDIS_URL", OB_CONFIG_REDIS_URL, false},
    {"STRIPE_SECRET_KEY", OB_CONFIG_STRING, true},      {"STRIPE_API_BASE", OB_CONFIG_URL, false},
    {"STRIPE_SUCCESS_URL", OB_CONFIG_URL, true},        {"STRIPE_CANCEL_URL", OB_CONFIG_URL, false},
    {"STRIPE_PORTAL_RETURN_URL", OB_CONFIG_URL, false}, {"LAGO_API_URL", OB_CONFIG_URL, true},
    {"LAGO_API_KEY", OB_CONFIG_STRING, true},           {"PLANS_FILE", OB_CONFIG_STRING, false},
};

typedef struct {
    int failed;
} s_report_t;

static void s_check(s_report_t *report, bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
s_check(s_report_t *report, bool ok, const char *name, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    printf("%-4s  %-16s %s\n", ok ? "ok" : "FAIL", name, reason);
    if (!ok)
        report->failed++;
}

static void
s_check_config(s_report_t *report)
{
    char *problems = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&problems, &len);
    int count = out ? ob_config_validate(s_specs, sizeof s_specs / sizeof s_specs[0], out) : -1;
    if (out)
        fclose(out);
    if (count == 0) {
        s_check(report, true, "config", "required settings are present and well-formed");
    } else {
        /* One line per problem; each names the variable, never its value. */
        for (char *line = problems ? strtok(problems, "\n") : NULL; line; line = strtok(NULL, "\n"))
            s_check(report, false, "config", "%s", line);
        if (count < 0)
            s_check(report, false, "config", "cannot check the settings");
    }
    free(problems);
    bool auth = ob_config_get("AUTH_JWT_SECRET") || ob_config_get("AUTH_JWT_PUBLIC_KEY_FILE") || ob_config_get("AUTH_JWKS_URL");
    s_check(report, auth, "user_auth",
            auth ? "a JWT key source is configured"
                 : "none of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_URL is set: user endpoints answer 401");
}

static void
s_check_webhook_secret(s_report_t *report)
{
    const char *secret = ob_config_get("STRIPE_WEBHOOK_SECRET");
    if (!secret)
        s_check(report, false, "webhook_secret", "STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks are refused");
    else if (strncmp(secret, "whsec_", 6) != 0)
        s_check(report, false, "webhook_secret", "STRIPE_WEBHOOK_SECRET does not start with whsec_");
    else
        s_check(report, true, "webhook_secret", "STRIPE_WEBHOOK_SECRET is set");
}

/*  Returns true when Stripe accepted the key (so the price check can run). */
static bool
s_check_stripe_key(s_report_t *report, stripe_api_t *stripe)
{
    if (!stripe) {
        s_check(report, false, "stripe_key", "STRIPE_SECRET_KEY or STRIPE_API_BASE is missing or malformed");
        return false;
    }
    stripe_error_t serr;
    ob_err_t err = stripe_api_retrieve_balance(stripe, NULL, &serr);
    if (err == OB_OK)
        s_check(report, true, "stripe_key", "Stripe accepted the key (GET /v1/balance)");
    else if (serr.http_status == 401 || serr.http_status == 403)
        s_check(report, false, "stripe_key", "Stripe rejected the key (HTTP %ld, request %s)", serr.http_status,
                serr.request_id[0] ? serr.request_id : "-");
    else if (err == OB_ERR_TRANSIENT && serr.http_status == 0)
        s_check(report, false, "stripe_key", "Stripe cannot be reached: %s", serr.message[0] ? serr.message : "no answer");
    else
        s_check(report, false, "stripe_key", "Stripe answered HTTP %ld (%s, request %s)", serr.http_status, ob_err_name(err),
                serr.request_id[0] ? serr.request_id : "-");
    return err == OB_OK;
}

static void
s_check_prices(s_report_t *report, stripe_api_t *stripe, ob_pg_t *pg, bool pg_ok)
{
    billing_price_spec_t specs[ADMIN_MAX_PRICES];
    admin_plan_name_t plans[ADMIN_MAX_PRICES];
    size_t spec_count, plan_count;
    const char *path = ob_config_str("PLANS_FILE", "deploy/plans.json");
    if (admin_stripe_price_specs(path, specs, &spec_count, plans, &plan_count) != 0) {
        s_check(report, false, "plan_prices", "cannot read the plan catalogue %s", path);
        return;
    }
    for (size_t p = 0; p < plan_count; p++) {
        char missing[512] = "", unrecorded[512] = "";
        size_t have = 0, total = 0;
        for (size_t i = 0; i < spec_count; i++) {
            if (strcmp(specs[i].plan_id, plans[p].plan_id) != 0)
                continue;
            total++;
            const char *keys[] = {specs[i].lookup_key};
            json_t *list = NULL;
            stripe_error_t serr;
            ob_err_t err = stripe_api_list_prices_by_lookup_keys(stripe, keys, 1, &list, &serr);
            bool found = false;
            size_t j;
            json_t *price;
            json_array_foreach(json_object_get(list, "data"), j, price)
            {
                const char *key = json_string_value(json_object_get(price, "lookup_key"));
                found |= key && strcmp(key, specs[i].lookup_key) == 0 && json_is_true(json_object_get(price, "active"));
            }
            json_decref(list);
            if (err != OB_OK || !found) {
                size_t n = strlen(missing);
                snprintf(missing + n, sizeof missing - n, "%s%s%s", n ? ", " : "", specs[i].lookup_key,
                         err != OB_OK ? " (Stripe error)" : "");
                continue;
            }
            have++;
            if (pg_ok) {
                const char *values[] = {specs[i].lookup_key};
                PGresult *r = ob_pg_exec_sql(pg, "SELECT 1 FROM stripe_prices WHERE lookup_key = $1", 1, values, NULL, NULL);
                if (ob_pg_classify(pg, r) != OB_OK || PQntuples(r) != 1) {
                    size_t n = strlen(unrecorded);
                    snprintf(unrecorded + n, sizeof unrecorded - n, "%s%s", n ? ", " : "", specs[i].lookup_key);
                }
                PQclear(r);
            }
        }
        if (missing[0])
            s_check(report, false, "plan_prices", "%s: no active Stripe price for %s (run billing-admin setup-stripe)",
                    plans[p].plan_id, missing);
        else if (unrecorded[0])
            s_check(report, false, "plan_prices", "%s: %s not recorded in stripe_prices (run billing-admin setup-stripe)",
                    plans[p].plan_id, unrecorded);
        else
            s_check(report, true, "plan_prices", "%s: %zu of %zu prices present", plans[p].plan_id, have, total);
    }
}

static bool
s_check_postgres(s_report_t *report, ob_pg_t *pg)
{
    if (!pg || ob_pg_ensure(pg) != 0) {
        s_check(report, false, "postgres", "cannot connect to %s", pg ? ob_pg_describe(pg) : "DATABASE_URL");
        return false;
    }
    PGresult *r = ob_pg_exec_sql(pg, "SELECT to_regclass('stripe_prices') IS NOT NULL", 0, NULL, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    bool migrated = err == OB_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (err != OB_OK)
        s_check(report, false, "postgres", "%s answers with an error (%s)", ob_pg_describe(pg), ob_err_name(err));
    else if (!migrated)
        s_check(report, false, "postgres", "%s answers but is not migrated (run billing-admin migrate)", ob_pg_describe(pg));
    else
        s_check(report, true, "postgres", "%s answers and is migrated", ob_pg_describe(pg));
    return err == OB_OK && migrated;
}

static void
s_check_redis(s_report_t *report)
{
    ob_redis_t *redis = ob_redis_new(ob_config_str("REDIS_URL", "redis://127.0.0.1:6379"));
    if (!redis) {
        s_check(report, false, "redis", "REDIS_URL is malformed");
        return;
    }
    const char *argv[] = {"PING"};
    redisReply *reply = ob_redis_command_argv(redis, 1, argv, NULL);
    bool ok = reply && reply->type == REDIS_REPLY_STATUS;
    s_check(report, ok, "redis", ok ? "%s answers PING" : "%s does not answer PING", ob_redis_describe(redis));
    if (reply)
        freeReplyObject(reply);
    ob_redis_destroy(&redis);
}

static void
s_check_lago(s_report_t *report)
{
    lago_api_t *lago = lago_api_new(ob_config_get("LAGO_API_URL"), ob_config_get("LAGO_API_KEY"));
    if (!lago) {
        s_check(report, false, "lago", "LAGO_API_URL or LAGO_API_KEY is missing or malformed");
        return;
    }
    lago_api_set_retry(lago, 5000, 2, 200);
    lago_billable_metric_t metric;
    lago_api_error_t lerr;
    ob_err_t err = lago_api_get_billable_metric(lago, "api_calls", &metric, &lerr);
    if (err == OB_OK)
        s_check(report, true, "lago", "Lago answers and has the api_calls metric");
    else if (err == OB_ERR_NOT_FOUND)
        s_check(report, true, "lago", "Lago answers (the api_calls metric is missing: run billing-admin setup-lago)");
    else if (lerr.status == 401 || lerr.status == 403)
        s_check(report, false, "lago", "Lago rejected LAGO_API_KEY (HTTP %ld)", lerr.status);
    else
        s_check(report, false, "lago", "Lago does not answer properly (HTTP %ld, %s)", lerr.status, ob_err_name(err));
    lago_api_destroy(&lago);
}

int
admin_cmd_verify(int argc, char **argv)
{
    if (argc > 1) {
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        fprintf(help ? stdout : stderr, "usage: billing-admin verify\nchecks settings, Stripe, the plans' prices, "
                                        "the webhook secret, Postgres, Redis and Lago\n");
        return help ? 0 : 2;
    }
    s_report_t report = {0};
    s_check_config(&report);
    ob_http_global_init();
    const char *key = ob_config_get("STRIPE_SECRET_KEY");
    stripe_api_t *stripe = key ? stripe_api_new(ob_config_str("STRIPE_API_BASE", "https://api.stripe.com"), key) : NULL;
    if (stripe)
        stripe_api_set_limits(stripe, 5000, 2, 200);
    const char *db_url = ob_config_get("DATABASE_URL");
    ob_pg_t *pg = db_url ? ob_pg_new(db_url, "billing-admin-verify") : NULL;
    bool pg_ok = s_check_postgres(&report, pg);
    s_check_redis(&report);
    bool key_ok = s_check_stripe_key(&report, stripe);
    s_check_webhook_secret(&report);
    if (key_ok)
        s_check_prices(&report, stripe, pg, pg_ok);
    else
        s_check(&report, false, "plan_prices", "not checked: the Stripe key does not work");
    s_check_lago(&report);
    stripe_api_destroy(&stripe);
    ob_pg_destroy(&pg);
    printf("%s: %d check(s) failed\n", report.failed ? "FAIL" : "ok", report.failed);
    return report.failed ? 1 : 0;
}
