/*  ob_lago_sig: Lago webhook signatures (hmac and jwt), table-driven.
 *
 *  The RSA key pairs are generated at run time with OpenSSL (nothing is
 *  committed) and the tokens are signed with libjwt, the way Lago's Ruby
 *  JWT.encode(..., "RS256") does it.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ob_lago_sig.h"
#include "tests/unit/test_params.h"

#define HMAC_KEY "lago-hmac-key-0123456789abcdef"
#define ISSUER "https://lago.example.com/api"
#define BODY "{\"webhook_type\":\"invoice.created\",\"object_type\":\"invoice\",\"invoice\":{\"lago_id\":\"5eb0\"}}"
#define OTHER_BODY "{\"webhook_type\":\"invoice.created\",\"object_type\":\"invoice\",\"invoice\":{\"lago_id\":\"5eb1\"}}"

/* ------------------------------------------------------------------------ */
/*  Keys and tokens                                                          */

typedef struct {
    char *private_pem;
    char *public_pem;
} key_pair_t;

static char *
s_bio_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    char *copy = malloc((size_t)len + 1);
    cr_assert_not_null(copy);
    memcpy(copy, data, (size_t)len);
    copy[len] = '\0';
    return copy;
}

static key_pair_t
s_rsa_pair(void)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    cr_assert_not_null(pkey);
    BIO *priv = BIO_new(BIO_s_mem());
    BIO *pub = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) == 1);
    cr_assert(PEM_write_bio_PUBKEY(pub, pkey) == 1);
    key_pair_t pair = {s_bio_string(priv), s_bio_string(pub)};
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pkey);
    return pair;
}

static void
s_pair_free(key_pair_t *pair)
{
    free(pair->private_pem);
    free(pair->public_pem);
}

/*  base64 of text as one line (line_breaks = false) or in 64-column lines
 *  like Ruby's Base64.encode64 (which Lago's /webhooks/public_key uses). */
static char *
s_base64(const char *text, bool line_breaks)
{
    size_t len = strlen(text);
    char *out = malloc(len * 2 + 16);
    cr_assert_not_null(out);
    if (!line_breaks) {
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)len);
        return out;
    }
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n = 0, tail = 0;
    EVP_EncodeInit(ctx);
    cr_assert(EVP_EncodeUpdate(ctx, (unsigned char *)out, &n, (const unsigned char *)text, (int)len) == 1);
    EVP_EncodeFinal(ctx, (unsigned char *)out + n, &tail);
    out[n + tail] = '\0';
    EVP_ENCODE_CTX_free(ctx);
    return out;
}

/*  A token with data and iss grants, signed with alg and key. */
static char *
s_token(jwt_alg_t alg, const char *key, const char *data, const char *iss)
{
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_new(&jwt), 0);
    cr_assert_eq(jwt_add_grant(jwt, "data", data), 0);
    if (iss)
        cr_assert_eq(jwt_add_grant(jwt, "iss", iss), 0);
    cr_assert_eq(jwt_set_alg(jwt, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0), 0);
    char *token = jwt_encode_str(jwt);
    cr_assert_not_null(token);
    jwt_free(jwt);
    return token;
}

/* ------------------------------------------------------------------------ */
/*  The table                                                                */

typedef enum {
    SIG_NONE,             /* no X-Lago-Signature header */
    SIG_EMPTY,            /* an empty one */
    SIG_HMAC,             /* hmac of signed_body with HMAC_KEY */
    SIG_HMAC_OTHER_KEY,   /* hmac with another key */
    SIG_JWT,              /* RS256 with Lago's key, iss = ISSUER */
    SIG_JWT_ISS_SLASH,    /* same, iss = ISSUER "/" */
    SIG_JWT_OTHER_ISS,    /* same, iss of another Lago */
    SIG_JWT_OTHER_KEY,    /* RS256 with a key that is not Lago's */
    SIG_JWT_HS256_PUBKEY, /* HS256 keyed with Lago's public key PEM */
    SIG_JWT_NONE,         /* alg none */
    SIG_GARBAGE           /* not a token at all */
} sig_kind_t;

typedef struct {
    const char *name;
    const char *algorithm; /* X-Lago-Signature-Algorithm, NULL = absent */
    sig_kind_t kind;
    const char *signed_body;
    const char *sent_body;
    bool with_hmac_key;   /* LAGO_WEBHOOK_HMAC_KEY configured */
    bool with_public_key; /* LAGO_WEBHOOK_PUBLIC_KEY configured */
    bool with_issuer;     /* LAGO_API_URL configured */
    ob_lago_sig_result_t expected;
} lago_case_t;

