/*  subs_apply - applies the domain messages other services leave in
 *  subscription_updates (the stripe-worker's, from Stripe events and from its
 *  billing API): the only writer of customers and subscriptions.
 *
 *  Woken by NOTIFY subscription_updates on its own LISTEN session and by the
 *  worker's tick (which catches up on anything a lost notification missed).
 *  Each message is applied in one transaction that takes it with FOR UPDATE
 *  SKIP LOCKED (so any number of subscription-workers share the work), locks
 *  the subscription row, applies the order-proof rule (services/subscription-worker/subs_change.h,
 *  services/subscription-worker/subs_order.h: the subscription-worker's code, shared with the
 *  stripe-worker's immediate update), marks the message applied and
 *  NOTIFYs subscription_changed with the user id.
 *  After the commit the user's entitlements are published to Redis; a
 *  publish that fails stays owed in entitlement_versions and is retried
 *  (services/subscription-worker/subs_publish.h).
 *
 *  Messages:
 *    customer.link           links a platform user to a Stripe customer
 *                            (customers) and to the subscription, and resolves
 *                            subscriptions of that customer whose user was
 *                            unknown.
 *    customer.add            the billing API's checkout customer: adds the
 *                            link user -> customer unless the user has one
 *                            (the first writer wins).
 *    subscription.snapshot   upsert; keyed by the order rule. The user comes
 *                            from the event's metadata.user_id, else the row,
 *                            else customers; if none is known the row is kept
 *                            with user_id NULL until a link arrives.
 *    subscription.deleted    canceled (terminal), whatever the order.
 *    invoice.paid            period moves forward (the monthly usage window
 *                            resets with it); past_due/unpaid/incomplete (and
 *                            trialing, when money was paid) become active.
 *    invoice.payment_failed  active/trialing/past_due become past_due.
 *  An invoice for a subscription not seen yet waits (re-polled, and woken
 *  when the subscription row is created); waiting is not a failed attempt.
 *  The row marked applied carries the outcome the asker reads back (result:
 *  {"stripe_customer_id"} for customer.add, {"newer"} for subscription
 *  changes): the billing API waits for it to answer the user at once
 *  (services/stripe-worker/billing_owner.h).
 *  Failures are retried with back-off; after max_attempts the message is
 *  marked failed with its error.
 */
#ifndef SUBS_APPLY_H_INCLUDED
#define SUBS_APPLY_H_INCLUDED

typedef struct _subs_applier_t subs_applier_t;

/*  An applier with its own Postgres session (LISTENing) and Redis
 *  connection; connects lazily. NULL on bad URLs or OOM. max_attempts <= 0
 *  gives 10. */
subs_applier_t *subs_applier_new(const char *database_url, const char *redis_url, int max_attempts);

void subs_applier_destroy(subs_applier_t **self_p);

/*  Applies up to a bounded number of due messages. Returns > 0 when it
 *  applied a full batch (call again), 0 when done, -1 when Postgres is
 *  unavailable. */
int subs_applier_run(subs_applier_t *self);

/*  The LISTEN session's socket, or -1 (for the worker's watch_fd). */
int subs_applier_fd(subs_applier_t *self);

/*  Reads notifications, then applies what is due. */
void subs_applier_on_fd(subs_applier_t *self);

#endif
