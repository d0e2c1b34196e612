/*  fuzz_public_key - public keys in the forms operators paste
 *  (gateway/ob_jwt_keys.c: PEM, certificate, base64 PEM / DER) and the
 *  base64url decoder JWT parsing shares.
 *
 *  Input: the key text. A key that loads gives a PEM that loads again to
 *  the same algorithm.
 */
#include <string.h>

#include "gateway/ob_jwt_keys.h"
#include "tests/fuzz/fuzz_util.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *text = fuzz_strndup((const char *)data, len);
    char *pem = NULL;
    size_t pem_len = 0;
    const char *alg = NULL;
    if (ob_jwt_keys_load_public_key(text, len, &pem, &pem_len, &alg) == 0) {
        FUZZ_CHECK(pem && alg && (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0));
        char *again = NULL;
        size_t again_len = 0;
        const char *again_alg = NULL;
        FUZZ_CHECK(ob_jwt_keys_load_public_key(pem, pem_len, &again, &again_len, &again_alg) == 0);
        FUZZ_CHECK(strcmp(alg, again_alg) == 0 && again_len == pem_len && memcmp(pem, again, pem_len) == 0);
        free(again);
        free(pem);
    }
    size_t out_len = 0;
    unsigned char *raw = ob_jwt_keys_b64url_decode(text, len, &out_len);
    if (raw) {
        FUZZ_CHECK(out_len <= len);
        FUZZ_CHECK(raw[out_len] == '\0');
        free(raw);
    }
    free(text);
    return 0;
}
