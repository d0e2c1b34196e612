/*  billing-admin verify - checks that the billing system can work: settings,
 *  the Stripe key, the plans' prices (present, active, amount, currency and
 *  interval as the catalogue says), the Stripe webhook endpoint (url, event
 *  types, api_version, status), the customer portal, the webhook secret,
 *  Postgres, Redis and Lago (once set up: its plans, webhook endpoint and
 *  public key). One line per check, "ok", "FAIL" with each difference named,
 *  or "skip" with why (never a secret); exit status 1 when any check failed.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/billing-admin/admin_commands.h"
#include "services/billing-admin/admin_lago_config.h"
#include "services/billing-admin/admin_setup_stripe.h"
#include "services/billing-admin/admin_stripe_config.h"
#include "clients/lago_api.h"
#include "clients/stripe_api.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true},           {"REDIS_URL", OB_CONFIG_REDIS_URL, false},
    {"STRIPE_SECRET_KEY", OB_CONFIG_SECRET, true},      {"STRIPE_API_BASE", OB_CONFIG_URL, false},
    {"STRIPE_SUCCESS_URL", OB_CONFIG_URL, true},        {"STRIPE_CANCEL_URL", OB_CONFIG_URL, false},
    {"STRIPE_PORTAL_RETURN_URL", OB_CONFIG_URL, false}, {"LAGO_API_URL", OB_CONFIG_URL, true},
    {"LAGO_API_KEY", OB_CONFIG_SECRET, true},           {"PLANS_FILE", OB_CONFIG_STRING, false},
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
s_skip(const char *name, const char *reason)
{
    printf("%-4s  %-16s %s\n", "skip", name, reason);
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

/*  Checks every catalogue price at Stripe (found by lookup key, active,
 *  amount, currency and interval as the catalogue says) and in
 *  stripe_prices; fills rows (price and product ids) for the portal check.
 *  Returns the number of rows, or -1 when the catalogue cannot be read. */
static int
s_check_prices(s_report_t *report, stripe_api_t *stripe, ob_pg_t *pg, bool pg_ok, admin_price_row_t *rows)
{
    billing_price_spec_t specs[ADMIN_MAX_PRICES];
    admin_plan_name_t plans[ADMIN_MAX_PRICES];
    size_t spec_count, plan_count;
    const char *path = ob_config_str("PLANS_FILE", "deploy/plans.json");
    if (admin_stripe_price_specs(path, specs, &spec_count, plans, &plan_count) != 0) {
        s_check(report, false, "plan_prices", "cannot read the plan catalogue %s", path);
        return -1;
    }
    for (size_t p = 0; p < plan_count; p++) {
        char missing[512] = "", unrecorded[512] = "", wrong[1024] = "";
        size_t have = 0, total = 0;
        for (size_t i = 0; i < spec_count; i++) {
            if (strcmp(specs[i].plan_id, plans[p].plan_id) != 0)
                continue;
            total++;
            memset(&rows[i], 0, sizeof rows[i]);
            rows[i].spec = specs[i];
            const char *keys[] = {specs[i].lookup_key};
            json_t *list = NULL;
            stripe_error_t serr;
            ob_err_t err = stripe_api_list_prices_by_lookup_keys(stripe, keys, 1, &list, &serr);
            const json_t *found = NULL;
            size_t j;
            json_t *price;
            json_array_foreach(json_object_get(list, "data"), j, price)
            {
                const char *key = json_string_value(json_object_get(price, "lookup_key"));
                if (key && strcmp(key, specs[i].lookup_key) == 0 && json_is_true(json_object_get(price, "active")))
                    found = price;
            }
            if (err != OB_OK || !found) {
                size_t n = strlen(missing);
                snprintf(missing + n, sizeof missing - n, "%s%s%s", n ? ", " : "", specs[i].lookup_key,
                         err != OB_OK ? " (Stripe error)" : "");
                json_decref(list);
                continue;
            }
            const json_t *product = json_object_get(found, "product");
            snprintf(rows[i].price_id, sizeof rows[i].price_id, "%s", json_string_value(json_object_get(found, "id")) ?: "");
            snprintf(rows[i].product_id, sizeof rows[i].product_id, "%s",
                     (json_is_string(product) ? json_string_value(product) : json_string_value(json_object_get(product, "id")))
                         ?: "");
            json_int_t amount = json_integer_value(json_object_get(found, "unit_amount"));
            const char *currency = json_string_value(json_object_get(found, "currency"));
            const char *interval = json_string_value(json_object_get(json_object_get(found, "recurring"), "interval"));
            if (amount != specs[i].unit_amount || !currency || strcasecmp(currency, specs[i].currency) != 0 || !interval ||
                strcmp(interval, specs[i].interval) != 0) {
                size_t n = strlen(wrong);
                snprintf(wrong + n, sizeof wrong - n, "%s%s (%s) is %lld.%02lld %s/%s, catalogue %lld.%02lld %s/%s", n ? "; " : "",
                         specs[i].lookup_key, rows[i].price_id, (long long)amount / 100, (long long)amount % 100,
                         currency ? currency : "-", interval ? interval : "-", specs[i].unit_amount / 100,
                         specs[i].unit_amount % 100, specs[i].currency, specs[i].interval);
                rows[i].price_id[0] = '\0';
            }
            json_decref(list);
            have++;
            if (pg_ok) {
                const char *values[] = {specs[i].lookup_key, rows[i].price_id};
                PGresult *r = ob_pg_exec_sql(pg, "SELECT 1 FROM stripe_prices WHERE lookup_key = $1 AND price_id = $2", 2, values,
                                             NULL, NULL);
                if (!wrong[0] && (ob_pg_classify(pg, r) != OB_OK || PQntuples(r) != 1)) {
                    size_t n = strlen(unrecorded);
                    snprintf(unrecorded + n, sizeof unrecorded - n, "%s%s", n ? ", " : "", specs[i].lookup_key);
                }
                PQclear(r);
            }
        }
        if (missing[0])
            s_check(report, false, "plan_prices", "%s: no active Stripe price for %s (run billing-admin setup-stripe)",
                    plans[p].plan_id, missing);
        else if (wrong[0])
            s_check(report, false, "plan_prices", "%s: %s (run billing-admin setup-stripe)", plans[p].plan_id, wrong);
        else if (unrecorded[0])
            s_check(report, false, "plan_prices", "%s: %s not recorded in stripe_prices (run billing-admin setup-stripe)",
                    plans[p].plan_id, unrecorded);
        else
            s_check(report, true, "plan_prices", "%s: %zu of %zu prices present and as the catalogue says", plans[p].plan_id, have,
                    total);
    }
    return (int)spec_count;
}

