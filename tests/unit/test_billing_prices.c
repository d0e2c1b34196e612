/*  billing_prices: which Stripe price a plan sells at (the pure offer rule). */
#include <criterion/criterion.h>
#include <string.h>

#include "clients/billing_prices.h"

typedef struct {
    const char *plan;
    long long monthly, yearly;
    int trial_days;
    const char *requested;
    ob_err_t want;
    const char *interval_or_why;
    const char *lookup_key;
    long long amount;
} offer_case_t;

static const offer_case_t s_offers[] = {
    {"starter", 1900, 19000, 0, "month", OB_OK, "month", "starter_monthly", 1900},
    {"starter", 1900, 19000, 0, NULL, OB_OK, "month", "starter_monthly", 1900},
    {"starter", 1900, 19000, 0, "year", OB_OK, "year", "starter_yearly", 19000},
    {"trial", 100, -1, 7, "month", OB_OK, "week", "trial_weekly", 100},
    {"trial", 100, -1, 7, "year", OB_OK, "week", "trial_weekly", 100},
    {"solo", 500, -1, 0, "year", OB_ERR_INVALID, "interval_not_offered", NULL, 0},
    {"starter", 1900, 19000, 0, "week", OB_ERR_INVALID, "invalid_interval", NULL, 0},
    {"starter", 1900, 19000, 0, "MONTH", OB_ERR_INVALID, "invalid_interval", NULL, 0},
    {"", 1900, 19000, 0, "month", OB_ERR_INVALID, "unknown_plan", NULL, 0},
};

Test(billing_prices, offer_table)
{
    for (size_t i = 0; i < sizeof s_offers / sizeof s_offers[0]; i++) {
        const offer_case_t *c = &s_offers[i];
        billing_price_spec_t spec;
        const char *why;
        ob_err_t err = billing_price_offer(c->plan, c->monthly, c->yearly, c->trial_days, "usd", c->requested, &spec, &why);
        cr_expect_eq(err, c->want, "case %zu", i);
        if (err == OB_OK) {
            cr_expect_str_eq(spec.interval, c->interval_or_why, "case %zu", i);
            cr_expect_str_eq(spec.lookup_key, c->lookup_key, "case %zu", i);
            cr_expect_eq(spec.unit_amount, c->amount, "case %zu", i);
        } else {
            cr_expect_str_eq(why, c->interval_or_why, "case %zu", i);
        }
    }
}
