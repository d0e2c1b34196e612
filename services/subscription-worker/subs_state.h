/*  subs_state - what the subscription-worker's methods share: the worker
 *  state main.c makes and passes to every method and callback as `state`
 *  (the pattern of every worker: stripe_state_t, usage_state_t,
 *  notifier_state_t). The runtime calls them on the main thread.
 */
#ifndef SUBS_STATE_H_INCLUDED
#define SUBS_STATE_H_INCLUDED

#include <jansson.h>

#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/subscription-worker/subs_apply.h"

typedef struct {
    ob_pg_t *pg;             /* the methods' session (catalogue, status) */
    ob_redis_t *redis;       /* entitlements for status.get and the checks; owed publishes */
    subs_applier_t *applier; /* applies subscription_updates, on its own sessions */
    json_t *catalogue;       /* the plans file as read at start (upgrade_to of the checks) */
} subs_state_t;

#endif
