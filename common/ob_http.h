/*  ob_http - the outbound HTTP client every worker uses (libcurl).
 *
 *  One ob_http_t per thread keeps its connections alive between calls.
 *  ob_http_send() performs one logical request: it retries with jittered
 *  exponential back-off on network errors, 409, 429 and 5xx (and obeys a
 *  Stripe-Should-Retry: true/false header on a 4xx/5xx when present), never
 *  on other 4xx, and sends the same Idempotency-Key on every attempt. The
 *  pause before attempt n+1 is backoff_base_ms * 2^(n-1) scaled by a random
 *  factor in [0.5, 1], raised to the response's Retry-After, both capped at
 *  5 s. Redirects are not followed; only http:// and https:// are allowed.
 *  It never logs headers or bodies (they carry secrets and personal data).
 *
 *  While it waits (for a slow server, or in a back-off or Retry-After pause)
 *  it calls ob_worker_keepalive() at least every 50 ms, so a worker whose
 *  handler calls an outside API keeps heartbeating and the broker never
 *  takes it for dead (a no-op on a thread that runs no worker).
 */
#ifndef OB_HTTP_H_INCLUDED
#define OB_HTTP_H_INCLUDED

#include <stddef.h>
#include <stdbool.h>

#include "common/ob_err.h"

typedef struct _ob_http_t ob_http_t;

typedef struct {
    const char *method;         /* "GET", "POST", "PUT", "DELETE" */
    const char *url;            /* full URL */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;           /* request body or NULL */
    size_t body_len;
    const char *idempotency_key; /* sent as Idempotency-Key when set */
    long timeout_ms;             /* per attempt; 0 = 10000 */
    int max_attempts;            /* 0 = 3; 1 = no retry */
    long backoff_base_ms;        /* 0 = 200; doubled per attempt, with jitter */
} ob_http_request_t;

typedef struct {
    long status; /* HTTP status, 0 when no response arrived */
    char *body;  /* NUL-terminated, owned; freed by ob_http_response_reset */
    size_t body_len;
    char request_id[128]; /* the Request-Id header (Stripe), or "" */
    bool replayed;        /* Idempotent-Replayed: true (Stripe answered from its idempotency store) */
    long long date;       /* the Date header as Unix s (the server's clock), 0 when absent or unreadable */
    int attempts;         /* how many attempts were made */
    char error[256];      /* curl's error text when status is 0 */
} ob_http_response_t;

/*  A client; NULL on failure. Call curl_global_init once per process first
 *  (ob_http_global_init does it). */
ob_http_t *ob_http_new(void);
void ob_http_destroy(ob_http_t **self_p);
int ob_http_global_init(void);

/*  Performs the request (with retries). Returns OB_OK when a response with
 *  any status arrived (inspect resp->status; after the last retry it may be
 *  a 5xx), OB_ERR_TRANSIENT when none did after all attempts (network error
 *  or timeout; resp->error says which), OB_ERR_UPSTREAM when a body exceeded
 *  8 MiB (not retried; resp->status is set, resp->body is NULL),
 *  OB_ERR_INVALID when the request is unusable (no method or URL, a header
 *  line with CR/LF or without ':', an Idempotency-Key over 255 bytes, an
 *  unsupported scheme), OB_ERR_INTERNAL when out of memory. resp is reset
 *  first and must be released with ob_http_response_reset. Not thread-safe
 *  per client. */
ob_err_t ob_http_send(ob_http_t *self, const ob_http_request_t *req, ob_http_response_t *resp);

/*  Frees the body and zeroes the response. */
void ob_http_response_reset(ob_http_response_t *resp);

#endif
