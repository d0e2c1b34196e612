/*  stripe_event_map bounds: an event whose ids, keys or times are past their
 *  bounds can never apply, so mapping refuses it (ingest records it as
 *  failed; the processor fails it at once). Table-driven over event types. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <string.h>

#include "services/stripe-worker/stripe_event_map.h"
#include "tests/unit/test_params.h"

typedef enum { LONG_NONE, LONG_CUSTOMER, LONG_USER, LONG_SUBSCRIPTION, LONG_PRICE, BAD_TIME, NEGATIVE_TIME, NUL_ID } s_fault_t;

struct bounds_case {
    const char *type;
    s_fault_t fault;
    size_t long_len; /* for LONG_*: the length of the long value */
    bool ok;
    const char *mentions; /* in the error, when refused */
};

static const struct bounds_case s_cases[] = {
    {"customer.subscription.deleted", LONG_NONE, 0, true, NULL},
    {"customer.subscription.deleted", LONG_CUSTOMER, 4096, false, "customer_id"},
    {"customer.subscription.updated", LONG_CUSTOMER, 256, false, "customer_id"},
    {"customer.subscription.updated", LONG_CUSTOMER, 255, true, NULL},
    {"customer.subscription.updated", LONG_USER, 4096, false, "user_id"},
    {"customer.subscription.created", LONG_SUBSCRIPTION, 300, false, "subscription_id"},
    {"customer.subscription.created", LONG_PRICE, 300, false, "price_id"},
    {"customer.subscription.updated", BAD_TIME, 0, false, "time range"},
    {"customer.subscription.updated", NEGATIVE_TIME, 0, false, "time range"},
    {"customer.subscription.updated", NUL_ID, 0, false, "control"},
    {"customer.subscription.trial_will_end", LONG_USER, 300, false, "longer"},
    {"customer.subscription.trial_will_end", LONG_CUSTOMER, 300, false, "longer"},
    {"customer.subscription.trial_will_end", LONG_NONE, 0, true, NULL},
    {"invoice.paid", LONG_USER, 4096, false, "user_id"},
    {"invoice.paid", LONG_CUSTOMER, 4096, false, "customer_id"},
    {"invoice.paid", BAD_TIME, 0, false, "time range"},
    {"invoice.paid", LONG_NONE, 0, true, NULL},
    {"checkout.session.completed", LONG_USER, 4096, false, "user_id"},
    {"checkout.session.completed", LONG_CUSTOMER, 4096, false, "customer_id"},
    {"checkout.session.completed", LONG_NONE, 0, true, NULL},
};

static json_t *
s_subscription(const struct bounds_case *c, const char *long_value)
{
    json_t *sub = json_pack("{s:s,s:s,s:s,s:{s:s},s:I,s:I,s:{s:[{s:s,s:{s:s,s:s,s:{s:s}}}]}}", "id",
                            c->fault == LONG_SUBSCRIPTION ? long_value : "sub_1", "status", "active", "customer",
                            c->fault == LONG_CUSTOMER ? long_value : "cus_1", "metadata", "user_id",
                            c->fault == LONG_USER ? long_value : "user_1", "current_period_start", (json_int_t)1700000000,
                            "current_period_end", (json_int_t)1702592000, "items", "data", "id", "si_1", "price", "id",
                            c->fault == LONG_PRICE ? long_value : "price_1", "lookup_key", "starter_monthly", "recurring",
                            "interval", "month");
    if (c->fault == BAD_TIME)
        json_object_set_new(sub, "trial_end", json_integer(1000000000000000LL));
    if (c->fault == NEGATIVE_TIME)
        json_object_set_new(sub, "canceled_at", json_integer(-1));
    if (c->fault == NUL_ID)
        json_object_set_new(sub, "id", json_stringn("sub_\0x", 6));
    return sub;
}

static json_t *
s_invoice(const struct bounds_case *c, const char *long_value)
{
    json_t *invoice = json_pack("{s:s,s:s,s:s,s:I,s:{s:{s:s,s:{s:s}}},s:{s:[{s:{s:I,s:I}}]}}", "id", "in_1", "customer",
                                c->fault == LONG_CUSTOMER ? long_value : "cus_1", "subscription", "sub_1", "amount_paid",
                                (json_int_t)1900, "parent", "subscription_details", "subscription", "sub_1", "metadata", "user_id",
                                c->fault == LONG_USER ? long_value : "user_1", "lines", "data", "period", "start",
                                (json_int_t)1700000000, "end", c->fault == BAD_TIME ? (json_int_t)1000000000000000LL : 1702592000);
    return invoice;
}

static json_t *
s_session(const struct bounds_case *c, const char *long_value)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "id", "cs_1", "client_reference_id", c->fault == LONG_USER ? long_value : "user_1",
                     "customer", c->fault == LONG_CUSTOMER ? long_value : "cus_1", "subscription", "sub_1");
}

ParameterizedTestParameters(stripe_event_bounds, table)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, stripe_event_bounds, table)
{
    const struct bounds_case *c = &s_cases[*index];
    static char long_value[8192];
    memset(long_value, 'x', sizeof long_value);
    long_value[c->long_len ? c->long_len : 1] = '\0';
    json_t *object = strncmp(c->type, "invoice.", 8) == 0    ? s_invoice(c, long_value)
                     : strncmp(c->type, "checkout.", 9) == 0 ? s_session(c, long_value)
                                                             : s_subscription(c, long_value);
    cr_assert(object, "fixture");
    json_t *event = json_pack("{s:s,s:s,s:I,s:{s:o}}", "id", "evt_1", "type", c->type, "created", (json_int_t)1700000000, "data",
                              "object", object);
    stripe_effect_t effect;
    char error[256] = "";
    ob_err_t err = stripe_event_map(event, &effect, error, sizeof error);
    if (c->ok) {
        cr_expect_eq(err, OB_OK, "%s: %s", c->type, error);
        stripe_effect_clear(&effect);
    } else {
        cr_expect_eq(err, OB_ERR_INVALID, "%s fault %d", c->type, c->fault);
        cr_expect(strstr(error, c->mentions), "%s: error \"%s\" lacks \"%s\"", c->type, error, c->mentions);
        cr_expect_null(effect.update);
        cr_expect_null(effect.notify_payload);
    }
    json_decref(event);
}

Test(stripe_event_bounds, event_created_past_the_time_bound_is_refused)
{
    json_t *event =
        json_pack("{s:s,s:s,s:I,s:{s:{s:s,s:s,s:s}}}", "id", "evt_1", "type", "customer.subscription.deleted", "created",
                  (json_int_t)999999999999999LL, "data", "object", "id", "sub_1", "status", "canceled", "customer", "cus_1");
    stripe_effect_t effect;
    char error[256] = "";
    cr_expect_eq(stripe_event_map(event, &effect, error, sizeof error), OB_ERR_INVALID);
    cr_expect(strstr(error, "event_created"), "%s", error);
    json_decref(event);
}

Test(stripe_event_bounds, head_refuses_an_id_with_a_nul_or_past_the_bound)
{
    static char long_id[300];
    memset(long_id, 'e', sizeof long_id - 1);
    json_t *ids[] = {json_stringn("evt_\0x", 6), json_string(long_id), json_string("evt_\x01")};
    for (size_t i = 0; i < 3; i++) {
        json_t *event = json_pack("{s:o,s:s,s:I}", "id", ids[i], "type", "invoice.paid", "created", (json_int_t)1);
        stripe_event_head_t head;
        const char *reason = NULL;
        cr_expect_eq(stripe_event_head(event, &head, &reason), -1, "id %zu", i);
        json_decref(event);
    }
}
