/*  ob_lago_sig - Lago webhook signatures: HMAC-SHA256 or an RS256 JWT. */
#include "gateway/ob_lago_sig.h"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ob_config.h"
#include "common/ob_log.h"
#include "gateway/ob_jwt_auth.h"

/*  base64 of a 32-byte digest, with padding, plus the NUL. */
#define S_HMAC_B64_LEN 44

struct _ob_lago_sig_t {
    unsigned char *hmac_key;
    size_t hmac_key_len;
    char *pem; /* SubjectPublicKeyInfo PEM, as libjwt reads it */
    size_t pem_len;
    char *issuer;
    size_t issuer_len; /* without a trailing '/' */
};

void
ob_lago_sig_config_from_env(ob_lago_sig_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hmac_key = ob_config_get("LAGO_WEBHOOK_HMAC_KEY");
    cfg->public_key = ob_config_get("LAGO_WEBHOOK_PUBLIC_KEY");
    cfg->issuer = ob_config_get("LAGO_API_URL");
}

/*  Length of s[0..len) without one trailing '/': "https://lago/" and
 *  "https://lago" name the same API, and operators write both. */
static size_t
s_url_len(const char *s, size_t len)
{
    return (len > 0 && s[len - 1] == '/') ? len - 1 : len;
}

ob_lago_sig_t *
ob_lago_sig_new(const ob_lago_sig_config_t *cfg)
{
    if (!cfg)
        return NULL;
    ob_lago_sig_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    bool ok = true;
    if (cfg->hmac_key && *cfg->hmac_key) {
        self->hmac_key_len = strlen(cfg->hmac_key);
        self->hmac_key = malloc(self->hmac_key_len);
        ok = self->hmac_key != NULL;
        if (ok)
            memcpy(self->hmac_key, cfg->hmac_key, self->hmac_key_len);
    }
    if (ok && cfg->public_key && *cfg->public_key) {
        const char *alg = NULL;
        if (ob_jwt_auth_load_public_key(cfg->public_key, strlen(cfg->public_key), &self->pem, &self->pem_len, &alg) != 0 ||
            strcmp(alg, "RS256") != 0) {
            ob_log_error("lago: LAGO_WEBHOOK_PUBLIC_KEY is not an RSA public key (base64 PEM or PEM, >= 2048 bits)");
            ok = false;
        }
    }
    if (ok && cfg->issuer && *cfg->issuer) {
        self->issuer = strdup(cfg->issuer);
        ok = self->issuer != NULL;
        if (ok)
            self->issuer_len = s_url_len(self->issuer, strlen(self->issuer));
    }
    if (!ok)
        ob_lago_sig_destroy(&self);
    return self;
}

void
ob_lago_sig_destroy(ob_lago_sig_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_lago_sig_t *self = *self_p;
    if (self->hmac_key)
        OPENSSL_clear_free(self->hmac_key, self->hmac_key_len);
    free(self->pem);
    free(self->issuer);
    free(self);
    *self_p = NULL;
}

static int
s_hmac_b64(const unsigned char *key, size_t key_len, const void *body, size_t len, char out[S_HMAC_B64_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    static const unsigned char empty[1];
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, body ? body : empty, len, mac, sizeof mac, &mac_len) ||
        mac_len != 32)
        return -1;
    int n = EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
    OPENSSL_cleanse(mac, sizeof mac);
    return n == S_HMAC_B64_LEN ? 0 : -1;
}

int
ob_lago_sig_hmac(const char *key, const void *body, size_t len, char *out, size_t cap)
{
    if (!key || !out || cap <= S_HMAC_B64_LEN || (!body && len))
        return -1;
    return s_hmac_b64((const unsigned char *)key, strlen(key), body, len, out);
}

static ob_lago_sig_result_t
s_verify_hmac(const ob_lago_sig_t *self, const char *signature, size_t signature_len, const void *body, size_t body_len)
{
    if (!self->hmac_key)
        return OB_LAGO_SIG_NOT_CONFIGURED;
    char expected[S_HMAC_B64_LEN + 1];
    if (s_hmac_b64(self->hmac_key, self->hmac_key_len, body, body_len, expected) != 0)
        return OB_LAGO_SIG_MISMATCH; /* fail closed */
    /*  The presented length is the sender's own information; only the bytes
     *  need the constant-time compare. */
    bool match = signature_len == S_HMAC_B64_LEN && CRYPTO_memcmp(expected, signature, S_HMAC_B64_LEN) == 0;
    OPENSSL_cleanse(expected, sizeof expected);
    return match ? OB_LAGO_SIG_OK : OB_LAGO_SIG_MISMATCH;
}

