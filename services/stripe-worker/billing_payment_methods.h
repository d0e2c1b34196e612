/*  billing_payment_methods - method "payment_methods.list": the user's cards.
 *
 *  Answers 200 {"payment_methods":[{"id","brand","last4","exp_month",
 *  "exp_year","default"}], "default_payment_method": id|null}; a user with no
 *  Stripe customer has no cards (an empty list, not an error). The default
 *  is the customer's invoice_settings.default_payment_method.
 */
#ifndef BILLING_PAYMENT_METHODS_H_INCLUDED
#define BILLING_PAYMENT_METHODS_H_INCLUDED

#include <jansson.h>

#include "common/ob_worker.h"

/*  state: the worker's stripe_state_t (its billing context). */
void billing_payment_methods_list(void *state, ob_job_t *job);

/*  The answer for a Stripe customer and its payment-method list (pure, for
 *  tests). Either may be NULL. Returns a new object. */
json_t *billing_payment_methods_json(const json_t *customer, const json_t *list);

#endif
