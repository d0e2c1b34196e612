/*  ob_jwt_auth - JWT verification: header-first algorithm pinning, libjwt
 *  signatures, JWKS keys built with OpenSSL 3, refreshed off the event loop. */
#include "gateway/ob_jwt_auth.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/ob_clock.h"
#include "common/ob_config.h"
#include "common/ob_log.h"
#include "gateway/ob_service_token.h"

/*  A key file is a few hundred bytes; anything this large is not one. */
#define S_MAX_KEY_FILE (64 * 1024)
/*  Leeway beyond a day would make exp meaningless. */
#define S_MAX_LEEWAY_S 86400
/*  exp/nbf outside +-2^53 cannot be a real time and would not survive a double. */
#define S_MAX_TIME 9007199254740992LL

typedef struct {
    char kid[OB_JWT_KID_MAX + 1];
    jwt_alg_t alg;
    char *pem;
    size_t pem_len;
} s_key_t;

/*  Immutable once published: verify reads it under the read lock, a refresh
 *  builds a new one and swaps the pointer under the write lock. */
typedef struct {
    size_t count;
    s_key_t keys[OB_JWT_AUTH_MAX_JWKS_KEYS];
} s_key_set_t;

struct _ob_jwt_auth_t {
    /* Fixed after new(); read without locks. */
    unsigned char *hs_secret;
    size_t hs_secret_len;
    char *static_pem;
    size_t static_pem_len;
    jwt_alg_t static_alg; /* JWT_ALG_NONE when no key file */
    char *jwks_url;
    char *issuer;
    char *audience;
    long leeway_s;
    long min_refresh_ms;
    long refresh_interval_ms;
    long timeout_ms;

    pthread_rwlock_t keys_lock; /* guards jwks */
    s_key_set_t *jwks;

    pthread_mutex_t fetch_mutex; /* one JWKS fetch at a time */

    pthread_mutex_t refresh_mutex; /* guards the fields below */
    pthread_cond_t refresh_cond;
    bool refresh_requested;
    bool stop;
    bool attempted;
    bool last_ok;
    uint64_t last_attempt_ms; /* CLOCK_MONOTONIC */
};

/* ------------------------------------------------------------------------ */
/*  Small helpers                                                            */

static char *
s_strdup_or_null(const char *s)
{
    return (s && *s) ? strdup(s) : NULL;
}

static bool
s_is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*  Decodes unpadded base64url in[0..len) into a malloc'd, NUL-terminated
 *  buffer (the NUL is not counted in *out_len). NULL when the text is not
 *  base64url or on OOM. */
static unsigned char *
s_b64url_decode(const char *in, size_t len, size_t *out_len)
{
    if (len % 4 == 1)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!s_is_b64url((unsigned char)in[i]))
            return NULL;
    size_t padded = (len + 3) / 4 * 4;
    size_t pad = padded - len;
    unsigned char *text = calloc(1, padded + 1); /* zeroed: gcc cannot see len > 0 */
    unsigned char *out = malloc(padded / 4 * 3 + 1);
    if (!text || !out) {
        free(text);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        text[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (unsigned char)in[i];
    memset(text + len, '=', pad);
    int n = EVP_DecodeBlock(out, text, (int)padded);
    free(text);
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return NULL;
    }
    /*  EVP_DecodeBlock counts the zero bytes that stand for '=' padding. */
    *out_len = (size_t)n - pad;
    out[*out_len] = '\0';
    return out;
}

/*  Decodes standard base64 with line breaks (Ruby's Base64.encode64, PEM
 *  bodies) into a malloc'd buffer. NULL when it is not base64. */
static unsigned char *
s_b64_text_decode(const char *in, size_t len, size_t *out_len)
{
    if (len > INT32_MAX / 2)
        return NULL;
    unsigned char *out = malloc(len + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n = 0, tail = 0;
    bool ok = out && ctx;
    if (ok) {
        EVP_DecodeInit(ctx); /* skips whitespace and line breaks */
        ok = EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in, (int)len) >= 0 &&
             EVP_DecodeFinal(ctx, out + n, &tail) == 1 && n + tail > 0;
    }
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)(n + tail);
    return out;
}