static ob_lago_sig_result_t
s_verify_jwt(const ob_lago_sig_t *self, const char *token, size_t len, const void *body, size_t body_len)
{
    if (!self->pem)
        return OB_LAGO_SIG_NOT_CONFIGURED;
    ob_jwt_header_t header;
    if (ob_jwt_auth_read_header(token, len, &header) != 0)
        return OB_LAGO_SIG_MALFORMED;
    /*  Pinned before libjwt, which would otherwise believe the header. */
    if (strcmp(header.alg, "RS256") != 0)
        return OB_LAGO_SIG_ALG_NOT_ALLOWED;
    if (!header.typ_ok)
        return OB_LAGO_SIG_MALFORMED;

    char *copy = malloc(len + 1); /* libjwt wants a C string; the header is a view */
    if (!copy)
        return OB_LAGO_SIG_MISMATCH;
    memcpy(copy, token, len);
    copy[len] = '\0';
    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, copy, (const unsigned char *)self->pem, (int)self->pem_len);
    free(copy);
    if (rc != 0)
        return OB_LAGO_SIG_MISMATCH;

    ob_lago_sig_result_t result = OB_LAGO_SIG_OK;
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *data = jwt_get_grant(jwt, "data");
    if (self->issuer &&
        (!iss || s_url_len(iss, strlen(iss)) != self->issuer_len || memcmp(iss, self->issuer, self->issuer_len) != 0))
        result = OB_LAGO_SIG_WRONG_ISSUER;
    /*  data is the body Lago serialised; it must be byte-for-byte ours. A
     *  body with a NUL byte can never match: jansson refuses \u0000. */
    else if (!data || strlen(data) != body_len || (body_len && memcmp(data, body, body_len) != 0))
        result = OB_LAGO_SIG_MISMATCH;
    jwt_free(jwt);
    return result;
}

static bool
s_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

ob_lago_sig_result_t
ob_lago_sig_verify(const ob_lago_sig_t *self, const char *algorithm, size_t algorithm_len, const char *signature,
                   size_t signature_len, const void *body, size_t body_len)
{
    if (!self)
        return OB_LAGO_SIG_NOT_CONFIGURED;
    if (!algorithm)
        algorithm_len = 0;
    while (algorithm_len && s_is_ows(*algorithm)) {
        algorithm++;
        algorithm_len--;
    }
    while (algorithm_len && s_is_ows(algorithm[algorithm_len - 1]))
        algorithm_len--;
    while (signature && signature_len && s_is_ows(signature[signature_len - 1]))
        signature_len--;
    while (signature && signature_len && s_is_ows(*signature)) {
        signature++;
        signature_len--;
    }
    if (!signature || signature_len == 0)
        return OB_LAGO_SIG_MISSING;
    if (!body)
        body_len = 0;

    bool is_hmac = algorithm_len == 4 && strncasecmp(algorithm, "hmac", 4) == 0;
    bool is_jwt = algorithm_len == 0 || (algorithm_len == 3 && strncasecmp(algorithm, "jwt", 3) == 0);
    if (!is_hmac && !is_jwt)
        return OB_LAGO_SIG_UNKNOWN_ALGORITHM;
    if (signature_len > OB_LAGO_SIG_MAX_SIGNATURE)
        return OB_LAGO_SIG_MALFORMED;
    return is_hmac ? s_verify_hmac(self, signature, signature_len, body, body_len)
                   : s_verify_jwt(self, signature, signature_len, body, body_len);
}

static const struct {
    const char *code;
    const char *message;
} s_texts[] = {
    [OB_LAGO_SIG_OK] = {"ok", "The Lago signature is valid."},
    [OB_LAGO_SIG_MISSING] = {"signature_missing", "The X-Lago-Signature header is missing."},
    [OB_LAGO_SIG_UNKNOWN_ALGORITHM] = {"signature_algorithm_unknown", "X-Lago-Signature-Algorithm must be \"hmac\" or \"jwt\"."},
    [OB_LAGO_SIG_NOT_CONFIGURED] = {"webhook_key_missing",
                                    "No key is configured on this server for the Lago signature algorithm used."},
    [OB_LAGO_SIG_MALFORMED] = {"signature_malformed", "The X-Lago-Signature header could not be decoded."},
    [OB_LAGO_SIG_ALG_NOT_ALLOWED] = {"algorithm_not_allowed", "The Lago signature JWT must be signed with RS256."},
    [OB_LAGO_SIG_MISMATCH] = {"signature_mismatch", "The Lago signature does not match the request body."},
    [OB_LAGO_SIG_WRONG_ISSUER] = {"wrong_issuer", "The Lago signature was issued by a different Lago instance."},
};

const char *
ob_lago_sig_code(ob_lago_sig_result_t result)
{
    if ((unsigned)result >= sizeof s_texts / sizeof s_texts[0])
        return "signature_invalid";
    return s_texts[result].code;
}

const char *
ob_lago_sig_message(ob_lago_sig_result_t result)
{
    if ((unsigned)result >= sizeof s_texts / sizeof s_texts[0])
        return "The Lago signature is invalid.";
    return s_texts[result].message;
}
