/*  ob_jwt_auth: user JWTs (HS256, RS256, ES256), algorithm pinning, claims,
 *  token extraction and the JWKS refresher against a tiny HTTP server that
 *  runs in a thread of the test on 127.0.0.1.
 *
 *  Keys are generated at run time with OpenSSL; tokens are signed with libjwt.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <curl/curl.h>
#include <jansson.h>
#include <jwt.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/ob_jwt_auth.h"
#include "tests/unit/test_params.h"

#define NOW 1700000000L
#define SECRET "an-hs256-secret-of-at-least-32-bytes!"
#define ISSUER "https://idp.example.com/realms/ops"
#define AUDIENCE "billing"

/* ------------------------------------------------------------------------ */
/*  Keys, tokens, files                                                      */

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

static char *
s_private_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1);
    char *pem = s_bio_string(bio);
    BIO_free(bio);
    return pem;
}

static char *
s_public_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    cr_assert(PEM_write_bio_PUBKEY(bio, pkey) == 1);
    char *pem = s_bio_string(bio);
    BIO_free(bio);
    return pem;
}

/*  Writes text to a fresh temporary file; the caller unlinks and frees. */
static char *
s_temp_file(const char *text)
{
    char *path = strdup("/tmp/ob_jwt_auth_test_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/*  Base claims, valid at NOW; json_object_set_new on the result to vary. */
static json_t *
s_claims(void)
{
    json_t *c = json_object();
    json_object_set_new(c, "sub", json_string("user-42"));
    json_object_set_new(c, "email", json_string("ada@example.com"));
    json_object_set_new(c, "iss", json_string(ISSUER));
    json_object_set_new(c, "aud", json_string(AUDIENCE));
    json_object_set_new(c, "iat", json_integer(NOW - 10));
    json_object_set_new(c, "exp", json_integer(NOW + 600));
    return c;
}

/*  Signs claims (stolen) with libjwt. kid may be NULL; key may be NULL for
 *  alg none. */
static char *
s_sign(jwt_alg_t alg, const char *key, size_t key_len, const char *kid, json_t *claims)
{
    jwt_t *jwt = NULL;
    cr_assert_eq(jwt_new(&jwt), 0);
    char *json = json_dumps(claims, JSON_COMPACT);
    cr_assert_eq(jwt_add_grants_json(jwt, json), 0);
    free(json);
    json_decref(claims);
    if (kid)
        cr_assert_eq(jwt_add_header(jwt, "kid", kid), 0);
    cr_assert_eq(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)key_len), 0);
    char *token = jwt_encode_str(jwt);
    cr_assert_not_null(token);
    jwt_free(jwt);
    return token;
}

static char *
s_b64url(const unsigned char *data, size_t len)
{
    char *out = malloc(len * 2 + 8);
    cr_assert_not_null(out);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/*  A token assembled by hand from a literal header, for headers libjwt would
 *  never write. The signature is a placeholder. */
static char *
s_handmade(const char *header_json, const char *payload_json, const char *signature)
{
    char *h = s_b64url((const unsigned char *)header_json, strlen(header_json));
    char *p = s_b64url((const unsigned char *)payload_json, strlen(payload_json));
    size_t len = strlen(h) + strlen(p) + strlen(signature) + 3;
    char *token = malloc(len);
    snprintf(token, len, "%s.%s.%s", h, p, signature);
    free(h);
    free(p);
    return token;
}

static const char *
s_verify(ob_jwt_auth_t *auth, const char *token, ob_jwt_claims_t *claims)
{
    const char *reason = NULL;
    ob_err_t err = ob_jwt_auth_verify(auth, token, token ? strlen(token) : 0, NOW, claims, &reason);
    cr_assert_not_null(reason);
    cr_assert_eq(err == OB_OK, strcmp(reason, "ok") == 0, "err %d with reason %s", err, reason);
    return reason;
}

static ob_jwt_auth_t *
s_hs256_auth(void)
{
    ob_jwt_auth_config_t cfg = {.hs256_secret = SECRET, .issuer = ISSUER, .audience = AUDIENCE};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_not_null(auth);
    return auth;
}

/* ------------------------------------------------------------------------ */
/*  Claims, table-driven over HS256                                          */

typedef struct {
    const char *name;
    const char *member;   /* claim to change, NULL = none */
    const char *json;     /* its new value as JSON, NULL = remove it */
    const char *expected; /* reason code */
} claims_case_t;

static const claims_case_t s_claims_cases[] = {
    {"valid", NULL, NULL, "ok"},
    {"aud array containing ours", "aud", "[\"account\",\"billing\"]", "ok"},
    {"aud array without ours", "aud", "[\"account\",\"other\"]", "wrong_audience"},
    {"aud another string", "aud", "\"other\"", "wrong_audience"},
    {"aud missing", "aud", NULL, "wrong_audience"},
    {"aud of the wrong type", "aud", "42", "wrong_audience"},
    {"iss another", "iss", "\"https://evil.example.com/realms/ops\"", "wrong_issuer"},
    {"iss missing", "iss", NULL, "wrong_issuer"},
    {"expired beyond the leeway", "exp", "1699999939", "token_expired"},
    {"expired within the leeway", "exp", "1699999941", "ok"},
    {"exp as a real number", "exp", "1700000600.5", "ok"},
    {"exp missing", "exp", NULL, "token_malformed"},
    {"exp a string", "exp", "\"1700000600\"", "token_malformed"},
    {"exp absurdly large", "exp", "1e300", "token_malformed"},
    {"nbf beyond the leeway", "nbf", "1700000061", "token_not_yet_valid"},
    {"nbf within the leeway", "nbf", "1700000059", "ok"},
    {"nbf a string", "nbf", "\"soon\"", "token_malformed"},
    {"sub missing", "sub", NULL, "token_malformed"},
    {"sub empty", "sub", "\"\"", "token_malformed"},
    {"sub not a string", "sub", "42", "token_malformed"},
    {"sub with a control byte", "sub", "\"user\\n42\"", "token_malformed"},
    {"email missing is fine", "email", NULL, "ok"},
};

ParameterizedTestParameters(jwt_auth, claims)
{
    OB_TEST_CASE_INDICES(s_claims_cases);
}

ParameterizedTest(size_t *index, jwt_auth, claims)
{
    const claims_case_t *c = &s_claims_cases[*index];
    json_t *claims = s_claims();
    if (c->member && c->json)
        json_object_set_new(claims, c->member, json_loads(c->json, JSON_DECODE_ANY, NULL));
    else if (c->member)
        json_object_del(claims, c->member);
    char *token = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);

    ob_jwt_auth_t *auth = s_hs256_auth();
    ob_jwt_claims_t out;
    const char *reason = s_verify(auth, token, &out);
    cr_assert_str_eq(reason, c->expected, "case: %s", c->name);
    if (strcmp(c->expected, "ok") == 0) {
        cr_assert_str_eq(out.sub, "user-42");
        cr_assert_str_eq(out.email, c->member && strcmp(c->member, "email") == 0 ? "" : "ada@example.com");
    } else {
        cr_assert_str_eq(out.sub, "", "case: %s: claims stay empty on failure", c->name);
    }
    ob_jwt_auth_destroy(&auth);
    cr_assert_null(auth);
    free(token);
}

