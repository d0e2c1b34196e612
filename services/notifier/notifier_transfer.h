/*  notifier_transfer - one delivery attempt in flight (an e-mail or a
 *  webhook), owned by the delivery loop from claim to recorded outcome.
 *  Holds the curl easy handle and every buffer curl reads from or writes to,
 *  so they live exactly as long as the transfer. */
#ifndef NOTIFIER_TRANSFER_H_INCLUDED
#define NOTIFIER_TRANSFER_H_INCLUDED

#include <curl/curl.h>
#include <stdint.h>
#include <stddef.h>

typedef enum { NOTIFIER_TRANSFER_EMAIL, NOTIFIER_TRANSFER_WEBHOOK } notifier_transfer_kind_t;

typedef struct notifier_transfer_s {
    notifier_transfer_kind_t kind;
    CURL *easy;
    char id[64];          /* the notification id (e-mail) or the message id (webhook) */
    char endpoint_id[72]; /* webhook */
    int attempt;          /* 1-based, as claimed */
    char *payload;        /* the message or the body (owned) */
    size_t payload_len, sent;
    struct curl_slist *list; /* headers (webhook) or recipients (e-mail) */
    char response[512];      /* the first bytes of the answer */
    size_t response_len;
    long retry_after_s; /* from a Retry-After header, 0 when none */
    int64_t started_ms; /* monotonic */
    char error[CURL_ERROR_SIZE];
    char email_to[320];
    char message_id[160];
} notifier_transfer_t;

/*  Frees the transfer's buffers and easy handle (remove it from the multi
 *  handle first). NULL-safe; nulls *self_p. */
void notifier_transfer_destroy(notifier_transfer_t **self_p);

/*  The printable-ASCII excerpt of the answer (other bytes become '?'), for
 *  the delivery log: NUL-terminated, in the transfer's response buffer. */
const char *notifier_transfer_excerpt(notifier_transfer_t *self);

#endif
