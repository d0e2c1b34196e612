/*  notifier_outbox - the notifier's rows: fan-out, claims with leases, and
 *  outcomes recorded together with the attempt.
 *
 *  A notification request becomes (1) its e-mail, kept on the request row,
 *  and (2) one webhook message per enabled endpoint subscribed to its event
 *  type, created once ("fan-out", fanned_out_at). A claim takes due rows
 *  with FOR UPDATE SKIP LOCKED and sets a lease (locked_until): a notifier
 *  killed mid-delivery leaves its rows to be claimed again when the lease
 *  runs out, so a delivery is at least once and, in the normal case with
 *  any number of notifiers, exactly once. An outcome is written in one
 *  transaction with its attempt's log row, and only while the row is still
 *  pending. */
#ifndef NOTIFIER_OUTBOX_H_INCLUDED
#define NOTIFIER_OUTBOX_H_INCLUDED

#include <stdbool.h>

#include "common/ob_pg.h"
#include "services/notifier/notifier_settings.h"

void notifier_outbox_prepare(ob_pg_t *pg);

/*  Creates the webhook messages of up to 200 requests not fanned out yet.
 *  Returns how many requests were done (> 0: call again), or -1. */
int notifier_outbox_fan_out(ob_pg_t *pg);

/*  Claims up to limit due e-mails. Columns: id, kind, user_id, payload,
 *  attempts, dedupe_key, address (the customer's, else the payload's),
 *  unsubscribed, channel. NULL on failure (caller PQclear()s). */
PGresult *notifier_outbox_claim_emails(ob_pg_t *pg, int limit, long lease_s);

/*  Takes the day's slot of a capped mail class for the request; true when
 *  this request holds it (first come, or already ours). */
ob_err_t notifier_outbox_take_cap(ob_pg_t *pg, const char *user_id, const char *cap, const char *notification_id, bool *ours);

/*  Marks the e-mail skipped (no attempt was made) with reason. */
ob_err_t notifier_outbox_skip_email(ob_pg_t *pg, const char *id, const char *reason);

/*  Looks at the e-mail again in retry_in_ms (no attempt was made: the
 *  address may not be known yet), with reason. */
ob_err_t notifier_outbox_defer_email(ob_pg_t *pg, const char *id, const char *reason, long retry_in_ms);

typedef struct {
    const char *id;
    int attempt;
    bool ok;
    long code; /* SMTP reply or HTTP status; 0 = none */
    long duration_ms;
    const char *response; /* excerpt or NULL */
    const char *error;    /* or NULL */
    const char *status;   /* the row's new status: pending, sent or failed */
    long retry_in_ms;     /* when pending */
} notifier_outcome_t;

/*  Logs the e-mail attempt and sets its outcome in one statement. */
ob_err_t notifier_outbox_record_email(ob_pg_t *pg, const notifier_outcome_t *outcome, const char *to, const char *message_id);

/*  Claims up to limit due webhook messages of enabled endpoints, at most
 *  per_endpoint per endpoint and none of busy_endpoints (a Postgres text[]
 *  literal). Columns: id, endpoint_id, attempts, body, url, secret,
 *  previous_secret (NULL unless still valid). */
PGresult *notifier_outbox_claim_webhooks(ob_pg_t *pg, int limit, long lease_s, const char *busy_endpoints, int per_endpoint);

/*  Logs the webhook attempt, sets the message's outcome and updates the
 *  endpoint's health in one transaction: success clears its failure record,
 *  410 disables it, a failure while it has failed every attempt for
 *  disable_after_s disables it. When that disabled it, *disabled_reason
 *  (cap bytes) says why, and a notification for operators
 *  (webhook_endpoint_disabled) is stored in the same transaction. */
ob_err_t notifier_outbox_record_webhook(ob_pg_t *pg, const notifier_outcome_t *outcome, const char *endpoint_id, bool gone,
                                        long disable_after_s, char *disabled_reason, size_t cap);

#endif
