/*  notifier_unsubscribe - signed links and the stored choice. */
#include "services/notifier/notifier_unsubscribe.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_query.h"
#include "services/notifier/notifier_reply.h"
#include "services/notifier/notifier_state.h"

int
notifier_unsubscribe_token(const char *secret, const char *user_id, char *out, size_t cap)
{
    if (!secret || !user_id || cap < 44)
        return -1;
    size_t len = strlen(user_id);
    char *data = malloc(12 + len);
    if (!data)
        return -1;
    memcpy(data, "unsubscribe:", 12);
    memcpy(data + 12, user_id, len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)data, 12 + len, mac, &mac_len);
    free(data);
    if (!ok || mac_len != 32)
        return -1;
    unsigned char b64[48];
    EVP_EncodeBlock(b64, mac, 32); /* 44 characters, the last one '=' */
    for (int i = 0; i < 43; i++)
        out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[43] = '\0';
    return 0;
}

char *
notifier_unsubscribe_url(const char *base_url, const char *secret, const char *user_id)
{
    char token[48];
    if (!base_url || notifier_unsubscribe_token(secret, user_id, token, sizeof token) != 0)
        return NULL;
    char *escaped = curl_easy_escape(NULL, user_id, 0);
    if (!escaped)
        return NULL;
    size_t base_len = strlen(base_url);
    while (base_len && base_url[base_len - 1] == '/')
        base_len--;
    size_t cap = base_len + strlen(escaped) + 128;
    char *url = malloc(cap);
    if (url)
        snprintf(url, cap, "%.*s/api/v1/notifications/unsubscribe?user=%s&sig=%s", (int)base_len, base_url, escaped, token);
    curl_free(escaped);
    return url;
}

void
notifier_unsubscribe_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "unsubscribe_get",
                  "SELECT json_build_object('user_id', $1::text, 'unsubscribed',"
                  " coalesce((SELECT unsubscribed_at IS NOT NULL FROM notification_preferences WHERE user_id = $1), false))::text",
                  1);
    ob_pg_prepare(
        pg, "unsubscribe_set",
        "INSERT INTO notification_preferences (user_id, unsubscribed_at) VALUES ($1, now())"
        " ON CONFLICT (user_id) DO UPDATE SET unsubscribed_at = coalesce(notification_preferences.unsubscribed_at, now()),"
        " updated_at = now()"
        " RETURNING json_build_object('user_id', user_id, 'unsubscribed', true)::text",
        1);
}

/*  Checks the link; answers 403 itself and returns -1 when it is not ours. */
static int
s_verified_user(notifier_state_t *api, ob_job_t *job, char *user, size_t cap)
{
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return -1;
    char sig[64] = "", expected[48];
    if (ob_query_get(call.query, "user", user, cap) != 0 || !user[0] || ob_query_get(call.query, "sig", sig, sizeof sig) != 0) {
        ob_job_reply_error(job, 400, "invalid_link", "the link needs user and sig parameters");
        return -1;
    }
    if (!api->settings->unsubscribe_secret ||
        notifier_unsubscribe_token(api->settings->unsubscribe_secret, user, expected, sizeof expected) != 0 || strlen(sig) != 43 ||
        CRYPTO_memcmp(sig, expected, 43) != 0) {
        ob_job_reply_error(job, 403, "invalid_signature", "this unsubscribe link is not valid");
        return -1;
    }
    return 0;
}

static void
s_run(notifier_state_t *api, ob_job_t *job, const char *statement)
{
    char user[257];
    if (s_verified_user(api, job, user, sizeof user) != 0)
        return;
    const char *values[] = {user};
    notifier_reply_query(api->pg, job, 200, statement, 1, values, "no such user");
}

void
notifier_unsubscribe_check(void *api, ob_job_t *job)
{
    s_run(api, job, "unsubscribe_get");
}

void
notifier_unsubscribe_apply(void *api, ob_job_t *job)
{
    s_run(api, job, "unsubscribe_set");
}