/*  A string member of obj, or NULL when absent or not a string. */
static const char *
s_json_str(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* ------------------------------------------------------------------------ */
/*  Keys                                                                     */

/*  The one JWS algorithm a public key may be used with, or NULL. */
static const char *
s_pkey_alg(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return EVP_PKEY_get_bits(pkey) >= 2048 ? "RS256" : NULL; /* shorter RSA keys are breakable */
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        size_t group_len = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_len) == 1 &&
            (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
            return "ES256";
    }
    return NULL;
}

/*  The key as a SubjectPublicKeyInfo PEM, the one form libjwt 1.x reads. */
static int
s_pkey_to_pem(EVP_PKEY *pkey, char **pem_out, size_t *pem_len_out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc = -1;
    if (bio && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
        long len = BIO_get_mem_data(bio, &data);
        char *pem = len > 0 ? malloc((size_t)len + 1) : NULL;
        if (pem) {
            memcpy(pem, data, (size_t)len);
            pem[len] = '\0';
            *pem_out = pem;
            *pem_len_out = (size_t)len;
            rc = 0;
        }
    }
    BIO_free(bio);
    return rc;
}

/*  Decodes a public key from PEM or DER ("PEM" / "DER" in input_type);
 *  certificates are accepted too, for operators who only have the IdP's. */
static EVP_PKEY *
s_decode_pkey(const unsigned char *data, size_t len, const char *input_type)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, input_type, NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (dctx) {
        const unsigned char *p = data;
        size_t left = len;
        if (OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        OSSL_DECODER_CTX_free(dctx);
    }
    if (!pkey && len <= INT32_MAX) {
        X509 *cert = NULL;
        if (strcmp(input_type, "PEM") == 0) {
            BIO *bio = BIO_new_mem_buf(data, (int)len);
            cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
            BIO_free(bio);
        } else {
            const unsigned char *p = data;
            cert = d2i_X509(NULL, &p, (long)len);
        }
        if (cert)
            pkey = X509_get_pubkey(cert);
        X509_free(cert);
    }
    ERR_clear_error(); /* failed attempts must not leave errors for the next OpenSSL caller on this thread */
    return pkey;
}

int
ob_jwt_auth_load_public_key(const char *text, size_t len, char **pem_out, size_t *pem_len_out, const char **alg_out)
{
    if (!text || len == 0 || !pem_out || !pem_len_out || !alg_out)
        return -1;
    static const char armour[] = "-----BEGIN";
    EVP_PKEY *pkey = NULL;
    if (memmem(text, len, armour, sizeof armour - 1)) {
        pkey = s_decode_pkey((const unsigned char *)text, len, "PEM");
    } else {
        size_t raw_len = 0;
        unsigned char *raw = s_b64_text_decode(text, len, &raw_len);
        if (raw) {
            bool is_pem = memmem(raw, raw_len, armour, sizeof armour - 1) != NULL;
            pkey = s_decode_pkey(raw, raw_len, is_pem ? "PEM" : "DER");
            free(raw);
        }
    }
    if (!pkey)
        return -1;
    const char *alg = s_pkey_alg(pkey);
    int rc = (alg && s_pkey_to_pem(pkey, pem_out, pem_len_out) == 0) ? 0 : -1;
    if (rc == 0)
        *alg_out = alg;
    EVP_PKEY_free(pkey);
    return rc;
}

/*  A BIGNUM from a base64url JWK member, or NULL. */
static BIGNUM *
s_jwk_bn(const json_t *jwk, const char *name, size_t *byte_len)
{
    const char *b64 = s_json_str(jwk, name);
    size_t len = 0;
    unsigned char *raw = b64 ? s_b64url_decode(b64, strlen(b64), &len) : NULL;
    BIGNUM *bn = (raw && len > 0) ? BN_bin2bn(raw, (int)len, NULL) : NULL;
    free(raw);
    if (byte_len)
        *byte_len = len;
    return bn;
}

/*  Builds a public key from JWK members with OSSL_PARAM: RSA from (n, e), EC
 *  P-256 from (x, y). NULL when a member is missing or the key is invalid. */
