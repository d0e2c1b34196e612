/*  billing_prices - plan -> Stripe price. */
#include "clients/billing_prices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_log.h"

ob_err_t
billing_price_offer(const char *plan_id, long long monthly_cents, long long yearly_cents, int trial_days, const char *currency,
                    const char *requested, billing_price_spec_t *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    if (!plan_id || !*plan_id || strlen(plan_id) >= sizeof out->plan_id) {
        *why = "unknown_plan";
        return OB_ERR_INVALID;
    }
    bool wants_default = !requested || !*requested;
    if (!wants_default && strcmp(requested, "month") != 0 && strcmp(requested, "year") != 0 &&
        !(trial_days > 0 && strcmp(requested, "week") == 0)) {
        *why = "invalid_interval";
        return OB_ERR_INVALID;
    }
    const char *interval, *suffix;
    long long amount;
    if (trial_days > 0) {
        interval = "week", suffix = "weekly", amount = monthly_cents;
    } else if (wants_default || strcmp(requested, "month") == 0) {
        interval = "month", suffix = "monthly", amount = monthly_cents;
    } else if (yearly_cents >= 0) {
        interval = "year", suffix = "yearly", amount = yearly_cents;
    } else {
        *why = "interval_not_offered";
        return OB_ERR_INVALID;
    }
    snprintf(out->plan_id, sizeof out->plan_id, "%s", plan_id);
    snprintf(out->interval, sizeof out->interval, "%s", interval);
    snprintf(out->lookup_key, sizeof out->lookup_key, "%s_%s", plan_id, suffix);
    snprintf(out->currency, sizeof out->currency, "%s", currency && *currency ? currency : "usd");
    out->unit_amount = amount;
    out->trial = trial_days > 0;
    return OB_OK;
}

void
billing_prices_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "billing_plan_get",
                  "SELECT price_monthly_cents, coalesce(price_yearly_cents, -1), trial_days, currency"
                  " FROM plans WHERE id = $1 AND active",
                  1);
    ob_pg_prepare(pg, "billing_price_get", "SELECT price_id FROM stripe_prices WHERE lookup_key = $1", 1);
    ob_pg_prepare(pg, "billing_price_store",
                  "INSERT INTO stripe_prices (plan_id, interval, lookup_key, price_id, product_id, unit_amount, currency)"
                  " VALUES ($1, $2, $3, $4, nullif($5, ''), $6::bigint, $7)"
                  " ON CONFLICT (lookup_key) DO UPDATE SET plan_id = excluded.plan_id, interval = excluded.interval,"
                  " price_id = excluded.price_id, product_id = coalesce(excluded.product_id, stripe_prices.product_id),"
                  " unit_amount = excluded.unit_amount, currency = excluded.currency, updated_at = now()",
                  7);
}

ob_err_t
billing_price_spec(ob_pg_t *pg, const char *plan_id, const char *requested, billing_price_spec_t *out, const char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    const char *values[] = {plan_id};
    PGresult *r = ob_pg_exec(pg, "billing_plan_get", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    if (err == OB_OK && PQntuples(r) == 0) {
        *why = "unknown_plan";
        err = OB_ERR_INVALID;
    } else if (err == OB_OK) {
        err = billing_price_offer(plan_id, strtoll(PQgetvalue(r, 0, 0), NULL, 10), strtoll(PQgetvalue(r, 0, 1), NULL, 10),
                                  atoi(PQgetvalue(r, 0, 2)), PQgetvalue(r, 0, 3), requested, out, why);
    }
    PQclear(r);
    return err;
}

ob_err_t
billing_price_store(ob_pg_t *pg, const billing_price_spec_t *spec, const char *price_id, const char *product_id)
{
    char amount[24];
    snprintf(amount, sizeof amount, "%lld", spec->unit_amount);
    const char *values[] = {spec->plan_id, spec->interval, spec->lookup_key, price_id, product_id ? product_id : "",
                            amount,        spec->currency};
    PGresult *r = ob_pg_exec(pg, "billing_price_store", 7, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    PQclear(r);
    return err;
}

ob_err_t
billing_price_resolve(ob_pg_t *pg, stripe_api_t *stripe, const billing_price_spec_t *spec, char *price_id, size_t cap,
                      stripe_error_t *stripe_error)
{
    memset(stripe_error, 0, sizeof *stripe_error);
    const char *values[] = {spec->lookup_key};
    PGresult *r = ob_pg_exec(pg, "billing_price_get", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    bool found = err == OB_OK && PQntuples(r) == 1;
    if (found)
        snprintf(price_id, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (err != OB_OK || found)
        return err;

    json_t *list = NULL;
    const char *keys[] = {spec->lookup_key};
    err = stripe_api_list_prices_by_lookup_keys(stripe, keys, 1, &list, stripe_error);
    if (err != OB_OK)
        return err;
    const json_t *price = NULL, *candidate;
    size_t i;
    json_array_foreach(json_object_get(list, "data"), i, candidate)
    {
        const char *key = json_string_value(json_object_get(candidate, "lookup_key"));
        if (key && strcmp(key, spec->lookup_key) == 0 && json_is_true(json_object_get(candidate, "active"))) {
            price = candidate;
            break;
        }
    }
    const char *id = price ? json_string_value(json_object_get(price, "id")) : NULL;
    if (!id) {
        json_decref(list);
        ob_log_warn("billing: Stripe has no active price with lookup key %s; run billing-admin setup-stripe", spec->lookup_key);
        return OB_ERR_NOT_FOUND;
    }
    snprintf(price_id, cap, "%s", id);
    const json_t *product = json_object_get(price, "product");
    const char *product_id =
        json_is_string(product) ? json_string_value(product) : json_string_value(json_object_get(product, "id"));
    /* A cache fill: a failure here only costs the next request a lookup. */
    if (billing_price_store(pg, spec, price_id, product_id) != OB_OK)
        ob_log_warn("billing: cannot cache the price for %s", spec->lookup_key);
    json_decref(list);
    return OB_OK;
}