Test(jwt_auth, sub_too_long_is_malformed)
{
    char sub[OB_JWT_SUB_MAX + 2];
    memset(sub, 'u', sizeof sub - 1);
    sub[sizeof sub - 1] = '\0';
    json_t *claims = s_claims();
    json_object_set_new(claims, "sub", json_string(sub));
    char *token = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
    ob_jwt_auth_t *auth = s_hs256_auth();
    cr_assert_str_eq(s_verify(auth, token, NULL), "token_malformed");
    ob_jwt_auth_destroy(&auth);
    free(token);
}

Test(jwt_auth, no_leeway_when_asked)
{
    json_t *claims = s_claims();
    json_object_set_new(claims, "exp", json_integer(NOW));
    char *token = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, claims);
    ob_jwt_auth_config_t cfg = {.hs256_secret = SECRET, .leeway_s = OB_JWT_AUTH_NO_LEEWAY};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_str_eq(s_verify(auth, token, NULL), "token_expired"); /* exp == now is already expired */
    ob_jwt_auth_destroy(&auth);
    free(token);
}

/* ------------------------------------------------------------------------ */
/*  Algorithms and keys                                                      */

Test(jwt_auth, rs256_with_a_pem_key_file)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *priv = s_private_pem(key);
    char *pub = s_public_pem(key);
    char *path = s_temp_file(pub);
    ob_jwt_auth_config_t cfg = {.public_key_file = path, .issuer = ISSUER, .audience = AUDIENCE};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_not_null(auth);

    char *good = s_sign(JWT_ALG_RS256, priv, strlen(priv), "any-kid", s_claims());
    ob_jwt_claims_t out;
    cr_assert_str_eq(s_verify(auth, good, &out), "ok");
    cr_assert_str_eq(out.sub, "user-42");
    cr_assert_eq(out.exp, NOW + 600);

    /*  The classic confusion: HS256 "signed" with the RSA public key PEM as
     *  the HMAC secret. libjwt would verify it if handed the PEM. */
    char *confused = s_sign(JWT_ALG_HS256, pub, strlen(pub), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, confused, NULL), "algorithm_not_allowed");

    char *none = s_sign(JWT_ALG_NONE, NULL, 0, NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, none, NULL), "algorithm_not_allowed");

    EVP_PKEY *other = EVP_RSA_gen(2048);
    char *other_priv = s_private_pem(other);
    char *forged = s_sign(JWT_ALG_RS256, other_priv, strlen(other_priv), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, forged, NULL), "bad_signature");

    ob_jwt_auth_destroy(&auth);
    unlink(path);
    free(path);
    free(good);
    free(confused);
    free(none);
    free(forged);
    free(other_priv);
    free(priv);
    free(pub);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
}

