/*  Billing API pure rules: which price a plan sells at, reading a Stripe
 *  subscription, the idempotency key shape, the status answer. */
#include <criterion/criterion.h>
#include <string.h>

#include "clients/billing_prices.h"
#include "clients/ob_idempotency.h"
#include "services/stripe-worker/billing_context.h"
#include "services/stripe-worker/stripe_event_map.h"
#include "services/subscription-worker/subs_status.h"

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

static const char *
s_field(const json_t *message, const char *key)
{
    return json_string_value(json_object_get(message, key));
}

static json_int_t
s_number(const json_t *message, const char *key)
{
    return json_integer_value(json_object_get(message, key));
}

/*  Stripe's answer to a change becomes the message an event about the same
 *  subscription gives (the one reader both paths use). */
Test(billing_sub_sync, reads_old_and_new_api_shapes)
{
    json_t *old_shape = json_loads("{\"id\":\"sub_1\",\"status\":\"active\",\"customer\":\"cus_1\","
                                   "\"current_period_start\":100,\"current_period_end\":200,\"cancel_at_period_end\":true,"
                                   "\"metadata\":{\"plan_id\":\"starter\"},\"items\":{\"data\":[{\"id\":\"si_1\","
                                   "\"price\":{\"id\":\"price_1\",\"recurring\":{\"interval\":\"year\"}}}]}}",
                                   0, NULL);
    char error[128];
    json_t *m = stripe_event_subscription_message(old_shape, "api:req_1", 150, false, error, sizeof error);
    cr_assert_not_null(m);
    cr_expect_str_eq(s_field(m, "item_id"), "si_1");
    cr_expect_str_eq(s_field(m, "price_id"), "price_1");
    cr_expect_str_eq(s_field(m, "interval"), "year");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(m, "plan_candidates"), 0)), "starter");
    cr_expect_eq(s_number(m, "current_period_end"), 200);
    cr_expect(json_is_true(json_object_get(m, "cancel_at_period_end")));
    cr_expect_str_eq(s_field(m, "event_id"), "api:req_1");
    cr_expect_eq(s_number(m, "event_created"), 150);
    json_decref(m);
    json_t *new_shape = json_loads("{\"id\":\"sub_2\",\"status\":\"trialing\",\"customer\":{\"id\":\"cus_2\"},"
                                   "\"items\":{\"data\":[{\"id\":\"si_2\",\"current_period_start\":5,"
                                   "\"current_period_end\":9,\"price\":{\"id\":\"price_2\",\"metadata\":{\"plan_id\":\"pro\"}}}]}}",
                                   0, NULL);
    m = stripe_event_subscription_message(new_shape, "api:req_2", 150, false, error, sizeof error);
    cr_assert_not_null(m);
    cr_expect_str_eq(s_field(m, "customer_id"), "cus_2");
    cr_expect_eq(s_number(m, "current_period_start"), 5);
    cr_expect_eq(s_number(m, "current_period_end"), 9);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(m, "plan_candidates"), 0)), "pro");
    json_decref(m);
    json_t *bad = json_loads("{\"object\":\"subscription\"}", 0, NULL);
    cr_expect_null(stripe_event_subscription_message(bad, "api:req_3", 150, false, error, sizeof error));
    json_decref(old_shape);
    json_decref(new_shape);
    json_decref(bad);
}

Test(billing_context, idempotency_keys_are_stable_short_and_windowed)
{
    char a[96], b[96], c[96], d[96];
    ob_idempotency_key(a, sizeof a, "checkout", 1000, 600, "user", "starter", (const char *)NULL);
    ob_idempotency_key(b, sizeof b, "checkout", 1100, 600, "user", "starter", (const char *)NULL);
    ob_idempotency_key(c, sizeof c, "checkout", 1300, 600, "user", "starter", (const char *)NULL);
    ob_idempotency_key(d, sizeof d, "checkout", 1000, 600, "users", "tarter", (const char *)NULL);
    cr_expect_str_eq(a, b);
    cr_expect_str_neq(a, c);
    cr_expect_str_neq(a, d);
    cr_expect_eq(strlen(a), strlen("checkout:") + 32);
}

Test(subs_status, no_subscription_and_unlimited)
{
    ob_entitlement_t none = {0};
    strcpy(none.features, "[]");
    json_t *body = subs_status_json(&none, NULL, 0);
    cr_expect_str_eq(json_string_value(json_object_get(body, "status")), "none");
    cr_expect(json_is_null(json_object_get(body, "plan_id")));
    json_decref(body);

    ob_entitlement_t e = {.live = true, .limit = -1, .period_end = 2000000000, .current_period_end = 2000000000};
    strcpy(e.plan_id, "enterprise");
    strcpy(e.status, "active");
    strcpy(e.period, "month");
    strcpy(e.features, "[\"chat\"]");
    body = subs_status_json(&e, "Enterprise", 42);
    json_t *calls = json_object_get(json_object_get(body, "usage"), "api_calls");
    cr_expect(json_is_null(json_object_get(calls, "limit")));
    cr_expect(json_is_null(json_object_get(calls, "remaining")));
    cr_expect_eq(json_integer_value(json_object_get(calls, "used")), 42);
    cr_expect_str_eq(json_string_value(json_object_get(calls, "resets_at")), "2033-05-18T03:33:20Z");
    json_decref(body);
}
