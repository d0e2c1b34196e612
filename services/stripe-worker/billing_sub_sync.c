/*  billing_sub_sync - Stripe's answer to a subscription change -> subscriptions. */
#include "services/stripe-worker/billing_sub_sync.h"

#include "common/ob_log.h"
#include "common/ob_sub_apply.h"
#include "services/stripe-worker/stripe_event_map.h"
#include "services/stripe-worker/stripe_plan.h"

void
billing_sub_sync_prepare(ob_pg_t *pg)
{
    ob_entitlements_prepare(pg);
    stripe_plan_prepare(pg);
    ob_sub_apply_prepare(pg);
}

/*  The message, applied in one transaction. */
static ob_err_t
s_apply(ob_pg_t *pg, const json_t *message, ob_sub_apply_result_t *result)
{
    ob_err_t err = ob_pg_begin(pg);
    if (err != OB_OK)
        return err;
    err = ob_sub_apply_subscription(pg, message, false, result);
    if (err == OB_OK)
        return ob_pg_commit(pg);
    ob_pg_rollback(pg);
    return err;
}

ob_err_t
billing_sub_sync_apply(ob_pg_t *pg, ob_redis_t *redis, const char *user_id, const json_t *subscription, int64_t version,
                       const char *source, ob_entitlement_t *after)
{
    char error[128];
    json_t *message = stripe_event_subscription_message(subscription, source, version, false, error, sizeof error);
    if (!message) {
        ob_log_warn("billing: Stripe's answer is no usable subscription: %s", error);
        return OB_ERR_UPSTREAM;
    }
    /* The row is the caller's: it was found by this user. */
    json_object_set_new(message, "user_id", json_string(user_id));
    ob_err_t err = stripe_plan_resolve(pg, message);
    if (err == OB_ERR_NOT_FOUND)
        err = OB_OK; /* no known plan: the stored plan stays */
    ob_sub_apply_result_t result;
    if (err == OB_OK)
        err = s_apply(pg, message, &result);
    if (err == OB_OK && !result.newer)
        ob_log_info("billing: subscription %s already holds newer state; Stripe's answer not applied",
                    json_string_value(json_object_get(message, "subscription_id")));
    if (err != OB_OK)
        ob_log_error("billing: cannot store subscription %s: %s", json_string_value(json_object_get(message, "subscription_id")),
                     ob_err_name(err));
    json_decref(message);
    if (err != OB_OK)
        return err;
    ob_entitlement_t scratch;
    ob_entitlement_t *e = after ? after : &scratch;
    ob_err_t load = ob_entitlements_load(pg, user_id, e);
    if ((load == OB_OK || load == OB_ERR_NOT_FOUND) && ob_entitlements_publish(redis, e, false) != 0)
        ob_log_warn("billing: entitlements of a user not republished; readers will reload them");
    return OB_OK;
}
