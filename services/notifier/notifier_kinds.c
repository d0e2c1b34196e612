/*  notifier_kinds - the kind table. */
#include "services/notifier/notifier_kinds.h"

#include <string.h>

static const notifier_kind_t s_kinds[] = {
    /* kind, webhook event, mail template, unsubscribable, daily cap */
    {"welcome", "subscription.activated", "welcome", true, NULL},
    {"plan_changed", "subscription.updated", "plan_changed", true, NULL},
    {"canceled", "subscription.canceled", "canceled", true, NULL},
    {"receipt", "payment.succeeded", "receipt", false, NULL},
    {"payment_failed", "payment.failed", "payment_failed", false, "payment_failed"},
    {"trial_will_end", "trial.will_end", "trial_will_end", true, NULL},
    {"quota_threshold", "usage.threshold_reached", "quota_threshold", true, "quota"},
    /* Lago's view of the same facts: Stripe's events above already tell the user. */
    {"invoice_created", NULL, NULL, true, NULL},
    {"subscription_terminated", NULL, NULL, true, NULL},
    /* for operators: listed by GET /api/v1/admin/notifications */
    {"usage_event_error", NULL, NULL, true, NULL},
    {"webhook_endpoint_disabled", NULL, NULL, true, NULL},
};

const notifier_kind_t *
notifier_kind_find(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (strcmp(s_kinds[i].kind, kind) == 0)
            return &s_kinds[i];
    return NULL;
}

const notifier_kind_t *
notifier_kind_all(size_t *count)
{
    *count = sizeof s_kinds / sizeof s_kinds[0];
    return s_kinds;
}

bool
notifier_kind_event_known(const char *event_type)
{
    if (!event_type)
        return false;
    if (strcmp(event_type, "*") == 0)
        return true;
    for (size_t i = 0; i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (s_kinds[i].event_type && strcmp(s_kinds[i].event_type, event_type) == 0)
            return true;
    return false;
}
