/*  ob_http - outbound HTTP over one reused libcurl easy handle.
 *
 *  Each attempt starts from curl_easy_reset(), so no option leaks from one
 *  request into the next while the connection cache survives. The retry
 *  decision is made from the status and the Stripe-Should-Retry header; the
 *  pause before the next attempt is a jittered exponential back-off, raised
 *  to Retry-After (capped) when the server asks for more.
 */
#include "common/ob_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/ob_clock.h"
#include "common/ob_worker.h"

#define OB_HTTP_MAX_BODY (8u * 1024u * 1024u)
#define OB_HTTP_DEFAULT_TIMEOUT_MS 10000L
#define OB_HTTP_CONNECT_TIMEOUT_MS 5000L
#define OB_HTTP_DEFAULT_ATTEMPTS 3
#define OB_HTTP_DEFAULT_BACKOFF_MS 200L
#define OB_HTTP_MAX_DELAY_MS 5000L
#define OB_HTTP_WAIT_SLICE_MS 50 /* longest wait between two heartbeat checks */

struct _ob_http_t {
    CURL *curl;
    CURLM *multi;      /* drives curl so the thread's worker keeps heartbeating while it waits */
    unsigned int seed; /* rand_r state for jitter: one client per thread */
    char errbuf[CURL_ERROR_SIZE];
};

/*  What one attempt brought back, before it is handed to the caller. */
typedef struct {
    char *body;
    size_t len, cap;
    bool too_big;
    int should_retry;    /* Stripe-Should-Retry: -1 absent, 0 false, 1 true */
    long retry_after_ms; /* Retry-After, -1 when absent */
    char request_id[128];
    bool replayed;
    long long date;
} s_attempt_t;

int
ob_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

