/*  notifier_webhook - one Standard Webhooks delivery attempt as a curl easy
 *  handle, and what its answer means.
 *
 *  POST of the stored body with webhook-id (the message id: the same on every
 *  attempt), webhook-timestamp (this attempt's time) and webhook-signature
 *  (one v1 signature per live secret), Content-Type: application/json. No
 *  redirects; http and https only; the connected address is checked against
 *  the SSRF rules before the request is sent. */
#ifndef NOTIFIER_WEBHOOK_H_INCLUDED
#define NOTIFIER_WEBHOOK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "services/notifier/notifier_transfer.h"

typedef enum {
    NOTIFIER_WEBHOOK_SENT,  /* 2xx */
    NOTIFIER_WEBHOOK_RETRY, /* anything else: network error, timeout, 3xx, 4xx, 5xx */
    NOTIFIER_WEBHOOK_GONE   /* 410: the endpoint is disabled */
} notifier_webhook_outcome_t;

/*  Prepares t->easy for url. t->id and t->payload (the body) must be set;
 *  previous_secret may be NULL. Returns -1 when a secret is unusable or
 *  curl fails to set up (t->error says which). */
int notifier_webhook_prepare(notifier_transfer_t *t, const char *url, const char *secret, const char *previous_secret,
                             int64_t now_s, long timeout_ms, bool allow_private);

/*  What the transfer's result means. */
notifier_webhook_outcome_t notifier_webhook_outcome(CURLcode result, long status);

/*  Seconds from a Retry-After header value (delta-seconds only; an HTTP
 *  date or garbage gives 0), capped at one day. */
long notifier_webhook_retry_after(const char *value);

#endif