Test(jwt_auth, es256_with_a_pem_key_file)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    char *priv = s_private_pem(key);
    char *pub = s_public_pem(key);
    char *path = s_temp_file(pub);
    ob_jwt_auth_config_t cfg = {.public_key_file = path};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_not_null(auth);

    char *good = s_sign(JWT_ALG_ES256, priv, strlen(priv), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, good, NULL), "ok");

    /*  An EC key allows ES256 only. */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    char *rsa_priv = s_private_pem(rsa);
    char *rs256 = s_sign(JWT_ALG_RS256, rsa_priv, strlen(rsa_priv), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, rs256, NULL), "algorithm_not_allowed");
    char *confused = s_sign(JWT_ALG_HS256, pub, strlen(pub), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, confused, NULL), "algorithm_not_allowed");

    ob_jwt_auth_destroy(&auth);
    unlink(path);
    free(path);
    free(good);
    free(rs256);
    free(confused);
    free(rsa_priv);
    free(priv);
    free(pub);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(key);
}

Test(jwt_auth, a_secret_and_a_public_key_never_mix)
{
    /*  Given both an HS256 secret and an RSA key, an HS256 token made with the
     *  public key PEM is checked against the secret only: bad signature. */
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *pub = s_public_pem(key);
    char *path = s_temp_file(pub);
    ob_jwt_auth_config_t cfg = {.hs256_secret = SECRET, .public_key_file = path};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_not_null(auth);
    char *confused = s_sign(JWT_ALG_HS256, pub, strlen(pub), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, confused, NULL), "bad_signature");
    char *good = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, good, NULL), "ok");
    ob_jwt_auth_destroy(&auth);
    unlink(path);
    free(path);
    free(confused);
    free(good);
    free(pub);
    EVP_PKEY_free(key);
}

Test(jwt_auth, hs256_rejections)
{
    ob_jwt_auth_t *auth = s_hs256_auth();
    const char *wrong_secret = "another-secret-of-at-least-32-bytes!!";
    char *wrong = s_sign(JWT_ALG_HS256, wrong_secret, strlen(wrong_secret), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, wrong, NULL), "bad_signature");
    char *none = s_sign(JWT_ALG_NONE, NULL, 0, NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, none, NULL), "algorithm_not_allowed");
    char *hs384 = s_sign(JWT_ALG_HS384, SECRET, strlen(SECRET), NULL, s_claims());
    cr_assert_str_eq(s_verify(auth, hs384, NULL), "algorithm_not_allowed");

    /*  A payload swapped between two validly signed tokens. */
    json_t *admin = s_claims();
    json_object_set_new(admin, "sub", json_string("admin"));
    char *theirs = s_sign(JWT_ALG_HS256, wrong_secret, strlen(wrong_secret), NULL, admin);
    char *ours = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, s_claims());
    char spliced[2048];
    const char *their_payload = strchr(theirs, '.');
    const char *our_sig = strrchr(ours, '.');
    snprintf(spliced, sizeof spliced, "%.*s%.*s%s", (int)(strchr(ours, '.') - ours), ours,
             (int)(strrchr(theirs, '.') - their_payload), their_payload, our_sig);
    cr_assert_str_eq(s_verify(auth, spliced, NULL), "bad_signature");

    /*  Signing algorithm, empty signature. */
    char *unsigned_token = strdup(ours);
    strrchr(unsigned_token, '.')[1] = '\0';
    cr_assert_str_eq(s_verify(auth, unsigned_token, NULL), "bad_signature");

    ob_jwt_auth_destroy(&auth);
    free(wrong);
    free(none);
    free(hs384);
    free(theirs);
    free(ours);
    free(unsigned_token);
}

typedef struct {
    const char *name;
    const char *header; /* JSON, or NULL to use token verbatim */
    const char *token;
    const char *expected;
} garbage_case_t;