static void
s_check_stripe_webhook(s_report_t *report, stripe_api_t *stripe)
{
    char url[1024];
    if (admin_stripe_webhook_url(url, sizeof url) != 0) {
        s_skip("stripe_webhook", "PUBLIC_BASE_URL is not set: the webhook endpoint is not checked");
        return;
    }
    json_t *list = NULL, *endpoint = NULL;
    stripe_error_t serr;
    if (admin_stripe_find_webhook(stripe, url, &list, &endpoint, &serr) != OB_OK) {
        s_check(report, false, "stripe_webhook", "cannot list webhook endpoints (HTTP %ld)", serr.http_status);
    } else if (!endpoint) {
        s_check(report, false, "stripe_webhook", "no webhook endpoint at %s (run billing-admin setup-stripe)", url);
    } else {
        char diff[2048];
        admin_stripe_webhook_diff(endpoint, url, diff, sizeof diff);
        const char *id = json_string_value(json_object_get(endpoint, "id"));
        if (diff[0])
            s_check(report, false, "stripe_webhook", "%s: %s (run billing-admin setup-stripe)", id, diff);
        else
            s_check(report, true, "stripe_webhook", "%s: %s, %zu event types, api_version " STRIPE_API_VERSION, id, url,
                    json_array_size(json_object_get(endpoint, "enabled_events")));
    }
    json_decref(list);
}

