/*  billing-admin setup-lago - the billable metrics, the plans, the webhook
 *  endpoint and the JWT public key in Lago, idempotently.
 *
 *  Metrics come from usage_metrics (code, name, sum_agg of
 *  properties.quantity or count_agg): created when missing, else left alone.
 *  Plans come from the catalogue (PLANS_FILE): plan code = plan id,
 *  amount_cents = price_monthly_cents, monthly; a plan whose quota is a
 *  "total" with 7 trial days (the trial) is weekly. Each plan carries a
 *  zero-priced charge per metric so Lago shows the usage on the invoice;
 *  quotas are enforced by the lago-worker, not billed as overage. A plan
 *  that exists is compared (GET /plans/{code}) and, when its name, interval,
 *  amount, currency or charges differ, updated (PUT /plans/{code}).
 *
 *  The webhook endpoint: $PUBLIC_BASE_URL/api/v1/webhooks/lago with
 *  signature_algo $LAGO_WEBHOOK_SIGNATURE (jwt, the default, or hmac).
 *  With jwt, Lago's public key (GET /webhooks/json_public_key, base64 of a
 *  PEM) is stored as LAGO_WEBHOOK_PUBLIC_KEY in the env file (--write-env)
 *  or printed once: the gateway reads that setting at start
 *  (gateway/ob_lago_sig.c) to verify X-Lago-Signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/lago_api.h"
#include "clients/ob_catalogue.h"
#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"
#include "services/billing-admin/admin_lago_config.h"
#include "services/billing-admin/admin_setup.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true},
    {"LAGO_API_URL", OB_CONFIG_URL, true},
    {"LAGO_API_KEY", OB_CONFIG_SECRET, true},
};

static void
s_row(const char *kind, const char *code, const char *outcome, ob_err_t err, const lago_api_error_t *error)
{
    if (err == OB_OK || err == OB_ERR_CONFLICT)
        printf("%-8s %-16s %s\n", kind, code, outcome);
    else
        printf("%-8s %-16s %s (%ld %s %s)\n", kind, code, outcome, error->status, error->code, error->message);
}

static const char *
s_failure(const lago_api_error_t *error)
{
    return error->status == 0 ? "unreachable" : "failed";
}

static void
s_metrics(lago_api_t *api, PGresult *metrics, const admin_setup_opts_t *opts, admin_setup_tally_t *tally)
{
    for (int i = 0; i < PQntuples(metrics); i++) {
        const char *code = PQgetvalue(metrics, i, 0);
        lago_api_error_t error;
        lago_billable_metric_t metric;
        ob_err_t err = lago_api_get_billable_metric(api, code, &metric, &error);
        if (err == OB_OK) {
            s_row("metric", code, "exists", err, &error);
            tally->kept++;
            continue;
        }
        if (err == OB_ERR_NOT_FOUND && opts->dry_run) {
            s_row("metric", code, "would create", OB_OK, &error);
            tally->fresh++;
            continue;
        }
        if (err == OB_ERR_NOT_FOUND) {
            lago_aggregation_t aggregation = strcmp(PQgetvalue(metrics, i, 2), "count_agg") == 0 ? LAGO_AGG_COUNT : LAGO_AGG_SUM;
            err = lago_api_create_billable_metric(api, code, PQgetvalue(metrics, i, 1), aggregation, &error);
        }
        if (err == OB_OK || err == OB_ERR_CONFLICT) {
            s_row("metric", code, err == OB_OK ? "created" : "exists", err, &error);
            (*(err == OB_OK ? &tally->fresh : &tally->kept))++;
        } else {
            s_row("metric", code, s_failure(&error), err, &error);
            tally->failed++;
        }
    }
}

static void
s_plans(lago_api_t *api, const admin_lago_plans_t *plans, const admin_setup_opts_t *opts, admin_setup_tally_t *tally)
{
    for (size_t i = 0; i < plans->count; i++) {
        const lago_plan_spec_t *spec = &plans->specs[i];
        lago_api_error_t error;
        json_t *live = NULL;
        ob_err_t err = lago_api_get_plan_json(api, spec->code, &live, &error);
        char diff[1024] = "";
        if (err == OB_OK)
            admin_lago_plan_diff(json_object_get(live, "plan"), spec, diff, sizeof diff);
        json_decref(live);
        if (err == OB_OK && !diff[0]) {
            s_row("plan", spec->code, "exists", OB_OK, &error);
            tally->kept++;
        } else if ((err == OB_OK || err == OB_ERR_NOT_FOUND) && opts->dry_run) {
            printf("%-8s %-16s %s%s\n", "plan", spec->code, err == OB_OK ? "would update: " : "would create", diff);
            (*(err == OB_OK ? &tally->changed : &tally->fresh))++;
        } else if (err == OB_OK) {
            err = lago_api_update_plan(api, spec, &error);
            if (err == OB_OK) {
                printf("%-8s %-16s updated (was: %s)\n", "plan", spec->code, diff);
                tally->changed++;
            } else {
                s_row("plan", spec->code, s_failure(&error), err, &error);
                tally->failed++;
            }
        } else if (err == OB_ERR_NOT_FOUND) {
            err = lago_api_create_plan(api, spec, &error);
            s_row("plan", spec->code, err == OB_OK ? "created" : s_failure(&error), err, &error);
            (*(err == OB_OK ? &tally->fresh : &tally->failed))++;
        } else {
            s_row("plan", spec->code, s_failure(&error), err, &error);
            tally->failed++;
        }
    }
}

static void
s_webhook(lago_api_t *api, const admin_setup_opts_t *opts, admin_setup_tally_t *tally)
{
    char url[1024];
    const char *algo = admin_lago_signature_algo();
    if (admin_lago_webhook_url(url, sizeof url) != 0) {
        printf("%-8s %-16s skipped: PUBLIC_BASE_URL is not set (Lago needs the gateway's public address)\n", "webhook", "lago");
        return;
    }
    json_t *list = NULL;
    lago_api_error_t error;
    const json_t *endpoint = NULL;
    ob_err_t err = admin_lago_find_webhook(api, url, &list, &endpoint, &error);
    if (err != OB_OK) {
        s_row("webhook", "lago", s_failure(&error), err, &error);
        tally->failed++;
        return;
    }
    const char *have = json_string_value(json_object_get(endpoint, "signature_algo"));
    const char *id = json_string_value(json_object_get(endpoint, "lago_id"));
    bool same = endpoint && have && strcmp(have, algo) == 0 &&
                strcmp(json_string_value(json_object_get(endpoint, "webhook_url")) ?: "", url) == 0;
    if (same) {
        printf("%-8s %-16s unchanged %s (%s)\n", "webhook", "lago", url, algo);
        tally->kept++;
    } else if (opts->dry_run) {
        printf("%-8s %-16s would %s %s (%s)\n", "webhook", "lago", endpoint ? "update" : "register", url, algo);
        (*(endpoint ? &tally->changed : &tally->fresh))++;
    } else if ((err = lago_api_save_webhook_endpoint(api, endpoint ? id : NULL, url, algo, &error)) == OB_OK) {
        printf("%-8s %-16s %s %s (%s)\n", "webhook", "lago", endpoint ? "updated" : "registered", url, algo);
        (*(endpoint ? &tally->changed : &tally->fresh))++;
    } else {
        s_row("webhook", "lago", s_failure(&error), err, &error);
        tally->failed++;
    }
    json_decref(list);
}

static void
s_public_key(lago_api_t *api, const admin_setup_opts_t *opts, admin_setup_tally_t *tally)
{
    if (strcmp(admin_lago_signature_algo(), "jwt") != 0)
        return;
    static char key[16384];
    lago_api_error_t error;
    ob_err_t err = lago_api_get_webhook_public_key(api, key, sizeof key, &error);
    if (err != OB_OK) {
        s_row("key", "lago", s_failure(&error), err, &error);
        tally->failed++;
        return;
    }
    const char *have = ob_config_get("LAGO_WEBHOOK_PUBLIC_KEY");
    if (have && strcmp(have, key) == 0) {
        printf("%-8s %-16s unchanged (LAGO_WEBHOOK_PUBLIC_KEY matches Lago's)\n", "key", "lago");
        tally->kept++;
    } else if (opts->dry_run) {
        printf("%-8s %-16s would store LAGO_WEBHOOK_PUBLIC_KEY\n", "key", "lago");
        tally->changed++;
    } else if (admin_setup_secret(opts, "LAGO_WEBHOOK_PUBLIC_KEY", key) == 0) {
        (*(have ? &tally->changed : &tally->fresh))++;
    } else {
        tally->failed++;
    }
}

int
admin_setup_lago_run(const admin_setup_opts_t *opts, admin_setup_tally_t *tally)
{
    if (ob_config_validate(s_specs, sizeof s_specs / sizeof s_specs[0], stderr) != 0) {
        tally->failed++;
        return 1;
    }
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "billing-admin");
    if (!pg || ob_pg_ensure(pg) != 0) {
        fprintf(stderr, "setup-lago: cannot connect to %s\n", pg ? ob_pg_describe(pg) : "the database");
        ob_pg_destroy(&pg);
        tally->failed++;
        return 1;
    }
    PGresult *metrics = ob_pg_exec_sql(pg, "SELECT code, name, aggregation FROM usage_metrics ORDER BY code", 0, NULL, NULL, NULL);
    admin_lago_plans_t plans;
    bool ok = ob_pg_classify(pg, metrics) == OB_OK;
    if (!ok)
        fprintf(stderr, "setup-lago: cannot read usage_metrics (migrations applied?)\n");
    if (ok && admin_lago_plans_load(opts->plans_file, metrics, &plans) != 0)
        ok = false;
    ob_http_global_init();
    lago_api_t *api = ok ? lago_api_new(ob_config_get("LAGO_API_URL"), ob_config_get("LAGO_API_KEY")) : NULL;
    if (ok && !api)
        fprintf(stderr, "setup-lago: cannot create the Lago client\n");
    if (!api) {
        if (ok)
            admin_lago_plans_free(&plans);
        PQclear(metrics);
        ob_pg_destroy(&pg);
        tally->failed++;
        return 1;
    }
    int before = tally->failed;
    printf("%-8s %-16s %s\n", "KIND", "CODE", "RESULT");
    s_metrics(api, metrics, opts, tally);
    s_plans(api, &plans, opts, tally);
    s_webhook(api, opts, tally);
    s_public_key(api, opts, tally);
    admin_lago_plans_free(&plans);
    lago_api_destroy(&api);
    PQclear(metrics);
    ob_pg_destroy(&pg);
    int failures = tally->failed - before;
    if (failures)
        fprintf(stderr, "setup-lago: %d item(s) failed; run it again once fixed (what exists is kept)\n", failures);
    return failures ? 1 : 0;
}

int
admin_cmd_setup_lago(int argc, char **argv)
{
    admin_setup_opts_t opts;
    int rc = admin_setup_parse(argc, argv, &opts,
                               "usage: billing-admin setup-lago [--plans FILE] [--dry-run] [--write-env FILE]\n"
                               "creates the billable metrics (usage_metrics), creates or updates the plans of the\n"
                               "catalogue, registers the webhook endpoint at $PUBLIC_BASE_URL and stores Lago's\n"
                               "public key (LAGO_WEBHOOK_PUBLIC_KEY) in Lago at $LAGO_API_URL\n");
    if (rc >= 0)
        return rc;
    admin_setup_tally_t tally = {0};
    rc = admin_setup_lago_run(&opts, &tally);
    admin_setup_summary("setup-lago", &opts, &tally);
    return rc;
}