static EVP_PKEY *
s_jwk_to_pkey(const json_t *jwk, const char *kty)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *a = NULL, *b = NULL;
    /*  The builder keeps a pointer to this, not a copy: it must live until
     *  OSSL_PARAM_BLD_to_param below. */
    unsigned char point[65];
    bool is_rsa = strcmp(kty, "RSA") == 0;
    if (!bld)
        goto done;

    if (is_rsa) {
        a = s_jwk_bn(jwk, "n", NULL);
        b = s_jwk_bn(jwk, "e", NULL);
        if (!a || !b || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, a) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, b))
            goto done;
    } else {
        const char *crv = s_json_str(jwk, "crv");
        size_t x_len = 0, y_len = 0;
        a = s_jwk_bn(jwk, "x", &x_len);
        b = s_jwk_bn(jwk, "y", &y_len);
        /*  RFC 7518 6.2.1.2: coordinates are exactly the field size, 32 bytes. */
        point[0] = 0x04; /* uncompressed */
        if (!crv || strcmp(crv, "P-256") != 0 || !a || !b || x_len != 32 || y_len != 32 ||
            BN_bn2binpad(a, point + 1, 32) != 32 || BN_bn2binpad(b, point + 33, 32) != 32 ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
            goto done;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, is_rsa ? "RSA" : "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto done;
    if (!is_rsa) {
        /*  An off-curve point is the classic invalid-curve attack surface. */
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = check && EVP_PKEY_public_check(check) == 1;
        EVP_PKEY_CTX_free(check);
        if (!ok) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
done:
    BN_free(a);
    BN_free(b);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pkey;
}

/*  Turns one JWK into a usable key; 0 when used, -1 when skipped. */
static int
s_jwk_to_key(const json_t *jwk, s_key_t *key)
{
    const char *kid = s_json_str(jwk, "kid");
    const char *kty = s_json_str(jwk, "kty");
    const char *use = s_json_str(jwk, "use");
    const char *alg = s_json_str(jwk, "alg");
    if (!kid || !*kid || strlen(kid) > OB_JWT_KID_MAX || !kty)
        return -1; /* without a kid we could not tell keys apart */
    if (use && strcmp(use, "sig") != 0)
        return -1; /* Keycloak publishes its "enc" (RSA-OAEP) keys in the same set */
    if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0)
        return -1;

    EVP_PKEY *pkey = s_jwk_to_pkey(jwk, kty);
    if (!pkey)
        return -1;
    const char *key_alg = s_pkey_alg(pkey);
    int rc = -1;
    /*  A JWK that names an algorithm is only used with that one. */
    if (key_alg && (!alg || strcmp(alg, key_alg) == 0) && s_pkey_to_pem(pkey, &key->pem, &key->pem_len) == 0) {
        snprintf(key->kid, sizeof key->kid, "%s", kid);
        key->alg = jwt_str_alg(key_alg);
        rc = 0;
    }
    EVP_PKEY_free(pkey);
    return rc;
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
            s_key_t *key = &set->keys[set->count];
            bool duplicate = false;
            const char *kid = s_json_str(jwk, "kid");
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
/*  JWKS fetch (libcurl; blocking, never on an event loop)                   */

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
s_fetch(const ob_jwt_auth_t *self, s_body_t *body)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return -1;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, self->jwks_url);
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
ob_jwt_auth_refresh_jwks(ob_jwt_auth_t *self)
{
    if (!self || !self->jwks_url)
        return -1;
    pthread_mutex_lock(&self->fetch_mutex);
    pthread_mutex_lock(&self->refresh_mutex);
    self->attempted = true;
    self->last_attempt_ms = (uint64_t)ob_clock_mono_ms();
    pthread_mutex_unlock(&self->refresh_mutex);

    s_body_t body = {NULL, 0};
    s_key_set_t *fresh = NULL;
    size_t skipped = 0;
    if (s_fetch(self, &body) == 0) {
        fresh = s_key_set_parse(body.data ? body.data : "", body.len, &skipped);
        if (!fresh)
            ob_log_warn("jwks: the document holds no usable key (%zu skipped)", skipped);
    }
    free(body.data);

    if (fresh) {
        pthread_rwlock_wrlock(&self->keys_lock);
        s_key_set_t *old = self->jwks;
        self->jwks = fresh;
        pthread_rwlock_unlock(&self->keys_lock);
        s_key_set_free(old);
        ob_log_info("jwks: %zu keys loaded, %zu skipped", fresh->count, skipped);
    }
    pthread_mutex_lock(&self->refresh_mutex);
    self->last_ok = fresh != NULL;
    pthread_mutex_unlock(&self->refresh_mutex);
    pthread_mutex_unlock(&self->fetch_mutex);
    return fresh ? 0 : -1;
}

/*  Asks the refresher for an early fetch; cheap, never blocks on I/O. */
static void
s_request_refresh(ob_jwt_auth_t *self)
{
    pthread_mutex_lock(&self->refresh_mutex);
    if (!self->refresh_requested) {
        self->refresh_requested = true;
        pthread_cond_signal(&self->refresh_cond);
    }
    pthread_mutex_unlock(&self->refresh_mutex);
}

void
ob_jwt_auth_run_refresher(ob_jwt_auth_t *self)
{
    if (!self || !self->jwks_url)
        return;
    pthread_mutex_lock(&self->refresh_mutex);
    while (!self->stop) {
        uint64_t now = (uint64_t)ob_clock_mono_ms();
        /*  After a failure retry at the rate-limit pace, not the routine one,
         *  so a start-up without the IdP recovers within seconds. */
        uint64_t due = self->last_attempt_ms +
                       (uint64_t)(self->last_ok ? self->refresh_interval_ms : self->min_refresh_ms);
        if (self->refresh_requested) {
            uint64_t early = self->last_attempt_ms + (uint64_t)self->min_refresh_ms;
            if (early < due)
                due = early;
        }
        if (!self->attempted || now >= due) {
            self->refresh_requested = false;
            pthread_mutex_unlock(&self->refresh_mutex);
            ob_jwt_auth_refresh_jwks(self);
            pthread_mutex_lock(&self->refresh_mutex);
            continue;
        }
        struct timespec until = {(time_t)(due / 1000u), (long)(due % 1000u) * 1000000L};
        pthread_cond_timedwait(&self->refresh_cond, &self->refresh_mutex, &until);
    }
    pthread_mutex_unlock(&self->refresh_mutex);
}

void
ob_jwt_auth_stop_refresher(ob_jwt_auth_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->refresh_mutex);
    self->stop = true;
    pthread_cond_broadcast(&self->refresh_cond);
    pthread_mutex_unlock(&self->refresh_mutex);
}