static const lago_case_t s_cases[] = {
    {"hmac valid", "hmac", SIG_HMAC, BODY, BODY, true, true, true, OB_LAGO_SIG_OK},
    {"hmac, algorithm in upper case", "HMAC", SIG_HMAC, BODY, BODY, true, false, false, OB_LAGO_SIG_OK},
    {"hmac, tampered body", "hmac", SIG_HMAC, BODY, OTHER_BODY, true, true, true, OB_LAGO_SIG_MISMATCH},
    {"hmac, wrong key", "hmac", SIG_HMAC_OTHER_KEY, BODY, BODY, true, true, true, OB_LAGO_SIG_MISMATCH},
    {"hmac, not configured", "hmac", SIG_HMAC, BODY, BODY, false, true, true, OB_LAGO_SIG_NOT_CONFIGURED},
    {"hmac, empty body", "hmac", SIG_HMAC, "", "", true, false, false, OB_LAGO_SIG_OK},
    {"jwt valid", "jwt", SIG_JWT, BODY, BODY, true, true, true, OB_LAGO_SIG_OK},
    {"jwt valid, no algorithm header (Lago before hmac)", NULL, SIG_JWT, BODY, BODY, false, true, true, OB_LAGO_SIG_OK},
    {"jwt valid, issuer with a trailing slash", "jwt", SIG_JWT_ISS_SLASH, BODY, BODY, false, true, true, OB_LAGO_SIG_OK},
    {"jwt valid, issuer not checked", "jwt", SIG_JWT_OTHER_ISS, BODY, BODY, false, true, false, OB_LAGO_SIG_OK},
    {"jwt, tampered body", "jwt", SIG_JWT, BODY, OTHER_BODY, true, true, true, OB_LAGO_SIG_MISMATCH},
    {"jwt, signed by another key", "jwt", SIG_JWT_OTHER_KEY, BODY, BODY, true, true, true, OB_LAGO_SIG_MISMATCH},
    {"jwt, another Lago's issuer", "jwt", SIG_JWT_OTHER_ISS, BODY, BODY, false, true, true, OB_LAGO_SIG_WRONG_ISSUER},
    {"jwt, HS256 keyed with the public key", "jwt", SIG_JWT_HS256_PUBKEY, BODY, BODY, true, true, true,
     OB_LAGO_SIG_ALG_NOT_ALLOWED},
    {"jwt, alg none", "jwt", SIG_JWT_NONE, BODY, BODY, true, true, true, OB_LAGO_SIG_ALG_NOT_ALLOWED},
    {"jwt, garbage", "jwt", SIG_GARBAGE, BODY, BODY, true, true, true, OB_LAGO_SIG_MALFORMED},
    {"jwt, an hmac signature", "jwt", SIG_HMAC, BODY, BODY, true, true, true, OB_LAGO_SIG_MALFORMED},
    {"jwt, not configured", "jwt", SIG_JWT, BODY, BODY, true, false, true, OB_LAGO_SIG_NOT_CONFIGURED},
    {"unknown algorithm", "sha1", SIG_HMAC, BODY, BODY, true, true, true, OB_LAGO_SIG_UNKNOWN_ALGORITHM},
    {"algorithm that merely starts like one", "hmac256", SIG_HMAC, BODY, BODY, true, true, true, OB_LAGO_SIG_UNKNOWN_ALGORITHM},
    {"missing signature header", "hmac", SIG_NONE, BODY, BODY, true, true, true, OB_LAGO_SIG_MISSING},
    {"empty signature header", "jwt", SIG_EMPTY, BODY, BODY, true, true, true, OB_LAGO_SIG_MISSING},
    {"both headers missing", NULL, SIG_NONE, BODY, BODY, true, true, true, OB_LAGO_SIG_MISSING},
};

