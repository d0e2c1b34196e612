/*  fuzz_stripe_form - the Stripe form encoder (clients/stripe_form.c) fed
 *  the keys and values that reach it (user ids, plan ids, e-mail
 *  addresses, metadata from requests).
 *
 *  Input: "<key>\0<value>\0<key>\0<value>..." The encoded body holds only
 *  unreserved characters, %XX escapes, '=' and '&', and percent-decodes
 *  back to exactly the pairs that were accepted.
 */
#include <stdbool.h>
#include <string.h>

#include "clients/stripe_form.h"
#include "tests/fuzz/fuzz_util.h"

static bool
s_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static int
s_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*  Percent-decodes [s, s + n) into out (n + 1 bytes); returns the length. */
static size_t
s_decode(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            FUZZ_CHECK(i + 2 < n && s_hex(s[i + 1]) >= 0 && s_hex(s[i + 2]) >= 0);
            out[k++] = (char)(s_hex(s[i + 1]) * 16 + s_hex(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    stripe_form_t *form = stripe_form_new();
    FUZZ_CHECK(form != NULL);
    /* What was accepted, joined as "key=value&" with raw bytes, to compare. */
    char *want = malloc(len + 2);
    size_t want_len = 0;
    FUZZ_CHECK(want != NULL);
    while (len > 0) {
        const char *key, *value;
        size_t key_len, value_len;
        fuzz_next(&data, &len, '\0', &key, &key_len);
        fuzz_next(&data, &len, '\0', &value, &value_len);
        char *k = fuzz_strndup(key, key_len);
        char *v = fuzz_strndup(value, value_len);
        if (stripe_form_add(form, k, v) == 0) {
            memcpy(want + want_len, k, key_len);
            want_len += key_len;
            want[want_len++] = '\0';
            memcpy(want + want_len, v, value_len);
            want_len += value_len;
            want[want_len++] = '\0';
        }
        char *escaped = stripe_form_escape(v);
        FUZZ_CHECK(escaped != NULL);
        char *back = malloc(strlen(escaped) + 1);
        FUZZ_CHECK(back && s_decode(escaped, strlen(escaped), back) == value_len && memcmp(back, v, value_len) == 0);
        free(back);
        free(escaped);
        free(k);
        free(v);
    }
    size_t body_len = 0;
    const char *body = stripe_form_body(form, &body_len);
    if (body) {
        FUZZ_CHECK(strlen(body) == body_len);
        /* Decode pair by pair, rebuilding "key\0value\0..." to compare. */
        char *got = malloc(body_len + 2);
        size_t got_len = 0;
        FUZZ_CHECK(got != NULL);
        const char *p = body, *end = body + body_len;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *pair_end = amp ? amp : end;
            const char *eq = memchr(p, '=', (size_t)(pair_end - p));
            FUZZ_CHECK(eq != NULL);
            for (const char *c = p; c < pair_end; c++)
                FUZZ_CHECK(s_unreserved((unsigned char)*c) || *c == '%' || c == eq);
            got_len += s_decode(p, (size_t)(eq - p), got + got_len) + 1;
            got_len += s_decode(eq + 1, (size_t)(pair_end - eq - 1), got + got_len) + 1;
            p = amp ? amp + 1 : end;
        }
        FUZZ_CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
        free(got);
    }
    free(want);
    stripe_form_destroy(&form);
    return 0;
}
