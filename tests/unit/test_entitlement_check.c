/*  ob_entitlement_check and subs_entitlements_upgrade_to: may this user use
 *  this feature now, and which plan would give it, without Redis or Postgres. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "clients/ob_catalogue.h"
#include "common/ob_entitlement_check.h"
#include "services/subscription-worker/subs_entitlements.h"
#include "tests/unit/test_params.h"

#define NOW 1800000000
#define GRACE 3600

static const char s_pro[] = "[\"chat\",\"search\",\"byok\",\"tts\",\"stt\",\"litellm\",\"priority_support\"]";
static const char s_starter[] = "[\"chat\",\"search\",\"byok\"]";

typedef struct {
    const char *name;
    const char *plan, *status, *features;
    bool cancel_at_period_end;
    int64_t current_period_end, past_due_since;
    const char *feature;
    ob_entitled_t verdict;
} check_case_t;

static const check_case_t s_checks[] = {
    {"professional has tts", "professional", "active", s_pro, false, NOW + 86400, 0, "tts", OB_ENTITLED},
    {"starter lacks tts", "starter", "active", s_starter, false, NOW + 86400, 0, "tts", OB_NOT_ENTITLED_FEATURE},
    {"trialing counts as live", "professional", "trialing", s_pro, false, NOW + 86400, 0, "tts", OB_ENTITLED},
    {"cancel at period end keeps the feature until the end", "professional", "active", s_pro, true, NOW + 1, 0, "tts", OB_ENTITLED},
    {"cancel at period end: none once the end has passed", "professional", "active", s_pro, true, NOW, 0, "tts",
     OB_NOT_ENTITLED_ENDED},
    {"canceled at period end, end not reached", "professional", "canceled", s_pro, true, NOW + 60, 0, "tts", OB_ENTITLED},
    {"canceled at period end, end passed", "professional", "canceled", s_pro, true, NOW - 60, 0, "tts", OB_NOT_ENTITLED_ENDED},
    {"canceled at once: nothing", "professional", "canceled", s_pro, false, NOW + 60, 0, "tts", OB_NOT_ENTITLED_NONE},
    {"past_due within the grace", "professional", "past_due", s_pro, false, NOW + 86400, NOW - GRACE + 1, "tts", OB_ENTITLED},
    {"past_due after the grace", "professional", "past_due", s_pro, false, NOW + 86400, NOW - GRACE, "tts",
     OB_NOT_ENTITLED_PAST_DUE},
    {"past_due with no start known gets no grace", "professional", "past_due", s_pro, false, NOW + 86400, 0, "tts",
     OB_NOT_ENTITLED_PAST_DUE},
    {"unpaid: nothing", "professional", "unpaid", s_pro, false, NOW + 86400, 0, "tts", OB_NOT_ENTITLED_NONE},
    {"incomplete: nothing", "professional", "incomplete", s_pro, false, NOW + 86400, 0, "chat", OB_NOT_ENTITLED_NONE},
    {"no subscription at all", "", "", "[]", false, 0, 0, "chat", OB_NOT_ENTITLED_NONE},
    {"a feature name is matched whole", "professional", "active", s_pro, false, NOW + 86400, 0, "tt", OB_NOT_ENTITLED_FEATURE},
    {"broken feature text grants nothing", "professional", "active", "not json", false, NOW + 86400, 0, "tts",
     OB_NOT_ENTITLED_FEATURE},
};

ParameterizedTestParameters(entitlement_check, verdict)
{
    OB_TEST_CASE_INDICES(s_checks);
}

ParameterizedTest(size_t *index, entitlement_check, verdict)
{
    const check_case_t *c = &s_checks[*index];
    /* Given the entitlement of the case, as a copy built with the grace period */
    ob_entitlement_t e;
    memset(&e, 0, sizeof e);
    snprintf(e.user_id, sizeof e.user_id, "u1");
    snprintf(e.plan_id, sizeof e.plan_id, "%s", c->plan);
    snprintf(e.status, sizeof e.status, "%s", c->status);
    snprintf(e.features, sizeof e.features, "%s", c->features);
    e.cancel_at_period_end = c->cancel_at_period_end;
    e.current_period_end = c->current_period_end;
    e.past_due_since = c->past_due_since;
    e.access_until = ob_entitlement_access_until(&e, GRACE);
    /* when the feature is checked at NOW, then the verdict is the case's */
    ob_entitled_t verdict = ob_entitlement_check(&e, c->feature, NOW);
    cr_assert_eq(verdict, c->verdict, "%s: got %s", c->name, ob_entitled_reason(verdict) ? ob_entitled_reason(verdict) : "allowed");
}

Test(entitlement_check, reasons_are_the_api_codes)
{
    cr_assert_null(ob_entitled_reason(OB_ENTITLED));
    cr_assert_str_eq(ob_entitled_reason(OB_NOT_ENTITLED_FEATURE), "plan_lacks_feature");
    cr_assert_str_eq(ob_entitled_reason(OB_NOT_ENTITLED_NONE), "no_live_subscription");
    cr_assert_str_eq(ob_entitled_reason(OB_NOT_ENTITLED_PAST_DUE), "past_due");
    cr_assert_str_eq(ob_entitled_reason(OB_NOT_ENTITLED_ENDED), "subscription_ended");
}

typedef struct {
    const char *feature, *current, *expected;
} upgrade_case_t;

static const upgrade_case_t s_upgrades[] = {
    {"tts", "starter", "professional"},         {"tts", NULL, "professional"},
    {"bolt_diy", "professional", "enterprise"}, {"chat", NULL, "starter"},
    {"chat", "starter", "professional"},        {"team_management", "starter", "enterprise"},
    {"no_such_feature", "starter", NULL},       {"basic_ai", NULL, NULL}, /* only the trial has it: a trial is no upgrade */
};

ParameterizedTestParameters(entitlement_check, upgrade_to)
{
    OB_TEST_CASE_INDICES(s_upgrades);
}

ParameterizedTest(size_t *index, entitlement_check, upgrade_to)
{
    const upgrade_case_t *c = &s_upgrades[*index];
    /* Given the reference catalogue */
    json_t *catalogue = ob_catalogue_read_file(OB_SOURCE_DIR "/deploy/plans.json");
    cr_assert_not_null(catalogue);
    /* when the cheapest plan with the feature is asked for */
    const char *plan = subs_entitlements_upgrade_to(catalogue, c->feature, c->current);
    /* then it is the case's */
    if (c->expected)
        cr_assert(plan && strcmp(plan, c->expected) == 0, "%s from %s: got %s", c->feature, c->current ? c->current : "-",
                  plan ? plan : "none");
    else
        cr_assert_null(plan, "%s: got %s", c->feature, plan);
    json_decref(catalogue);
}
