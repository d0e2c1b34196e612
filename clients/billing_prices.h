/*  billing_prices - which Stripe price a plan is sold at.
 *
 *  Every paid plan has a monthly price (lookup key <plan>_monthly) and, when
 *  the catalogue gives one, a yearly price (<plan>_yearly). A plan with
 *  trial_days > 0 (the $1 trial) is sold as one recurring weekly price
 *  (<plan>_weekly) whatever interval the caller asks for: a Stripe
 *  subscription item cannot be billed "once, for seven days", and a weekly
 *  $1 price gives exactly one paid week per period (docs/billing-api.md).
 *
 *  Price ids live in stripe_prices (migration 030), filled by
 *  `billing-admin setup-stripe`; when a row is missing, the price is looked up
 *  at Stripe by its lookup key and cached there.
 */
#ifndef BILLING_PRICES_H_INCLUDED
#define BILLING_PRICES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "clients/stripe_api.h"

/*  What a plan sells at one interval. */
typedef struct {
    char plan_id[65];
    char interval[8];    /* "week", "month" or "year" (Stripe's recurring[interval]) */
    char lookup_key[96]; /* "<plan>_weekly|_monthly|_yearly" */
    long long unit_amount;
    char currency[8];
    bool trial;
} billing_price_spec_t;

/*  The pure rule (table-tested): the offer for plan_id at the requested
 *  interval (NULL or "" = the plan's default: monthly, or weekly for a
 *  trial). yearly_cents < 0 means the plan has no yearly price. Returns
 *  OB_OK, or OB_ERR_INVALID with a stable code in *why: "invalid_interval"
 *  (not month or year), "interval_not_offered" (no yearly price). */
ob_err_t billing_price_offer(const char *plan_id, long long monthly_cents, long long yearly_cents, int trial_days,
                             const char *currency, const char *requested, billing_price_spec_t *out, const char **why);

/*  Registers the statements below on pg. */
void billing_prices_prepare(ob_pg_t *pg);

/*  Reads the plan from the plans table and applies billing_price_offer.
 *  OB_ERR_INVALID with *why "unknown_plan" when no active plan has that id. */
ob_err_t billing_price_spec(ob_pg_t *pg, const char *plan_id, const char *requested, billing_price_spec_t *out, const char **why);

/*  The Stripe price id for spec: the stripe_prices row, else Stripe by lookup
 *  key (then cached). OB_ERR_NOT_FOUND when neither has one (setup-stripe has
 *  not run); Stripe and database failures as they come, with *stripe_error
 *  filled for the former. */
ob_err_t billing_price_resolve(ob_pg_t *pg, stripe_api_t *stripe, const billing_price_spec_t *spec, char *price_id, size_t cap,
                               stripe_error_t *stripe_error);

/*  Records (or replaces) the price for spec in stripe_prices. */
ob_err_t billing_price_store(ob_pg_t *pg, const billing_price_spec_t *spec, const char *price_id, const char *product_id);

#endif
