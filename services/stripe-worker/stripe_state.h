/*  stripe_state - what the stripe-worker's main-thread methods share: the
 *  worker state main.c makes and passes to every method. The worker runtime
 *  calls methods on that one thread; the event processor has its own
 *  session on its own thread. */
#ifndef STRIPE_STATE_H_INCLUDED
#define STRIPE_STATE_H_INCLUDED

#include <stdbool.h>

#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "clients/stripe_api.h"
#include "services/stripe-worker/billing_context.h"

typedef struct {
    ob_pg_t *pg;                /* the main thread's session (inbox, admin and billing statements) */
    ob_redis_t *redis;          /* the main thread's Redis connection (entitlements) */
    billing_context_t *billing; /* the billing methods' context; NULL when it could not be made */
    stripe_mode_t mode;         /* of STRIPE_SECRET_KEY: events of the other mode are refused */
    void (*wake)(void *arg);    /* called after a commit that stored new events */
    void *wake_arg;
    /*  Events of types the processor never acts on are recorded ignored at
     *  ingest (its fast path, decided before the commit). False when
     *  processing is off (STRIPE_EVENT_PROCESSING=false): everything stays
     *  pending, as recorded. */
    bool ignore_at_ingest;
} stripe_state_t;

#endif