size_t
ob_jwt_auth_jwks_count(ob_jwt_auth_t *self)
{
    if (!self)
        return 0;
    pthread_rwlock_rdlock(&self->keys_lock);
    size_t count = self->jwks ? self->jwks->count : 0;
    pthread_rwlock_unlock(&self->keys_lock);
    return count;
}

/* ------------------------------------------------------------------------ */
/*  Lifecycle                                                                */

void
ob_jwt_auth_config_from_env(ob_jwt_auth_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hs256_secret = ob_config_get("AUTH_JWT_SECRET");
    cfg->public_key_file = ob_config_get("AUTH_JWT_PUBLIC_KEY_FILE");
    cfg->jwks_url = ob_config_get("AUTH_JWKS_URL");
    cfg->issuer = ob_config_get("AUTH_JWT_ISSUER");
    cfg->audience = ob_config_get("AUTH_JWT_AUDIENCE");
}

/*  Reads a small file whole; NULL when unreadable or too large. */
static char *
s_read_file(const char *path, size_t *len_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *data = malloc(S_MAX_KEY_FILE + 1);
    size_t len = data ? fread(data, 1, S_MAX_KEY_FILE + 1, file) : 0;
    bool ok = data && !ferror(file) && len > 0 && len <= S_MAX_KEY_FILE;
    fclose(file);
    if (!ok) {
        free(data);
        return NULL;
    }
    data[len] = '\0';
    *len_out = len;
    return data;
}

