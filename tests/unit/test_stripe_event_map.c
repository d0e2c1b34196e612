/*  stripe_event_map: what a Stripe event (or Stripe's answer to a billing
 *  API change) means. Pure functions, table-driven. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <string.h>

#include "services/stripe-worker/stripe_event_map.h"
#include "tests/unit/test_params.h"

static json_t *
s_json(const char *text)
{
    json_error_t error;
    json_t *value = json_loads(text, 0, &error);
    cr_assert(value, "bad fixture: %s", error.text);
    return value;
}

/* --- the event head (what ingest needs) ----------------------------------- */

typedef struct {
    const char *body;
    int rc;
} head_case_t;

Test(stripe_event_head, table)
{
    static const head_case_t cases[] = {
        {"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":1700000000,\"livemode\":true}", 0},
        {"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":1700000000}", 0},
        {"{\"type\":\"invoice.paid\",\"created\":1}", -1},
        {"{\"id\":\"\",\"type\":\"invoice.paid\",\"created\":1}", -1},
        {"{\"id\":7,\"type\":\"invoice.paid\",\"created\":1}", -1},
        {"{\"id\":\"evt_1\",\"created\":1}", -1},
        {"{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}", -1},
        {"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":\"1\"}", -1},
        {"{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":-5}", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *event = s_json(cases[i].body);
        stripe_event_head_t head;
        const char *reason = NULL;
        int rc = stripe_event_head(event, &head, &reason);
        cr_expect_eq(rc, cases[i].rc, "case %zu: %s", i, cases[i].body);
        if (rc == 0) {
            cr_expect_str_eq(head.id, "evt_1");
            cr_expect_eq(head.created, 1700000000);
        } else {
            cr_expect(reason && *reason);
        }
        json_decref(event);
    }
}

Test(stripe_event_map, plan_from_lookup_key)
{
    static const struct {
        const char *key;
        const char *plan; /* NULL: no plan */
    } cases[] = {{"starter_monthly", "starter"},
                 {"enterprise_yearly", "enterprise"},
                 {"pro_plus_monthly", "pro_plus"},
                 {"_monthly", NULL},
                 {"starter", NULL},
                 {"starter_weekly", NULL},
                 {NULL, NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char plan[64];
        int rc = stripe_event_plan_from_lookup_key(cases[i].key, plan, sizeof plan);
        if (cases[i].plan) {
            cr_expect_eq(rc, 0, "%s", cases[i].key);
            cr_expect_str_eq(plan, cases[i].plan);
        } else {
            cr_expect_eq(rc, -1, "case %zu", i);
        }
    }
}

/* --- subscriptions: both API shapes ------------------------------------------ */

#define SUB_OLD                                                                                                                    \
    "{\"id\":\"evt_a\",\"type\":\"customer.subscription.updated\",\"created\":100,\"data\":{\"object\":{"                          \
    "\"id\":\"sub_1\",\"customer\":\"cus_1\",\"status\":\"active\",\"cancel_at_period_end\":true,"                                 \
    "\"current_period_start\":10,\"current_period_end\":20,\"metadata\":{\"user_id\":\"u1\"},"                                     \
    "\"items\":{\"data\":[{\"id\":\"si_1\",\"price\":{\"id\":\"price_1\",\"lookup_key\":\"starter_yearly\","                       \
    "\"metadata\":{\"plan_id\":\"other\"},\"recurring\":{\"interval\":\"year\"}}}]}}}}"

#define SUB_NEW                                                                                                                    \
    "{\"id\":\"evt_b\",\"type\":\"customer.subscription.created\",\"created\":100,\"data\":{\"object\":{"                          \
    "\"id\":\"sub_2\",\"customer\":{\"id\":\"cus_2\"},\"status\":\"trialing\",\"trial_end\":30,"                                   \
    "\"items\":{\"data\":[{\"id\":\"si_2\",\"current_period_start\":11,\"current_period_end\":21,"                                 \
    "\"price\":{\"id\":\"price_2\",\"lookup_key\":null,\"metadata\":{\"plan_id\":\"professional\"},"                               \
    "\"recurring\":{\"interval\":\"month\"}}}]}}}}"

Test(stripe_event_map, subscription_old_shape_reads_periods_on_the_subscription)
{
    json_t *event = s_json(SUB_OLD);
    stripe_effect_t effect;
    char error[128] = "";
    cr_assert_eq(stripe_event_map(event, &effect, error, sizeof error), OB_OK, "%s", error);
    cr_assert_str_eq(effect.update_kind, "subscription.snapshot");
    json_t *m = effect.update;
    cr_expect_str_eq(json_string_value(json_object_get(m, "subscription_id")), "sub_1");
    cr_expect_str_eq(json_string_value(json_object_get(m, "user_id")), "u1");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(m, "plan_candidates"), 0)), "starter");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(m, "plan_candidates"), 1)), "other");
    cr_expect_str_eq(json_string_value(json_object_get(m, "interval")), "year");
    cr_expect_eq(json_integer_value(json_object_get(m, "current_period_start")), 10);
    cr_expect_eq(json_integer_value(json_object_get(m, "current_period_end")), 20);
    cr_expect(json_is_true(json_object_get(m, "cancel_at_period_end")));
    cr_expect_eq(effect.notify_kind[0], '\0');
    stripe_effect_clear(&effect);
    json_decref(event);
}

