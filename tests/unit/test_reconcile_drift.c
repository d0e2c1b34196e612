/*  reconcile_drift: local vs Stripe vs Lago subscriptions, one case per kind of drift. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "clients/reconcile_drift.h"
#include "test_params.h"

typedef struct {
    const char *name;
    const char *local, *stripe, *lago; /* JSON; lago NULL = not configured */
    const char *want;                  /* "kind:subscription ..." in output order, "" for none */
} drift_case_t;

#define S_ITEM(price) "\"items\":{\"data\":[{\"price\":{\"id\":\"" price "\"}}]}"

static const drift_case_t s_cases[] = {
    {"in sync", "[{\"id\":\"s1\",\"status\":\"active\",\"plan_id\":\"starter\",\"price_id\":\"p1\"}]",
     "[{\"id\":\"s1\",\"status\":\"active\"," S_ITEM("p1") "}]",
     "[{\"external_id\":\"s1\",\"status\":\"active\",\"plan_code\":\"starter\"}]", ""},
    {"missing here", "[]", "[{\"id\":\"s1\",\"status\":\"active\",\"metadata\":{\"user_id\":\"u\"}}]", NULL, "missing_here:s1"},
    {"missing in Stripe", "[{\"id\":\"s1\",\"status\":\"canceled\"}]", "[]", NULL, "missing_in_stripe:s1"},
    {"status and price", "[{\"id\":\"s1\",\"status\":\"active\",\"price_id\":\"p1\"}]",
     "[{\"id\":\"s1\",\"status\":\"past_due\"," S_ITEM("p2") "}]", NULL, "price_mismatch:s1 status_mismatch:s1"},
    {"no Lago drift without Lago", "[{\"id\":\"s1\",\"status\":\"active\"}]", "[{\"id\":\"s1\",\"status\":\"active\"}]", NULL, ""},
    {"live here, terminated in Lago", "[{\"id\":\"s1\",\"status\":\"trialing\",\"plan_id\":\"trial\"}]",
     "[{\"id\":\"s1\",\"status\":\"trialing\"}]", "[{\"external_id\":\"s1\",\"status\":\"terminated\",\"plan_code\":\"trial\"}]",
     "missing_in_lago:s1"},
    {"Lago on another plan", "[{\"id\":\"s1\",\"status\":\"active\",\"plan_id\":\"starter\"}]",
     "[{\"id\":\"s1\",\"status\":\"active\"}]",
     "[{\"external_id\":\"s1\",\"status\":\"terminated\",\"plan_code\":\"trial\"},"
     "{\"external_id\":\"s1\",\"status\":\"active\",\"plan_code\":\"professional\"}]",
     "lago_plan_mismatch:s1"},
    {"ended here, active in Lago; unknown in Lago", "[{\"id\":\"s1\",\"status\":\"canceled\",\"plan_id\":\"starter\"}]",
     "[{\"id\":\"s1\",\"status\":\"canceled\"}]",
     "[{\"external_id\":\"s1\",\"status\":\"active\",\"plan_code\":\"starter\"},{\"external_id\":\"s9\",\"status\":\"active\"}]",
     "lago_not_ended:s1 lago_not_ended:s9"},
    {"outside --since: matched by Stripe's object, not itself checked",
     "[{\"id\":\"s1\",\"status\":\"active\",\"in_window\":false},{\"id\":\"s2\",\"status\":\"active\",\"in_window\":false},"
     "{\"id\":\"s3\",\"status\":\"active\",\"in_window\":true}]",
     "[{\"id\":\"s1\",\"status\":\"past_due\"}]", "[]", "missing_in_lago:s3 missing_in_stripe:s3 status_mismatch:s1"},
};

ParameterizedTestParameters(reconcile_drift, compare)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, reconcile_drift, compare)
{
    const drift_case_t *c = &s_cases[*index];
    json_t *local = json_loads(c->local, 0, NULL), *stripe = json_loads(c->stripe, 0, NULL);
    json_t *lago = c->lago ? json_loads(c->lago, 0, NULL) : NULL;
    cr_assert(local && stripe && (lago || !c->lago), "%s: bad fixture", c->name);
    json_t *drift = reconcile_drift_compare(local, stripe, lago);
    cr_assert(drift);
    char got[512] = "";
    size_t i;
    json_t *d;
    json_array_foreach(drift, i, d)
    {
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%s:%s", i ? " " : "", json_string_value(json_object_get(d, "kind")),
                 json_string_value(json_object_get(d, "subscription_id")));
    }
    cr_expect_str_eq(got, c->want, "%s", c->name);
    json_decref(drift);
    json_decref(local);
    json_decref(stripe);
    json_decref(lago);
}

Test(reconcile_drift, fixable_only_where_stripe_has_the_truth)
{
    json_t *local = json_loads("[{\"id\":\"s1\",\"status\":\"active\",\"user_id\":\"u1\"}]", 0, NULL);
    json_t *stripe = json_loads("[{\"id\":\"s1\",\"status\":\"canceled\"},{\"id\":\"s2\",\"status\":\"active\"}]", 0, NULL);
    json_t *drift = reconcile_drift_compare(local, stripe, NULL);
    cr_assert_eq(json_array_size(drift), 2);
    json_t *missing = json_array_get(drift, 0), *status = json_array_get(drift, 1);
    cr_expect_str_eq(json_string_value(json_object_get(missing, "kind")), "missing_here");
    cr_expect(json_is_true(json_object_get(missing, "fixable")));
    cr_expect(json_is_null(json_object_get(missing, "local")));
    cr_expect_str_eq(json_string_value(json_object_get(status, "local")), "active");
    cr_expect_str_eq(json_string_value(json_object_get(status, "remote")), "canceled");
    cr_expect_str_eq(json_string_value(json_object_get(status, "user_id")), "u1");
    json_decref(drift);
    json_decref(local);
    json_decref(stripe);
}
