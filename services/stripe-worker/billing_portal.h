/*  billing_portal - method "portal.create": a Stripe customer-portal session.
 *
 *  Body {"return_url"?} (an http(s) URL; default STRIPE_PORTAL_RETURN_URL,
 *  else the portal's configured default). Answers 200 {"url"}; 404
 *  no_customer when the user has never had a Stripe customer; 400
 *  invalid_return_url. Idempotency key: user, customer, return URL and a
 *  one-minute window (portal sessions are short-lived).
 */
#ifndef BILLING_PORTAL_H_INCLUDED
#define BILLING_PORTAL_H_INCLUDED

#include "common/ob_worker.h"

/*  state: the worker's stripe_state_t (its billing context). */
void billing_portal_create(void *state, ob_job_t *job);

#endif
