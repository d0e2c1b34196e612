/*  lago_inbox - Lago's webhooks: recorded in lago_webhooks, answered 200
 *  only after the commit, then processed in the background into
 *  notification requests.
 *
 *  Deduplicated by what the signature covers: the SHA-256 of the raw body
 *  the gateway verified. X-Lago-Unique-Key is not signed, so it is stored as
 *  information only: a captured webhook replayed under a new key is a
 *  duplicate, and a key sent first by someone else cannot shadow Lago's
 *  real webhook. A key that is not 1-255 bytes of UTF-8 is 400; any webhook
 *  that cannot be part of the commit gets 503, never 200.
 *
 *    invoice.created          -> notification invoice_created (the customer)
 *    invoice.payment_failure  -> notification payment_failed (the customer)
 *    subscription.terminated  -> notification subscription_terminated; the
 *                                subscription's state is Stripe's to change
 *    event.error, events.errors -> notification usage_event_error (operators)
 *    anything else            -> recorded, status ignored
 */
#ifndef LAGO_INBOX_H_INCLUDED
#define LAGO_INBOX_H_INCLUDED

#include <jansson.h>

#include "common/ob_pg.h"
#include "common/ob_worker.h"

/*  What a webhook becomes: a notification kind ("" = nothing), its user
 *  (NULL for operators) and its payload (new reference, or NULL). Pure. */
typedef struct {
    const char *kind;
    const char *user_id; /* borrowed from the webhook */
    json_t *payload;
} lago_inbox_action_t;

void lago_inbox_decide(const json_t *webhook, lago_inbox_action_t *out);

/*  Registers the statements on pg. */
void lago_inbox_prepare(ob_pg_t *pg);

/*  lago_webhook.ingest (handle_batch; state is the ob_pg_t). */
void lago_inbox_ingest(void *state, ob_job_t **jobs, size_t count);

/*  Processes up to a batch of pending webhooks. Returns how many (-1 on error). */
int lago_inbox_process(ob_pg_t *pg);

#endif
