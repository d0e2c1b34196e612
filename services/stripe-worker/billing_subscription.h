/*  billing_subscription - methods "subscription.cancel",
 *  "subscription.resume" and "subscription.upgrade" on the user's live
 *  subscription.
 *
 *  cancel  {"at_period_end": true}: true (the default) sets
 *          cancel_at_period_end at Stripe; false ends it now.
 *  resume  (no body): clears cancel_at_period_end, so a cancellation at
 *          period end is called off while the period lasts (a no-op for a
 *          subscription that was not canceling).
 *  upgrade {"plan_id", "interval"}: moves the subscription's item to the
 *          plan's price with proration (downgrades too).
 *  admin.trial.extend (operators: POST /api/v1/admin/users/{id}/trial-extension)
 *          {"trial_end": "2027-01-31T00:00:00Z" | "extend_days": N, "reason"}:
 *          sets the trial's end at Stripe (trial_end, no proration): the
 *          subscription is trialing until then and the customer is billed
 *          later. For the trial plan or a trialing subscription; 409
 *          not_on_trial otherwise. Audited in trial_extensions.
 *
 *  All answer 200 with the new status (billing_subscription_status_json),
 *  written to subscriptions from Stripe's answer at once (billing_sub_sync)
 *  and republished to Redis; 409 no_subscription when the user has no live
 *  subscription. upgrade also answers 400 unknown_plan, invalid_interval,
 *  interval_not_offered, trial_not_allowed (the trial is bought, not
 *  switched to) and same_plan.
 *
 *  Each request is one user action with its own Idempotency-Key (its
 *  request id and what it asks), so a repeat of an earlier change is done
 *  again, never answered from Stripe's store. An answer Stripe replays (the
 *  same request delivered twice) is not stored: it changed nothing, and the
 *  reply is the status on record. What is stored is versioned by Stripe's
 *  clock (the answer's Date), never the local one.
 */
#ifndef BILLING_SUBSCRIPTION_H_INCLUDED
#define BILLING_SUBSCRIPTION_H_INCLUDED

#include <jansson.h>

#include "common/ob_entitlements.h"
#include "common/ob_worker.h"

/*  state (both): the worker's stripe_state_t (its billing context). */
void billing_subscription_cancel(void *state, ob_job_t *job);
void billing_subscription_upgrade(void *state, ob_job_t *job);
void billing_subscription_resume(void *state, ob_job_t *job);
void billing_subscription_extend_trial(void *state, ob_job_t *job);

/*  {"subscription_id","plan_id","status","interval","live",
 *  "current_period_end","cancel_at_period_end","trial_end","features"} for
 *  an entitlement (pure). */
json_t *billing_subscription_status_json(const ob_entitlement_t *e);

#endif
