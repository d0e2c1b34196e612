/*  subs_status: the status answer. */
#include <criterion/criterion.h>
#include <string.h>

#include "services/subscription-worker/subs_status.h"

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
