/*  fuzz_jwt_claims - the JWT header and claims JSON behind a valid
 *  signature (gateway/ob_jwt_auth.c claim checks, libjwt's decoding).
 *
 *  Input: "<header JSON>\n<claims JSON>" (an empty header means
 *  {"alg":"HS256","typ":"JWT"}). The target signs header.claims with the
 *  verifier's HS256 secret, so the fuzzer reaches everything after the
 *  signature check: exp/nbf/iss/aud/sub/email. A token that verifies has a
 *  non-empty sub without control bytes and an exp not in the past.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "gateway/ob_jwt_auth.h"
#include "tests/fuzz/fuzz_util.h"

#define SECRET "fuzz-jwt-claims-secret-0123456789abcdef"
#define NOW 1700000000
#define LEEWAY 60

static ob_jwt_auth_t *s_auth;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    ob_jwt_auth_config_t cfg = {
        .hs256_secret = SECRET,
        .issuer = "https://id.example",
        .audience = "billing",
        .leeway_s = LEEWAY,
    };
    s_auth = ob_jwt_auth_new(&cfg);
    FUZZ_CHECK(s_auth != NULL);
    return 0;
}

/*  Appends base64url (no padding) of in[0..len) at out; returns the length. */
static size_t
s_b64url(const void *in, size_t len, char *out)
{
    int n = len ? EVP_EncodeBlock((unsigned char *)out, in, (int)len) : 0;
    while (n > 0 && out[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return (size_t)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len > OB_JWT_AUTH_MAX_TOKEN)
        return 0;
    const char *header;
    size_t header_len;
    fuzz_next(&data, &len, '\n', &header, &header_len);
    if (header_len == 0) {
        header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        header_len = strlen(header);
    }
    size_t cap = 4 * (header_len + len) / 3 + 64 + 8;
    char *token = malloc(cap);
    FUZZ_CHECK(token != NULL);
    size_t n = s_b64url(header, header_len, token);
    token[n++] = '.';
    n += s_b64url(data, len, token + n);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    FUZZ_CHECK(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)token, n, mac, &mac_len) != NULL);
    token[n++] = '.';
    n += s_b64url(mac, mac_len, token + n);
    FUZZ_CHECK(n <= cap);

    ob_jwt_claims_t claims;
    const char *reason = NULL;
    if (ob_jwt_auth_verify(s_auth, token, n, NOW, &claims, &reason) == OB_OK) {
        FUZZ_CHECK(claims.sub[0] != '\0');
        for (const char *p = claims.sub; *p; p++)
            FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
        FUZZ_CHECK(claims.exp >= NOW - LEEWAY);
    }
    FUZZ_CHECK(reason != NULL);
    free(token);
    return 0;
}
