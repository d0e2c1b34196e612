/*  notifier_smtp - the SMTP transfer (libcurl). */
#include "services/notifier/notifier_smtp.h"

#include <stdio.h>
#include <string.h>

static size_t
s_on_read(char *buffer, size_t size, size_t n, void *arg)
{
    notifier_transfer_t *t = arg;
    size_t room = size * n, left = t->payload_len - t->sent;
    size_t take = left < room ? left : room;
    memcpy(buffer, t->payload + t->sent, take);
    t->sent += take;
    return take;
}

int
notifier_smtp_prepare(notifier_transfer_t *t, const notifier_settings_t *settings, const char *from_address)
{
    char from[340], rcpt[340];
    snprintf(from, sizeof from, "<%s>", from_address);
    snprintf(rcpt, sizeof rcpt, "<%s>", t->email_to);
    t->list = curl_slist_append(NULL, rcpt);
    t->easy = curl_easy_init();
    if (!t->list || !t->easy) {
        snprintf(t->error, sizeof t->error, "out of memory");
        return -1;
    }
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, settings->smtp_url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (settings->smtp_user)
        curl_easy_setopt(e, CURLOPT_USERNAME, settings->smtp_user);
    if (settings->smtp_password)
        curl_easy_setopt(e, CURLOPT_PASSWORD, settings->smtp_password);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->list);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->payload_len);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, s_on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, settings->smtp_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, settings->smtp_timeout_ms < 10000 ? settings->smtp_timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    return 0;
}

bool
notifier_smtp_permanent(CURLcode result, long reply_code)
{
    return result != CURLE_OK && reply_code >= 500 && reply_code < 600;
}
