/*  subs_entitlements - the entitlement checks internal services ask:
 *
 *    entitlements.get    GET  /api/v1/entitlements/{user_id} (service token)
 *    entitlements.me     GET  /api/v1/entitlements/me        (signed-in user)
 *    entitlements.check  POST /api/v1/entitlements/check     (service token)
 *                        {"user_id","feature"} -> {"allowed":true} or
 *                        {"allowed":false,"reason","upgrade_to"};
 *                        {"user_id","features":[...]} -> {"results":{feature: answer}}
 *
 *  Answered from the Redis copy (common/ob_entitlements.h) with the rules of
 *  common/ob_entitlement_check.h: a hit touches no Postgres. A miss (no copy,
 *  or it expired) is rebuilt from Postgres and published, as every reader
 *  does. upgrade_to comes from the catalogue file (deploy/plans.json), held
 *  in memory: the cheapest plan offered for sale that has the feature.
 */
#ifndef SUBS_ENTITLEMENTS_H_INCLUDED
#define SUBS_ENTITLEMENTS_H_INCLUDED

#include <jansson.h>

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  At most this many features in one batch check. */
#define SUBS_ENTITLEMENTS_BATCH_MAX 64

void subs_entitlements_prepare(ob_pg_t *pg);

/*  The cheapest plan of catalogue (the plans.json document) that has
 *  feature and is not current_plan; trial offers (trial_days > 0) are not
 *  upgrades. NULL when none has it. Borrowed from catalogue. Pure. */
const char *subs_entitlements_upgrade_to(const json_t *catalogue, const char *feature, const char *current_plan);

void subs_entitlements_get(void *state, ob_job_t *job);
void subs_entitlements_me(void *state, ob_job_t *job);
void subs_entitlements_check(void *state, ob_job_t *job);

#endif
