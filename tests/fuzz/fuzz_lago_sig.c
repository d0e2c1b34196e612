/*  fuzz_lago_sig - Lago's X-Lago-Signature(-Algorithm) headers
 *  (gateway/ob_lago_sig.c), both the hmac and the jwt (RS256) forms.
 *
 *  Input: "<algorithm>\n<signature>\n<body>"; an empty algorithm field means
 *  the header is absent (which means jwt). The RSA key pair is made fresh at
 *  start-up, so no input can carry a valid JWT: OK is only accepted for the
 *  hmac form, and only when the signature is the body's real HMAC (both
 *  headers trimmed of spaces and tabs, as HTTP allows).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "gateway/ob_lago_sig.h"
#include "tests/fuzz/fuzz_util.h"

#define HMAC_KEY "lago-fuzz-hmac-key-0123456789abcdef"

static ob_lago_sig_t *s_verifier;

static char *
s_public_pem(void)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    FUZZ_CHECK(pkey && bio && PEM_write_bio_PUBKEY(bio, pkey) == 1);
    char *mem;
    long n = BIO_get_mem_data(bio, &mem);
    char *pem = fuzz_strndup(mem, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return pem;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    char *pem = s_public_pem();
    ob_lago_sig_config_t cfg = {.hmac_key = HMAC_KEY, .public_key = pem, .issuer = "https://lago.example/"};
    s_verifier = ob_lago_sig_new(&cfg);
    FUZZ_CHECK(s_verifier != NULL);
    free(pem);
    return 0;
}

/*  s[0..*len) without leading and trailing spaces and tabs. */
static const char *
s_trim(const char *s, size_t *len)
{
    while (s && *len && (*s == ' ' || *s == '\t'))
        s++, (*len)--;
    while (s && *len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *alg, *sig;
    size_t alg_len, sig_len;
    fuzz_next(&data, &len, '\n', &alg, &alg_len);
    fuzz_next(&data, &len, '\n', &sig, &sig_len);
    /* Exact-size copies, so ASan sees any read past a header's end. */
    char *a = alg_len ? fuzz_strndup(alg, alg_len) : NULL;
    char *s = sig_len ? fuzz_strndup(sig, sig_len) : NULL;
    ob_lago_sig_result_t r = ob_lago_sig_verify(s_verifier, a, alg_len, s, sig_len, data, len);
    FUZZ_CHECK(ob_lago_sig_code(r) != NULL && ob_lago_sig_message(r) != NULL);
    if (r == OB_LAGO_SIG_OK) {
        /* Both headers may carry optional whitespace (RFC 9110 OWS). */
        size_t t_len = alg_len, v_len = sig_len;
        const char *t = s_trim(a, &t_len), *v = s_trim(s, &v_len);
        FUZZ_CHECK(t && t_len == 4 && strncasecmp(t, "hmac", 4) == 0);
        char want[64];
        FUZZ_CHECK(ob_lago_sig_hmac(HMAC_KEY, data, len, want, sizeof want) == 0);
        FUZZ_CHECK(v && v_len == strlen(want) && memcmp(v, want, v_len) == 0);
    }
    free(a);
    free(s);
    return 0;
}
