/*  reconcile - our subscriptions against Stripe's and Lago's: what
 *  `billing-admin reconcile` and the stripe-worker's daily run share.
 *
 *  Reading: every local subscription (subscriptions rows), Stripe's (list
 *  subscriptions, status=all, every page) and, with a Lago client, Lago's
 *  (active and terminated, every page), compared by reconcile_drift.h.
 *
 *  since (Unix seconds, 0 = everything) narrows the work to what is recent:
 *  Stripe is listed with created[gte]=since, and only the local
 *  subscriptions created or updated since then are looked for in Stripe (one
 *  missing from the listed window is retrieved by id before it is called
 *  missing_in_stripe, so an old subscription changed lately is no false
 *  drift). Lago is listed whole (its list has no date filter).
 *
 *  Fixing: Stripe's truth goes through the same path as webhooks. For each
 *  fixable drift, Stripe's object as just listed is recorded in the
 *  stripe-worker's inbox (stripe_events) as a customer.subscription.updated
 *  event "reconcile_<subscription>_<unix s>" created now; the stripe-worker
 *  maps it into a subscription_updates request row and the
 *  subscription-worker applies it with its one order-proof rule (a real
 *  event Stripe sends later still wins). The inbox is the stripe-worker's
 *  table: billing-admin writes there as the stripe-worker's operator tool.
 */
#ifndef RECONCILE_H_INCLUDED
#define RECONCILE_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#include "clients/lago_api.h"
#include "clients/stripe_api.h"
#include "common/ob_pg.h"

/*  The drift (reconcile_drift.h), a new array; NULL on failure with error
 *  saying which side could not be read. lago may be NULL (no Lago drift).
 *  When stripe_subs is not NULL it receives Stripe's objects (a new array,
 *  the caller decrefs it) for reconcile_record_fixes. */
json_t *reconcile_subscriptions(ob_pg_t *pg, stripe_api_t *stripe, lago_api_t *lago, long long since, json_t **stripe_subs,
                                char *error, size_t cap);

/*  Records Stripe's object for each fixable drift as an inbox event (above);
 *  appends the event ids to ids. Returns how many were recorded, -1 when
 *  Postgres refused. A second call in the same second records nothing new. */
int reconcile_record_fixes(ob_pg_t *pg, const json_t *drift, const json_t *stripe_subs, json_t *ids);

/*  Polls count_sql ($1: ids as a JSON array) every 100 ms, for at most
 *  wait_s seconds, until it counts 0. */
void reconcile_wait_none(ob_pg_t *pg, const char *count_sql, const json_t *ids, int wait_s);

/*  Waits up to wait_s seconds until none of the events ids, nor the request
 *  rows they gave the subscription-worker, is pending any more. */
void reconcile_wait_processed(ob_pg_t *pg, const json_t *ids, int wait_s);

/*  Per kind, how many drifts: {"missing_here": 2, ...} (a new object). */
json_t *reconcile_count_kinds(const json_t *drift);

#endif