static void
s_check_portal(s_report_t *report, stripe_api_t *stripe, const admin_price_row_t *rows, size_t n)
{
    json_t *list = NULL, *config = NULL;
    stripe_error_t serr;
    if (admin_stripe_find_portal(stripe, &list, &config, &serr) != OB_OK) {
        s_check(report, false, "stripe_portal", "cannot list portal configurations (HTTP %ld)", serr.http_status);
    } else if (!config) {
        s_check(report, false, "stripe_portal", "no customer portal configuration (run billing-admin setup-stripe)");
    } else {
        char diff[2048];
        admin_stripe_portal_diff(config, rows, n, diff, sizeof diff);
        const char *id = json_string_value(json_object_get(config, "id"));
        if (diff[0])
            s_check(report, false, "stripe_portal", "%s: %s (run billing-admin setup-stripe)", id, diff);
        else
            s_check(report, true, "stripe_portal", "%s: plan switching between the catalogue's prices, cancellation at period end",
                    id);
    }
    json_decref(list);
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
s_check_lago_plans(s_report_t *report, lago_api_t *lago, ob_pg_t *pg)
{
    PGresult *metrics = ob_pg_exec_sql(pg, "SELECT code, name, aggregation FROM usage_metrics ORDER BY code", 0, NULL, NULL, NULL);
    admin_lago_plans_t plans;
    const char *path = ob_config_str("PLANS_FILE", "deploy/plans.json");
    if (ob_pg_classify(pg, metrics) != OB_OK || admin_lago_plans_load(path, metrics, &plans) != 0) {
        s_check(report, false, "lago_plans", "cannot read usage_metrics or the catalogue %s", path);
        PQclear(metrics);
        return;
    }
    for (size_t i = 0; i < plans.count; i++) {
        const lago_plan_spec_t *spec = &plans.specs[i];
        json_t *live = NULL;
        lago_api_error_t lerr;
        ob_err_t err = lago_api_get_plan_json(lago, spec->code, &live, &lerr);
        char diff[1024] = "";
        if (err == OB_OK)
            admin_lago_plan_diff(json_object_get(live, "plan"), spec, diff, sizeof diff);
        if (err == OB_ERR_NOT_FOUND)
            s_check(report, false, "lago_plans", "%s: no such plan in Lago (run billing-admin setup-lago)", spec->code);
        else if (err != OB_OK)
            s_check(report, false, "lago_plans", "%s: Lago answered HTTP %ld (%s)", spec->code, lerr.status, ob_err_name(err));
        else if (diff[0])
            s_check(report, false, "lago_plans", "%s: out of date: %s (run billing-admin setup-lago)", spec->code, diff);
        else
            s_check(report, true, "lago_plans", "%s: %s %lld %s, as the catalogue says", spec->code, spec->interval,
                    (long long)spec->amount_cents, spec->currency);
        json_decref(live);
    }
    admin_lago_plans_free(&plans);
    PQclear(metrics);
}

static void
s_check_lago_webhook(s_report_t *report, lago_api_t *lago)
{
    char url[1024];
    if (admin_lago_webhook_url(url, sizeof url) != 0) {
        s_skip("lago_webhook", "PUBLIC_BASE_URL is not set: Lago's webhook endpoint is not checked");
        return;
    }
    const char *algo = admin_lago_signature_algo();
    json_t *list = NULL;
    const json_t *endpoint = NULL;
    lago_api_error_t lerr;
    if (admin_lago_find_webhook(lago, url, &list, &endpoint, &lerr) != OB_OK) {
        s_check(report, false, "lago_webhook", "cannot list Lago's webhook endpoints (HTTP %ld)", lerr.status);
    } else if (!endpoint) {
        s_check(report, false, "lago_webhook", "no webhook endpoint at %s (run billing-admin setup-lago)", url);
    } else {
        const char *have_url = json_string_value(json_object_get(endpoint, "webhook_url"));
        const char *have_algo = json_string_value(json_object_get(endpoint, "signature_algo"));
        if (!have_url || strcmp(have_url, url) != 0)
            s_check(report, false, "lago_webhook", "url is %s, want %s (run billing-admin setup-lago)", have_url ? have_url : "-",
                    url);
        else if (!have_algo || strcmp(have_algo, algo) != 0)
            s_check(report, false, "lago_webhook", "signature_algo is %s, want %s (run billing-admin setup-lago)",
                    have_algo ? have_algo : "-", algo);
        else
            s_check(report, true, "lago_webhook", "%s (%s)", url, algo);
    }
    json_decref(list);
    if (strcmp(algo, "jwt") != 0) {
        bool hmac = ob_config_get("LAGO_WEBHOOK_HMAC_KEY") != NULL;
        s_check(report, hmac, "lago_key", hmac ? "LAGO_WEBHOOK_HMAC_KEY is set" : "LAGO_WEBHOOK_HMAC_KEY is not set");
        return;
    }
    static char key[16384];
    const char *have = ob_config_get("LAGO_WEBHOOK_PUBLIC_KEY");
    if (lago_api_get_webhook_public_key(lago, key, sizeof key, &lerr) != OB_OK)
        s_check(report, false, "lago_key", "cannot fetch Lago's public key (HTTP %ld)", lerr.status);
    else if (!have)
        s_check(report, false, "lago_key",
                "LAGO_WEBHOOK_PUBLIC_KEY is not set: Lago's webhooks are refused (run billing-admin "
                "setup-lago --write-env FILE)");
    else if (strcmp(have, key) != 0)
        s_check(report, false, "lago_key", "LAGO_WEBHOOK_PUBLIC_KEY is not Lago's current key (run billing-admin setup-lago)");
    else
        s_check(report, true, "lago_key", "LAGO_WEBHOOK_PUBLIC_KEY is Lago's public key");
}

static void
s_check_lago(s_report_t *report, ob_pg_t *pg, bool pg_ok)
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
    /* Once setup-lago has run (the metric exists), Lago's plans and webhook must match. */
    if (err == OB_OK && pg_ok)
        s_check_lago_plans(report, lago, pg);
    if (err == OB_OK)
        s_check_lago_webhook(report, lago);
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
    admin_price_row_t rows[ADMIN_MAX_PRICES];
    int n_rows = key_ok ? s_check_prices(&report, stripe, pg, pg_ok, rows) : -1;
    if (key_ok) {
        s_check_stripe_webhook(&report, stripe);
        if (n_rows >= 0)
            s_check_portal(&report, stripe, rows, (size_t)n_rows);
    } else {
        s_check(&report, false, "plan_prices", "not checked: the Stripe key does not work");
    }
    s_check_lago(&report, pg, pg_ok);
    stripe_api_destroy(&stripe);
    ob_pg_destroy(&pg);
    printf("%s: %d check(s) failed\n", report.failed ? "FAIL" : "ok", report.failed);
    return report.failed ? 1 : 0;
}
