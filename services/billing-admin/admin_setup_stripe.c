/*  billing-admin setup-stripe - creates the Stripe products and prices of the
 *  plan catalogue, once, and records the price ids in stripe_prices.
 *
 *  Idempotent by construction: prices are found by lookup key first; a
 *  product is found through its plan's prices or stripe_products; anything
 *  created carries an Idempotency-Key derived from what it is, so a run
 *  interrupted half-way and started again creates nothing twice. A price
 *  whose amount, currency or interval no longer matches the catalogue is
 *  replaced by a new one that takes over its lookup key (Stripe prices
 *  cannot change amount); the old one keeps billing existing subscribers.
 */
#include "services/billing-admin/admin_setup_stripe.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/ob_catalogue.h"
#include "clients/ob_idempotency.h"
#include "clients/stripe_api.h"
#include "common/ob_config.h"
#include "common/ob_http.h"
#include "common/ob_pg.h"
#include "services/billing-admin/admin_commands.h"

static const ob_config_spec_t s_specs[] = {
    {"DATABASE_URL", OB_CONFIG_DB_URL, true},
    {"STRIPE_SECRET_KEY", OB_CONFIG_STRING, true},
    {"STRIPE_API_BASE", OB_CONFIG_URL, false},
    {"PLANS_FILE", OB_CONFIG_STRING, false},
};

static long long
s_cents(const json_t *value)
{
    return json_is_integer(value) ? (long long)json_integer_value(value) : -1;
}

int
admin_stripe_price_specs(const char *path, billing_price_spec_t *specs, size_t *spec_count, admin_plan_name_t *names,
                         size_t *name_count)
{
    *spec_count = *name_count = 0;
    json_t *catalogue = ob_catalogue_read_file(path);
    if (!catalogue)
        return -1;
    const char *currency = json_string_value(json_object_get(catalogue, "currency"));
    size_t i;
    const json_t *plan;
    int rc = 0;
    json_array_foreach(json_object_get(catalogue, "plans"), i, plan)
    {
        const char *id = json_string_value(json_object_get(plan, "id"));
        const char *plan_currency = json_string_value(json_object_get(plan, "currency"));
        long long monthly = s_cents(json_object_get(plan, "price_monthly_cents"));
        long long yearly = s_cents(json_object_get(plan, "price_yearly_cents"));
        int trial_days = (int)json_integer_value(json_object_get(plan, "trial_days"));
        if (*name_count >= ADMIN_MAX_PRICES || *spec_count + 2 > ADMIN_MAX_PRICES) {
            fprintf(stderr, "plans: %s: more plans than setup-stripe handles\n", path);
            rc = -1;
            break;
        }
        snprintf(names[*name_count].plan_id, sizeof names[*name_count].plan_id, "%s", id);
        snprintf(names[*name_count].name, sizeof names[*name_count].name, "%s", json_string_value(json_object_get(plan, "name")));
        (*name_count)++;
        const char *intervals[] = {"month", "year"};
        for (int k = 0; k < (trial_days > 0 ? 1 : 2); k++) {
            if (k == 1 && yearly < 0)
                break;
            const char *why;
            billing_price_spec_t *spec = &specs[*spec_count];
            if (billing_price_offer(id, monthly, yearly, trial_days, plan_currency ? plan_currency : currency,
                                    trial_days > 0 ? NULL : intervals[k], spec, &why) == OB_OK) {
                for (char *c = spec->currency; *c; c++)
                    *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
                (*spec_count)++;
            }
        }
    }
    json_decref(catalogue);
    return rc;
}

typedef struct {
    billing_price_spec_t spec;
    char price_id[128];
    char product_id[128];
    const char *state; /* exists, created, replaced, FAILED */
} s_row_t;

/*  Fetches the prices holding the rows' lookup keys (10 per call) into found[i]. */
static ob_err_t
s_find_prices(stripe_api_t *stripe, s_row_t *rows, size_t n, json_t **found, json_t **lists, size_t *list_count)
{
    for (size_t start = 0; start < n; start += 10) {
        const char *keys[10];
        size_t count = 0;
        for (size_t i = start; i < n && count < 10; i++)
            keys[count++] = rows[i].spec.lookup_key;
        json_t *list = NULL;
        stripe_error_t serr;
        ob_err_t err = stripe_api_list_prices_by_lookup_keys(stripe, keys, count, &list, &serr);
        if (err != OB_OK) {
            fprintf(stderr, "setup-stripe: cannot list prices at Stripe: %s (HTTP %ld) %s\n", ob_err_name(err), serr.http_status,
                    serr.message);
            return err;
        }
        lists[(*list_count)++] = list;
        size_t j;
        json_t *price;
        json_array_foreach(json_object_get(list, "data"), j, price)
        {
            const char *key = json_string_value(json_object_get(price, "lookup_key"));
            for (size_t i = start; key && i < start + count; i++)
                if (strcmp(key, rows[i].spec.lookup_key) == 0 && (!found[i] || json_is_true(json_object_get(price, "active"))))
                    found[i] = price;
        }
    }
    return OB_OK;
}

