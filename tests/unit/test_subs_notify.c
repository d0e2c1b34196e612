/*  subs_notify_decide: which lifecycle notifications a subscription change
 *  causes. Table-driven. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "services/subscription-worker/subs_notify.h"

static subs_notify_row_t
s_row(const char *status, const char *plan, bool cancel, const char *user)
{
    subs_notify_row_t row = {.exists = status != NULL, .cancel_at_period_end = cancel, .period_end = 1900000000};
    snprintf(row.id, sizeof row.id, "sub_1");
    snprintf(row.status, sizeof row.status, "%s", status ? status : "");
    snprintf(row.plan_id, sizeof row.plan_id, "%s", plan ? plan : "");
    snprintf(row.user_id, sizeof row.user_id, "%s", user ? user : "");
    return row;
}

Test(subs_notify, decide)
{
    static const struct {
        const char *before_status, *before_plan;
        bool before_cancel;
        const char *after_status, *after_plan;
        bool after_cancel;
        const char *user;
        int expected[SUBS_NOTIFY_MAX]; /* -1 terminated */
    } cases[] = {
        /* new and live: welcome */
        {NULL, NULL, false, "active", "starter", false, "u", {SUBS_NOTIFY_WELCOME, -1}},
        {"incomplete", "starter", false, "active", "starter", false, "u", {SUBS_NOTIFY_WELCOME, -1}},
        {NULL, NULL, false, "trialing", "trial", false, "u", {SUBS_NOTIFY_WELCOME, -1}},
        /* no user yet: nothing (the link sends the welcome) */
        {NULL, NULL, false, "active", "starter", false, NULL, {-1}},
        /* the same state again: nothing */
        {"active", "starter", false, "active", "starter", false, "u", {-1}},
        {"trialing", "trial", false, "active", "trial", false, "u", {-1}},
        {"active", "starter", false, "past_due", "starter", false, "u", {-1}},
        {NULL, NULL, false, "past_due", "starter", false, "u", {-1}},
        /* plan change */
        {"active", "starter", false, "active", "professional", false, "u", {SUBS_NOTIFY_PLAN_CHANGED, -1}},
        {"active", "professional", false, "active", "starter", false, "u", {SUBS_NOTIFY_PLAN_CHANGED, -1}},
        /* cancel requested at period end, then the end */
        {"active", "starter", false, "active", "starter", true, "u", {SUBS_NOTIFY_CANCEL_REQUESTED, -1}},
        {"active", "starter", true, "active", "starter", true, "u", {-1}},
        {"active", "starter", true, "canceled", "starter", true, "u", {SUBS_NOTIFY_ENDED, -1}},
        {"active", "starter", false, "canceled", "starter", false, "u", {SUBS_NOTIFY_ENDED, -1}},
        {"canceled", "starter", false, "canceled", "starter", false, "u", {-1}},
        {"incomplete", "starter", false, "canceled", "starter", false, "u", {-1}},
        {NULL, NULL, false, "canceled", "starter", false, "u", {-1}},
        /* several at once */
        {"active",
         "starter",
         false,
         "active",
         "professional",
         true,
         "u",
         {SUBS_NOTIFY_PLAN_CHANGED, SUBS_NOTIFY_CANCEL_REQUESTED, -1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        subs_notify_row_t before = s_row(cases[i].before_status, cases[i].before_plan, cases[i].before_cancel, cases[i].user);
        subs_notify_row_t after = s_row(cases[i].after_status, cases[i].after_plan, cases[i].after_cancel, cases[i].user);
        subs_notify_cause_t causes[SUBS_NOTIFY_MAX];
        size_t n = subs_notify_decide(&before, &after, causes);
        size_t expected = 0;
        while (cases[i].expected[expected] != -1)
            expected++;
        cr_expect_eq(n, expected, "case %zu: %zu causes", i, n);
        for (size_t k = 0; k < n && k < expected; k++)
            cr_expect_eq((int)causes[k], cases[i].expected[k], "case %zu cause %zu", i, k);
    }
}