static const garbage_case_t s_garbage_cases[] = {
    {"empty", NULL, "", "token_missing"},
    {"one segment", NULL, "abc", "token_malformed"},
    {"two segments", NULL, "abc.def", "token_malformed"},
    {"four segments", NULL, "a.b.c.d", "token_malformed"},
    {"empty header segment", NULL, ".eyJ9.sig", "token_malformed"},
    {"not base64url", NULL, "ab!c.def.ghi", "token_malformed"},
    {"padding is not base64url", NULL, "eyJhbGciOiJIUzI1NiJ9==.e30.sig", "token_malformed"},
    {"impossible base64 length", NULL, "a.e30.sig", "token_malformed"},
    {"header not JSON", NULL, "bm90IGpzb24.e30.c2ln", "token_malformed"},
    {"header an array", "[\"HS256\"]", NULL, "token_malformed"},
    {"header without alg", "{\"typ\":\"JWT\"}", NULL, "token_malformed"},
    {"alg not a string", "{\"alg\":256}", NULL, "token_malformed"},
    {"duplicate alg", "{\"alg\":\"HS256\",\"alg\":\"none\"}", NULL, "token_malformed"},
    {"crit extension", "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", NULL, "token_malformed"},
    {"typ at+jwt (libjwt 1.x refuses)", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", NULL, "token_malformed"},
    {"kid not a string", "{\"alg\":\"HS256\",\"kid\":7}", NULL, "token_malformed"},
    {"alg none, lower case", "{\"alg\":\"none\"}", NULL, "algorithm_not_allowed"},
    {"alg None, mixed case", "{\"alg\":\"None\"}", NULL, "algorithm_not_allowed"},
    {"alg PS256", "{\"alg\":\"PS256\"}", NULL, "algorithm_not_allowed"},
    {"alg hs256, lower case", "{\"alg\":\"hs256\"}", NULL, "algorithm_not_allowed"},
    {"HS256 with a forged signature", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", NULL, "bad_signature"},
};

ParameterizedTestParameters(jwt_auth, garbage)
{
    OB_TEST_CASE_INDICES(s_garbage_cases);
}

ParameterizedTest(size_t *index, jwt_auth, garbage)
{
    const garbage_case_t *c = &s_garbage_cases[*index];
    json_t *claims = s_claims();
    char *payload_json = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    char *token = c->header ? s_handmade(c->header, payload_json, "c2lnbmF0dXJl") : strdup(c->token);
    ob_jwt_auth_t *auth = s_hs256_auth();
    cr_assert_str_eq(s_verify(auth, token, NULL), c->expected, "case: %s", c->name);
    ob_jwt_auth_destroy(&auth);
    free(token);
    free(payload_json);
}

Test(jwt_auth, oversized_and_unterminated_tokens)
{
    ob_jwt_auth_t *auth = s_hs256_auth();
    size_t len = OB_JWT_AUTH_MAX_TOKEN + 1;
    char *big = malloc(len);
    memset(big, 'a', len);
    big[10] = '.';
    big[20] = '.';
    const char *reason = NULL;
    cr_assert_eq(ob_jwt_auth_verify(auth, big, len, NOW, NULL, &reason), OB_ERR_UNAUTHORIZED);
    cr_assert_str_eq(reason, "token_malformed");
    free(big);

    /*  A valid token inside a larger buffer: only the view is read. */
    char *token = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), NULL, s_claims());
    size_t token_len = strlen(token);
    char *buffer = malloc(token_len + 8);
    memcpy(buffer, token, token_len);
    memcpy(buffer + token_len, "garbage", 8);
    cr_assert_eq(ob_jwt_auth_verify(auth, buffer, token_len, NOW, NULL, &reason), OB_OK);
    cr_assert_eq(ob_jwt_auth_verify(auth, buffer, token_len + 7, NOW, NULL, &reason), OB_ERR_UNAUTHORIZED);
    cr_assert_eq(ob_jwt_auth_verify(NULL, token, token_len, NOW, NULL, &reason), OB_ERR_INTERNAL);
    free(buffer);
    free(token);
    ob_jwt_auth_destroy(&auth);
}

Test(jwt_auth, construction_refuses_unusable_configuration)
{
    ob_jwt_auth_config_t nothing = {.issuer = ISSUER};
    cr_assert_null(ob_jwt_auth_new(&nothing));
    cr_assert_null(ob_jwt_auth_new(NULL));
    ob_jwt_auth_config_t missing_file = {.public_key_file = "/nonexistent/key.pem"};
    cr_assert_null(ob_jwt_auth_new(&missing_file));
    ob_jwt_auth_config_t ftp = {.jwks_url = "ftp://idp.example.com/jwks"};
    cr_assert_null(ob_jwt_auth_new(&ftp));

    EVP_PKEY *weak = EVP_RSA_gen(1024);
    char *weak_pub = s_public_pem(weak);
    char *path = s_temp_file(weak_pub);
    ob_jwt_auth_config_t weak_cfg = {.public_key_file = path};
    cr_assert_null(ob_jwt_auth_new(&weak_cfg), "RSA keys under 2048 bits are refused");
    unlink(path);
    free(path);
    free(weak_pub);
    EVP_PKEY_free(weak);

    ob_jwt_auth_t *none = NULL;
    ob_jwt_auth_destroy(&none); /* NULL-safe */
    ob_jwt_auth_destroy(NULL);
}

Test(jwt_auth, public_key_forms)
{
    /*  PEM, PKCS#1 "RSA PUBLIC KEY", base64 DER (Keycloak's realm key) and a
     *  certificate all load as the same key. */
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *spki = s_public_pem(key);

    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(key, &der);
    cr_assert(der_len > 0);
    char *der_b64 = malloc((size_t)der_len * 2 + 4);
    EVP_EncodeBlock((unsigned char *)der_b64, der, der_len);

    /*  PKCS#1 ("type-specific") form. */
    BIO *bio = BIO_new(BIO_s_mem());
    OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", NULL);
    cr_assert(ectx && OSSL_ENCODER_to_bio(ectx, bio) == 1);
    OSSL_ENCODER_CTX_free(ectx);
    char *pkcs1 = s_bio_string(bio);
    BIO_free(bio);
    cr_assert(strstr(pkcs1, "BEGIN RSA PUBLIC KEY"));

    /*  A self-signed certificate around the key. */
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *)"idp", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    cr_assert(X509_sign(cert, key, EVP_sha256()) > 0);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char *cert_pem = s_bio_string(bio);
    BIO_free(bio);

    const char *forms[] = {spki, pkcs1, der_b64, cert_pem};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *pem = NULL;
        size_t pem_len = 0;
        const char *alg = NULL;
        cr_assert_eq(ob_jwt_auth_load_public_key(forms[i], strlen(forms[i]), &pem, &pem_len, &alg), 0, "form %zu", i);
        cr_assert_str_eq(alg, "RS256");
        cr_assert_str_eq(pem, spki, "form %zu normalises to the same SubjectPublicKeyInfo PEM", i);
        cr_assert_eq(pem_len, strlen(spki));
        free(pem);
    }
    char *pem = NULL;
    size_t pem_len = 0;
    const char *alg = NULL;
    cr_assert_eq(ob_jwt_auth_load_public_key("garbage", 7, &pem, &pem_len, &alg), -1);
    cr_assert_null(pem);

    X509_free(cert);
    OPENSSL_free(der);
    free(der_b64);
    free(pkcs1);
    free(cert_pem);
    free(spki);
    EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------------ */
