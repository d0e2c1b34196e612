/*  stripe_admin - the operators' view of the webhook inbox: list events by
 *  status, replay one. Used by the stripe-worker's admin methods
 *  (stripe_admin_methods.c) and by `billing-admin webhook-events`; the
 *  stripe_events table is the stripe-worker's.
 */
#ifndef STRIPE_ADMIN_H_INCLUDED
#define STRIPE_ADMIN_H_INCLUDED

#include <stddef.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"

#define STRIPE_ADMIN_DEFAULT_LIMIT 100
#define STRIPE_ADMIN_MAX_LIMIT 1000

/*  Registers the statements below on pg. */
void stripe_admin_prepare(ob_pg_t *pg);

/*  True for pending, processed, ignored and failed. */
int stripe_admin_status_valid(const char *status);

/*  {"events":[{id,type,created,status,attempts,last_error,received_at,
 *  processed_at}]} newest first; status NULL = all. *json_out is malloc'd
 *  (caller frees). OB_OK or OB_ERR_TRANSIENT/INTERNAL. */
ob_err_t stripe_admin_list(ob_pg_t *pg, const char *status, int limit, char **json_out);

/*  Resets the event to pending with attempts 0 so a processor takes it
 *  again (its effects are idempotent, so replaying a processed event is
 *  harmless). *json_out = {"id","status":"pending"}. OB_ERR_NOT_FOUND when
 *  the id is unknown. */
ob_err_t stripe_admin_replay(ob_pg_t *pg, const char *id, char **json_out);

#endif
