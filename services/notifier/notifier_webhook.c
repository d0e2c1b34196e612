/*  notifier_webhook - the webhook request (libcurl). */
#include "services/notifier/notifier_webhook.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "services/notifier/notifier_sign.h"
#include "services/notifier/notifier_ssrf.h"

static size_t
s_on_body(char *data, size_t size, size_t n, void *arg)
{
    notifier_transfer_t *t = arg;
    size_t len = size * n;
    size_t room = sizeof t->response - 1 - t->response_len;
    size_t take = len < room ? len : room;
    memcpy(t->response + t->response_len, data, take);
    t->response_len += take;
    return len; /* the rest is read and dropped: memory stays bounded */
}

static size_t
s_on_header(char *data, size_t size, size_t n, void *arg)
{
    notifier_transfer_t *t = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char value[32];
        size_t v = len - 12 < sizeof value - 1 ? len - 12 : sizeof value - 1;
        memcpy(value, data + 12, v);
        value[v] = '\0';
        t->retry_after_s = notifier_webhook_retry_after(value);
    }
    return len;
}

/*  Refuses the connection when it reached a non-public address. */
static int
s_on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port, int conn_local_port)
{
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    bool allow_private = arg != NULL;
    return allow_private || notifier_ssrf_address_public(conn_primary_ip) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

long
notifier_webhook_retry_after(const char *value)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (!isdigit((unsigned char)*value))
        return 0;
    char *end;
    long s = strtol(value, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (*end || s < 0)
        return 0;
    return s > 86400 ? 86400 : s;
}

notifier_webhook_outcome_t
notifier_webhook_outcome(CURLcode result, long status)
{
    if (result != CURLE_OK)
        return NOTIFIER_WEBHOOK_RETRY;
    if (status >= 200 && status < 300)
        return NOTIFIER_WEBHOOK_SENT;
    if (status == 410)
        return NOTIFIER_WEBHOOK_GONE;
    return NOTIFIER_WEBHOOK_RETRY;
}

int
notifier_webhook_prepare(notifier_transfer_t *t, const char *url, const char *secret, const char *previous_secret, int64_t now_s,
                         long timeout_ms, bool allow_private)
{
    char signature[256] = "";
    if (notifier_sign_append(secret, t->id, now_s, t->payload, t->payload_len, signature, sizeof signature) != 0 ||
        (previous_secret &&
         notifier_sign_append(previous_secret, t->id, now_s, t->payload, t->payload_len, signature, sizeof signature) != 0)) {
        snprintf(t->error, sizeof t->error, "the endpoint's secret is unusable");
        return -1;
    }
    char line[320];
    const char *lines[4];
    char id_line[96], stamp_line[64];
    snprintf(id_line, sizeof id_line, "webhook-id: %s", t->id);
    snprintf(stamp_line, sizeof stamp_line, "webhook-timestamp: %" PRId64, now_s);
    snprintf(line, sizeof line, "webhook-signature: %s", signature);
    lines[0] = id_line;
    lines[1] = stamp_line;
    lines[2] = line;
    lines[3] = "Content-Type: application/json";
    for (int i = 0; i < 4; i++) {
        struct curl_slist *next = curl_slist_append(t->list, lines[i]);
        if (!next) {
            snprintf(t->error, sizeof t->error, "out of memory");
            return -1;
        }
        t->list = next;
    }
    t->list = curl_slist_append(t->list, "Expect:"); /* no 100-continue round trip */
    t->easy = curl_easy_init();
    if (!t->easy || !t->list) {
        snprintf(t->error, sizeof t->error, "out of memory");
        return -1;
    }
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->payload_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->list);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ops-billing-webhooks/1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, s_on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, allow_private ? (void *)t : NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    return 0;
}