/*  Token extraction                                                         */

typedef struct {
    const char *name;
    const char *authz;  /* NULL = no Authorization header */
    const char *cookie; /* NULL = no Cookie header */
    const char *cookie_name;
    const char *expected; /* NULL = no token */
} extract_case_t;

static const extract_case_t s_extract_cases[] = {
    {"bearer", "Bearer abc.def.ghi", NULL, "ops_auth", "abc.def.ghi"},
    {"cookie", NULL, "theme=dark; ops_auth=abc.def.ghi; lang=en", "ops_auth", "abc.def.ghi"},
    {"bearer wins over the cookie", "Bearer from.header.x", "ops_auth=from.cookie.x", "ops_auth", "from.header.x"},
    {"another scheme falls back to the cookie", "Basic dXNlcjpwYXNz", "ops_auth=from.cookie.x", "ops_auth", "from.cookie.x"},
    {"quoted cookie value", NULL, "ops_auth=\"abc.def.ghi\"", "ops_auth", "abc.def.ghi"},
    {"a longer cookie name is another cookie", NULL, "xops_auth=1.2.3; ops_authx=4.5.6; ops_auth=7.8.9", "ops_auth", "7.8.9"},
    {"spaces around the pair", NULL, "  ops_auth = abc.def.ghi  ;x=y", "ops_auth", "abc.def.ghi"},
    {"cookie names are case-sensitive", NULL, "OPS_AUTH=abc", "ops_auth", NULL},
    {"empty cookie value", NULL, "ops_auth=; other=x", "ops_auth", NULL},
    {"no cookie name configured", NULL, "ops_auth=abc", "", NULL},
    {"nothing at all", NULL, NULL, "ops_auth", NULL},
    {"a bare Bearer", "Bearer ", NULL, "ops_auth", NULL},
};

ParameterizedTestParameters(jwt_auth, extract_token)
{
    OB_TEST_CASE_INDICES(s_extract_cases);
}

ParameterizedTest(size_t *index, jwt_auth, extract_token)
{
    const extract_case_t *c = &s_extract_cases[*index];
    const char *tok = NULL;
    size_t tok_len = 0;
    int rc = ob_jwt_auth_extract_token(c->authz, c->authz ? strlen(c->authz) : 0, c->cookie, c->cookie ? strlen(c->cookie) : 0,
                                       c->cookie_name, &tok, &tok_len);
    if (!c->expected) {
        cr_assert_eq(rc, -1, "case: %s", c->name);
        return;
    }
    cr_assert_eq(rc, 0, "case: %s", c->name);
    cr_assert_eq(tok_len, strlen(c->expected), "case: %s", c->name);
    cr_assert(memcmp(tok, c->expected, tok_len) == 0, "case: %s", c->name);
}

/* ------------------------------------------------------------------------ */
/*  JWKS: a tiny HTTP server in a thread                                     */

typedef struct {
    int fd;
    int port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int requests;
    pthread_mutex_t lock;
    int status;     /* guarded by lock */
    char *document; /* guarded by lock */
} jwks_server_t;

