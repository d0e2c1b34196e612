/*  ob_jwks - a JWKS key set: parse the document, publish it behind an
 *  rwlock, fetch it with libcurl and refresh it from a dedicated thread.
 *  Split from ob_jwt_auth so that the module doing I/O and owning locks is
 *  separate from the one deciding whether a token is good. */
#include "gateway/ob_jwks.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_clock.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "gateway/ob_jwt_keys.h"

/*  Immutable once published: readers use it under the read lock, a refresh
 *  builds a new one and swaps the pointer under the write lock. */
typedef struct {
    size_t count;
    ob_jwks_key_t keys[OB_JWT_AUTH_MAX_JWKS_KEYS];
} s_key_set_t;

struct _ob_jwks_t {
    /* Fixed after new(); read without locks. */
    char *url;
    long min_refresh_ms;
    long refresh_interval_ms;
    long timeout_ms;

    pthread_rwlock_t keys_lock; /* guards set */
    s_key_set_t *set;

    pthread_mutex_t fetch_mutex; /* one fetch at a time */

    pthread_mutex_t refresh_mutex; /* guards the fields below */
    pthread_cond_t refresh_cond;
    bool refresh_requested;
    bool stop;
    bool attempted;
    bool last_ok;
    uint64_t last_attempt_ms; /* CLOCK_MONOTONIC */
};

/* ------------------------------------------------------------------------ */
/*  Key set                                                                  */

/*  Turns one JWK into a usable key; 0 when used, -1 when skipped. */
static int
s_jwk_to_key(const json_t *jwk, ob_jwks_key_t *key)
{
    const char *kid = ob_json_str(jwk, "kid");
    const char *use = ob_json_str(jwk, "use");
    if (!kid || !*kid || strlen(kid) > OB_JWT_KID_MAX)
        return -1; /* without a kid we could not tell keys apart */
    if (use && strcmp(use, "sig") != 0)
        return -1; /* Keycloak publishes its "enc" (RSA-OAEP) keys in the same set */
    if (ob_jwt_keys_from_jwk(jwk, &key->pem, &key->pem_len, &key->alg) != 0)
        return -1;
    snprintf(key->kid, sizeof key->kid, "%s", kid);
    return 0;
}

static void
s_key_set_free(s_key_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        free(set->keys[i].pem);
    free(set);
}

/*  Parses a JWKS document; NULL when it is not one or has no usable key. */
static s_key_set_t *
s_key_set_parse(const char *doc, size_t len, size_t *skipped)
{
    *skipped = 0;
    json_t *root = json_loadb(doc, len, 0, NULL);
    json_t *keys = json_object_get(root, "keys");
    s_key_set_t *set = json_is_array(keys) ? calloc(1, sizeof *set) : NULL;
    if (set) {
        size_t i;
        json_t *jwk;
        json_array_foreach(keys, i, jwk)
        {
            if (set->count == OB_JWT_AUTH_MAX_JWKS_KEYS || !json_is_object(jwk)) {
                (*skipped)++;
                continue;
            }
            ob_jwks_key_t *key = &set->keys[set->count];
            bool duplicate = false;
            const char *kid = ob_json_str(jwk, "kid");
            for (size_t k = 0; kid && k < set->count; k++)
                duplicate |= strcmp(set->keys[k].kid, kid) == 0;
            if (duplicate || s_jwk_to_key(jwk, key) != 0)
                (*skipped)++;
            else
                set->count++;
        }
        if (set->count == 0) {
            s_key_set_free(set);
            set = NULL;
        }
    }
    json_decref(root);
    return set;
}

/* ------------------------------------------------------------------------ */
/*  Fetch (libcurl; blocking, never on an event loop)                        */

typedef struct {
    char *data;
    size_t len;
} s_body_t;

static size_t
s_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_body_t *body = arg;
    size_t n = size * nmemb;
    if (n > OB_JWT_AUTH_MAX_JWKS_BYTES - body->len)
        return 0; /* too large: abort the transfer */
    char *grown = realloc(body->data, body->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + body->len, ptr, n);
    body->data = grown;
    body->len += n;
    body->data[body->len] = '\0';
    return n;
}

static int
s_fetch(const ob_jwks_t *self, s_body_t *body)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, self->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    /*  Identity providers are often reached over the internal network by plain
     *  HTTP; nothing else (file://, ...) may be fetched. No redirects: the
     *  configured URL is the trust anchor. */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "ops-center-billing-gateway");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);

    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (code != CURLE_OK) {
        ob_log_warn("jwks: fetch failed: %s", *errbuf ? errbuf : curl_easy_strerror(code));
        return -1;
    }
    if (status != 200) {
        ob_log_warn("jwks: fetch answered HTTP %ld", status);
        return -1;
    }
    return 0;
}

int
ob_jwks_refresh(ob_jwks_t *self)
{
    if (!self || !self->url)
        return -1;
    pthread_mutex_lock(&self->fetch_mutex);
    pthread_mutex_lock(&self->refresh_mutex);
    self->attempted = true;
    self->last_attempt_ms = (uint64_t)ob_clock_mono_ms();
    pthread_mutex_unlock(&self->refresh_mutex);

    s_body_t body = {NULL, 0};
    int rc = -1;
    if (s_fetch(self, &body) == 0)
        rc = ob_jwks_load(self, body.data ? body.data : "", body.len);
    free(body.data);

    pthread_mutex_lock(&self->refresh_mutex);
    self->last_ok = rc == 0;
    pthread_mutex_unlock(&self->refresh_mutex);
    pthread_mutex_unlock(&self->fetch_mutex);
    return rc;
}

