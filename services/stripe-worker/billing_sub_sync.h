/*  billing_sub_sync - writes Stripe's answer to a subscription change (cancel,
 *  upgrade) into the subscriptions table at once, before the webhook for the
 *  same change arrives.
 *
 *  The table belongs to the subscription-worker. This module writes nothing
 *  itself: it turns Stripe's answer into the same domain message an event
 *  about the subscription gives (stripe_event_map.h, plan by stripe_plan.h)
 *  and hands it to the subscription-worker's own applier,
 *  ob_sub_apply_subscription (common/ob_sub_apply.h), so both paths share
 *  one order-proof rule and one set of statements. The answer's key is (the
 *  second the request was sent, its status, "~api:<ms>:<request id>"): events
 *  Stripe created before the request describe older state and lose, events
 *  created later describe this change or a newer one and win, so the
 *  immediate write and the webhook give the same row in either order.
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

/*  Applies the subscription (Stripe's answer, sent at version Unix s) as the
 *  subscription of user_id, in a transaction of its own on pg; then
 *  republishes the user's entitlements to Redis and fills *after with the
 *  entitlement now on record (when after is not NULL). source names the
 *  change for last_event_id ("~api:<ms>:<request id>"). Returns OB_OK also when
 *  the row already holds newer state (its keyed state is then kept);
 *  OB_ERR_UPSTREAM when the answer is no usable subscription. */
ob_err_t billing_sub_sync_apply(ob_pg_t *pg, ob_redis_t *redis, const char *user_id, const json_t *subscription, int64_t version,
                                const char *source, ob_entitlement_t *after);

#endif