static void *
s_server_main(void *arg)
{
    jwks_server_t *server = arg;
    while (!atomic_load(&server->stop)) {
        struct pollfd pfd = {server->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int client = accept(server->fd, NULL, NULL);
        if (client < 0)
            continue;
        char request[4096];
        size_t got = 0;
        while (got < sizeof request - 1) {
            ssize_t n = read(client, request + got, sizeof request - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            request[got] = '\0';
            if (strstr(request, "\r\n\r\n"))
                break;
        }
        pthread_mutex_lock(&server->lock);
        char head[256];
        size_t body_len = strlen(server->document);
        int head_len = snprintf(head, sizeof head,
                                "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                                "Connection: close\r\n\r\n",
                                server->status, body_len);
        ssize_t w1 = write(client, head, (size_t)head_len);
        ssize_t w2 = write(client, server->document, body_len);
        (void)w1;
        (void)w2;
        pthread_mutex_unlock(&server->lock);
        atomic_fetch_add(&server->requests, 1);
        close(client);
    }
    return NULL;
}

static void
s_server_start(jwks_server_t *server, const char *document)
{
    memset(server, 0, sizeof *server);
    pthread_mutex_init(&server->lock, NULL);
    server->status = 200;
    server->document = strdup(document);
    server->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(server->fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(server->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    cr_assert_eq(listen(server->fd, 16), 0);
    socklen_t addr_len = sizeof addr;
    getsockname(server->fd, (struct sockaddr *)&addr, &addr_len);
    server->port = ntohs(addr.sin_port);
    cr_assert_eq(pthread_create(&server->thread, NULL, s_server_main, server), 0);
}

static void
s_server_serve(jwks_server_t *server, int status, const char *document)
{
    pthread_mutex_lock(&server->lock);
    free(server->document);
    server->document = strdup(document);
    server->status = status;
    pthread_mutex_unlock(&server->lock);
}

static void
s_server_stop(jwks_server_t *server)
{
    atomic_store(&server->stop, true);
    pthread_join(server->thread, NULL);
    close(server->fd);
    free(server->document);
    pthread_mutex_destroy(&server->lock);
}

/*  The JWK of a public key: RSA (n, e) or EC P-256 (x, y). */
static json_t *
s_jwk(EVP_PKEY *pkey, const char *kid, const char *use, const char *alg)
{
    json_t *jwk = json_object();
    json_object_set_new(jwk, "kid", json_string(kid));
    if (use)
        json_object_set_new(jwk, "use", json_string(use));
    if (alg)
        json_object_set_new(jwk, "alg", json_string(alg));
    unsigned char buf[1024];
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        cr_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
        cr_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1);
        json_object_set_new(jwk, "kty", json_string("RSA"));
        char *n64 = s_b64url(buf, (size_t)BN_bn2bin(n, buf));
        json_object_set_new(jwk, "n", json_string(n64));
        char *e64 = s_b64url(buf, (size_t)BN_bn2bin(e, buf));
        json_object_set_new(jwk, "e", json_string(e64));
        free(n64);
        free(e64);
        BN_free(n);
        BN_free(e);
    } else {
        BIGNUM *x = NULL, *y = NULL;
        cr_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1);
        cr_assert(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1);
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string("P-256"));
        cr_assert_eq(BN_bn2binpad(x, buf, 32), 32);
        char *x64 = s_b64url(buf, 32);
        cr_assert_eq(BN_bn2binpad(y, buf, 32), 32);
        char *y64 = s_b64url(buf, 32);
        json_object_set_new(jwk, "x", json_string(x64));
        json_object_set_new(jwk, "y", json_string(y64));
        free(x64);
        free(y64);
        BN_free(x);
        BN_free(y);
    }
    return jwk;
}

/*  {"keys":[...]} from a NULL-terminated list of JWKs (stolen). */
static char *
s_jwks(json_t *first, ...)
{
    json_t *keys = json_array();
    va_list ap;
    va_start(ap, first);
    for (json_t *jwk = first; jwk; jwk = va_arg(ap, json_t *))
        json_array_append_new(keys, jwk);
    va_end(ap);
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static ob_jwt_auth_t *
s_jwks_auth(const jwks_server_t *server, long min_refresh_ms)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/realms/ops/protocol/openid-connect/certs", server->port);
    ob_jwt_auth_config_t cfg = {
        .jwks_url = url, .issuer = ISSUER, .audience = AUDIENCE, .jwks_min_refresh_ms = min_refresh_ms, .jwks_timeout_ms = 2000};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    cr_assert_not_null(auth);
    return auth;
}

static void *
s_refresher_main(void *arg)
{
    ob_jwt_auth_run_refresher(arg);
    return NULL;
}

/*  Waits up to timeout_ms for cond(); true when it became true. */
static bool
s_wait_for(bool (*cond)(void *), void *arg, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (cond(arg))
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return cond(arg);
}

static bool
s_has_two_keys(void *arg)
{
    return ob_jwt_auth_jwks_count(arg) == 2;
}