ob_http_t *
ob_http_new(void)
{
    ob_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->curl = curl_easy_init();
    self->multi = curl_multi_init(); /* NULL: plain curl_easy_perform */
    if (!self->curl) {
        if (self->multi)
            curl_multi_cleanup(self->multi);
        free(self);
        return NULL;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    self->seed = (unsigned int)(now.tv_nsec ^ now.tv_sec ^ (uintptr_t)self);
    return self;
}

void
ob_http_destroy(ob_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_http_t *self = *self_p;
    if (self->multi)
        curl_multi_cleanup(self->multi);
    curl_easy_cleanup(self->curl);
    free(self);
    *self_p = NULL;
}

void
ob_http_response_reset(ob_http_response_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

static size_t
s_on_body(char *data, size_t size, size_t nmemb, void *user)
{
    s_attempt_t *at = user;
    size_t n = size * nmemb;
    if (at->len + n > OB_HTTP_MAX_BODY) {
        at->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (at->len + n + 1 > at->cap) {
        size_t cap = at->cap ? at->cap : 4096;
        while (cap < at->len + n + 1)
            cap *= 2;
        char *grown = realloc(at->body, cap);
        if (!grown)
            return 0;
        at->body = grown;
        at->cap = cap;
    }
    memcpy(at->body + at->len, data, n);
    at->len += n;
    at->body[at->len] = '\0';
    return n;
}

/*  The value of header line "Name: value\r\n" when its name is name, trimmed
 *  into out; false otherwise. */
static bool
s_header_value(const char *line, size_t len, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return false;
    const char *v = line + name_len + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

/*  Retry-After is either delta-seconds or an HTTP date. */
static long
s_retry_after_ms(const char *value)
{
    char *end;
    errno = 0;
    long secs = strtol(value, &end, 10);
    if (end != value && *end == '\0' && errno == 0)
        return secs < 0 ? 0 : (secs > OB_HTTP_MAX_DELAY_MS / 1000 ? OB_HTTP_MAX_DELAY_MS : secs * 1000);
    time_t when = curl_getdate(value, NULL);
    if (when < 0)
        return -1;
    time_t now = time(NULL);
    if (when <= now)
        return 0;
    return when - now > OB_HTTP_MAX_DELAY_MS / 1000 ? OB_HTTP_MAX_DELAY_MS : (long)(when - now) * 1000;
}

static size_t
s_on_header(char *line, size_t size, size_t nmemb, void *user)
{
    s_attempt_t *at = user;
    size_t len = size * nmemb;
    char value[128];
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the last one's headers. */
        at->should_retry = -1;
        at->retry_after_ms = -1;
        at->request_id[0] = '\0';
        at->replayed = false;
        at->date = 0;
    } else if (s_header_value(line, len, "Idempotent-Replayed", value, sizeof value)) {
        at->replayed = strcasecmp(value, "true") == 0;
    } else if (s_header_value(line, len, "Date", value, sizeof value)) {
        time_t when = curl_getdate(value, NULL);
        at->date = when > 0 ? (long long)when : 0;
    } else if (s_header_value(line, len, "Stripe-Should-Retry", value, sizeof value)) {
        if (strcasecmp(value, "true") == 0)
            at->should_retry = 1;
        else if (strcasecmp(value, "false") == 0)
            at->should_retry = 0;
    } else if (s_header_value(line, len, "Retry-After", value, sizeof value)) {
        at->retry_after_ms = s_retry_after_ms(value);
    } else {
        s_header_value(line, len, "Request-Id", at->request_id, sizeof at->request_id);
    }
    return len;
}

static bool
s_has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/*  Header lines built once per logical request; NULL on a bad line or OOM. */
static struct curl_slist *
s_build_headers(const ob_http_request_t *req, bool *bad)
{
    struct curl_slist *list = NULL, *next;
    *bad = false;
    for (const char *const *h = req->headers; h && *h; h++) {
        if (s_has_crlf(*h) || !strchr(*h, ':')) {
            *bad = true;
            goto fail;
        }
        if (!(next = curl_slist_append(list, *h)))
            goto fail;
        list = next;
    }
    if (req->idempotency_key && *req->idempotency_key) {
        if (s_has_crlf(req->idempotency_key) || strlen(req->idempotency_key) > 255) {
            *bad = true;
            goto fail;
        }
        char line[300];
        snprintf(line, sizeof line, "Idempotency-Key: %s", req->idempotency_key);
        if (!(next = curl_slist_append(list, line)))
            goto fail;
        list = next;
    }
    /* No "Expect: 100-continue" round trip for small bodies. */
    if (!(next = curl_slist_append(list, "Expect:")))
        goto fail;
    return next;
fail:
    curl_slist_free_all(list);
    return NULL;
}

/*  Sets up the handle for one attempt. */
static void
s_prepare(ob_http_t *self, const ob_http_request_t *req, struct curl_slist *headers, s_attempt_t *at, long timeout_ms)
{
    CURL *c = self->curl;
    curl_easy_reset(c);
    self->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, self->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < OB_HTTP_CONNECT_TIMEOUT_MS ? timeout_ms : OB_HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, at);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, at);

    const char *body = req->body ? req->body : "";
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
    }
}

static bool
s_is_retryable_status(long status, int should_retry)
{
    if (status >= 200 && status < 400)
        return false;
    if (should_retry >= 0)
        return should_retry == 1;
    return status == 0 || status == 409 || status == 429 || status >= 500;
}

/*  Curl failures that another attempt cannot fix: the request itself is wrong. */
static bool
s_is_caller_error(CURLcode rc)
{
    return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_BAD_FUNCTION_ARGUMENT;
}

/*  base * 2^(attempt-1), times a random factor in [0.5, 1], at most 5 s. */
static long
s_backoff_ms(ob_http_t *self, long base_ms, int attempt)
{
    long delay = base_ms;
    for (int i = 1; i < attempt && delay < OB_HTTP_MAX_DELAY_MS; i++)
        delay *= 2;
    if (delay > OB_HTTP_MAX_DELAY_MS)
        delay = OB_HTTP_MAX_DELAY_MS;
    double factor = 0.5 + 0.5 * ((double)rand_r(&self->seed) / RAND_MAX);
    return (long)((double)delay * factor);
}

/*  Sleeps ms in short slices, keeping the thread's worker heartbeating. */
static void
s_sleep_ms(long ms)
{
    int64_t end = ob_clock_mono_ms() + ms;
    for (int64_t left = ms; left > 0; left = end - ob_clock_mono_ms()) {
        long slice = left < OB_HTTP_WAIT_SLICE_MS ? (long)left : OB_HTTP_WAIT_SLICE_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = slice * 1000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        }
        ob_worker_keepalive();
    }
}

