/*  ob_entitlement_check - feature checks over an entitlement (pure). */
#include "common/ob_entitlement_check.h"

#include <jansson.h>
#include <string.h>

const char *
ob_entitled_reason(ob_entitled_t verdict)
{
    switch (verdict) {
    case OB_ENTITLED:
        return NULL;
    case OB_NOT_ENTITLED_FEATURE:
        return "plan_lacks_feature";
    case OB_NOT_ENTITLED_PAST_DUE:
        return "past_due";
    case OB_NOT_ENTITLED_ENDED:
        return "subscription_ended";
    case OB_NOT_ENTITLED_NONE:
        break;
    }
    return "no_live_subscription";
}

int64_t
ob_entitlement_access_until(const ob_entitlement_t *e, int64_t grace_s)
{
    if (strcmp(e->status, "past_due") == 0 && e->past_due_since > 0)
        return e->past_due_since + grace_s;
    if (e->cancel_at_period_end && e->current_period_end > 0)
        return e->current_period_end;
    return 0;
}

ob_entitled_t
ob_entitlement_standing(const ob_entitlement_t *e, int64_t now)
{
    if (!e->plan_id[0])
        return OB_NOT_ENTITLED_NONE;
    bool ends_at_period_end = e->cancel_at_period_end && e->current_period_end > 0;
    if (strcmp(e->status, "trialing") == 0 || strcmp(e->status, "active") == 0)
        return ends_at_period_end && now >= e->current_period_end ? OB_NOT_ENTITLED_ENDED : OB_ENTITLED;
    if (strcmp(e->status, "past_due") == 0)
        /* A copy built before past_due_since existed has none: no grace to measure, so none given. */
        return e->access_until > 0 && now < e->access_until ? OB_ENTITLED : OB_NOT_ENTITLED_PAST_DUE;
    if (strcmp(e->status, "canceled") == 0 && ends_at_period_end)
        return now < e->current_period_end ? OB_ENTITLED : OB_NOT_ENTITLED_ENDED;
    return OB_NOT_ENTITLED_NONE;
}

bool
ob_entitlement_has_feature(const ob_entitlement_t *e, const char *feature)
{
    json_t *features = json_loads(e->features, 0, NULL);
    bool found = false;
    size_t i;
    json_t *item;
    if (json_is_array(features))
        json_array_foreach(features, i, item) if (json_is_string(item) && strcmp(json_string_value(item), feature) == 0)
        {
            found = true;
            break;
        }
    json_decref(features);
    return found;
}

ob_entitled_t
ob_entitlement_check(const ob_entitlement_t *e, const char *feature, int64_t now)
{
    ob_entitled_t standing = ob_entitlement_standing(e, now);
    if (standing != OB_ENTITLED)
        return standing;
    return ob_entitlement_has_feature(e, feature) ? OB_ENTITLED : OB_NOT_ENTITLED_FEATURE;
}
