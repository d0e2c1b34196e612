/*  fuzz_jwt_token - a bearer token as it arrives (gateway/ob_jwt_auth.c):
 *  finding it in Authorization / Cookie, reading its protected header, and
 *  the whole verification (split, base64url, header JSON, algorithm
 *  pinning, libjwt).
 *
 *  Input: "<Authorization value>\n<Cookie header>". The HS256 secret is not
 *  in any input, so a token the fuzzer makes never verifies.
 */
#include <string.h>

#include "gateway/ob_jwt_auth.h"
#include "tests/fuzz/fuzz_util.h"

#define NOW 1700000000

static ob_jwt_auth_t *s_auth;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    ob_jwt_auth_config_t cfg = {
        .hs256_secret = "fuzz-jwt-secret-not-in-any-input-0123456789",
        .issuer = "https://id.example",
        .audience = "billing",
    };
    s_auth = ob_jwt_auth_new(&cfg);
    FUZZ_CHECK(s_auth != NULL);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *authz;
    size_t authz_len;
    fuzz_next(&data, &len, '\n', &authz, &authz_len);
    char *a = fuzz_strndup(authz, authz_len);
    char *c = fuzz_strndup((const char *)data, len);

    const char *tok = NULL;
    size_t tok_len = 0;
    if (ob_jwt_auth_extract_token(a, authz_len, c, len, "ob_session", &tok, &tok_len) == 0) {
        FUZZ_CHECK(tok && tok_len > 0);
        FUZZ_CHECK((tok >= a && tok + tok_len <= a + authz_len) || (tok >= c && tok + tok_len <= c + len));
    }

    /* The raw Authorization value as a token too: what matters is its bytes. */
    ob_jwt_header_t header;
    if (ob_jwt_auth_read_header(a, authz_len, &header) == 0) {
        FUZZ_CHECK(memchr(header.alg, '\0', sizeof header.alg) != NULL);
        FUZZ_CHECK(memchr(header.kid, '\0', sizeof header.kid) != NULL);
    }
    ob_jwt_claims_t claims;
    const char *reason = NULL;
    ob_err_t err = ob_jwt_auth_verify(s_auth, a, authz_len, NOW, &claims, &reason);
    FUZZ_CHECK(reason != NULL);
    FUZZ_CHECK(err != OB_OK); /* nothing here holds the secret */
    if (tok)
        FUZZ_CHECK(ob_jwt_auth_verify(s_auth, tok, tok_len, NOW, &claims, &reason) != OB_OK);
    free(a);
    free(c);
    return 0;
}
