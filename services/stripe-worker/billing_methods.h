/*  billing_methods - the stripe-worker's user-facing billing methods, for its
 *  method table (one include): checkout.create, portal.create,
 *  payment_methods.list, invoices.list, subscription.cancel, .resume, .upgrade.
 *  docs/billing-api.md describes the endpoints.
 */
#ifndef BILLING_METHODS_H_INCLUDED
#define BILLING_METHODS_H_INCLUDED

#include "services/stripe-worker/billing_checkout.h"
#include "services/stripe-worker/billing_invoices.h"
#include "services/stripe-worker/billing_payment_methods.h"
#include "services/stripe-worker/billing_portal.h"
#include "services/stripe-worker/billing_subscription.h"

#endif
