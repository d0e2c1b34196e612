/*  subs_change - applies what Stripe says about one subscription (a
 *  snapshot, a deletion, a paid or failed invoice) to its row in the
 *  subscriptions table, under the row lock and by the order-proof rule
 *  (subs_order.h).
 *
 *  Ownership: the subscriptions table belongs to the subscription-worker
 *  and this is the subscription-worker's code. Its applier
 *  (services/subscription-worker/subs_apply.c) calls it for every domain
 *  message taken from subscription_updates. It lives in common/ only so
 *  that the stripe-worker can call the very same function for the
 *  immediate update after a billing API cancel/upgrade
 *  (services/stripe-worker/billing_sub_sync.c, docs/billing-api.md): one
 *  rule and one set of statements for both paths. Change it as the
 *  subscription-worker's code; no other service writes subscription state.
 *
 *  Input is a domain message (stripe_event_map.h describes its fields;
 *  plan_id already resolved). Every function runs inside the caller's open
 *  transaction and commits nothing; the caller publishes entitlements after
 *  its commit.
 */
#ifndef SUBS_CHANGE_H_INCLUDED
#define SUBS_CHANGE_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"

/*  Whose entitlements a change touched. */
typedef struct {
    char user_id[256];          /* the subscription's user now; "" when nobody is known yet */
    char previous_user_id[256]; /* the user it had before, when that was another one; else "" */
    bool newer;                 /* the message's keyed state was taken (its key was the greater) */
} subs_change_result_t;

/*  Registers the statements below on pg. */
void subs_change_prepare(ob_pg_t *pg);

/*  subscription.snapshot (deleted false) or subscription.deleted: creates
 *  the row when it is new (and wakes invoices waiting for it), locks it,
 *  resolves the user (the message's user_id, else the row's, else the
 *  customer's link) and writes the keyed state when the message's key is
 *  greater; a deletion cancels whatever its order; periods only move
 *  forward. OB_ERR_INVALID for a message without subscription_id or with
 *  an unknown status; database failures as ob_pg_classify. */
ob_err_t subs_change_subscription(ob_pg_t *pg, const json_t *message, bool deleted, subs_change_result_t *result);

/*  invoice.paid (paid true) or invoice.payment_failed: the status a paid or
 *  failed invoice implies for the stored one, keyed like a snapshot; a paid
 *  invoice moves the period forward. OB_ERR_NOT_FOUND when the subscription
 *  has no row yet (the caller waits for it: not a failure). */
ob_err_t subs_change_invoice(ob_pg_t *pg, const json_t *message, bool paid, subs_change_result_t *result);

#endif
