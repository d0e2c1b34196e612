/*  stripe_processor - works through the webhook inbox after the
 *  acknowledgement, on its own thread with its own Postgres session so it
 *  never stalls ingest.
 *
 *  Claim: a short UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED) takes
 *  a few due events, counts the attempt and sets a lease (locked_until); a
 *  claim whose worker dies runs out and any live worker takes the event
 *  again. Process: one transaction per event locks its row, checks it is
 *  still pending (so a second claimer after a lease ran out does nothing),
 *  writes the domain message for the subscription-worker (NOTIFY
 *  subscription_updates) and the notification request, and marks the event
 *  processed (or ignored): the effect and the mark commit together. A
 *  failure rolls back and schedules a retry with exponential back-off;
 *  after max_attempts the event is marked failed with its error.
 */
#ifndef STRIPE_PROCESSOR_H_INCLUDED
#define STRIPE_PROCESSOR_H_INCLUDED

#include "clients/stripe_api.h"

#include <stdbool.h>

typedef struct _stripe_processor_t stripe_processor_t;

typedef struct {
    int batch;          /* events per claim (default 32) */
    int max_attempts;   /* STRIPE_EVENT_MAX_ATTEMPTS (default 8) */
    long retry_base_ms; /* first back-off (default 1000), doubling */
    long retry_max_ms;  /* back-off cap (default 3600000) */
    int lease_s;        /* claim lease (default 60) */
    int idle_ms;        /* poll period when nothing woke it (default 500) */
    stripe_mode_t mode; /* of STRIPE_SECRET_KEY: a stored event of the other mode is marked failed, never applied */
} stripe_processor_config_t;

/*  A processor with its own session to conninfo (not connected yet). NULL
 *  on bad conninfo or OOM. Zero fields of config take the defaults. */
stripe_processor_t *stripe_processor_new(const char *conninfo, const stripe_processor_config_t *config);

/*  Stops the thread if it runs, then frees. NULL-safe; nulls *self_p. */
void stripe_processor_destroy(stripe_processor_t **self_p);

/*  Claims and processes one batch on the calling thread. Returns how many
 *  events it claimed (> 0: there may be more), 0 when none were due, -1
 *  when Postgres is unavailable. */
int stripe_processor_run_once(stripe_processor_t *self);

/*  Starts the background thread (signals blocked there). 0 or -1. */
int stripe_processor_start(stripe_processor_t *self);

/*  Asks the thread to look for work now (thread-safe; arg is the processor). */
void stripe_processor_wake(void *self);

#endif
