/*  ob_stripe_sig - Stripe-Signature verification (HMAC-SHA256, OpenSSL 3). */
#include "gateway/ob_stripe_sig.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*  The longest t we accept: 18 digits always fit in int64_t, and real Unix
 *  times have 10. */
#define S_MAX_T_DIGITS 18

typedef struct {
    const char *ptr;
    size_t len;
} s_span_t;

typedef struct {
    int64_t t;
    bool has_t;
    s_span_t v1[OB_STRIPE_SIG_MAX_V1];
    size_t v1_count;
} s_header_t;

/*  An HMAC-SHA256 context with the digest already chosen. Fetching the MAC and
 *  the digest goes through OpenSSL's provider lookup; doing it once and then
 *  duplicating the context keeps that off every request. */
static EVP_MAC_CTX *s_hmac_template;
static pthread_once_t s_hmac_once = PTHREAD_ONCE_INIT;

static void
s_hmac_init(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (!mac)
        return;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!ctx)
        return;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return;
    }
    s_hmac_template = ctx;
}

/*  Lowercase hex of HMAC-SHA256(secret, "<t>.<body>") into out[0..65). */
static int
s_sign(const char *secret, size_t secret_len, int64_t t, const void *body, size_t body_len, char out[OB_STRIPE_SIG_HEX_LEN + 1])
{
    pthread_once(&s_hmac_once, s_hmac_init);
    if (!s_hmac_template)
        return -1;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(s_hmac_template);
    if (!ctx)
        return -1;

    /*  Stripe signs the decimal timestamp, so a header "t=0042" is checked as
     *  "42." exactly like Stripe's libraries, which parse t to an integer. */
    char prefix[32];
    int prefix_len = snprintf(prefix, sizeof prefix, "%" PRId64 ".", t);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    int rc = -1;
    if (EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len, NULL) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)prefix_len) == 1 &&
        (body_len == 0 || EVP_MAC_update(ctx, body, body_len) == 1) && EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1 &&
        mac_len == OB_STRIPE_SIG_HEX_LEN / 2) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < mac_len; i++) {
            out[2 * i] = hex[mac[i] >> 4];
            out[2 * i + 1] = hex[mac[i] & 0x0f];
        }
        out[OB_STRIPE_SIG_HEX_LEN] = '\0';
        rc = 0;
    }
    OPENSSL_cleanse(mac, sizeof mac);
    EVP_MAC_CTX_free(ctx);
    return rc;
}

static bool
s_span_is(s_span_t s, const char *literal)
{
    size_t n = strlen(literal);
    return s.len == n && memcmp(s.ptr, literal, n) == 0;
}

/*  Splits the header into items and keeps t and the v1 values.
 *  Returns OB_STRIPE_SIG_OK, MALFORMED or NO_V1. */
static ob_stripe_sig_result_t
s_parse(const char *header, size_t len, s_header_t *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    while (pos <= len) {
        size_t end = pos;
        while (end < len && header[end] != ',')
            end++;
        s_span_t item = {header + pos, end - pos};
        pos = end + 1;

        const char *eq = memchr(item.ptr, '=', item.len);
        if (!eq)
            continue; /* Stripe's libraries skip items they cannot split */
        s_span_t key = {item.ptr, (size_t)(eq - item.ptr)};
        s_span_t value = {eq + 1, item.len - key.len - 1};

        if (s_span_is(key, "t")) {
            if (out->has_t)
                continue; /* the first t is the one Stripe's libraries use */
            if (value.len == 0 || value.len > S_MAX_T_DIGITS)
                return OB_STRIPE_SIG_MALFORMED;
            int64_t t = 0;
            for (size_t i = 0; i < value.len; i++) {
                if (value.ptr[i] < '0' || value.ptr[i] > '9')
                    return OB_STRIPE_SIG_MALFORMED;
                t = t * 10 + (value.ptr[i] - '0');
            }
            out->t = t;
            out->has_t = true;
        } else if (s_span_is(key, "v1")) {
            if (out->v1_count == OB_STRIPE_SIG_MAX_V1)
                return OB_STRIPE_SIG_MALFORMED;
            out->v1[out->v1_count++] = value;
        }
    }
    if (!out->has_t)
        return OB_STRIPE_SIG_MALFORMED;
    return out->v1_count ? OB_STRIPE_SIG_OK : OB_STRIPE_SIG_NO_V1;
}

/*  Calls fn for each non-empty, trimmed entry of a comma-separated list;
 *  returns how many there were. */
typedef void (*s_entry_fn)(const char *entry, size_t len, void *arg);

static size_t
s_each_secret(const char *csv, s_entry_fn fn, void *arg)
{
    size_t count = 0;
    const char *p = csv;
    while (p && *p) {
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        if (*p == ',')
            p++;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > start) {
            count++;
            if (fn)
                fn(start, (size_t)(end - start), arg);
        }
    }
    return count;
}

