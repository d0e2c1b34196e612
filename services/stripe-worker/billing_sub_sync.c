/*  billing_sub_sync - Stripe's answer to a subscription change -> the owner. */
#include "services/stripe-worker/billing_sub_sync.h"

#include "common/ob_log.h"
#include "services/stripe-worker/billing_owner.h"
#include "services/stripe-worker/stripe_event_map.h"
#include "services/stripe-worker/stripe_plan.h"

void
billing_sub_sync_prepare(ob_pg_t *pg)
{
    ob_entitlements_prepare(pg);
    stripe_plan_prepare(pg);
    billing_owner_prepare(pg);
}

ob_err_t
billing_sub_sync_apply(ob_pg_t *pg, ob_redis_t *redis, const char *user_id, const json_t *subscription, int64_t version,
                       const char *source, int wait_ms, ob_entitlement_t *after)
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
    const char *subscription_id = json_string_value(json_object_get(message, "subscription_id"));
    json_t *outcome = NULL;
    if (err == OB_OK)
        err = billing_owner_request(pg, source, "subscription.snapshot", subscription_id, message, wait_ms, &outcome);
    if (err == OB_OK && !json_is_true(json_object_get(outcome, "newer")))
        ob_log_info("billing: subscription %s already holds newer state; Stripe's answer not applied", subscription_id);
    if (err != OB_OK)
        ob_log_error("billing: subscription %s not recorded yet: %s", subscription_id ? subscription_id : "?", ob_err_name(err));
    json_decref(outcome);
    json_decref(message);
    if (err != OB_OK)
        return err;
    /* The owner has committed: read what is on record and refill the cache
     * from it (as any reader does on a miss), so the next read sees it. */
    ob_entitlement_t scratch;
    ob_entitlement_t *e = after ? after : &scratch;
    ob_err_t load = ob_entitlements_load(pg, user_id, e);
    if ((load == OB_OK || load == OB_ERR_NOT_FOUND) && ob_entitlements_publish(redis, e, false) < 0)
        ob_log_warn("billing: entitlements of a user not republished; readers will reload them");
    return OB_OK;
}