static int
s_load_key_file(ob_jwt_auth_t *self, const char *path)
{
    size_t len = 0;
    char *text = s_read_file(path, &len);
    if (!text) {
        ob_log_error("jwt: AUTH_JWT_PUBLIC_KEY_FILE cannot be read");
        return -1;
    }
    const char *alg = NULL;
    int rc = ob_jwt_auth_load_public_key(text, len, &self->static_pem, &self->static_pem_len, &alg);
    free(text);
    if (rc != 0) {
        ob_log_error("jwt: AUTH_JWT_PUBLIC_KEY_FILE holds no usable public key (RSA >= 2048 bits or EC P-256)");
        return -1;
    }
    self->static_alg = jwt_str_alg(alg);
    return 0;
}

static long
s_or_default(long value, long fallback)
{
    return value > 0 ? value : fallback;
}

ob_jwt_auth_t *
ob_jwt_auth_new(const ob_jwt_auth_config_t *cfg)
{
    if (!cfg)
        return NULL;
    bool has_secret = cfg->hs256_secret && *cfg->hs256_secret;
    bool has_file = cfg->public_key_file && *cfg->public_key_file;
    bool has_jwks = cfg->jwks_url && *cfg->jwks_url;
    if (!has_secret && !has_file && !has_jwks) {
        ob_log_error("jwt: set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_URL");
        return NULL;
    }
    if (has_jwks && strncmp(cfg->jwks_url, "http://", 7) != 0 && strncmp(cfg->jwks_url, "https://", 8) != 0) {
        ob_log_error("jwt: AUTH_JWKS_URL must be an http:// or https:// URL");
        return NULL;
    }

    ob_jwt_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->static_alg = JWT_ALG_NONE;
    self->leeway_s = cfg->leeway_s < 0 ? 0 : cfg->leeway_s == 0 ? OB_JWT_AUTH_DEFAULT_LEEWAY_S : cfg->leeway_s;
    if (self->leeway_s > S_MAX_LEEWAY_S)
        self->leeway_s = S_MAX_LEEWAY_S;
    self->min_refresh_ms = s_or_default(cfg->jwks_min_refresh_ms, OB_JWT_AUTH_DEFAULT_MIN_REFRESH_MS);
    self->refresh_interval_ms = s_or_default(cfg->jwks_refresh_interval_ms, OB_JWT_AUTH_DEFAULT_REFRESH_INTERVAL_MS);
    self->timeout_ms = s_or_default(cfg->jwks_timeout_ms, OB_JWT_AUTH_DEFAULT_TIMEOUT_MS);

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

    bool ok = true;
    if (has_secret) {
        self->hs_secret_len = strlen(cfg->hs256_secret);
        self->hs_secret = malloc(self->hs_secret_len);
        ok = self->hs_secret != NULL;
        if (ok)
            memcpy(self->hs_secret, cfg->hs256_secret, self->hs_secret_len);
        if (self->hs_secret_len < 32)
            ob_log_warn("jwt: AUTH_JWT_SECRET is shorter than 32 bytes; HS256 needs at least 256 bits of key");
    }
    if (ok && has_file)
        ok = s_load_key_file(self, cfg->public_key_file) == 0;
    if (ok && has_jwks)
        ok = (self->jwks_url = strdup(cfg->jwks_url)) != NULL;
    if (ok && cfg->issuer && *cfg->issuer)
        ok = (self->issuer = s_strdup_or_null(cfg->issuer)) != NULL;
    if (ok && cfg->audience && *cfg->audience)
        ok = (self->audience = s_strdup_or_null(cfg->audience)) != NULL;
    if (!ok)
        ob_jwt_auth_destroy(&self);
    return self;
}

