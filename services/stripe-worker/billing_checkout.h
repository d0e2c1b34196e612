/*  billing_checkout - method "checkout.create": a Stripe Checkout Session in
 *  subscription mode for a plan.
 *
 *  Body {"plan_id", "interval": "month"|"year"} (interval defaults to month;
 *  the trial has one weekly price and ignores it). Answers 200
 *  {"id","url"}; 400 unknown_plan / invalid_interval /
 *  interval_not_offered; 409 already_subscribed when the user has a live
 *  subscription (use upgrade); 503 price_not_configured when the plan has
 *  no Stripe price yet; Stripe failures as billing_reply_stripe_error.
 *
 *  The user's Stripe customer is reused, or created (metadata[user_id]) and
 *  linked in customers. Idempotency keys: "customer:" from user and email,
 *  "checkout:" from user, plan, interval, customer, the URLs and a 10-minute
 *  window, so a browser retry or a double click returns the same session.
 */
#ifndef BILLING_CHECKOUT_H_INCLUDED
#define BILLING_CHECKOUT_H_INCLUDED

#include "common/ob_worker.h"

/*  state: the worker's stripe_state_t (its billing context). */
void billing_checkout_create(void *state, ob_job_t *job);

#endif
