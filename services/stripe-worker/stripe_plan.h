/*  stripe_plan - which plan of the catalogue a subscription message names.
 *
 *  stripe_event_map.h lists a subscription's plan candidates (price lookup
 *  key, price metadata.plan_id, subscription metadata.plan_id); the plan is
 *  the first one the plans table knows. Used by the event processor and by
 *  the billing API's immediate update, on their own sessions.
 */
#ifndef STRIPE_PLAN_H_INCLUDED
#define STRIPE_PLAN_H_INCLUDED

#include <jansson.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"

/*  Registers the statement below on pg. */
void stripe_plan_prepare(ob_pg_t *pg);

/*  Replaces the message's plan_candidates with plan_id. OB_OK (also for a
 *  message without candidates, left as it is), OB_ERR_NOT_FOUND when no
 *  candidate is a known plan (plan_id is then null: the stored plan stays),
 *  or a database failure (the message is unchanged). */
ob_err_t stripe_plan_resolve(ob_pg_t *pg, json_t *message);

#endif
