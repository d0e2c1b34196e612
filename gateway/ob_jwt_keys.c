/*  ob_jwt_keys - public keys for JWT verification: PEM, certificates, base64
 *  PEM / DER and JWK members (RSA n/e, EC P-256 x/y) turned into the one form
 *  libjwt 1.x reads (a SubjectPublicKeyInfo PEM) and the one algorithm each
 *  key may be used with. Kept apart from verification so that key handling,
 *  the part that talks to OpenSSL, can be read and reviewed on its own. */
#include "gateway/ob_jwt_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_json.h"

/* ------------------------------------------------------------------------ */
/*  Base64 (base64url is shared with ob_jwt_auth)                            */

bool
ob_jwt_keys_is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

unsigned char *
ob_jwt_keys_b64url_decode(const char *in, size_t len, size_t *out_len)
{
    if (len % 4 == 1)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!ob_jwt_keys_is_b64url((unsigned char)in[i]))
            return NULL;
    size_t padded = (len + 3) / 4 * 4;
    size_t pad = padded - len;
    unsigned char *text = calloc(1, padded + 1); /* zeroed: gcc cannot see len > 0 */
    unsigned char *out = malloc(padded / 4 * 3 + 1);
    if (!text || !out) {
        free(text);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        text[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (unsigned char)in[i];
    memset(text + len, '=', pad);
    int n = EVP_DecodeBlock(out, text, (int)padded);
    free(text);
    if (n < 0 || (size_t)n < pad) {
        free(out);
        return NULL;
    }
    /*  EVP_DecodeBlock counts the zero bytes that stand for '=' padding. */
    *out_len = (size_t)n - pad;
    out[*out_len] = '\0';
    return out;
}

/*  Decodes standard base64 with line breaks (Ruby's Base64.encode64, PEM
 *  bodies) into a malloc'd buffer. NULL when it is not base64. */
static unsigned char *
s_b64_text_decode(const char *in, size_t len, size_t *out_len)
{
    if (len > INT32_MAX / 2)
        return NULL;
    unsigned char *out = malloc(len + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n = 0, tail = 0;
    bool ok = out && ctx;
    if (ok) {
        EVP_DecodeInit(ctx); /* skips whitespace and line breaks */
        ok = EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in, (int)len) >= 0 &&
             EVP_DecodeFinal(ctx, out + n, &tail) == 1 && n + tail > 0;
    }
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)(n + tail);
    return out;
}

/* ------------------------------------------------------------------------ */
/*  Keys                                                                     */

/*  The one JWS algorithm a public key may be used with, or NULL. */
static const char *
s_pkey_alg(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return EVP_PKEY_get_bits(pkey) >= 2048 ? "RS256" : NULL; /* shorter RSA keys are breakable */
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        size_t group_len = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_len) == 1 &&
            (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
            return "ES256";
    }
    return NULL;
}

/*  The key as a SubjectPublicKeyInfo PEM, the one form libjwt 1.x reads. */
static int
s_pkey_to_pem(EVP_PKEY *pkey, char **pem_out, size_t *pem_len_out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    int rc = -1;
    if (bio && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
        long len = BIO_get_mem_data(bio, &data);
        char *pem = len > 0 ? malloc((size_t)len + 1) : NULL;
        if (pem) {
            memcpy(pem, data, (size_t)len);
            pem[len] = '\0';
            *pem_out = pem;
            *pem_len_out = (size_t)len;
            rc = 0;
        }
    }
    BIO_free(bio);
    return rc;
}

/*  Decodes a public key from PEM or DER ("PEM" / "DER" in input_type);
 *  certificates are accepted too, for operators who only have the IdP's. */
static EVP_PKEY *
s_decode_pkey(const unsigned char *data, size_t len, const char *input_type)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, input_type, NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (dctx) {
        const unsigned char *p = data;
        size_t left = len;
        if (OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        OSSL_DECODER_CTX_free(dctx);
    }
    if (!pkey && len <= INT32_MAX) {
        X509 *cert = NULL;
        if (strcmp(input_type, "PEM") == 0) {
            BIO *bio = BIO_new_mem_buf(data, (int)len);
            cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
            BIO_free(bio);
        } else {
            const unsigned char *p = data;
            cert = d2i_X509(NULL, &p, (long)len);
        }
        if (cert)
            pkey = X509_get_pubkey(cert);
        X509_free(cert);
    }
    ERR_clear_error(); /* failed attempts must not leave errors for the next OpenSSL caller on this thread */
    return pkey;
}

