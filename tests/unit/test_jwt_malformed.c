/*  jwt_auth: a correctly signed token whose payload jansson cannot read is
 *  token_malformed, not bad_signature (issue 19 item 3). The tokens are
 *  signed by hand over raw payload bytes, which no JWT library would make. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "gateway/ob_jwt_auth.h"
#include "tests/unit/test_params.h"

#define NOW 1700000000L
#define SECRET "an-hs256-secret-of-at-least-32-bytes!"

static size_t
s_b64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    size_t m = 0;
    for (int i = 0; i < n; i++) {
        char c = out[i];
        if (c == '=')
            break;
        out[m++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[m] = '\0';
    return m;
}

/*  header.payload.HMAC-SHA256(SECRET) over the raw payload bytes. */
static void
s_token(const char *payload, size_t payload_len, char *out, size_t cap)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char h[128], p[512], sig[128];
    s_b64url((const unsigned char *)header, sizeof header - 1, h);
    s_b64url((const unsigned char *)payload, payload_len, p);
    char signing[700];
    int n = snprintf(signing, sizeof signing, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)signing, (size_t)n, mac, &mac_len);
    s_b64url(mac, mac_len, sig);
    snprintf(out, cap, "%s.%s", signing, sig);
}

struct payload_case {
    const char *name, *payload;
    size_t len; /* 0: strlen */
    const char *expected;
};

static const struct payload_case s_cases[] = {
    {"well-formed", "{\"sub\":\"u1\",\"exp\":1700000600}", 0, "ok"},
    {"not JSON", "not json", 0, "token_malformed"},
    {"a JSON array", "[1,2,3]", 0, "token_malformed"},
    {"empty payload", "", 0, "token_malformed"},
    {"exp 1e309", "{\"sub\":\"u1\",\"exp\":1e309}", 0, "token_malformed"},
    {"exp -1e309", "{\"sub\":\"u1\",\"exp\":-1e309}", 0, "token_malformed"},
    {"cut short", "{\"sub\":\"u1\",\"exp\":17", 0, "token_malformed"},
    {"invalid UTF-8", "{\"sub\":\"u\xff\",\"exp\":1700000600}", 0, "token_malformed"},
    {"NUL inside", "{\"sub\":\"u1\"}\0{", 14, "token_malformed"},
    {"duplicate sub", "{\"sub\":\"u1\",\"sub\":\"admin\",\"exp\":1700000600}", 0, "token_malformed"},
};

ParameterizedTestParameters(jwt_malformed, payloads)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, jwt_malformed, payloads)
{
    const struct payload_case *c = &s_cases[*index];
    char token[1024];
    s_token(c->payload, c->len ? c->len : strlen(c->payload), token, sizeof token);
    ob_jwt_auth_config_t cfg = {.hs256_secret = SECRET};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_not_null(auth);
    const char *reason = NULL;
    ob_jwt_auth_verify(auth, token, strlen(token), NOW, NULL, &reason);
    cr_expect_str_eq(reason, c->expected, "%s", c->name);
    ob_jwt_auth_destroy(&auth);
}

Test(jwt_malformed, a_wrong_signature_over_a_readable_payload_is_still_bad_signature)
{
    char token[1024];
    s_token("{\"sub\":\"u1\",\"exp\":1700000600}", 29, token, sizeof token);
    char *c = &token[strlen(token) - 2];
    *c = *c == 'A' ? 'B' : 'A'; /* still base64url, no longer the MAC */
    ob_jwt_auth_config_t cfg = {.hs256_secret = SECRET};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    const char *reason = NULL;
    ob_jwt_auth_verify(auth, token, strlen(token), NOW, NULL, &reason);
    cr_expect_str_eq(reason, "bad_signature");
    ob_jwt_auth_destroy(&auth);
}