/*  curl_easy_perform, but through the multi handle in short polls, so a slow
 *  server never stops the thread's heartbeats (ob_worker_keepalive; a no-op
 *  off a worker's thread). */
static CURLcode
s_perform(ob_http_t *self)
{
    if (!self->multi || curl_multi_add_handle(self->multi, self->curl) != CURLM_OK)
        return curl_easy_perform(self->curl);
    CURLcode rc = CURLE_COULDNT_CONNECT;
    for (bool done = false; !done;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(self->multi, &running);
        if (mc == CURLM_OK && running)
            mc = curl_multi_poll(self->multi, NULL, 0, OB_HTTP_WAIT_SLICE_MS, NULL);
        ob_worker_keepalive();
        int queued;
        for (CURLMsg *m; (m = curl_multi_info_read(self->multi, &queued));)
            if (m->msg == CURLMSG_DONE && m->easy_handle == self->curl) {
                rc = m->data.result;
                done = true;
            }
        if (mc != CURLM_OK) {
            snprintf(self->errbuf, sizeof self->errbuf, "%s", curl_multi_strerror(mc));
            break;
        }
        if (!running && !done)
            break; /* finished without a message: treated as no response */
    }
    curl_multi_remove_handle(self->multi, self->curl);
    return rc;
}

ob_err_t
ob_http_send(ob_http_t *self, const ob_http_request_t *req, ob_http_response_t *resp)
{
    ob_http_response_reset(resp);
    if (!self || !req || !req->method || !req->url || s_has_crlf(req->method) || (req->body_len && !req->body))
        return OB_ERR_INVALID;

    long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : OB_HTTP_DEFAULT_TIMEOUT_MS;
    int max_attempts = req->max_attempts > 0 ? req->max_attempts : OB_HTTP_DEFAULT_ATTEMPTS;
    long backoff_ms = req->backoff_base_ms > 0 ? req->backoff_base_ms : OB_HTTP_DEFAULT_BACKOFF_MS;

    bool bad = false;
    struct curl_slist *headers = s_build_headers(req, &bad);
    if (!headers)
        return bad ? OB_ERR_INVALID : OB_ERR_INTERNAL;

    ob_err_t result = OB_ERR_TRANSIENT;
    for (int attempt = 1; attempt <= max_attempts; attempt++) {
        s_attempt_t at = {.should_retry = -1, .retry_after_ms = -1};
        s_prepare(self, req, headers, &at, timeout_ms);
        CURLcode rc = s_perform(self);

        ob_http_response_reset(resp);
        resp->attempts = attempt;
        if (at.too_big) {
            curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &resp->status);
            snprintf(resp->error, sizeof resp->error, "response body exceeds %u bytes", OB_HTTP_MAX_BODY);
            snprintf(resp->request_id, sizeof resp->request_id, "%s", at.request_id);
            free(at.body);
            result = OB_ERR_UPSTREAM;
            break;
        }
        if (rc == CURLE_OK) {
            curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &resp->status);
            resp->body = at.body ? at.body : calloc(1, 1);
            resp->body_len = at.len;
            snprintf(resp->request_id, sizeof resp->request_id, "%s", at.request_id);
            resp->replayed = at.replayed;
            resp->date = at.date;
            if (!resp->body) {
                result = OB_ERR_INTERNAL;
                break;
            }
            result = OB_OK;
        } else {
            /* A partial response is no response: the body cannot be trusted. */
            free(at.body);
            snprintf(resp->error, sizeof resp->error, "%s", self->errbuf[0] ? self->errbuf : curl_easy_strerror(rc));
            result = s_is_caller_error(rc) ? OB_ERR_INVALID : OB_ERR_TRANSIENT;
            if (result == OB_ERR_INVALID)
                break;
        }
        if (attempt == max_attempts || !s_is_retryable_status(resp->status, at.should_retry))
            break;
        long delay = s_backoff_ms(self, backoff_ms, attempt);
        if (at.retry_after_ms > delay)
            delay = at.retry_after_ms;
        s_sleep_ms(delay);
    }
    curl_slist_free_all(headers);
    return result;
}