void
ob_jwt_auth_destroy(ob_jwt_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_jwt_auth_t *self = *self_p;
    if (self->hs_secret)
        OPENSSL_clear_free(self->hs_secret, self->hs_secret_len);
    free(self->static_pem);
    free(self->jwks_url);
    free(self->issuer);
    free(self->audience);
    s_key_set_free(self->jwks);
    pthread_rwlock_destroy(&self->keys_lock);
    pthread_mutex_destroy(&self->fetch_mutex);
    pthread_mutex_destroy(&self->refresh_mutex);
    pthread_cond_destroy(&self->refresh_cond);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------ */
/*  Token parsing                                                            */

/*  Splits token[0..len) at its two dots; -1 unless there are exactly three
 *  base64url segments and the first two are non-empty. */
static int
s_split(const char *token, size_t len, size_t *dot1, size_t *dot2)
{
    size_t dots[2];
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (count == 2)
                return -1;
            dots[count++] = i;
        } else if (!s_is_b64url((unsigned char)token[i])) {
            return -1;
        }
    }
    if (count != 2 || dots[0] == 0 || dots[1] == dots[0] + 1)
        return -1;
    *dot1 = dots[0];
    *dot2 = dots[1];
    return 0;
}

/*  Decodes one segment as a JSON object; duplicate members are refused so
 *  that we and libjwt can never read two different values for one name. */
static json_t *
s_segment_json(const char *segment, size_t len)
{
    size_t raw_len = 0;
    unsigned char *raw = s_b64url_decode(segment, len, &raw_len);
    if (!raw)
        return NULL;
    json_t *obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

static bool
s_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

int
ob_jwt_auth_read_header(const char *token, size_t len, ob_jwt_header_t *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    size_t dot1, dot2;
    if (!token || s_split(token, len, &dot1, &dot2) != 0)
        return -1;
    (void)dot2;
    json_t *header = s_segment_json(token, dot1);
    if (!header)
        return -1;

    int rc = -1;
    const char *alg = s_json_str(header, "alg");
    json_t *kid = json_object_get(header, "kid");
    json_t *typ = json_object_get(header, "typ");
    /*  "crit" names extensions the verifier must understand (RFC 7515 4.1.11);
     *  we understand none. jku/x5u/jwk are ignored: keys never come from the
     *  token itself. */
    if (!alg || !*alg || strlen(alg) >= sizeof out->alg || json_object_get(header, "crit"))
        goto done;
    if (kid && (!json_is_string(kid) || json_string_length(kid) == 0 || json_string_length(kid) > OB_JWT_KID_MAX ||
                s_has_control(json_string_value(kid))))
        goto done;
    if (typ && !json_is_string(typ))
        goto done;
    snprintf(out->alg, sizeof out->alg, "%s", alg);
    if (kid) {
        snprintf(out->kid, sizeof out->kid, "%s", json_string_value(kid));
        out->has_kid = true;
    }
    out->typ_ok = !typ || strcasecmp(json_string_value(typ), "JWT") == 0;
    rc = 0;
done:
    json_decref(header);
    return rc;
}

/* ------------------------------------------------------------------------ */
/*  Verification                                                             */

/*  Only these three are ever accepted; anything else (none, HS384, PS256, ...)
 *  is not allowed whatever the keys. */
static jwt_alg_t
s_supported_alg(const char *name)
{
    if (strcmp(name, "HS256") == 0)
        return JWT_ALG_HS256;
    if (strcmp(name, "RS256") == 0)
        return JWT_ALG_RS256;
    if (strcmp(name, "ES256") == 0)
        return JWT_ALG_ES256;
    return JWT_ALG_INVAL;
}

/*  Chooses the key for (alg, kid) under the read lock. Returns NULL with
 *  *key and *key_len set, or the reason code why there is no key. */
static const char *
s_pick_key(const ob_jwt_auth_t *self, const ob_jwt_header_t *header, jwt_alg_t alg, const unsigned char **key,
           size_t *key_len)
{
    if (header->has_kid && self->jwks) {
        for (size_t i = 0; i < self->jwks->count; i++) {
            const s_key_t *k = &self->jwks->keys[i];
            if (strcmp(k->kid, header->kid) != 0)
                continue;
            if (k->alg != alg)
                return "algorithm_not_allowed";
            *key = (const unsigned char *)k->pem;
            *key_len = k->pem_len;
            return NULL;
        }
    }
    if (alg == JWT_ALG_HS256 && self->hs_secret) {
        *key = self->hs_secret;
        *key_len = self->hs_secret_len;
        return NULL;
    }
    if (alg == self->static_alg) {
        *key = (const unsigned char *)self->static_pem;
        *key_len = self->static_pem_len;
        return NULL;
    }
    /*  HS256 is never served by the JWKS (we only keep RSA and EC keys), so
     *  an HS256 token without a secret configured is an algorithm problem,
     *  not a key we have yet to fetch. */
    if (self->jwks_url && alg != JWT_ALG_HS256)
        return "unknown_key";
    return "algorithm_not_allowed";
}

/*  A NumericDate member as seconds; -1 when present but unusable, 0 when
 *  absent, 1 when read. */
static int
s_numeric_date(const json_t *claims, const char *name, int64_t *out)
{
    json_t *value = json_object_get(claims, name);
    if (!value)
        return 0;
    double d;
    if (json_is_integer(value)) {
        json_int_t i = json_integer_value(value);
        if (i > S_MAX_TIME || i < -S_MAX_TIME)
            return -1;
        *out = (int64_t)i;
        return 1;
    }
    if (!json_is_real(value))
        return -1;
    d = json_real_value(value);
    if (!isfinite(d) || d > (double)S_MAX_TIME || d < -(double)S_MAX_TIME)
        return -1;
    *out = (int64_t)floor(d);
    return 1;
}

static bool
s_audience_matches(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *item;
        json_array_foreach(aud, i, item)
        {
            if (json_is_string(item) && strcmp(json_string_value(item), want) == 0)
                return true;
        }
    }
    return false;
}

