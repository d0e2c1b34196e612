/*  billing_owner - how the billing API asks the subscription-worker (the
 *  owner of customers and subscriptions) for a change and answers the user
 *  from the owner's outcome.
 *
 *  The request is a durable subscription_updates row (migration 011/012),
 *  the same hand-off the webhook path uses: inserted with a NOTIFY, applied
 *  by the owner in the transaction that changes its tables, which also
 *  writes the outcome on the row. This module waits for that outcome
 *  (polling the row, a few ms apart, for at most wait_ms), so the user still
 *  sees the change at once. When the owner does not answer in time the
 *  request stays and will apply; the caller answers 503.
 *
 *  A repeat of the same (source, kind) is the same request: the wait reads
 *  the first one's outcome.
 */
#ifndef BILLING_OWNER_H_INCLUDED
#define BILLING_OWNER_H_INCLUDED

#include <jansson.h>

#include "common/ob_err.h"
#include "common/ob_pg.h"

/*  How long the billing API waits for the owner at most (ms). */
#define BILLING_OWNER_WAIT_MS 5000

/*  Registers the statements below on pg. */
void billing_owner_prepare(ob_pg_t *pg);

/*  Inserts the request (kind, payload, subscription_id may be NULL) under
 *  the idempotency source, wakes the owner and waits up to wait_ms for it to
 *  apply it. OB_OK with *outcome (a new reference, may be NULL when the
 *  owner wrote none); OB_ERR_TRANSIENT when it did not answer in time (the
 *  request stays pending) or marked it failed; database failures as
 *  ob_pg_classify. */
ob_err_t billing_owner_request(ob_pg_t *pg, const char *source, const char *kind, const char *subscription_id,
                               const json_t *payload, int wait_ms, json_t **outcome);

#endif
