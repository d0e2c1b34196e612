/*  billing-admin setup-lago - creates the billable metrics and the plans in
 *  Lago, idempotently (what exists already is left as it is and reported).
 *
 *  Metrics come from usage_metrics (code, name, sum_agg of properties.quantity
 *  or count_agg), plans from the plans table (loaded from PLANS_FILE by the
 *  subscription-worker): plan code = plan id, amount_cents =
 *  price_monthly_cents, monthly; a plan whose quota is a "total" with trial
 *  days (the trial) is weekly when it lasts 7 days, else monthly. Each plan
 *  carries a zero-priced charge per metric so Lago shows the usage on the
 *  invoice; quotas are enforced by the lago-worker, not billed as overage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"
#include "clients/lago_api.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true},
    {"LAGO_API_URL", OB_CONFIG_URL, true},
    {"LAGO_API_KEY", OB_CONFIG_STRING, true},
};

static int
s_usage(FILE *out)
{
    fprintf(out, "usage: billing-admin setup-lago\n"
                 "creates the billable metrics (usage_metrics) and the plans (plans table) in Lago at $LAGO_API_URL;\n"
                 "what exists already is kept\n");
    return 2;
}

static const char *
s_outcome(ob_err_t err, const lago_api_error_t *error, int *failures)
{
    if (err == OB_OK)
        return "created";
    if (err == OB_ERR_CONFLICT)
        return "exists";
    (*failures)++;
    return error->status == 0 ? "unreachable" : "failed";
}

static void
s_row(const char *kind, const char *code, const char *outcome, ob_err_t err, const lago_api_error_t *error)
{
    if (err == OB_OK || err == OB_ERR_CONFLICT)
        printf("%-8s %-16s %s\n", kind, code, outcome);
    else
        printf("%-8s %-16s %s (%ld %s %s)\n", kind, code, outcome, error->status, error->code, error->message);
}

/*  The interval of a plan in Lago. */
static const char *
s_interval(const char *period, int trial_days)
{
    return strcmp(period, "total") == 0 && trial_days == 7 ? "weekly" : "monthly";
}

int
admin_cmd_setup_lago(int argc, char **argv)
{
    if (argc > 1)
        return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? (s_usage(stdout), 0) : s_usage(stderr);
    if (ob_config_validate(s_specs, sizeof s_specs / sizeof s_specs[0], stderr) != 0)
        return 1;
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "billing-admin");
    if (!pg || ob_pg_ensure(pg) != 0) {
        fprintf(stderr, "setup-lago: cannot connect to %s\n", pg ? ob_pg_describe(pg) : "the database");
        ob_pg_destroy(&pg);
        return 1;
    }
    PGresult *metrics = ob_pg_exec_sql(pg, "SELECT code, name, aggregation FROM usage_metrics ORDER BY code", 0, NULL, NULL, NULL);
    PGresult *plans = ob_pg_exec_sql(pg,
                                     "SELECT id, name, upper(currency), price_monthly_cents, api_calls_period, trial_days"
                                     " FROM plans WHERE active ORDER BY sort_order, id",
                                     0, NULL, NULL, NULL);
    if (ob_pg_classify(pg, metrics) != OB_OK || ob_pg_classify(pg, plans) != OB_OK) {
        fprintf(stderr, "setup-lago: cannot read usage_metrics and plans (migrations applied, plans loaded?)\n");
        PQclear(metrics);
        PQclear(plans);
        ob_pg_destroy(&pg);
        return 1;
    }
    if (PQntuples(plans) == 0)
        fprintf(stderr, "setup-lago: the plans table is empty: start the subscription-worker once (it loads PLANS_FILE)\n");
    ob_http_global_init();
    lago_api_t *api = lago_api_new(ob_config_get("LAGO_API_URL"), ob_config_get("LAGO_API_KEY"));
    if (!api) {
        fprintf(stderr, "setup-lago: cannot create the Lago client\n");
        PQclear(metrics);
        PQclear(plans);
        ob_pg_destroy(&pg);
        return 1;
    }
    int failures = 0;
    printf("%-8s %-16s %s\n", "KIND", "CODE", "RESULT");
    int n_metrics = PQntuples(metrics);
    lago_charge_t *charges = calloc((size_t)(n_metrics ? n_metrics : 1), sizeof *charges);
    for (int i = 0; charges && i < n_metrics; i++) {
        const char *code = PQgetvalue(metrics, i, 0);
        lago_api_error_t error;
        lago_aggregation_t aggregation = strcmp(PQgetvalue(metrics, i, 2), "count_agg") == 0 ? LAGO_AGG_COUNT : LAGO_AGG_SUM;
        ob_err_t err = lago_api_create_billable_metric(api, code, PQgetvalue(metrics, i, 1), aggregation, &error);
        s_row("metric", code, s_outcome(err, &error, &failures), err, &error);
        charges[i] = (lago_charge_t){.metric_code = code, .unit_amount = "0"};
    }
    for (int i = 0; charges && i < PQntuples(plans); i++) {
        const char *code = PQgetvalue(plans, i, 0);
        lago_plan_spec_t spec = {
            .code = code,
            .name = PQgetvalue(plans, i, 1),
            .interval = s_interval(PQgetvalue(plans, i, 4), atoi(PQgetvalue(plans, i, 5))),
            .amount_cents = strtoll(PQgetvalue(plans, i, 3), NULL, 10),
            .currency = PQgetvalue(plans, i, 2),
            .pay_in_advance = true,
            .charges = charges,
            .charges_count = (size_t)n_metrics,
        };
        lago_api_error_t error;
        ob_err_t err = lago_api_create_plan(api, &spec, &error);
        s_row("plan", code, s_outcome(err, &error, &failures), err, &error);
    }
    free(charges);
    lago_api_destroy(&api);
    PQclear(metrics);
    PQclear(plans);
    ob_pg_destroy(&pg);
    if (failures)
        fprintf(stderr, "setup-lago: %d item(s) failed; run it again once fixed (what exists is kept)\n", failures);
    return failures ? 1 : 0;
}