Test(stripe_event_map, subscription_new_shape_reads_periods_on_the_items)
{
    json_t *event = s_json(SUB_NEW);
    stripe_effect_t effect;
    char error[128] = "";
    cr_assert_eq(stripe_event_map(event, &effect, error, sizeof error), OB_OK, "%s", error);
    json_t *m = effect.update;
    cr_expect_str_eq(json_string_value(json_object_get(m, "customer_id")), "cus_2");
    cr_expect(json_is_null(json_object_get(m, "user_id")));
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(m, "plan_candidates"), 0)), "professional");
    cr_expect_eq(json_integer_value(json_object_get(m, "current_period_start")), 11);
    cr_expect_eq(json_integer_value(json_object_get(m, "current_period_end")), 21);
    cr_expect_eq(json_integer_value(json_object_get(m, "trial_end")), 30);
    stripe_effect_clear(&effect);
    json_decref(event);
}

Test(stripe_event_map, deleted_is_canceled_and_bad_objects_are_errors)
{
    json_t *event = s_json(SUB_OLD);
    json_object_set_new(event, "type", json_string("customer.subscription.deleted"));
    stripe_effect_t effect;
    char error[128] = "";
    cr_assert_eq(stripe_event_map(event, &effect, error, sizeof error), OB_OK);
    cr_expect_str_eq(effect.update_kind, "subscription.deleted");
    cr_expect_str_eq(json_string_value(json_object_get(effect.update, "status")), "canceled");
    stripe_effect_clear(&effect);
    json_object_set_new(json_object_get(json_object_get(event, "data"), "object"), "status", json_string("weird"));
    json_object_set_new(event, "type", json_string("customer.subscription.updated"));
    cr_expect_eq(stripe_event_map(event, &effect, error, sizeof error), OB_ERR_INVALID);
    json_object_del(json_object_get(event, "data"), "object");
    cr_expect_eq(stripe_event_map(event, &effect, error, sizeof error), OB_ERR_INVALID);
    json_decref(event);
}

/* --- invoices: both places for the subscription ------------------------------- */

Test(stripe_event_map, invoice_subscription_in_both_places_and_line_period)
{
    static const char *const bodies[] = {
        "{\"id\":\"evt_i\",\"type\":\"invoice.paid\",\"created\":5,\"data\":{\"object\":{\"id\":\"in_1\","
        "\"customer\":\"cus_1\",\"subscription\":\"sub_1\",\"amount_paid\":1900,\"period_start\":1,\"period_end\":2,"
        "\"subscription_details\":{\"metadata\":{\"user_id\":\"u1\"}},"
        "\"lines\":{\"data\":[{\"period\":{\"start\":2,\"end\":3}},{\"period\":{\"start\":100,\"end\":200}}]}}}}",
        "{\"id\":\"evt_i\",\"type\":\"invoice.paid\",\"created\":5,\"data\":{\"object\":{\"id\":\"in_1\","
        "\"customer\":\"cus_1\",\"amount_paid\":1900,\"period_start\":1,\"period_end\":2,"
        "\"parent\":{\"subscription_details\":{\"subscription\":\"sub_1\",\"metadata\":{\"user_id\":\"u1\"}}},"
        "\"lines\":{\"data\":[{\"period\":{\"start\":100,\"end\":200}}]}}}}",
    };
    for (size_t i = 0; i < 2; i++) {
        json_t *event = s_json(bodies[i]);
        stripe_effect_t effect;
        char error[128] = "";
        cr_assert_eq(stripe_event_map(event, &effect, error, sizeof error), OB_OK);
        cr_expect_str_eq(effect.update_kind, "invoice.paid");
        cr_expect_str_eq(json_string_value(json_object_get(effect.update, "subscription_id")), "sub_1", "shape %zu", i);
        cr_expect_str_eq(json_string_value(json_object_get(effect.update, "user_id")), "u1");
        cr_expect_eq(json_integer_value(json_object_get(effect.update, "current_period_start")), 100);
        cr_expect_eq(json_integer_value(json_object_get(effect.update, "current_period_end")), 200);
        cr_expect_str_eq(effect.notify_kind, "receipt");
        cr_expect_str_eq(effect.notify_user, "u1");
        cr_expect_eq(json_integer_value(json_object_get(effect.notify_payload, "amount")), 1900);
        stripe_effect_clear(&effect);
        json_decref(event);
    }
}

