/*  fuzz_jwks - a JWKS document as the identity provider serves it
 *  (gateway/ob_jwks.c key set, gateway/ob_jwt_keys.c JWK to key).
 *
 *  Input: the document body. Loading it either keeps the previous set or
 *  swaps in 1..OB_JWT_AUTH_MAX_JWKS_KEYS usable keys.
 */
#include "gateway/ob_jwks.h"
#include "tests/fuzz/fuzz_util.h"

static ob_jwks_t *s_jwks;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    /* Never fetched: only ob_jwks_load feeds it. */
    s_jwks = ob_jwks_new("http://127.0.0.1:9/jwks", 1000, 1000, 1000);
    FUZZ_CHECK(s_jwks != NULL);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    size_t before = ob_jwks_count(s_jwks);
    char *doc = fuzz_strndup((const char *)data, len);
    int rc = ob_jwks_load(s_jwks, doc, len);
    size_t after = ob_jwks_count(s_jwks);
    if (rc == 0)
        FUZZ_CHECK(after >= 1 && after <= OB_JWT_AUTH_MAX_JWKS_KEYS);
    else
        FUZZ_CHECK(after == before);
    ob_jwks_rdlock(s_jwks);
    FUZZ_CHECK(ob_jwks_find(s_jwks, "") == NULL);
    ob_jwks_unlock(s_jwks);
    free(doc);
    return 0;
}
