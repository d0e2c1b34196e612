/*  stripe_inbox - the webhook inbox: Stripe events recorded durably before
 *  the gateway acknowledges them.
 *
 *  "webhook.ingest" is a batch method: every waiting webhook is parsed (id,
 *  type, created, livemode only), the valid ones are inserted by ONE
 *  prepared statement (unnest of binary arrays, ON CONFLICT (id) DO NOTHING)
 *  that commits once, and only then is every job answered 200
 *  {"received":true}: repeats of a known id too. If the insert does not
 *  commit, every job of the batch gets 503 so Stripe retries. A body that is
 *  not a JSON event with an id, a type and a created time gets 400, and so
 *  does an event whose `livemode` is not the mode of STRIPE_SECRET_KEY (400
 *  livemode_mismatch: a test event never reaches live subscriptions, nor
 *  the reverse); neither is recorded. An event of a type the processor
 *  never acts on (stripe_event_is_handled) is recorded as ignored at once,
 *  as the processor would mark it: no claim, no second write, no second
 *  commit for the bulk of what Stripe sends (unless processing is off:
 *  stripe_state_t.ignore_at_ingest).
 */
#ifndef STRIPE_INBOX_H_INCLUDED
#define STRIPE_INBOX_H_INCLUDED

#include "common/ob_pg.h"
#include "common/ob_worker.h"
#include "services/stripe-worker/stripe_state.h"

/*  Registers the inbox's statements on pg. */
void stripe_inbox_prepare(ob_pg_t *pg);

/*  Method "webhook.ingest" (state: stripe_state_t). */
void stripe_inbox_ingest(void *state, ob_job_t **jobs, size_t count);

#endif
