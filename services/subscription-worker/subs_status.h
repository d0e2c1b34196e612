/*  subs_status - method "status.get": the signed-in user's subscription and
 *  API-call usage, for GET /api/v1/billing/subscription-status.
 *
 *  200 {"plan_id","plan_name","status","interval","live",
 *       "current_period_end","cancel_at_period_end","trial_end",
 *       "features":[...],
 *       "usage":{"api_calls":{"used","limit","remaining","resets_at"}}}
 *  Times are ISO 8601 UTC or null; limit and remaining are null when
 *  unlimited; resets_at is null for a quota over the whole subscription
 *  (the trial). A user who never subscribed gets 200 with "status":"none",
 *  "live":false and nulls, so a page can render it without a special case.
 *
 *  The entitlement comes from Redis (ob_entitlements_get: Postgres on a
 *  miss); usage is what the ledger's owner publishes for code api_calls in
 *  the entitlement's quota window (its usage_used() function, migration
 *  022: this service never sums another's table), read with the plan name
 *  in one query.
 */
#ifndef SUBS_STATUS_H_INCLUDED
#define SUBS_STATUS_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

#include "common/ob_entitlements.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Registers the statements below on pg. */
void subs_status_prepare(ob_pg_t *pg);

/*  Method "status.get" (state: the subs_state_t). */
void subs_status_get(void *state, ob_job_t *job);

/*  The answer for an entitlement, its plan's name (NULL when none) and the
 *  calls used in its window (pure, table-tested). */
json_t *subs_status_json(const ob_entitlement_t *e, const char *plan_name, int64_t used);

#endif