Test(jwt_auth, jwks_keys_verify_tokens, .timeout = 30)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    EVP_PKEY *enc = EVP_RSA_gen(2048);
    char *rsa_priv = s_private_pem(rsa);
    char *ec_priv = s_private_pem(ec);
    char *enc_priv = s_private_pem(enc);

    /*  Given a Keycloak-like set: a signing RSA key, a signing EC key, an
     *  encryption key and a key type we do not support. */
    json_t *oct = json_pack("{s:s,s:s,s:s}", "kid", "hmac-1", "kty", "oct", "k", "c2VjcmV0");
    char *doc = s_jwks(s_jwk(rsa, "rsa-1", "sig", "RS256"), s_jwk(ec, "ec-1", NULL, NULL), s_jwk(enc, "enc-1", "enc", "RSA-OAEP"),
                       oct, NULL);
    jwks_server_t server;
    s_server_start(&server, doc);
    ob_jwt_auth_t *auth = s_jwks_auth(&server, 0);

    /*  when it is fetched, only the two signing keys are kept */
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), 0);
    cr_assert_eq(atomic_load(&server.requests), 1);
    cr_assert_eq(ob_jwt_auth_jwks_count(auth), 2);

    /*  and tokens naming them verify. */
    char *rs = s_sign(JWT_ALG_RS256, rsa_priv, strlen(rsa_priv), "rsa-1", s_claims());
    char *es = s_sign(JWT_ALG_ES256, ec_priv, strlen(ec_priv), "ec-1", s_claims());
    ob_jwt_claims_t out;
    cr_assert_str_eq(s_verify(auth, rs, &out), "ok");
    cr_assert_str_eq(out.email, "ada@example.com");
    cr_assert_str_eq(s_verify(auth, es, NULL), "ok");

    /*  A kid's key is used with its own algorithm only. */
    char *mixed = s_sign(JWT_ALG_RS256, rsa_priv, strlen(rsa_priv), "ec-1", s_claims());
    cr_assert_str_eq(s_verify(auth, mixed, NULL), "algorithm_not_allowed");
    /*  The encryption key is not a signing key. */
    char *by_enc = s_sign(JWT_ALG_RS256, enc_priv, strlen(enc_priv), "enc-1", s_claims());
    cr_assert_str_eq(s_verify(auth, by_enc, NULL), "unknown_key");
    /*  The right kid with another key's signature. */
    char *forged = s_sign(JWT_ALG_RS256, enc_priv, strlen(enc_priv), "rsa-1", s_claims());
    cr_assert_str_eq(s_verify(auth, forged, NULL), "bad_signature");
    /*  HS256 is never served by a JWKS. */
    char *hs = s_sign(JWT_ALG_HS256, SECRET, strlen(SECRET), "rsa-1", s_claims());
    cr_assert_str_eq(s_verify(auth, hs, NULL), "algorithm_not_allowed");

    /*  A failed refresh (500, then not JSON, then no usable key) keeps the keys. */
    s_server_serve(&server, 500, doc);
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), -1);
    s_server_serve(&server, 200, "<html>");
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), -1);
    s_server_serve(&server, 200, "{\"keys\":[]}");
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), -1);
    cr_assert_eq(ob_jwt_auth_jwks_count(auth), 2);
    cr_assert_str_eq(s_verify(auth, rs, NULL), "ok");

    ob_jwt_auth_destroy(&auth);
    s_server_stop(&server);
    free(rs);
    free(es);
    free(mixed);
    free(by_enc);
    free(forged);
    free(hs);
    free(doc);
    free(rsa_priv);
    free(ec_priv);
    free(enc_priv);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(enc);
    curl_global_cleanup();
}

Test(jwt_auth, unknown_kid_triggers_a_refresh, .timeout = 30)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    EVP_PKEY *old_key = EVP_RSA_gen(2048);
    EVP_PKEY *new_key = EVP_RSA_gen(2048);
    char *new_priv = s_private_pem(new_key);

    /*  Given a JWKS with the old key only and a running refresher */
    char *before = s_jwks(s_jwk(old_key, "key-2023", "sig", NULL), NULL);
    jwks_server_t server;
    s_server_start(&server, before);
    ob_jwt_auth_t *auth = s_jwks_auth(&server, 100);
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), 0);
    pthread_t refresher;
    cr_assert_eq(pthread_create(&refresher, NULL, s_refresher_main, auth), 0);

    /*  when the IdP rotates in a new key and a token signed with it arrives, */
    char *after = s_jwks(s_jwk(old_key, "key-2023", "sig", NULL), s_jwk(new_key, "key-2024", "sig", NULL), NULL);
    s_server_serve(&server, 200, after);
    char *token = s_sign(JWT_ALG_RS256, new_priv, strlen(new_priv), "key-2024", s_claims());

    /*  then that request is refused as unknown_key, the refresher fetches the
     *  new set, and the retry succeeds. */
    cr_assert_str_eq(s_verify(auth, token, NULL), "unknown_key");
    cr_assert(s_wait_for(s_has_two_keys, auth, 5000), "the refresher did not fetch the rotated set");
    cr_assert_geq(atomic_load(&server.requests), 2);
    cr_assert_str_eq(s_verify(auth, token, NULL), "ok");

    ob_jwt_auth_stop_refresher(auth);
    pthread_join(refresher, NULL);
    ob_jwt_auth_destroy(&auth);
    s_server_stop(&server);
    free(token);
    free(before);
    free(after);
    free(new_priv);
    EVP_PKEY_free(old_key);
    EVP_PKEY_free(new_key);
    curl_global_cleanup();
}