int
ob_jwks_load(ob_jwks_t *self, const char *doc, size_t len)
{
    if (!self || !doc)
        return -1;
    size_t skipped = 0;
    s_key_set_t *fresh = len <= OB_JWT_AUTH_MAX_JWKS_BYTES ? s_key_set_parse(doc, len, &skipped) : NULL;
    if (!fresh) {
        ob_log_warn("jwks: the document holds no usable key (%zu skipped)", skipped);
        return -1;
    }
    pthread_rwlock_wrlock(&self->keys_lock);
    s_key_set_t *old = self->set;
    self->set = fresh;
    pthread_rwlock_unlock(&self->keys_lock);
    s_key_set_free(old);
    ob_log_info("jwks: %zu keys loaded, %zu skipped", fresh->count, skipped);
    return 0;
}

void
ob_jwks_request_refresh(ob_jwks_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->refresh_mutex);
    if (!self->refresh_requested) {
        self->refresh_requested = true;
        pthread_cond_signal(&self->refresh_cond);
    }
    pthread_mutex_unlock(&self->refresh_mutex);
}

void
ob_jwks_run_refresher(ob_jwks_t *self)
{
    if (!self || !self->url)
        return;
    pthread_mutex_lock(&self->refresh_mutex);
    while (!self->stop) {
        uint64_t now = (uint64_t)ob_clock_mono_ms();
        /*  After a failure retry at the rate-limit pace, not the routine one,
         *  so a start-up without the IdP recovers within seconds. */
        uint64_t due = self->last_attempt_ms + (uint64_t)(self->last_ok ? self->refresh_interval_ms : self->min_refresh_ms);
        if (self->refresh_requested) {
            uint64_t early = self->last_attempt_ms + (uint64_t)self->min_refresh_ms;
            if (early < due)
                due = early;
        }
        if (!self->attempted || now >= due) {
            self->refresh_requested = false;
            pthread_mutex_unlock(&self->refresh_mutex);
            ob_jwks_refresh(self);
            pthread_mutex_lock(&self->refresh_mutex);
            continue;
        }
        struct timespec until = {(time_t)(due / 1000u), (long)(due % 1000u) * 1000000L};
        pthread_cond_timedwait(&self->refresh_cond, &self->refresh_mutex, &until);
    }
    pthread_mutex_unlock(&self->refresh_mutex);
}

void
ob_jwks_stop_refresher(ob_jwks_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->refresh_mutex);
    self->stop = true;
    pthread_cond_broadcast(&self->refresh_cond);
    pthread_mutex_unlock(&self->refresh_mutex);
}

size_t
ob_jwks_count(ob_jwks_t *self)
{
    if (!self)
        return 0;
    pthread_rwlock_rdlock(&self->keys_lock);
    size_t count = self->set ? self->set->count : 0;
    pthread_rwlock_unlock(&self->keys_lock);
    return count;
}

void
ob_jwks_rdlock(ob_jwks_t *self)
{
    if (self)
        pthread_rwlock_rdlock(&self->keys_lock);
}

void
ob_jwks_unlock(ob_jwks_t *self)
{
    if (self)
        pthread_rwlock_unlock(&self->keys_lock);
}

const ob_jwks_key_t *
ob_jwks_find(const ob_jwks_t *self, const char *kid)
{
    if (!self || !self->set || !kid)
        return NULL;
    for (size_t i = 0; i < self->set->count; i++)
        if (strcmp(self->set->keys[i].kid, kid) == 0)
            return &self->set->keys[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/*  Lifecycle                                                                */

ob_jwks_t *
ob_jwks_new(const char *url, long min_refresh_ms, long refresh_interval_ms, long timeout_ms)
{
    if (!url)
        return NULL;
    ob_jwks_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->url = strdup(url);
    if (!self->url) {
        free(self);
        return NULL;
    }
    self->min_refresh_ms = min_refresh_ms;
    self->refresh_interval_ms = refresh_interval_ms;
    self->timeout_ms = timeout_ms;

    pthread_rwlockattr_t rw_attr;
    pthread_rwlockattr_init(&rw_attr);
    /*  glibc prefers readers by default; with verify on every request a
     *  refresh could then wait forever to publish new keys. */
    pthread_rwlockattr_setkind_np(&rw_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&self->keys_lock, &rw_attr);
    pthread_rwlockattr_destroy(&rw_attr);
    pthread_mutex_init(&self->fetch_mutex, NULL);
    pthread_mutex_init(&self->refresh_mutex, NULL);
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC); /* wall-clock jumps must not stall refreshes */
    pthread_cond_init(&self->refresh_cond, &cond_attr);
    pthread_condattr_destroy(&cond_attr);
    return self;
}

void
ob_jwks_destroy(ob_jwks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_jwks_t *self = *self_p;
    free(self->url);
    s_key_set_free(self->set);
    pthread_rwlock_destroy(&self->keys_lock);
    pthread_mutex_destroy(&self->fetch_mutex);
    pthread_mutex_destroy(&self->refresh_mutex);
    pthread_cond_destroy(&self->refresh_cond);
    free(self);
    *self_p = NULL;
}
