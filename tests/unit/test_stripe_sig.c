/*  ob_stripe_sig: Stripe-Signature verification, table-driven.
 *
 *  Each case says how the header is laid out ("{t}" is the timestamp, "{sig}"
 *  the v1 signature computed by the case, "{SIG}" the same in upper case,
 *  "{bad}" 64 hex zeros), which secret
 *  and body were signed, what body arrives and which secrets are configured.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ob_stripe_sig.h"
#include "tests/unit/test_params.h"

#define NOW INT64_C(1700000000)
#define SECRET "whsec_test_secret"
#define ROLLED "whsec_rolled_secret"
#define BODY "{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}"
#define BAD "0000000000000000000000000000000000000000000000000000000000000000"

typedef struct {
    const char *name;
    const char *layout;      /* NULL = no header at all */
    const char *sign_secret; /* secret used to make {sig} */
    const char *signed_body; /* body covered by {sig} */
    const char *sent_body;   /* body that arrives */
    long t_offset;           /* t = NOW + t_offset */
    long header_t_delta;     /* header shows t + this (tampered timestamp) */
    const char *secrets_csv; /* configured STRIPE_WEBHOOK_SECRET */
    ob_stripe_sig_result_t expected;
} sig_case_t;

/*  Writes layout with its placeholders filled in; the buffer is big enough for
 *  every layout below. */