static const char *
s_product_of(const json_t *price)
{
    const json_t *product = json_object_get(price, "product");
    return json_is_string(product) ? json_string_value(product) : json_string_value(json_object_get(product, "id"));
}

static bool
s_matches(const json_t *price, const billing_price_spec_t *spec)
{
    const char *currency = json_string_value(json_object_get(price, "currency"));
    const char *interval = json_string_value(json_object_get(json_object_get(price, "recurring"), "interval"));
    return json_is_true(json_object_get(price, "active")) && s_cents(json_object_get(price, "unit_amount")) == spec->unit_amount &&
           currency && strcasecmp(currency, spec->currency) == 0 && interval && strcmp(interval, spec->interval) == 0;
}

/*  The plan's product: one of its prices', the recorded one, or a new one. */
static int
s_product(ob_pg_t *pg, stripe_api_t *stripe, const admin_plan_name_t *plan, s_row_t *rows, json_t **found, size_t n,
          char *product_id, size_t cap)
{
    for (size_t i = 0; i < n; i++)
        if (found[i] && strcmp(rows[i].spec.plan_id, plan->plan_id) == 0 && s_product_of(found[i])) {
            snprintf(product_id, cap, "%s", s_product_of(found[i]));
            goto record;
        }
    const char *values[] = {plan->plan_id};
    PGresult *r = ob_pg_exec_sql(pg, "SELECT product_id FROM stripe_products WHERE plan_id = $1", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    bool known = err == OB_OK && PQntuples(r) == 1;
    if (known)
        snprintf(product_id, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (err != OB_OK) {
        fprintf(stderr, "setup-stripe: cannot read stripe_products: %s\n", ob_err_name(err));
        return -1;
    }
    if (known)
        return 0;
    char key[96];
    ob_idempotency_key(key, sizeof key, "setup-product", 0, 0, plan->plan_id, plan->name, (const char *)NULL);
    json_t *product = NULL;
    stripe_error_t serr;
    err = stripe_api_create_product(stripe, key, plan->name, plan->plan_id, &product, &serr);
    const char *id = json_string_value(json_object_get(product, "id"));
    if (err != OB_OK || !id) {
        fprintf(stderr, "setup-stripe: cannot create the product for %s: %s (HTTP %ld) %s\n", plan->plan_id, ob_err_name(err),
                serr.http_status, serr.message);
        json_decref(product);
        return -1;
    }
    snprintf(product_id, cap, "%s", id);
    json_decref(product);
record:;
    const char *pair[] = {plan->plan_id, product_id};
    r = ob_pg_exec_sql(pg,
                       "INSERT INTO stripe_products (plan_id, product_id) VALUES ($1, $2) ON CONFLICT (plan_id)"
                       " DO UPDATE SET product_id = excluded.product_id, updated_at = now()",
                       2, pair, NULL, NULL);
    err = ob_pg_classify(pg, r);
    PQclear(r);
    if (err != OB_OK) {
        fprintf(stderr, "setup-stripe: cannot record the product of %s: %s\n", plan->plan_id, ob_err_name(err));
        return -1;
    }
    return 0;
}

static int
s_usage(FILE *out)
{
    fprintf(out, "usage: billing-admin setup-stripe [--plans FILE]\n"
                 "creates the Stripe products and prices of the catalogue ($PLANS_FILE, default deploy/plans.json)\n"
                 "that do not exist yet (found by lookup key), records them in stripe_prices, prints a table\n");
    return 2;
}

int
admin_cmd_setup_stripe(int argc, char **argv)
{
    static const struct option options[] = {
        {"plans", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *plans_file = ob_config_str("PLANS_FILE", "deploy/plans.json");
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:h", options, NULL)) != -1) {
        if (opt == 'p') {
            plans_file = optarg;
        } else if (opt == 'h') {
            s_usage(stdout);
            return 0;
        } else {
            return s_usage(stderr);
        }
    }
    if (optind != argc)
        return s_usage(stderr);
    if (ob_config_validate(s_specs, sizeof s_specs / sizeof s_specs[0], stderr) != 0)
        return 1;

    billing_price_spec_t specs[ADMIN_MAX_PRICES];
    admin_plan_name_t plans[ADMIN_MAX_PRICES];
    size_t spec_count, plan_count;
    if (admin_stripe_price_specs(plans_file, specs, &spec_count, plans, &plan_count) != 0)
        return 1;

    ob_http_global_init();
    stripe_api_t *stripe =
        stripe_api_new(ob_config_str("STRIPE_API_BASE", "https://api.stripe.com"), ob_config_get("STRIPE_SECRET_KEY"));
    ob_pg_t *pg = ob_pg_new(ob_config_get("DATABASE_URL"), "billing-admin");
    if (!stripe || !pg || ob_pg_ensure(pg) != 0) {
        fprintf(stderr, "setup-stripe: %s\n",
                !stripe ? "STRIPE_SECRET_KEY or STRIPE_API_BASE is not usable" : "cannot connect to Postgres");
        stripe_api_destroy(&stripe);
        ob_pg_destroy(&pg);
        return 1;
    }
    billing_prices_prepare(pg);

    s_row_t rows[ADMIN_MAX_PRICES];
    json_t *found[ADMIN_MAX_PRICES] = {0};
    json_t *lists[ADMIN_MAX_PRICES / 10 + 1] = {0};
    size_t list_count = 0;
    memset(rows, 0, sizeof rows);
    for (size_t i = 0; i < spec_count; i++)
        rows[i].spec = specs[i];
    int failures = 0;
    if (s_find_prices(stripe, rows, spec_count, found, lists, &list_count) != OB_OK)
        failures++;

    for (size_t p = 0; !failures && p < plan_count; p++) {
        char product_id[128];
        if (s_product(pg, stripe, &plans[p], rows, found, spec_count, product_id, sizeof product_id) != 0) {
            failures++;
            break;
        }
        for (size_t i = 0; i < spec_count; i++) {
            s_row_t *row = &rows[i];
            if (strcmp(row->spec.plan_id, plans[p].plan_id) != 0)
                continue;
            snprintf(row->product_id, sizeof row->product_id, "%s", product_id);
            if (found[i] && s_matches(found[i], &row->spec)) {
                snprintf(row->price_id, sizeof row->price_id, "%s", json_string_value(json_object_get(found[i], "id")));
                if (s_product_of(found[i]))
                    snprintf(row->product_id, sizeof row->product_id, "%s", s_product_of(found[i]));
                row->state = "exists";
            } else {
                char key[96], amount[24];
                snprintf(amount, sizeof amount, "%lld", row->spec.unit_amount);
                ob_idempotency_key(key, sizeof key, "setup-price", 0, 0, row->spec.lookup_key, product_id, amount,
                                   row->spec.currency, row->spec.interval, (const char *)NULL);
                stripe_price_params_t params = {
                    .product = product_id,
                    .unit_amount = row->spec.unit_amount,
                    .currency = row->spec.currency,
                    .interval = row->spec.interval,
                    .lookup_key = row->spec.lookup_key,
                    .plan_id = row->spec.plan_id,
                };
                json_t *price = NULL;
                stripe_error_t serr;
                ob_err_t err = stripe_api_create_price(stripe, key, &params, &price, &serr);
                const char *id = json_string_value(json_object_get(price, "id"));
                if (err != OB_OK || !id) {
                    fprintf(stderr, "setup-stripe: cannot create price %s: %s (HTTP %ld) %s\n", row->spec.lookup_key,
                            ob_err_name(err), serr.http_status, serr.message);
                    row->state = "FAILED";
                    failures++;
                    json_decref(price);
                    continue;
                }
                snprintf(row->price_id, sizeof row->price_id, "%s", id);
                row->state = found[i] ? "replaced" : "created";
                json_decref(price);
            }
            ob_err_t err = billing_price_store(pg, &row->spec, row->price_id, row->product_id);
            if (err != OB_OK) {
                fprintf(stderr, "setup-stripe: cannot record price %s: %s\n", row->spec.lookup_key, ob_err_name(err));
                row->state = "FAILED";
                failures++;
            }
        }
    }

    printf("%-14s %-8s %-22s %-32s %-28s %12s  %s\n", "PLAN", "INTERVAL", "LOOKUP KEY", "PRICE", "PRODUCT", "AMOUNT", "STATE");
    for (size_t i = 0; i < spec_count; i++) {
        const s_row_t *row = &rows[i];
        char amount[32];
        snprintf(amount, sizeof amount, "%lld.%02lld %s", row->spec.unit_amount / 100, row->spec.unit_amount % 100,
                 row->spec.currency);
        printf("%-14s %-8s %-22s %-32s %-28s %12s  %s\n", row->spec.plan_id, row->spec.interval, row->spec.lookup_key,
               row->price_id[0] ? row->price_id : "-", row->product_id[0] ? row->product_id : "-", amount,
               row->state ? row->state : "not done");
    }
    for (size_t i = 0; i < list_count; i++)
        json_decref(lists[i]);
    stripe_api_destroy(&stripe);
    ob_pg_destroy(&pg);
    return failures ? 1 : 0;
}
