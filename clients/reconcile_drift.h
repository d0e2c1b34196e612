/*  reconcile_drift - what differs between our subscriptions, Stripe's and
 *  Lago's (pure: JSON in, JSON out; no network, no database).
 *
 *  Inputs, each a JSON array:
 *    local   [{"id","user_id","plan_id","status","price_id","in_window"?}]  (subscriptions rows;
 *            "in_window": false marks a row outside reconcile's --since: it is
 *            found by Stripe's and Lago's objects, but not itself checked)
 *    stripe  Stripe subscription objects (list subscriptions, status=all)
 *    lago    Lago subscription objects (list subscriptions, active and terminated), or NULL
 *            when Lago is not configured (no Lago drift is then reported)
 *
 *  Output: an array of {"kind","subscription_id","user_id","local","remote","fixable"}:
 *    missing_here      Stripe has it, we do not                       (fixable: Stripe's truth)
 *    missing_in_stripe we have it, Stripe does not                    (a human decides)
 *    status_mismatch   local status differs from Stripe's             (fixable)
 *    price_mismatch    local price differs from Stripe's first item's (fixable: plan or interval)
 *    missing_in_lago   live here (trialing, active, past_due), not active in Lago
 *    lago_plan_mismatch live here and active in Lago on another plan
 *    lago_not_ended    active in Lago, not live here
 *  Lago's drift is the lago-worker's to repair (it owns what Lago is told);
 *  reconcile reports it. Sorted by kind, then subscription id.
 */
#ifndef RECONCILE_DRIFT_H_INCLUDED
#define RECONCILE_DRIFT_H_INCLUDED

#include <jansson.h>

/*  The one HELP text of ob_reconcile_drift, which both halves of the daily
 *  run report (stripe_reconcile.h, lago_reconcile.h). */
#define OB_RECONCILE_DRIFT_HELP                                                                                                    \
    "Drift the last daily reconcile found, by kind: subscriptions on which ours and Stripe's disagree (stripe-worker), usage "     \
    "events Lago lacks (usage_not_forwarded, lago-worker)."

/*  A new array (see above); NULL on out of memory. Borrows its inputs. */
json_t *reconcile_drift_compare(const json_t *local, const json_t *stripe, const json_t *lago);

#endif