static void
s_render(const char *layout, int64_t t, const char *sig, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = layout; *p && n + 80 < cap;) {
        if (strncmp(p, "{t}", 3) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%" PRId64, t);
            p += 3;
        } else if (strncmp(p, "{sig}", 5) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%s", sig);
            p += 5;
        } else if (strncmp(p, "{SIG}", 5) == 0) {
            for (const char *q = sig; *q; q++)
                out[n++] = (char)toupper((unsigned char)*q);
            p += 5;
        } else if (strncmp(p, "{bad}", 5) == 0) {
            n += (size_t)snprintf(out + n, cap - n, "%s", BAD);
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

static const sig_case_t s_cases[] = {
    {"valid", "t={t},v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"two v1, the second valid", "t={t},v1={bad},v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"two v1, the first valid", "t={t},v1={sig},v1={bad}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"v0 and unknown schemes ignored", "t={t},v0={bad},v1={sig},v9=x,junk", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"rolled secret: second in the list", "t={t},v1={sig}", ROLLED, BODY, BODY, 0, 0, SECRET ", " ROLLED, OB_STRIPE_SIG_OK},
    {"rolled secret: first in the list", "t={t},v1={sig}", ROLLED, BODY, BODY, 0, 0, ROLLED "," SECRET, OB_STRIPE_SIG_OK},
    {"items in any order", "v1={sig},t={t}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"the first t wins", "t={t},t=1,v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"empty body, valid signature", "t={t},v1={sig}", SECRET, "", "", 0, 0, SECRET, OB_STRIPE_SIG_OK},
    {"missing header", NULL, SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MISSING},
    {"empty header", "", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MISSING},
    {"no v1", "t={t},v0={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_NO_V1},
    {"t only", "t={t}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_NO_V1},
    {"wrong secret", "t={t},v1={sig}", "whsec_someone_else", BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MISMATCH},
    {"body changed by one byte", "t={t},v1={sig}", SECRET, BODY, "{\"id\":\"evt_2\",\"type\":\"invoice.paid\"}", 0, 0, SECRET,
     OB_STRIPE_SIG_MISMATCH},
    {"body truncated", "t={t},v1={sig}", SECRET, BODY, "{\"id\":\"evt_1\"", 0, 0, SECRET, OB_STRIPE_SIG_MISMATCH},
    {"timestamp changed", "t={t},v1={sig}", SECRET, BODY, BODY, 0, 1, SECRET, OB_STRIPE_SIG_MISMATCH},
    {"upper-case hex is not Stripe's", "t={t},v1={SIG}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MISMATCH},
    {"signature with an extra digit", "t={t},v1={sig}0", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MISMATCH},
    {"spaces are not Stripe's format", "t={t}, v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_NO_V1},
    {"timestamp too old", "t={t},v1={sig}", SECRET, BODY, BODY, -301, 0, SECRET, OB_STRIPE_SIG_TOO_OLD},
    {"timestamp at the old edge", "t={t},v1={sig}", SECRET, BODY, BODY, -300, 0, SECRET, OB_STRIPE_SIG_OK},
    {"timestamp too far in the future", "t={t},v1={sig}", SECRET, BODY, BODY, 301, 0, SECRET, OB_STRIPE_SIG_TOO_NEW},
    {"timestamp at the future edge", "t={t},v1={sig}", SECRET, BODY, BODY, 300, 0, SECRET, OB_STRIPE_SIG_OK},
    {"forged and old is a mismatch, not a replay", "t={t},v1={bad}", SECRET, BODY, BODY, -9999, 0, SECRET, OB_STRIPE_SIG_MISMATCH},
    {"garbage header", "garbage", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"only separators", ",,=,=,,", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"t not a number", "t=abc,v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"t empty", "t=,v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"t negative", "t=-5,v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"t overflowing", "t=99999999999999999999999,v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"no t", "v1={sig}", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"binary bytes", "\x01\xff\x80=\x7f", SECRET, BODY, BODY, 0, 0, SECRET, OB_STRIPE_SIG_MALFORMED},
    {"no secret configured", "t={t},v1={sig}", SECRET, BODY, BODY, 0, 0, "", OB_STRIPE_SIG_NOT_CONFIGURED},
    {"only separators configured", "t={t},v1={sig}", SECRET, BODY, BODY, 0, 0, " , ,", OB_STRIPE_SIG_NOT_CONFIGURED},
};

ParameterizedTestParameters(stripe_sig, verify)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, stripe_sig, verify)
{
    const sig_case_t *c = &s_cases[*index];
    int64_t t = NOW + c->t_offset;
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    cr_assert_eq(ob_stripe_sig_sign(c->sign_secret, t, c->signed_body, strlen(c->signed_body), sig, sizeof sig), 0);

    char header[1024];
    const char *header_ptr = NULL;
    size_t header_len = 0;
    if (c->layout) {
        s_render(c->layout, t + c->header_t_delta, sig, header, sizeof header);
        header_ptr = header;
        header_len = strlen(header);
    }
    int64_t signed_at = -1;
    ob_stripe_sig_result_t got =
        ob_stripe_sig_verify(header_ptr, header_len, c->sent_body, strlen(c->sent_body), c->secrets_csv, 300, NOW, &signed_at);
    cr_assert_eq(got, c->expected, "case: %s: got %s, want %s", c->name, ob_stripe_sig_code(got), ob_stripe_sig_code(c->expected));
    if (got == OB_STRIPE_SIG_OK)
        cr_assert_eq(signed_at, t, "case: %s: signed_at", c->name);
}

/* ------------------------------------------------------------------------ */

Test(stripe_sig, sign_matches_a_known_answer)
{
    /*  Computed independently: Python hmac.new(b"whsec_test_secret",
     *  b'1700000000.{"id":"evt_1"}', sha256).hexdigest(). */
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    const char *body = "{\"id\":\"evt_1\"}";
    cr_assert_eq(ob_stripe_sig_sign(SECRET, NOW, body, strlen(body), sig, sizeof sig), 0);
    cr_assert_str_eq(sig, "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a");
}

Test(stripe_sig, sign_refuses_bad_arguments)
{
    char small[OB_STRIPE_SIG_HEX_LEN];
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    cr_assert_eq(ob_stripe_sig_sign(SECRET, NOW, "x", 1, small, sizeof small), -1);
    cr_assert_eq(ob_stripe_sig_sign(NULL, NOW, "x", 1, sig, sizeof sig), -1);
    cr_assert_eq(ob_stripe_sig_sign(SECRET, -1, "x", 1, sig, sizeof sig), -1);
    cr_assert_eq(ob_stripe_sig_sign(SECRET, NOW, NULL, 1, sig, sizeof sig), -1);
    cr_assert_eq(ob_stripe_sig_sign(SECRET, NOW, NULL, 0, sig, sizeof sig), 0);
}

Test(stripe_sig, header_is_a_bounded_view)
{
    /*  Given a header view followed by bytes that are not part of it, when it
     *  is verified, then only the view counts: the trailing valid v1 beyond
     *  len must not be seen. */
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    cr_assert_eq(ob_stripe_sig_sign(SECRET, NOW, BODY, strlen(BODY), sig, sizeof sig), 0);
    char buffer[256];
    int view_len = snprintf(buffer, sizeof buffer, "t=%" PRId64 ",v1=%s", NOW, BAD);
    snprintf(buffer + view_len, sizeof buffer - (size_t)view_len, ",v1=%s", sig);
    cr_assert_eq(ob_stripe_sig_verify(buffer, (size_t)view_len, BODY, strlen(BODY), SECRET, 300, NOW, NULL),
                 OB_STRIPE_SIG_MISMATCH);
    cr_assert_eq(ob_stripe_sig_verify(buffer, strlen(buffer), BODY, strlen(BODY), SECRET, 300, NOW, NULL), OB_STRIPE_SIG_OK);
}

Test(stripe_sig, signed_at_reports_the_replayed_timestamp)
{
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    int64_t t = NOW - 3600;
    cr_assert_eq(ob_stripe_sig_sign(SECRET, t, BODY, strlen(BODY), sig, sizeof sig), 0);
    char header[128];
    snprintf(header, sizeof header, "t=%" PRId64 ",v1=%s", t, sig);
    int64_t signed_at = 0;
    cr_assert_eq(ob_stripe_sig_verify(header, strlen(header), BODY, strlen(BODY), SECRET, 300, NOW, &signed_at),
                 OB_STRIPE_SIG_TOO_OLD);
    cr_assert_eq(signed_at, t);
    cr_assert_eq(ob_stripe_sig_verify("garbage", 7, BODY, strlen(BODY), SECRET, 300, NOW, &signed_at), OB_STRIPE_SIG_MALFORMED);
    cr_assert_eq(signed_at, 0);
}

Test(stripe_sig, tolerance_zero_means_the_default_not_off)
{
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    int64_t t = NOW - OB_STRIPE_SIG_DEFAULT_TOLERANCE_S - 1;
    cr_assert_eq(ob_stripe_sig_sign(SECRET, t, BODY, strlen(BODY), sig, sizeof sig), 0);
    char header[128];
    snprintf(header, sizeof header, "t=%" PRId64 ",v1=%s", t, sig);
    cr_assert_eq(ob_stripe_sig_verify(header, strlen(header), BODY, strlen(BODY), SECRET, 0, NOW, NULL), OB_STRIPE_SIG_TOO_OLD);
    cr_assert_eq(ob_stripe_sig_verify(header, strlen(header), BODY, strlen(BODY), SECRET, -1, NOW, NULL), OB_STRIPE_SIG_TOO_OLD);
    cr_assert_eq(ob_stripe_sig_verify(header, strlen(header), BODY, strlen(BODY), SECRET, 3600, NOW, NULL), OB_STRIPE_SIG_OK);
}

Test(stripe_sig, extreme_clock_does_not_overflow)
{
    char sig[OB_STRIPE_SIG_HEX_LEN + 1];
    cr_assert_eq(ob_stripe_sig_sign(SECRET, NOW, BODY, strlen(BODY), sig, sizeof sig), 0);
    char header[128];
    snprintf(header, sizeof header, "t=%" PRId64 ",v1=%s", NOW, sig);
    cr_assert_eq(ob_stripe_sig_verify(header, strlen(header), BODY, strlen(BODY), SECRET, 300, INT64_MIN, NULL),
                 OB_STRIPE_SIG_TOO_NEW);
    cr_assert_eq(ob_stripe_sig_verify(header, strlen(header), BODY, strlen(BODY), SECRET, 300, INT64_MAX, NULL),
                 OB_STRIPE_SIG_TOO_OLD);
}

Test(stripe_sig, too_many_v1_items_is_malformed)
{
    char header[2048];
    int n = snprintf(header, sizeof header, "t=%" PRId64, NOW);
    for (int i = 0; i <= OB_STRIPE_SIG_MAX_V1; i++)
        n += snprintf(header + n, sizeof header - (size_t)n, ",v1=%s", BAD);
    cr_assert_eq(ob_stripe_sig_verify(header, (size_t)n, BODY, strlen(BODY), SECRET, 300, NOW, NULL), OB_STRIPE_SIG_MALFORMED);
}

Test(stripe_sig, oversized_header_is_malformed)
{
    size_t len = OB_STRIPE_SIG_MAX_HEADER + 1;
    char *header = malloc(len);
    cr_assert_not_null(header);
    memset(header, 'a', len);
    memcpy(header, "t=1,v1=", 7);
    cr_assert_eq(ob_stripe_sig_verify(header, len, BODY, strlen(BODY), SECRET, 300, NOW, NULL), OB_STRIPE_SIG_MALFORMED);
    free(header);
}

Test(stripe_sig, random_headers_never_crash)
{
    /*  Given arbitrary bytes (a fixed-seed sweep, heap-allocated to the exact
     *  length so ASan catches any over-read), when verified, then the answer
     *  is always a rejection. */
    unsigned int seed = 12345;
    static const char alphabet[] = "tv01=,9af ";
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)(rand_r(&seed) % 200) + 1;
        char *header = malloc(len);
        cr_assert_not_null(header);
        for (size_t i = 0; i < len; i++)
            header[i] = (round % 2) ? (char)(rand_r(&seed) & 0xff) : alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        ob_stripe_sig_result_t got = ob_stripe_sig_verify(header, len, BODY, strlen(BODY), SECRET, 300, NOW, NULL);
        cr_assert_neq(got, OB_STRIPE_SIG_OK);
        free(header);
    }
}

Test(stripe_sig, every_result_has_a_distinct_code_and_a_message)
{
    const ob_stripe_sig_result_t all[] = {OB_STRIPE_SIG_OK,      OB_STRIPE_SIG_MISSING,       OB_STRIPE_SIG_MALFORMED,
                                          OB_STRIPE_SIG_NO_V1,   OB_STRIPE_SIG_MISMATCH,      OB_STRIPE_SIG_TOO_OLD,
                                          OB_STRIPE_SIG_TOO_NEW, OB_STRIPE_SIG_NOT_CONFIGURED};
    size_t count = sizeof all / sizeof all[0];
    for (size_t i = 0; i < count; i++) {
        cr_assert(ob_stripe_sig_code(all[i]) && *ob_stripe_sig_code(all[i]));
        cr_assert(ob_stripe_sig_message(all[i]) && strlen(ob_stripe_sig_message(all[i])) > 10);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(ob_stripe_sig_code(all[i]), ob_stripe_sig_code(all[j]));
    }
    cr_assert_str_eq(ob_stripe_sig_code(OB_STRIPE_SIG_MISSING), "signature_missing");
    cr_assert_str_eq(ob_stripe_sig_code((ob_stripe_sig_result_t)99), "signature_invalid");
}
