/*  lago_reconcile - the usage half of the daily reconcile. */
#include "services/lago-worker/lago_reconcile.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clients/reconcile_drift.h"
#include "clients/reconcile_usage.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_metrics_query.h"

#define S_MAX_ROWS 1000

void
lago_reconcile_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "usage_reconcile_claim",
                  "UPDATE usage_reconcile_runs SET lease_until = now() + make_interval(secs => $1::int), holder = $2"
                  " WHERE next_run_at <= now() AND (lease_until IS NULL OR lease_until < now()) RETURNING 1",
                  2);
    ob_pg_prepare(pg, "usage_reconcile_done",
                  "UPDATE usage_reconcile_runs SET lease_until = NULL, holder = NULL, runs = runs + 1, last_run_at = now(),"
                  " last_ok_at = now(), last_error = NULL, missing = $2::bigint, drift = $3::jsonb, reforwarded = $4::int,"
                  " next_run_at = now() + make_interval(secs => $5::int) WHERE holder = $1",
                  5);
    ob_pg_prepare(pg, "usage_reconcile_failed",
                  "UPDATE usage_reconcile_runs SET lease_until = NULL, holder = NULL, runs = runs + 1, last_run_at = now(),"
                  " last_error = $2, next_run_at = now() + make_interval(secs => $3::int) WHERE holder = $1",
                  3);
    ob_pg_prepare(pg, "usage_reconcile_due_in",
                  "SELECT ceil(extract(epoch FROM greatest(next_run_at, coalesce(lease_until, next_run_at)) - now()))::bigint"
                  " FROM usage_reconcile_runs",
                  0);
}

static long
s_due_in_s(ob_pg_t *pg)
{
    PGresult *r = ob_pg_exec(pg, "usage_reconcile_due_in", 0, NULL, NULL, NULL);
    long s = ob_pg_classify(pg, r) == OB_OK && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : 60;
    PQclear(r);
    return s < 1 ? 1 : s > 60 ? 60 : s;
}

static bool
s_claim(ob_pg_t *pg, const lago_reconcile_config_t *config)
{
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", config->lease_s > 0 ? config->lease_s : 900);
    const char *values[] = {lease, config->holder};
    PGresult *r = ob_pg_exec(pg, "usage_reconcile_claim", 2, values, NULL, NULL);
    bool claimed = ob_pg_classify(pg, r) == OB_OK && PQntuples(r) == 1;
    PQclear(r);
    return claimed;
}

static void
s_run(ob_pg_t *pg, lago_api_t *api, const lago_reconcile_config_t *config)
{
    char error[512];
    long window = config->window_s > 0 ? config->window_s : 3024000;
    json_t *drift = reconcile_usage(pg, api, (long long)time(NULL) - window, error, sizeof error);
    if (!drift) {
        char retry[24];
        snprintf(retry, sizeof retry, "%ld", config->interval_s < 300 ? config->interval_s : 300);
        const char *values[] = {config->holder, error, retry};
        PQclear(ob_pg_exec(pg, "usage_reconcile_failed", 3, values, NULL, NULL)); /* else the lease runs out */
        ob_log_warn("reconcile: the daily usage check failed: %s", error);
        return;
    }
    long long missing = 0;
    size_t i;
    const json_t *d;
    json_array_foreach(drift, i, d) missing += json_integer_value(json_object_get(d, "missing"));
    json_t *queued = json_array();
    int reforwarded = config->fix ? reconcile_usage_reforward(pg, drift, queued) : 0;
    while (json_array_size(drift) > S_MAX_ROWS)
        json_array_remove(drift, json_array_size(drift) - 1);
    char *text = ob_json_dump(drift, NULL);
    char missing_text[24], reforwarded_text[24], next[24];
    snprintf(missing_text, sizeof missing_text, "%lld", missing);
    snprintf(reforwarded_text, sizeof reforwarded_text, "%d", reforwarded > 0 ? reforwarded : 0);
    snprintf(next, sizeof next, "%ld", config->interval_s);
    const char *values[] = {config->holder, missing_text, text, reforwarded_text, next};
    PGresult *r = text ? ob_pg_exec(pg, "usage_reconcile_done", 5, values, NULL, NULL) : NULL;
    ob_pg_classify(pg, r); /* on failure the lease runs out and the run is taken again */
    PQclear(r);
    if (missing > 0)
        ob_log_warn("reconcile: Lago lacks %lld usage events it acknowledged%s (billing-admin reconcile shows them)", missing,
                    reforwarded > 0 ? "; queued to be forwarded again" : "");
    else
        ob_log_info("reconcile: the usage ledger and Lago agree");
    free(text);
    json_decref(queued);
    json_decref(drift);
}

long
lago_reconcile_step(ob_pg_t *pg, lago_api_t *api, const lago_reconcile_config_t *config)
{
    if (config->interval_s <= 0)
        return 60;
    if (s_claim(pg, config))
        s_run(pg, api, config);
    return s_due_in_s(pg);
}

static const ob_metrics_column_t s_columns[] = {
    {"ob_reconcile_drift", OB_RECONCILE_DRIFT_HELP, "kind", "usage_not_forwarded"},
    {"ob_reconcile_last_success_timestamp_seconds", "When the last daily reconcile completed (Unix seconds; 0: never).", NULL,
     NULL},
};

void
lago_reconcile_metrics_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "usage_reconcile_metrics",
                  "SELECT missing, COALESCE(EXTRACT(EPOCH FROM last_ok_at), 0) FROM usage_reconcile_runs", 0);
}

void
lago_reconcile_metrics_refresh(ob_pg_t *pg)
{
    ob_metrics_query_gauges(pg, "usage_reconcile_metrics", s_columns, sizeof s_columns / sizeof s_columns[0]);
}
