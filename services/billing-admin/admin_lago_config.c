/*  admin_lago_config - the Lago plans and webhook endpoint (admin_lago_config.h). */
#include "services/billing-admin/admin_lago_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/ob_catalogue.h"
#include "common/ob_config.h"

static void s_add(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
s_add(char *out, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(out);
    if (n && n + 2 < cap) {
        memcpy(out + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    if (n < cap)
        vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

/*  The interval of a plan in Lago: the 7-day trial is weekly, the rest monthly. */
static const char *
s_interval(const char *period, int trial_days)
{
    return period && strcmp(period, "total") == 0 && trial_days == 7 ? "weekly" : "monthly";
}

int
admin_lago_plans_load(const char *path, const PGresult *metrics, admin_lago_plans_t *plans)
{
    memset(plans, 0, sizeof *plans);
    plans->catalogue = ob_catalogue_read_file(path);
    if (!plans->catalogue)
        return -1;
    int n_metrics = PQntuples(metrics);
    plans->charges = calloc((size_t)(n_metrics ? n_metrics : 1), sizeof *plans->charges);
    if (!plans->charges) {
        admin_lago_plans_free(plans);
        return -1;
    }
    for (int i = 0; i < n_metrics; i++)
        plans->charges[i] = (lago_charge_t){.metric_code = PQgetvalue(metrics, i, 0), .unit_amount = "0"};
    const char *currency = json_string_value(json_object_get(plans->catalogue, "currency"));
    size_t i;
    const json_t *plan;
    json_array_foreach(json_object_get(plans->catalogue, "plans"), i, plan)
    {
        if (json_is_false(json_object_get(plan, "active")))
            continue;
        if (plans->count >= ADMIN_LAGO_MAX_PLANS) {
            fprintf(stderr, "setup-lago: %s: more plans than setup-lago handles\n", path);
            admin_lago_plans_free(plans);
            return -1;
        }
        const char *plan_currency = json_string_value(json_object_get(plan, "currency"));
        char *cur = plans->currency[plans->count];
        snprintf(cur, sizeof plans->currency[0], "%s", plan_currency ? plan_currency : currency ? currency : "usd");
        for (char *c = cur; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        plans->specs[plans->count++] = (lago_plan_spec_t){
            .code = json_string_value(json_object_get(plan, "id")),
            .name = json_string_value(json_object_get(plan, "name")),
            .interval = s_interval(json_string_value(json_object_get(plan, "api_calls_period")),
                                   (int)json_integer_value(json_object_get(plan, "trial_days"))),
            .amount_cents = json_integer_value(json_object_get(plan, "price_monthly_cents")),
            .currency = cur,
            .pay_in_advance = true,
            .charges = plans->charges,
            .charges_count = (size_t)n_metrics,
        };
    }
    return 0;
}

void
admin_lago_plans_free(admin_lago_plans_t *plans)
{
    free(plans->charges);
    json_decref(plans->catalogue);
    memset(plans, 0, sizeof *plans);
}

static bool
s_same(const json_t *object, const char *key, const char *want)
{
    const char *have = json_string_value(json_object_get(object, key));
    return have && want && strcmp(have, want) == 0;
}

void
admin_lago_plan_diff(const json_t *live, const lago_plan_spec_t *spec, char *out, size_t cap)
{
    out[0] = '\0';
    if (!s_same(live, "name", spec->name))
        s_add(out, cap, "name %s, want %s", json_string_value(json_object_get(live, "name")) ?: "-", spec->name);
    if (!s_same(live, "interval", spec->interval))
        s_add(out, cap, "interval %s, want %s", json_string_value(json_object_get(live, "interval")) ?: "-", spec->interval);
    json_int_t amount = json_integer_value(json_object_get(live, "amount_cents"));
    if (!json_is_integer(json_object_get(live, "amount_cents")) || amount != spec->amount_cents)
        s_add(out, cap, "amount_cents %lld, want %lld", (long long)amount, (long long)spec->amount_cents);
    if (!s_same(live, "amount_currency", spec->currency))
        s_add(out, cap, "amount_currency %s, want %s", json_string_value(json_object_get(live, "amount_currency")) ?: "-",
              spec->currency);
    if (json_is_true(json_object_get(live, "pay_in_advance")) != spec->pay_in_advance)
        s_add(out, cap, "pay_in_advance %s, want %s", spec->pay_in_advance ? "false" : "true",
              spec->pay_in_advance ? "true" : "false");
    const json_t *charges = json_object_get(live, "charges");
    for (size_t k = 0; k < spec->charges_count; k++) {
        bool found = false;
        size_t j;
        const json_t *charge;
        json_array_foreach(charges, j, charge)
        {
            found |= s_same(charge, "billable_metric_code", spec->charges[k].metric_code) &&
                     s_same(charge, "charge_model", "standard") &&
                     s_same(json_object_get(charge, "properties"), "amount", spec->charges[k].unit_amount);
        }
        if (!found)
            s_add(out, cap, "no standard charge of %s for %s", spec->charges[k].unit_amount, spec->charges[k].metric_code);
    }
    if (json_array_size(charges) > spec->charges_count)
        s_add(out, cap, "%zu charge(s) not in the catalogue", json_array_size(charges) - spec->charges_count);
}

const char *
admin_lago_signature_algo(void)
{
    const char *algo = ob_config_get("LAGO_WEBHOOK_SIGNATURE");
    return algo && strcmp(algo, "hmac") == 0 ? "hmac" : "jwt";
}

int
admin_lago_webhook_url(char *out, size_t cap)
{
    const char *base = ob_config_get("PUBLIC_BASE_URL");
    if (!base || !*base)
        return -1;
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    int n = snprintf(out, cap, "%.*s%s", (int)len, base, ADMIN_LAGO_WEBHOOK_PATH);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

ob_err_t
admin_lago_find_webhook(lago_api_t *api, const char *url, json_t **list, const json_t **endpoint, lago_api_error_t *error)
{
    *endpoint = NULL;
    ob_err_t err = lago_api_list_webhook_endpoints(api, list, error);
    if (err != OB_OK)
        return err;
    size_t i, ours = 0;
    const json_t *item, *other = NULL;
    json_array_foreach(json_object_get(*list, "webhook_endpoints"), i, item)
    {
        const char *have = json_string_value(json_object_get(item, "webhook_url"));
        if (have && strcmp(have, url) == 0) {
            *endpoint = item;
            return OB_OK;
        }
        size_t n = have ? strlen(have) : 0, m = strlen(ADMIN_LAGO_WEBHOOK_PATH);
        if (n >= m && strcmp(have + n - m, ADMIN_LAGO_WEBHOOK_PATH) == 0) {
            other = item;
            ours++;
        }
    }
    if (ours == 1)
        *endpoint = other;
    return OB_OK;
}
