/*  billing_invoices - method "invoices.list": the user's billing history
 *  (GET /api/v1/billing/invoices), from Stripe's list-invoices API.
 *
 *  200 {"invoices":[{"id","number","status","amount_due","amount_paid",
 *  "total","currency","created","period_start","period_end",
 *  "hosted_invoice_url","invoice_pdf","billing_reason"}],"has_more"}: the
 *  newest 24, times ISO 8601, amounts in the currency's smallest unit.
 *  Drafts are left out (the customer has not been billed yet). A user
 *  without a Stripe customer gets an empty list. Stripe failures map as for
 *  every billing method (billing_reply_stripe_error).
 */
#ifndef BILLING_INVOICES_H_INCLUDED
#define BILLING_INVOICES_H_INCLUDED

#include <jansson.h>

#include "common/ob_worker.h"

#define BILLING_INVOICES_LIMIT 24

/*  state: the worker's stripe_state_t. */
void billing_invoices_list(void *state, ob_job_t *job);

/*  The answer for Stripe's list object (NULL: no customer). Pure. */
json_t *billing_invoices_json(const json_t *list);

#endif