/*  Checks the verified claims; NULL when good (then *out is filled), else the
 *  reason code. */
static const char *
s_check_claims(const ob_jwt_auth_t *self, const json_t *claims, int64_t now_s, ob_jwt_claims_t *out)
{
    int64_t exp = 0, nbf = 0, earliest, latest;
    if (s_numeric_date(claims, "exp", &exp) != 1)
        return "token_malformed"; /* a token without exp would never expire */
    int has_nbf = s_numeric_date(claims, "nbf", &nbf);
    if (has_nbf < 0)
        return "token_malformed";
    if (__builtin_sub_overflow(now_s, (int64_t)self->leeway_s, &earliest))
        earliest = INT64_MIN;
    if (__builtin_add_overflow(now_s, (int64_t)self->leeway_s, &latest))
        latest = INT64_MAX;
    if (earliest >= exp)
        return "token_expired";
    if (has_nbf && nbf > latest)
        return "token_not_yet_valid";

    if (self->issuer) {
        const char *iss = s_json_str(claims, "iss");
        if (!iss || strcmp(iss, self->issuer) != 0)
            return "wrong_issuer";
    }
    if (self->audience && !s_audience_matches(json_object_get(claims, "aud"), self->audience))
        return "wrong_audience";

    const char *sub = s_json_str(claims, "sub");
    if (!sub || !*sub || strlen(sub) > OB_JWT_SUB_MAX || s_has_control(sub))
        return "token_malformed";
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    const char *email = s_json_str(claims, "email");
    if (email && strlen(email) <= OB_JWT_EMAIL_MAX && !s_has_control(email))
        snprintf(out->email, sizeof out->email, "%s", email);
    out->exp = exp;
    return NULL;
}