ParameterizedTestParameters(lago_sig, verify)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, lago_sig, verify)
{
    const lago_case_t *c = &s_cases[*index];
    key_pair_t lago = s_rsa_pair();
    char *public_b64 = s_base64(lago.public_pem, true);

    /*  Given the signature the case describes */
    char *signature = NULL;
    char hmac[64];
    switch (c->kind) {
    case SIG_NONE:
        break;
    case SIG_EMPTY:
        signature = strdup("");
        break;
    case SIG_HMAC:
    case SIG_HMAC_OTHER_KEY:
        cr_assert_eq(ob_lago_sig_hmac(c->kind == SIG_HMAC ? HMAC_KEY : "not-lagos-key", c->signed_body, strlen(c->signed_body),
                                      hmac, sizeof hmac),
                     0);
        signature = strdup(hmac);
        break;
    case SIG_JWT:
        signature = s_token(JWT_ALG_RS256, lago.private_pem, c->signed_body, ISSUER);
        break;
    case SIG_JWT_ISS_SLASH:
        signature = s_token(JWT_ALG_RS256, lago.private_pem, c->signed_body, ISSUER "/");
        break;
    case SIG_JWT_OTHER_ISS:
        signature = s_token(JWT_ALG_RS256, lago.private_pem, c->signed_body, "https://other-lago.example.com");
        break;
    case SIG_JWT_OTHER_KEY: {
        key_pair_t other = s_rsa_pair();
        signature = s_token(JWT_ALG_RS256, other.private_pem, c->signed_body, ISSUER);
        s_pair_free(&other);
        break;
    }
    case SIG_JWT_HS256_PUBKEY:
        signature = s_token(JWT_ALG_HS256, lago.public_pem, c->signed_body, ISSUER);
        break;
    case SIG_JWT_NONE:
        signature = s_token(JWT_ALG_NONE, NULL, c->signed_body, ISSUER);
        break;
    case SIG_GARBAGE:
        signature = strdup("this is not a token");
        break;
    }

    /*  and the verifier configured as the case says */
    ob_lago_sig_config_t cfg = {c->with_hmac_key ? HMAC_KEY : NULL, c->with_public_key ? public_b64 : NULL,
                                c->with_issuer ? ISSUER : NULL};
    ob_lago_sig_t *verifier = ob_lago_sig_new(&cfg);
    cr_assert_not_null(verifier, "case: %s", c->name);

    /*  when the webhook arrives, then the result is the expected one. */
    ob_lago_sig_result_t got = ob_lago_sig_verify(verifier, c->algorithm, c->algorithm ? strlen(c->algorithm) : 0, signature,
                                                  signature ? strlen(signature) : 0, c->sent_body, strlen(c->sent_body));
    cr_assert_eq(got, c->expected, "case: %s: got %s, want %s", c->name, ob_lago_sig_code(got), ob_lago_sig_code(c->expected));

    ob_lago_sig_destroy(&verifier);
    cr_assert_null(verifier);
    free(signature);
    free(public_b64);
    s_pair_free(&lago);
}

/* ------------------------------------------------------------------------ */

Test(lago_sig, hmac_matches_a_known_answer)
{
    /*  RFC-style vector: base64(HMAC-SHA256("key", "The quick brown fox jumps
     *  over the lazy dog")), as Ruby's Base64.strict_encode64 writes it. */
    char out[64];
    const char *body = "The quick brown fox jumps over the lazy dog";
    cr_assert_eq(ob_lago_sig_hmac("key", body, strlen(body), out, sizeof out), 0);
    cr_assert_str_eq(out, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
    cr_assert_eq(ob_lago_sig_hmac("key", body, strlen(body), out, 44), -1); /* no room for the NUL */
}

Test(lago_sig, public_key_forms)
{
    /*  Given Lago's public key as a raw PEM, as one-line base64 and as
     *  Ruby-style wrapped base64, each verifier accepts the same token. */
    key_pair_t lago = s_rsa_pair();
    char *one_line = s_base64(lago.public_pem, false);
    char *wrapped = s_base64(lago.public_pem, true);
    char *token = s_token(JWT_ALG_RS256, lago.private_pem, BODY, ISSUER);
    const char *forms[] = {lago.public_pem, one_line, wrapped};
    for (size_t i = 0; i < 3; i++) {
        ob_lago_sig_config_t cfg = {NULL, forms[i], ISSUER};
        ob_lago_sig_t *verifier = ob_lago_sig_new(&cfg);
        cr_assert_not_null(verifier, "form %zu", i);
        cr_assert_eq(ob_lago_sig_verify(verifier, "jwt", 3, token, strlen(token), BODY, strlen(BODY)), OB_LAGO_SIG_OK, "form %zu",
                     i);
        ob_lago_sig_destroy(&verifier);
    }
    free(token);
    free(one_line);
    free(wrapped);
    s_pair_free(&lago);
}

Test(lago_sig, unusable_public_keys_stop_start_up)
{
    /*  Garbage, an EC key (Lago signs RS256) and a short RSA key are refused
     *  when the verifier is made, not on every webhook. */
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    EVP_PKEY *short_rsa = EVP_RSA_gen(1024);
    cr_assert(ec && short_rsa);
    BIO *ec_bio = BIO_new(BIO_s_mem());
    BIO *rsa_bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(ec_bio, ec);
    PEM_write_bio_PUBKEY(rsa_bio, short_rsa);
    char *ec_pem = s_bio_string(ec_bio);
    char *rsa_pem = s_bio_string(rsa_bio);
    const char *bad[] = {"not base64 at all!", "aGVsbG8gd29ybGQ=", ec_pem, rsa_pem};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ob_lago_sig_config_t cfg = {HMAC_KEY, bad[i], NULL};
        cr_assert_null(ob_lago_sig_new(&cfg), "key %zu", i);
    }
    free(ec_pem);
    free(rsa_pem);
    BIO_free(ec_bio);
    BIO_free(rsa_bio);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(short_rsa);
}

