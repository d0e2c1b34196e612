/*  subs_plans - the plan catalogue. */
#include "services/subscription-worker/subs_plans.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/ob_catalogue.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "services/subscription-worker/subs_state.h"

/*  Postgres builds the JSON itself: one round trip, no per-field copying. */
#define PLAN_JSON                                                                                                                  \
    "json_build_object('id', id, 'name', name, 'description', description, 'currency', currency, "                                 \
    "'price_monthly_cents', price_monthly_cents, 'price_yearly_cents', price_yearly_cents, 'trial_days', trial_days, "             \
    "'api_calls_limit', api_calls_limit, 'api_calls_period', api_calls_period, 'byok', byok, 'seats', seats, "                     \
    "'features', features)"

void
subs_plans_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "plans_list",
                  "SELECT json_build_object('plans', coalesce(json_agg(" PLAN_JSON " ORDER BY sort_order, id), '[]'))::text"
                  " FROM plans WHERE active",
                  0);
    ob_pg_prepare(pg, "plans_get", "SELECT " PLAN_JSON "::text FROM plans WHERE id = $1 AND active", 1);
}

int
subs_plans_load_file(ob_pg_t *pg, const char *path)
{
    json_t *catalogue = ob_catalogue_read_file(path);
    if (!catalogue)
        return -1;
    /* Number the plans so the file's order is the catalogue's order. */
    const char *currency = ob_json_str(catalogue, "currency");
    size_t i;
    json_t *plan;
    json_array_foreach(json_object_get(catalogue, "plans"), i, plan)
    {
        json_object_set_new(plan, "sort_order", json_integer((json_int_t)i));
        if (!json_object_get(plan, "currency"))
            json_object_set_new(plan, "currency", json_string(currency ? currency : "usd"));
    }
    char *plans_text = ob_json_dump(json_object_get(catalogue, "plans"), NULL);
    json_decref(catalogue);
    if (!plans_text)
        return -1;

    const char *values[] = {plans_text};
    ob_err_t err = ob_pg_begin(pg);
    PGresult *result = NULL;
    if (err == OB_OK) {
        result = ob_pg_exec_sql(
            pg,
            "INSERT INTO plans (id, name, description, currency, price_monthly_cents, price_yearly_cents, trial_days,"
            " api_calls_limit, api_calls_period, byok, seats, features, sort_order, active, updated_at)"
            " SELECT id, name, coalesce(description, ''), lower(currency), price_monthly_cents, price_yearly_cents,"
            " coalesce(trial_days, 0), api_calls_limit, api_calls_period, coalesce(byok, false), coalesce(seats, 1),"
            " coalesce(features, '[]'), sort_order, true, now()"
            " FROM jsonb_to_recordset($1::jsonb) AS p(id text, name text, description text, currency text,"
            " price_monthly_cents integer, price_yearly_cents integer, trial_days integer, api_calls_limit bigint,"
            " api_calls_period text, byok boolean, seats integer, features jsonb, sort_order integer)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,"
            " currency = excluded.currency, price_monthly_cents = excluded.price_monthly_cents,"
            " price_yearly_cents = excluded.price_yearly_cents, trial_days = excluded.trial_days,"
            " api_calls_limit = excluded.api_calls_limit, api_calls_period = excluded.api_calls_period,"
            " byok = excluded.byok, seats = excluded.seats, features = excluded.features,"
            " sort_order = excluded.sort_order, active = true, updated_at = now()",
            1, values, NULL, NULL);
        err = ob_pg_classify(pg, result);
        PQclear(result);
    }
    if (err == OB_OK) {
        result = ob_pg_exec_sql(pg,
                                "UPDATE plans SET active = false, updated_at = now() WHERE active AND id NOT IN"
                                " (SELECT p->>'id' FROM jsonb_array_elements($1::jsonb) AS p)",
                                1, values, NULL, NULL);
        err = ob_pg_classify(pg, result);
        PQclear(result);
    }
    err = err == OB_OK ? ob_pg_commit(pg) : (ob_pg_rollback(pg), err);
    free(plans_text);
    if (err != OB_OK) {
        fprintf(stderr, "plans: cannot store the catalogue: %s\n", ob_err_name(err));
        return -1;
    }
    ob_log_info("plan catalogue loaded from %s", path);
    return 0;
}

void
subs_plans_set_etag(ob_job_t *job)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!job->body || !EVP_Digest(job->body, job->body_len, digest, &digest_len, EVP_sha256(), NULL))
        return;
    char *out = job->etag;
    *out++ = '"';
    for (int i = 0; i < 16; i++)
        out += sprintf(out, "%02x", digest[i]);
    *out++ = '"';
    *out = '\0';
}

/*  Answers with the single text column of a one-row result, as JSON. */
static void
s_reply_text(ob_job_t *job, const char *text)
{
    ob_job_reply_text(job, 200, text);
    if (job->status == 200)
        subs_plans_set_etag(job);
}

void
subs_plans_list(void *state, ob_job_t *job)
{
    ob_pg_t *pg = ((subs_state_t *)state)->pg;
    PGresult *result = ob_pg_exec(pg, "plans_list", 0, NULL, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, result);
    if (err != OB_OK || PQntuples(result) != 1)
        ob_job_reply_err(job, err == OB_OK ? OB_ERR_INTERNAL : err, NULL, "the plan catalogue cannot be read now");
    else
        s_reply_text(job, PQgetvalue(result, 0, 0));
    PQclear(result);
}

void
subs_plans_get(void *state, ob_job_t *job)
{
    ob_pg_t *pg = ((subs_state_t *)state)->pg;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    if (call.path_param.len == 0 || call.path_param.len > 64) {
        ob_job_reply_error(job, 404, "plan_not_found", "no plan has that id");
        return;
    }
    char id[65];
    memcpy(id, call.path_param.ptr, call.path_param.len);
    id[call.path_param.len] = '\0';
    const char *values[] = {id};
    PGresult *result = ob_pg_exec(pg, "plans_get", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, result);
    if (err != OB_OK)
        ob_job_reply_err(job, err, NULL, "the plan catalogue cannot be read now");
    else if (PQntuples(result) == 0)
        ob_job_reply_error(job, 404, "plan_not_found", "no plan has that id");
    else
        s_reply_text(job, PQgetvalue(result, 0, 0));
    PQclear(result);
}