ob_err_t
ob_jwt_auth_verify(ob_jwt_auth_t *self, const char *token, size_t len, int64_t now_s, ob_jwt_claims_t *out,
                   const char **reason_code)
{
    ob_jwt_claims_t claims;
    memset(&claims, 0, sizeof claims);
    const char *reason = NULL;
    ob_err_t err = OB_ERR_UNAUTHORIZED;
    char *copy = NULL;
    json_t *payload = NULL;
    ob_jwt_header_t header;
    size_t dot1, dot2;

    if (!self) {
        err = OB_ERR_INTERNAL;
        reason = "internal";
        goto done;
    }
    if (!token || len == 0) {
        reason = "token_missing";
        goto done;
    }
    if (len > OB_JWT_AUTH_MAX_TOKEN || ob_jwt_auth_read_header(token, len, &header) != 0 ||
        s_split(token, len, &dot1, &dot2) != 0) {
        reason = "token_malformed";
        goto done;
    }
    /*  The algorithm decides before any key is touched: see the header. */
    jwt_alg_t alg = s_supported_alg(header.alg);
    if (alg == JWT_ALG_INVAL) {
        reason = "algorithm_not_allowed";
        goto done;
    }
    if (!header.typ_ok) {
        reason = "token_malformed"; /* libjwt 1.x refuses any typ but "JWT" */
        goto done;
    }
    if (dot2 + 1 == len) {
        reason = "bad_signature"; /* a signing algorithm with no signature */
        goto done;
    }
    copy = malloc(len + 1); /* libjwt wants a C string; the token is a view */
    if (!copy) {
        err = OB_ERR_INTERNAL;
        reason = "internal";
        goto done;
    }
    memcpy(copy, token, len);
    copy[len] = '\0';

    const unsigned char *key = NULL;
    size_t key_len = 0;
    int rc = 0;
    jwt_t *jwt = NULL;
    pthread_rwlock_rdlock(&self->keys_lock);
    reason = s_pick_key(self, &header, alg, &key, &key_len);
    if (!reason)
        rc = jwt_decode(&jwt, copy, key, (int)key_len);
    pthread_rwlock_unlock(&self->keys_lock);
    if (reason) {
        if (strcmp(reason, "unknown_key") == 0)
            s_request_refresh(self);
        goto done;
    }
    jwt_free(jwt);
    if (rc != 0) {
        err = rc == ENOMEM ? OB_ERR_INTERNAL : OB_ERR_UNAUTHORIZED;
        reason = rc == ENOMEM ? "internal" : "bad_signature";
        goto done;
    }

    /*  The signature covers these exact bytes; read the claims ourselves so
     *  that exp may be a real, aud an array, and sizes are bounded. */
    payload = s_segment_json(token + dot1 + 1, dot2 - dot1 - 1);
    reason = payload ? s_check_claims(self, payload, now_s, &claims) : "token_malformed";
    if (!reason)
        err = OB_OK;

done:
    json_decref(payload);
    free(copy);
    if (out)
        *out = claims; /* zeroed unless OB_OK */
    if (reason_code)
        *reason_code = err == OB_OK ? "ok" : reason;
    return err;
}

/* ------------------------------------------------------------------------ */
/*  Finding the token                                                        */

static bool
s_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*  The value of cookie `name` in a Cookie header, per RFC 6265 5.4 / 4.2.1. */
static int
s_find_cookie(const char *header, size_t len, const char *name, const char **value, size_t *value_len)
{
    size_t name_len = strlen(name);
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && header[end] != ';')
            end++;
        size_t start = pos;
        pos = end + 1;
        while (start < end && s_is_ows(header[start]))
            start++;
        while (end > start && s_is_ows(header[end - 1]))
            end--;
        const char *eq = memchr(header + start, '=', end - start);
        if (!eq)
            continue;
        size_t key_end = (size_t)(eq - header);
        while (key_end > start && s_is_ows(header[key_end - 1]))
            key_end--;
        if (key_end - start != name_len || memcmp(header + start, name, name_len) != 0)
            continue;
        size_t v = (size_t)(eq - header) + 1;
        while (v < end && s_is_ows(header[v]))
            v++;
        if (end - v >= 2 && header[v] == '"' && header[end - 1] == '"') {
            v++;
            end--;
        }
        if (end > v) {
            *value = header + v;
            *value_len = end - v;
            return 0;
        }
    }
    return -1;
}

int
ob_jwt_auth_extract_token(const char *authz, size_t authz_len, const char *cookie_header, size_t cookie_len,
                          const char *cookie_name, const char **tok, size_t *tok_len)
{
    if (!tok || !tok_len)
        return -1;
    if (authz && authz_len && ob_service_token_parse_bearer(authz, authz_len, tok, tok_len) == 0)
        return 0;
    if (cookie_header && cookie_len && cookie_name && *cookie_name)
        return s_find_cookie(cookie_header, cookie_len, cookie_name, tok, tok_len);
    return -1;
}