Test(lago_sig, nothing_configured_is_valid_but_verifies_nothing)
{
    ob_lago_sig_config_t cfg = {NULL, NULL, NULL};
    ob_lago_sig_t *verifier = ob_lago_sig_new(&cfg);
    cr_assert_not_null(verifier);
    cr_assert_eq(ob_lago_sig_verify(verifier, "hmac", 4, "abc", 3, BODY, strlen(BODY)), OB_LAGO_SIG_NOT_CONFIGURED);
    cr_assert_eq(ob_lago_sig_verify(verifier, "jwt", 3, "a.b.c", 5, BODY, strlen(BODY)), OB_LAGO_SIG_NOT_CONFIGURED);
    cr_assert_eq(ob_lago_sig_verify(NULL, "jwt", 3, "a.b.c", 5, BODY, strlen(BODY)), OB_LAGO_SIG_NOT_CONFIGURED);
    ob_lago_sig_destroy(&verifier);
    ob_lago_sig_destroy(&verifier); /* NULL-safe */
}

Test(lago_sig, header_values_are_bounded_views)
{
    /*  Given header values followed by unrelated bytes, only the views count. */
    ob_lago_sig_config_t cfg = {HMAC_KEY, NULL, NULL};
    ob_lago_sig_t *verifier = ob_lago_sig_new(&cfg);
    char hmac[64];
    cr_assert_eq(ob_lago_sig_hmac(HMAC_KEY, BODY, strlen(BODY), hmac, sizeof hmac), 0);
    char signature[128];
    snprintf(signature, sizeof signature, "%sGARBAGE", hmac);
    const char *algorithm = "hmacjunk";
    cr_assert_eq(ob_lago_sig_verify(verifier, algorithm, 4, signature, strlen(hmac), BODY, strlen(BODY)), OB_LAGO_SIG_OK);
    cr_assert_eq(ob_lago_sig_verify(verifier, algorithm, 4, signature, strlen(signature), BODY, strlen(BODY)),
                 OB_LAGO_SIG_MISMATCH);
    ob_lago_sig_destroy(&verifier);
}

Test(lago_sig, oversized_signature_is_malformed)
{
    ob_lago_sig_config_t cfg = {HMAC_KEY, NULL, NULL};
    ob_lago_sig_t *verifier = ob_lago_sig_new(&cfg);
    size_t len = OB_LAGO_SIG_MAX_SIGNATURE + 1;
    char *big = malloc(len);
    cr_assert_not_null(big);
    memset(big, 'A', len);
    cr_assert_eq(ob_lago_sig_verify(verifier, "jwt", 3, big, len, BODY, strlen(BODY)), OB_LAGO_SIG_MALFORMED);
    cr_assert_eq(ob_lago_sig_verify(verifier, "hmac", 4, big, len, BODY, strlen(BODY)), OB_LAGO_SIG_MALFORMED);
    free(big);
    ob_lago_sig_destroy(&verifier);
}

Test(lago_sig, every_result_has_a_distinct_code_and_a_message)
{
    for (int i = OB_LAGO_SIG_OK; i <= OB_LAGO_SIG_WRONG_ISSUER; i++) {
        cr_assert(strlen(ob_lago_sig_message((ob_lago_sig_result_t)i)) > 10);
        for (int j = OB_LAGO_SIG_OK; j < i; j++)
            cr_assert_str_neq(ob_lago_sig_code((ob_lago_sig_result_t)i), ob_lago_sig_code((ob_lago_sig_result_t)j));
    }
}

Test(lago_sig, large_body_in_a_jwt)
{
    /*  Given a 200 KiB webhook signed the jwt way (the token carries the whole
     *  body), it verifies, and one changed byte is caught. */
    size_t len = 200 * 1024;
    char *body = malloc(len + 1);
    cr_assert_not_null(body);
    memset(body, 'x', len);
    memcpy(body, "{\"pad\":\"", 8);
    memcpy(body + len - 2, "\"}", 2);
    body[len] = '\0';
    key_pair_t lago = s_rsa_pair();
    char *token = s_token(JWT_ALG_RS256, lago.private_pem, body, ISSUER);
    cr_assert_lt(strlen(token), OB_LAGO_SIG_MAX_SIGNATURE);
    ob_lago_sig_config_t cfg = {NULL, lago.public_pem, ISSUER};
    ob_lago_sig_t *verifier = ob_lago_sig_new(&cfg);
    cr_assert_eq(ob_lago_sig_verify(verifier, "jwt", 3, token, strlen(token), body, len), OB_LAGO_SIG_OK);
    body[len / 2] = 'y';
    cr_assert_eq(ob_lago_sig_verify(verifier, "jwt", 3, token, strlen(token), body, len), OB_LAGO_SIG_MISMATCH);
    ob_lago_sig_destroy(&verifier);
    free(token);
    free(body);
    s_pair_free(&lago);
}
