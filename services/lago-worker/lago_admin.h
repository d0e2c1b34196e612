/*  lago_admin - operators' view of usage forwarding to Lago (broker service
 *  "lago", on its own session: gateway/ob_routes.c).
 *
 *    GET  /api/v1/admin/usage-forwarding[?state=failing|pending&limit=N]
 *         the events not yet acknowledged by Lago, oldest first: by default
 *         the failing ones (last_error set), with the backlog's size.
 *    POST /api/v1/admin/usage-forwarding/{transaction_id}/retry
 *         makes one unforwarded event due now (404 unknown, 409 already
 *         forwarded).
 *    POST /api/v1/admin/usage-forwarding/retry
 *         makes every failing event due now.
 *
 *  A retry only moves next_forward_at: the forwarder (lago_forward.c) sends
 *  it on its next pass with its usual lease and idempotency (Lago keeps one
 *  copy per transaction_id), so a retry can never send an event twice in
 *  effect. The lago-worker owns usage_events; nobody else writes it.
 */
#ifndef LAGO_ADMIN_H_INCLUDED
#define LAGO_ADMIN_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  Registers the statements on the session. */
void lago_admin_prepare(ob_pg_t *pg);

/*  Worker methods: admin.forwarding.list, .retry, .retry_all. pg is the
 *  session they run on. */
void lago_admin_forwarding_list(ob_pg_t *pg, ob_job_t *job);
void lago_admin_forwarding_retry(ob_pg_t *pg, ob_job_t *job);
void lago_admin_forwarding_retry_all(ob_pg_t *pg, ob_job_t *job);

#endif
