/*  lago_forward - sends the usage ledger to Lago's batch events endpoint.
 *
 *  A step claims up to LAGO_API_BATCH_MAX unforwarded events whose time has
 *  come (FOR UPDATE SKIP LOCKED, then a lease: next_forward_at moves 60 s
 *  ahead and commits, so several workers share the backlog and a worker that
 *  dies mid-call only delays its batch). It resolves each event's subscription
 *  (the user's subscription at the time of the event), sends one batch with
 *  transaction_id as Lago's idempotency key, and marks the events forwarded.
 *  On failure the batch backs off exponentially (1 s doubling up to
 *  max_backoff_s); it is never skipped. Events of a user without any
 *  subscription wait (retried every 5 min, and at once when a subscription of
 *  theirs is synced to Lago).
 */
#ifndef LAGO_FORWARD_H_INCLUDED
#define LAGO_FORWARD_H_INCLUDED

#include "common/ob_pg.h"
#include "clients/lago_api.h"

void lago_forward_prepare(ob_pg_t *pg);

/*  One batch. Returns how many events were forwarded (LAGO_API_BATCH_MAX:
 *  there may be more), 0 when none were due, -1 on failure. */
int lago_forward_step(ob_pg_t *pg, lago_api_t *api, int max_backoff_s);

/*  The back-off after the attempts-th failed attempt, in seconds. Pure. */
int lago_forward_backoff_s(int attempts, int max_backoff_s);

#endif