typedef struct {
    const s_header_t *header;
    const void *body;
    size_t body_len;
    unsigned int matched;
} s_match_t;

static void
s_match_secret(const char *secret, size_t len, void *arg)
{
    s_match_t *m = arg;
    char expected[OB_STRIPE_SIG_HEX_LEN + 1];
    if (s_sign(secret, len, m->header->t, m->body, m->body_len, expected) != 0)
        return; /* fail closed: no match */
    /*  No early exit: each v1 is compared whether or not one already matched.
     *  Only equal-length candidates can match; the length of a presented
     *  signature is the caller's own information, so branching on it leaks
     *  nothing. */
    for (size_t i = 0; i < m->header->v1_count; i++) {
        s_span_t v1 = m->header->v1[i];
        if (v1.len == OB_STRIPE_SIG_HEX_LEN)
            m->matched |= (unsigned int)(CRYPTO_memcmp(expected, v1.ptr, OB_STRIPE_SIG_HEX_LEN) == 0);
    }
    OPENSSL_cleanse(expected, sizeof expected);
}

ob_stripe_sig_result_t
ob_stripe_sig_verify(const char *header, size_t header_len, const void *body, size_t body_len, const char *secrets_csv,
                     long tolerance_s, int64_t now_s, int64_t *signed_at_out)
{
    if (signed_at_out)
        *signed_at_out = 0;
    if (s_each_secret(secrets_csv, NULL, NULL) == 0)
        return OB_STRIPE_SIG_NOT_CONFIGURED;
    if (!header || header_len == 0)
        return OB_STRIPE_SIG_MISSING;
    if (header_len > OB_STRIPE_SIG_MAX_HEADER)
        return OB_STRIPE_SIG_MALFORMED;
    if (!body)
        body_len = 0;

    s_header_t parsed;
    ob_stripe_sig_result_t rc = s_parse(header, header_len, &parsed);
    if (parsed.has_t && signed_at_out)
        *signed_at_out = parsed.t;
    if (rc != OB_STRIPE_SIG_OK)
        return rc;

    s_match_t match = {&parsed, body, body_len, 0};
    s_each_secret(secrets_csv, s_match_secret, &match);
    if (!match.matched)
        return OB_STRIPE_SIG_MISMATCH;

    if (tolerance_s <= 0)
        tolerance_s = OB_STRIPE_SIG_DEFAULT_TOLERANCE_S;
    int64_t age;
    if (__builtin_sub_overflow(now_s, parsed.t, &age))
        return OB_STRIPE_SIG_TOO_NEW; /* only a clock near INT64_MIN gets here */
    if (age > (int64_t)tolerance_s)
        return OB_STRIPE_SIG_TOO_OLD;
    if (age < -(int64_t)tolerance_s)
        return OB_STRIPE_SIG_TOO_NEW;
    return OB_STRIPE_SIG_OK;
}

static const struct {
    const char *code;
    const char *message;
} s_texts[] = {
    [OB_STRIPE_SIG_OK] = {"ok", "The Stripe signature is valid."},
    [OB_STRIPE_SIG_MISSING] = {"signature_missing", "The Stripe-Signature header is missing."},
    [OB_STRIPE_SIG_MALFORMED] = {"signature_malformed",
                                 "The Stripe-Signature header could not be parsed; expected t=<timestamp>,v1=<signature>."},
    [OB_STRIPE_SIG_NO_V1] = {"signature_no_v1", "The Stripe-Signature header carries no v1 signature."},
    [OB_STRIPE_SIG_MISMATCH] = {"signature_mismatch", "No v1 signature matches the payload for the configured webhook secret."},
    [OB_STRIPE_SIG_TOO_OLD] = {"signature_too_old",
                               "The Stripe signature timestamp is older than the allowed tolerance; the event may be a replay."},
    [OB_STRIPE_SIG_TOO_NEW] = {"signature_too_new",
                               "The Stripe signature timestamp is further in the future than the allowed tolerance."},
    [OB_STRIPE_SIG_NOT_CONFIGURED] = {"webhook_secret_missing", "No Stripe webhook secret is configured on this server."},
};

const char *
ob_stripe_sig_code(ob_stripe_sig_result_t result)
{
    if ((unsigned)result >= sizeof s_texts / sizeof s_texts[0])
        return "signature_invalid";
    return s_texts[result].code;
}

const char *
ob_stripe_sig_message(ob_stripe_sig_result_t result)
{
    if ((unsigned)result >= sizeof s_texts / sizeof s_texts[0])
        return "The Stripe signature is invalid.";
    return s_texts[result].message;
}

int
ob_stripe_sig_sign(const char *secret, int64_t t, const void *body, size_t len, char *out_hex, size_t cap)
{
    if (!secret || !out_hex || cap <= OB_STRIPE_SIG_HEX_LEN || t < 0 || (!body && len))
        return -1;
    return s_sign(secret, strlen(secret), t, body, len, out_hex);
}