Test(jwt_auth, unknown_kid_refreshes_are_rate_limited, .timeout = 30)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *priv = s_private_pem(key);
    char *doc = s_jwks(s_jwk(key, "key-1", "sig", NULL), NULL);
    jwks_server_t server;
    s_server_start(&server, doc);
    ob_jwt_auth_t *auth = s_jwks_auth(&server, 0); /* the default: one per 30 s */
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), 0);
    pthread_t refresher;
    cr_assert_eq(pthread_create(&refresher, NULL, s_refresher_main, auth), 0);

    /*  Given a flood of made-up kids right after a refresh, */
    for (int i = 0; i < 50; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "made-up-%d", i);
        char *token = s_sign(JWT_ALG_RS256, priv, strlen(priv), kid, s_claims());
        cr_assert_str_eq(s_verify(auth, token, NULL), "unknown_key");
        free(token);
    }
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    /*  then the IdP saw no further request, */
    cr_assert_eq(atomic_load(&server.requests), 1);

    /*  and stopping wakes the refresher out of its wait promptly. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ob_jwt_auth_stop_refresher(auth);
    pthread_join(refresher, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 2);

    ob_jwt_auth_destroy(&auth);
    s_server_stop(&server);
    free(doc);
    free(priv);
    EVP_PKEY_free(key);
    curl_global_cleanup();
}

Test(jwt_auth, refresher_retries_after_a_failed_start, .timeout = 30)
{
    /*  Given an IdP that is down at start-up (500), the refresher retries at
     *  the rate-limit pace and picks the keys up once it answers. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *doc = s_jwks(s_jwk(key, "key-1", "sig", NULL), NULL);
    jwks_server_t server;
    s_server_start(&server, "{}");
    s_server_serve(&server, 500, "{}");
    ob_jwt_auth_t *auth = s_jwks_auth(&server, 100);
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), -1);
    pthread_t refresher;
    cr_assert_eq(pthread_create(&refresher, NULL, s_refresher_main, auth), 0);
    s_server_serve(&server, 200, doc);

    for (int waited = 0; waited < 5000 && ob_jwt_auth_jwks_count(auth) == 0; waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_eq(ob_jwt_auth_jwks_count(auth), 1);

    ob_jwt_auth_stop_refresher(auth);
    pthread_join(refresher, NULL);
    ob_jwt_auth_destroy(&auth);
    s_server_stop(&server);
    free(doc);
    EVP_PKEY_free(key);
    curl_global_cleanup();
}

Test(jwt_auth, refresher_without_jwks_returns_at_once)
{
    ob_jwt_auth_t *auth = s_hs256_auth();
    ob_jwt_auth_run_refresher(auth); /* must not block */
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), -1);
    cr_assert_eq(ob_jwt_auth_jwks_count(auth), 0);
    ob_jwt_auth_destroy(&auth);
}

typedef struct {
    ob_jwt_auth_t *auth;
    const char *token;
    atomic_int failures;
} hammer_t;

static void *
s_hammer_main(void *arg)
{
    hammer_t *h = arg;
    for (int i = 0; i < 100; i++) {
        const char *reason = NULL;
        if (ob_jwt_auth_verify(h->auth, h->token, strlen(h->token), NOW, NULL, &reason) != OB_OK)
            atomic_fetch_add(&h->failures, 1);
    }
    return NULL;
}

Test(jwt_auth, verify_is_thread_safe_during_refreshes, .timeout = 60)
{
    /*  Given four loop threads verifying while the key set is swapped again
     *  and again, every verification succeeds (and ASan sees no race on the
     *  freed key sets). */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char *priv = s_private_pem(key);
    char *doc = s_jwks(s_jwk(key, "key-1", "sig", NULL), NULL);
    jwks_server_t server;
    s_server_start(&server, doc);
    ob_jwt_auth_t *auth = s_jwks_auth(&server, 0);
    cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), 0);
    char *token = s_sign(JWT_ALG_RS256, priv, strlen(priv), "key-1", s_claims());

    hammer_t hammer = {.auth = auth, .token = token};
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&threads[i], NULL, s_hammer_main, &hammer), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(ob_jwt_auth_refresh_jwks(auth), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    cr_assert_eq(atomic_load(&hammer.failures), 0);

    ob_jwt_auth_destroy(&auth);
    s_server_stop(&server);
    free(token);
    free(doc);
    free(priv);
    EVP_PKEY_free(key);
    curl_global_cleanup();
}

/* ------------------------------------------------------------------------ */
/*  A correctly signed token whose payload jansson cannot read is token_malformed, not bad_signature.
 *  The tokens are signed by hand over raw payload bytes, which no JWT library would make. */

static size_t
s_raw_b64url(const unsigned char *in, size_t len, char *out)
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
s_raw_signed_token(const char *payload, size_t payload_len, char *out, size_t cap)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char h[128], p[512], sig[128];
    s_raw_b64url((const unsigned char *)header, sizeof header - 1, h);
    s_raw_b64url((const unsigned char *)payload, payload_len, p);
    char signing[700];
    int n = snprintf(signing, sizeof signing, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)signing, (size_t)n, mac, &mac_len);
    s_raw_b64url(mac, mac_len, sig);
    snprintf(out, cap, "%s.%s", signing, sig);
}

struct raw_payload_case {
    const char *name, *payload;
    size_t len; /* 0: strlen */
    const char *expected;
};

static const struct raw_payload_case s_payload_cases[] = {
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
    OB_TEST_CASE_INDICES(s_payload_cases);
}

ParameterizedTest(size_t *index, jwt_malformed, payloads)
{
    const struct raw_payload_case *c = &s_payload_cases[*index];
    char token[1024];
    s_raw_signed_token(c->payload, c->len ? c->len : strlen(c->payload), token, sizeof token);
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
    s_raw_signed_token("{\"sub\":\"u1\",\"exp\":1700000600}", 29, token, sizeof token);
    char *c = &token[strlen(token) - 2];
    *c = *c == 'A' ? 'B' : 'A'; /* still base64url, no longer the MAC */
    ob_jwt_auth_config_t cfg = {.hs256_secret = SECRET};
    ob_jwt_auth_t *auth = ob_jwt_auth_new(&cfg);
    const char *reason = NULL;
    ob_jwt_auth_verify(auth, token, strlen(token), NOW, NULL, &reason);
    cr_expect_str_eq(reason, "bad_signature");
    ob_jwt_auth_destroy(&auth);
}