int
ob_jwt_keys_load_public_key(const char *text, size_t len, char **pem_out, size_t *pem_len_out, const char **alg_out)
{
    if (!text || len == 0 || !pem_out || !pem_len_out || !alg_out)
        return -1;
    static const char armour[] = "-----BEGIN";
    EVP_PKEY *pkey = NULL;
    if (memmem(text, len, armour, sizeof armour - 1)) {
        pkey = s_decode_pkey((const unsigned char *)text, len, "PEM");
    } else {
        size_t raw_len = 0;
        unsigned char *raw = s_b64_text_decode(text, len, &raw_len);
        if (raw) {
            bool is_pem = memmem(raw, raw_len, armour, sizeof armour - 1) != NULL;
            pkey = s_decode_pkey(raw, raw_len, is_pem ? "PEM" : "DER");
            free(raw);
        }
    }
    if (!pkey)
        return -1;
    const char *alg = s_pkey_alg(pkey);
    int rc = (alg && s_pkey_to_pem(pkey, pem_out, pem_len_out) == 0) ? 0 : -1;
    if (rc == 0)
        *alg_out = alg;
    EVP_PKEY_free(pkey);
    return rc;
}

/*  A BIGNUM from a base64url JWK member, or NULL. */
static BIGNUM *
s_jwk_bn(const json_t *jwk, const char *name, size_t *byte_len)
{
    const char *b64 = ob_json_str(jwk, name);
    size_t len = 0;
    unsigned char *raw = b64 ? ob_jwt_keys_b64url_decode(b64, strlen(b64), &len) : NULL;
    BIGNUM *bn = (raw && len > 0) ? BN_bin2bn(raw, (int)len, NULL) : NULL;
    free(raw);
    if (byte_len)
        *byte_len = len;
    return bn;
}

/*  Builds a public key from JWK members with OSSL_PARAM: RSA from (n, e), EC
 *  P-256 from (x, y). NULL when a member is missing or the key is invalid. */
static EVP_PKEY *
s_jwk_to_pkey(const json_t *jwk, const char *kty)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *a = NULL, *b = NULL;
    /*  The builder keeps a pointer to this, not a copy: it must live until
     *  OSSL_PARAM_BLD_to_param below. */
    unsigned char point[65];
    bool is_rsa = strcmp(kty, "RSA") == 0;
    if (!bld)
        goto done;

    if (is_rsa) {
        a = s_jwk_bn(jwk, "n", NULL);
        b = s_jwk_bn(jwk, "e", NULL);
        if (!a || !b || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, a) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, b))
            goto done;
    } else {
        const char *crv = ob_json_str(jwk, "crv");
        size_t x_len = 0, y_len = 0;
        a = s_jwk_bn(jwk, "x", &x_len);
        b = s_jwk_bn(jwk, "y", &y_len);
        /*  RFC 7518 6.2.1.2: coordinates are exactly the field size, 32 bytes. */
        point[0] = 0x04; /* uncompressed */
        if (!crv || strcmp(crv, "P-256") != 0 || !a || !b || x_len != 32 || y_len != 32 || BN_bn2binpad(a, point + 1, 32) != 32 ||
            BN_bn2binpad(b, point + 33, 32) != 32 ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
            goto done;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, is_rsa ? "RSA" : "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto done;
    if (!is_rsa) {
        /*  An off-curve point is the classic invalid-curve attack surface. */
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = check && EVP_PKEY_public_check(check) == 1;
        EVP_PKEY_CTX_free(check);
        if (!ok) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
done:
    BN_free(a);
    BN_free(b);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pkey;
}

int
ob_jwt_keys_from_jwk(const json_t *jwk, char **pem_out, size_t *pem_len_out, const char **alg_out)
{
    const char *kty = ob_json_str(jwk, "kty");
    const char *alg = ob_json_str(jwk, "alg");
    if (!kty || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
        return -1;

    EVP_PKEY *pkey = s_jwk_to_pkey(jwk, kty);
    if (!pkey)
        return -1;
    const char *key_alg = s_pkey_alg(pkey);
    int rc = -1;
    /*  A JWK that names an algorithm is only used with that one. */
    if (key_alg && (!alg || strcmp(alg, key_alg) == 0) && s_pkey_to_pem(pkey, pem_out, pem_len_out) == 0) {
        *alg_out = key_alg;
        rc = 0;
    }
    EVP_PKEY_free(pkey);
    return rc;
}