Test(stripe_event_map, types_without_effect_and_checkout_links)
{
    static const struct {
        const char *type;
        bool handled;
    } types[] = {{"checkout.session.completed", true},
                 {"customer.subscription.created", true},
                 {"customer.subscription.deleted", true},
                 {"customer.subscription.trial_will_end", true},
                 {"invoice.paid", true},
                 {"invoice.payment_failed", true},
                 {"charge.succeeded", false},
                 {"customer.subscription.paused", false},
                 {"invoice.created", false},
                 {NULL, false}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        cr_expect_eq(stripe_event_is_handled(types[i].type), types[i].handled, "%s", types[i].type);

    json_t *event = s_json("{\"id\":\"evt_c\",\"type\":\"checkout.session.completed\",\"created\":5,\"data\":{\"object\":"
                           "{\"id\":\"cs_1\",\"customer\":\"cus_1\",\"subscription\":\"sub_1\",\"client_reference_id\":null,"
                           "\"metadata\":{\"user_id\":\"u9\"},\"customer_details\":{\"email\":\"u9@example.com\"}}}}");
    stripe_effect_t effect;
    char error[128] = "";
    cr_assert_eq(stripe_event_map(event, &effect, error, sizeof error), OB_OK);
    cr_expect_str_eq(effect.update_kind, "customer.link");
    cr_expect_str_eq(json_string_value(json_object_get(effect.update, "user_id")), "u9");
    cr_expect_str_eq(json_string_value(json_object_get(effect.update, "email")), "u9@example.com");
    stripe_effect_clear(&effect);
    json_object_del(json_object_get(json_object_get(event, "data"), "object"), "metadata");
    cr_assert_eq(stripe_event_map(event, &effect, error, sizeof error), OB_OK);
    cr_expect(effect.ignored && effect.update == NULL && effect.note[0]);
    stripe_effect_clear(&effect);
    json_decref(event);
}

/* --- Stripe's answer to a change (the billing API reads it the same way) ------- */

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
Test(stripe_event_map, reads_old_and_new_api_shapes_of_an_answer)
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

/* ------------------------------------------------------------------------ */
/*  Bounds: an event whose ids, keys or times are past their bounds can never apply, so mapping refuses it
 *  (ingest records it as failed; the processor fails it at once). */

typedef enum {
    LONG_NONE,
    LONG_CUSTOMER,
    LONG_USER,
    LONG_SUBSCRIPTION,
    LONG_PRICE,
    BAD_TIME,
    NEGATIVE_TIME,
    NUL_ID
} s_bounds_fault_t;

struct bounds_case {
    const char *type;
    s_bounds_fault_t fault;
    size_t long_len; /* for LONG_*: the length of the long value */
    bool ok;
    const char *mentions; /* in the error, when refused */
};

static const struct bounds_case s_bounds_cases[] = {
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
s_bounds_subscription(const struct bounds_case *c, const char *long_value)
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
s_bounds_invoice(const struct bounds_case *c, const char *long_value)
{
    json_t *invoice = json_pack("{s:s,s:s,s:s,s:I,s:{s:{s:s,s:{s:s}}},s:{s:[{s:{s:I,s:I}}]}}", "id", "in_1", "customer",
                                c->fault == LONG_CUSTOMER ? long_value : "cus_1", "subscription", "sub_1", "amount_paid",
                                (json_int_t)1900, "parent", "subscription_details", "subscription", "sub_1", "metadata", "user_id",
                                c->fault == LONG_USER ? long_value : "user_1", "lines", "data", "period", "start",
                                (json_int_t)1700000000, "end", c->fault == BAD_TIME ? (json_int_t)1000000000000000LL : 1702592000);
    return invoice;
}

static json_t *
s_bounds_session(const struct bounds_case *c, const char *long_value)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "id", "cs_1", "client_reference_id", c->fault == LONG_USER ? long_value : "user_1",
                     "customer", c->fault == LONG_CUSTOMER ? long_value : "cus_1", "subscription", "sub_1");
}

ParameterizedTestParameters(stripe_event_bounds, table)
{
    OB_TEST_CASE_INDICES(s_bounds_cases);
}

ParameterizedTest(size_t *index, stripe_event_bounds, table)
{
    const struct bounds_case *c = &s_bounds_cases[*index];
    static char long_value[8192];
    memset(long_value, 'x', sizeof long_value);
    long_value[c->long_len ? c->long_len : 1] = '\0';
    json_t *object = strncmp(c->type, "invoice.", 8) == 0    ? s_bounds_invoice(c, long_value)
                     : strncmp(c->type, "checkout.", 9) == 0 ? s_bounds_session(c, long_value)
                                                             : s_bounds_subscription(c, long_value);
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
