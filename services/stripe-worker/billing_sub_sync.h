/*  billing_sub_sync - writes Stripe's answer to a subscription change (cancel,
 *  upgrade) into the subscriptions table at once, before the webhook for the
 *  same change arrives.
 *
 *  The table belongs to the subscription-worker, whose applier (subs_apply.c)
 *  records the same changes from Stripe's events. This writer follows the
 *  same order-proof rule (subs_order.h), written in SQL: a terminal row never
 *  changes; otherwise the write needs a greater (created, status rank, id)
 *  key than the row's; period dates only move forward. An API answer's key
 *  is (the second the request was sent, its status, "api:<request id>"):
 *  events Stripe created before the request describe older state and lose,
 *  events created later describe this change or a newer one and win, so the
 *  immediate write and the webhook give the same row in either order. Both
 *  are whole-state upserts, so repeating either is harmless.
 *
 *  Kept separate so that it can be replaced by the webhook path's own
 *  "apply a Stripe subscription object" function once that exists.
 */
#ifndef BILLING_SUB_SYNC_H_INCLUDED
#define BILLING_SUB_SYNC_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/ob_entitlements.h"
#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"

/*  The fields of a Stripe subscription object we store (pure, table-tested).
 *  Period dates are read from the subscription, or from its first item (API
 *  versions since 2025-03-31 keep them there). */
typedef struct {
    char id[128];
    char customer_id[128];
    char status[24];
    char price_id[128];
    char item_id[128];
    char interval[8];
    char plan_hint[65];       /* metadata.plan_id of the subscription or the price, or "" */
    int64_t start_date;
    int64_t current_period_start;
    int64_t current_period_end;
    bool cancel_at_period_end;
    int64_t trial_end;
    int64_t canceled_at;
} billing_sub_fields_t;

/*  0, or -1 when the object is not a usable subscription (no id or status). */
int billing_sub_fields_read(const json_t *subscription, billing_sub_fields_t *out);

/*  Registers the statement below on pg. */
void billing_sub_sync_prepare(ob_pg_t *pg);

/*  Applies the subscription (Stripe's answer, sent at version Unix s) to the
 *  row of user_id in one statement (no transaction of its own); then
 *  republishes the user's entitlements (ob_entitlements_refresh) and fills
 *  *after with the entitlement now on record (when after is not NULL).
 *  source names the change for last_event_id ("api:<request id>"). Returns
 *  OB_OK also when the row already holds newer state (nothing is written). */
ob_err_t billing_sub_sync_apply(ob_pg_t *pg, ob_redis_t *redis, const char *user_id, const json_t *subscription,
                                int64_t version, const char *source, ob_entitlement_t *after);

#endif
