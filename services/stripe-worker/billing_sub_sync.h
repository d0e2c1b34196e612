/*  billing_sub_sync - records Stripe's answer to a subscription change
 *  (cancel, upgrade) at once, before the webhook for the same change arrives.
 *
 *  The subscriptions table belongs to the subscription-worker, and this
 *  module writes none of it: it turns Stripe's answer into the same domain
 *  message an event about the subscription gives (stripe_event_map.h, plan
 *  by stripe_plan.h) and asks the owner to apply it through a
 *  subscription_updates request row (billing_owner.h), waiting for the
 *  owner's outcome, so both paths share the owner's one order-proof rule.
 *  The answer's key is (the second the request was sent, its status,
 *  "api:<ms>:<request id>"): events Stripe created before the request describe
 *  older state and lose, events created later describe this change or a
 *  newer one and win, so the immediate change and the webhook give the same
 *  row in either order.
 */
#ifndef BILLING_SUB_SYNC_H_INCLUDED
#define BILLING_SUB_SYNC_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

#include "common/ob_entitlements.h"
#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"

/*  Registers the statements billing_sub_sync_apply needs on pg. */
void billing_sub_sync_prepare(ob_pg_t *pg);

/*  Asks the owner to apply the subscription (Stripe's answer, sent at
 *  version Unix s) as the subscription of user_id and waits up to wait_ms
 *  for it; then refills the user's entitlements in Redis from what is on
 *  record and fills *after with it (when after is not NULL). source names
 *  the change ("api:<ms>:<request id>": the request's key and last_event_id).
 *  Returns OB_OK also when the row already holds newer state (its keyed
 *  state is then kept); OB_ERR_UPSTREAM when the answer is no usable
 *  subscription; OB_ERR_TRANSIENT when the owner did not apply it in time
 *  (the request stays and will apply). */
ob_err_t billing_sub_sync_apply(ob_pg_t *pg, ob_redis_t *redis, const char *user_id, const json_t *subscription, int64_t version,
                                const char *source, int wait_ms, ob_entitlement_t *after);

#endif
