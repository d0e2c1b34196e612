/*  stripe_admin_methods - the stripe-worker's operator methods over the
 *  webhook inbox (behind the gateway's admin token), on clients/stripe_admin.
 */
#ifndef STRIPE_ADMIN_METHODS_H_INCLUDED
#define STRIPE_ADMIN_METHODS_H_INCLUDED

#include "common/ob_worker.h"

/*  Methods "admin.events.list" and "admin.events.replay" (state: stripe_state_t). */
void stripe_admin_events_list(void *state, ob_job_t *job);
void stripe_admin_events_replay(void *state, ob_job_t *job);

#endif
