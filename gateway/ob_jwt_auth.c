/*  ob_jwt_auth - JWT verification: header-first algorithm pinning, libjwt
 *  signatures and our own claim checks. Keys come from ob_jwt_keys (the
 *  static key file) and ob_jwks (the refreshed JWKS set); this file only
 *  decides whether a token is good. */
#include "gateway/ob_jwt_auth.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ob_config.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "gateway/ob_jwks.h"
#include "gateway/ob_jwt_keys.h"
#include "gateway/ob_service_token.h"

/*  A key file is a few hundred bytes; anything this large is not one. */
#define S_MAX_KEY_FILE (64 * 1024)
/*  Leeway beyond a day would make exp meaningless. */
#define S_MAX_LEEWAY_S 86400
/*  exp/nbf outside +-2^53 cannot be a real time and would not survive a double. */
#define S_MAX_TIME 9007199254740992LL

struct _ob_jwt_auth_t {
    /* Fixed after new(); read without locks. */
    unsigned char *hs_secret;
    size_t hs_secret_len;
    char *static_pem;
    size_t static_pem_len;
    jwt_alg_t static_alg; /* JWT_ALG_NONE when no key file */
    char *issuer;
    char *audience;
    long leeway_s;
    ob_jwks_t *jwks; /* NULL when no JWKS URL; has its own locks */
};

/* ------------------------------------------------------------------------ */
/*  Small helpers                                                            */

static char *
s_strdup_or_null(const char *s)
{
    return (s && *s) ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------------ */
/*  Lifecycle                                                                */

void
ob_jwt_auth_config_from_env(ob_jwt_auth_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hs256_secret = ob_config_get("AUTH_JWT_SECRET");
    cfg->public_key_file = ob_config_get("AUTH_JWT_PUBLIC_KEY_FILE");
    cfg->jwks_url = ob_config_get("AUTH_JWKS_URL");
    cfg->issuer = ob_config_get("AUTH_JWT_ISSUER");
    cfg->audience = ob_config_get("AUTH_JWT_AUDIENCE");
}

/*  Reads a small file whole; NULL when unreadable or too large. */
static char *
s_read_file(const char *path, size_t *len_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *data = malloc(S_MAX_KEY_FILE + 1);
    size_t len = data ? fread(data, 1, S_MAX_KEY_FILE + 1, file) : 0;
    bool ok = data && !ferror(file) && len > 0 && len <= S_MAX_KEY_FILE;
    fclose(file);
    if (!ok) {
        free(data);
        return NULL;
    }
    data[len] = '\0';
    *len_out = len;
    return data;
}

static int
s_load_key_file(ob_jwt_auth_t *self, const char *path)
{
    size_t len = 0;
    char *text = s_read_file(path, &len);
    if (!text) {
        ob_log_error("jwt: AUTH_JWT_PUBLIC_KEY_FILE cannot be read");
        return -1;
    }
    const char *alg = NULL;
    int rc = ob_jwt_keys_load_public_key(text, len, &self->static_pem, &self->static_pem_len, &alg);
    free(text);
    if (rc != 0) {
        ob_log_error("jwt: AUTH_JWT_PUBLIC_KEY_FILE holds no usable public key (RSA >= 2048 bits or EC P-256)");
        return -1;
    }
    self->static_alg = jwt_str_alg(alg);
    return 0;
}

static long
s_or_default(long value, long fallback)
{
    return value > 0 ? value : fallback;
}

ob_jwt_auth_t *
ob_jwt_auth_new(const ob_jwt_auth_config_t *cfg)
{
    if (!cfg)
        return NULL;
    bool has_secret = cfg->hs256_secret && *cfg->hs256_secret;
    bool has_file = cfg->public_key_file && *cfg->public_key_file;
    bool has_jwks = cfg->jwks_url && *cfg->jwks_url;
    if (!has_secret && !has_file && !has_jwks) {
        ob_log_error("jwt: set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_URL");
        return NULL;
    }
    if (has_jwks && strncmp(cfg->jwks_url, "http://", 7) != 0 && strncmp(cfg->jwks_url, "https://", 8) != 0) {
        ob_log_error("jwt: AUTH_JWKS_URL must be an http:// or https:// URL");
        return NULL;
    }

    ob_jwt_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->static_alg = JWT_ALG_NONE;
    self->leeway_s = cfg->leeway_s < 0 ? 0 : cfg->leeway_s == 0 ? OB_JWT_AUTH_DEFAULT_LEEWAY_S : cfg->leeway_s;
    if (self->leeway_s > S_MAX_LEEWAY_S)
        self->leeway_s = S_MAX_LEEWAY_S;

    bool ok = true;
    if (has_secret) {
        self->hs_secret_len = strlen(cfg->hs256_secret);
        self->hs_secret = malloc(self->hs_secret_len);
        ok = self->hs_secret != NULL;
        if (ok)
            memcpy(self->hs_secret, cfg->hs256_secret, self->hs_secret_len);
        if (self->hs_secret_len < 32)
            ob_log_warn("jwt: AUTH_JWT_SECRET is shorter than 32 bytes; HS256 needs at least 256 bits of key");
    }
    if (ok && has_file)
        ok = s_load_key_file(self, cfg->public_key_file) == 0;
    if (ok && has_jwks)
        ok = (self->jwks = ob_jwks_new(cfg->jwks_url, s_or_default(cfg->jwks_min_refresh_ms, OB_JWT_AUTH_DEFAULT_MIN_REFRESH_MS),
                                       s_or_default(cfg->jwks_refresh_interval_ms, OB_JWT_AUTH_DEFAULT_REFRESH_INTERVAL_MS),
                                       s_or_default(cfg->jwks_timeout_ms, OB_JWT_AUTH_DEFAULT_TIMEOUT_MS))) != NULL;
    if (ok && cfg->issuer && *cfg->issuer)
        ok = (self->issuer = s_strdup_or_null(cfg->issuer)) != NULL;
    if (ok && cfg->audience && *cfg->audience)
        ok = (self->audience = s_strdup_or_null(cfg->audience)) != NULL;
    if (!ok)
        ob_jwt_auth_destroy(&self);
    return self;
}

void
ob_jwt_auth_destroy(ob_jwt_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_jwt_auth_t *self = *self_p;
    if (self->hs_secret)
        OPENSSL_clear_free(self->hs_secret, self->hs_secret_len);
    free(self->static_pem);
    free(self->issuer);
    free(self->audience);
    ob_jwks_destroy(&self->jwks);
    free(self);
    *self_p = NULL;
}

int
ob_jwt_auth_load_public_key(const char *text, size_t len, char **pem_out, size_t *pem_len_out, const char **alg_out)
{
    return ob_jwt_keys_load_public_key(text, len, pem_out, pem_len_out, alg_out);
}

/* ------------------------------------------------------------------------ */
/*  JWKS (see ob_jwks)                                                       */

int
ob_jwt_auth_refresh_jwks(ob_jwt_auth_t *self)
{
    return self ? ob_jwks_refresh(self->jwks) : -1;
}

void
ob_jwt_auth_run_refresher(ob_jwt_auth_t *self)
{
    if (self)
        ob_jwks_run_refresher(self->jwks);
}

void
ob_jwt_auth_stop_refresher(ob_jwt_auth_t *self)
{
    if (self)
        ob_jwks_stop_refresher(self->jwks);
}

size_t
ob_jwt_auth_jwks_count(ob_jwt_auth_t *self)
{
    return self ? ob_jwks_count(self->jwks) : 0;
}

/* ------------------------------------------------------------------------ */
/*  Token parsing                                                            */

/*  Splits token[0..len) at its two dots; -1 unless there are exactly three
 *  base64url segments and the first two are non-empty. */
static int
s_split(const char *token, size_t len, size_t *dot1, size_t *dot2)
{
    size_t dots[2];
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (count == 2)
                return -1;
            dots[count++] = i;
        } else if (!ob_jwt_keys_is_b64url((unsigned char)token[i])) {
            return -1;
        }
    }
    if (count != 2 || dots[0] == 0 || dots[1] == dots[0] + 1)
        return -1;
    *dot1 = dots[0];
    *dot2 = dots[1];
    return 0;
}

/*  Decodes one segment as a JSON object; duplicate members are refused so
 *  that we and libjwt can never read two different values for one name. */
static json_t *
s_segment_json(const char *segment, size_t len)
{
    size_t raw_len = 0;
    unsigned char *raw = ob_jwt_keys_b64url_decode(segment, len, &raw_len);
    if (!raw)
        return NULL;
    json_t *obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

static bool
s_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

int
ob_jwt_auth_read_header(const char *token, size_t len, ob_jwt_header_t *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    size_t dot1, dot2;
    if (!token || s_split(token, len, &dot1, &dot2) != 0)
        return -1;
    (void)dot2;
    json_t *header = s_segment_json(token, dot1);
    if (!header)
        return -1;

    int rc = -1;
    const char *alg = ob_json_str(header, "alg");
    json_t *kid = json_object_get(header, "kid");
    json_t *typ = json_object_get(header, "typ");
    /*  "crit" names extensions the verifier must understand (RFC 7515 4.1.11);
     *  we understand none. jku/x5u/jwk are ignored: keys never come from the
     *  token itself. */
    if (!alg || !*alg || strlen(alg) >= sizeof out->alg || json_object_get(header, "crit"))
        goto done;
    if (kid && (!json_is_string(kid) || json_string_length(kid) == 0 || json_string_length(kid) > OB_JWT_KID_MAX ||
                s_has_control(json_string_value(kid))))
        goto done;
    if (typ && !json_is_string(typ))
        goto done;
    snprintf(out->alg, sizeof out->alg, "%s", alg);
    if (kid) {
        snprintf(out->kid, sizeof out->kid, "%s", json_string_value(kid));
        out->has_kid = true;
    }
    out->typ_ok = !typ || strcasecmp(json_string_value(typ), "JWT") == 0;
    rc = 0;
done:
    json_decref(header);
    return rc;
}

/* ------------------------------------------------------------------------ */
/*  Verification                                                             */

/*  Only these three are ever accepted; anything else (none, HS384, PS256, ...)
 *  is not allowed whatever the keys. */
static jwt_alg_t
s_supported_alg(const char *name)
{
    if (strcmp(name, "HS256") == 0)
        return JWT_ALG_HS256;
    if (strcmp(name, "RS256") == 0)
        return JWT_ALG_RS256;
    if (strcmp(name, "ES256") == 0)
        return JWT_ALG_ES256;
    return JWT_ALG_INVAL;
}

/*  Chooses the key for (alg, kid); the caller holds the JWKS read lock.
 *  Returns NULL with *key and *key_len set, or the reason code why there is
 *  no key. */
static const char *
s_pick_key(const ob_jwt_auth_t *self, const ob_jwt_header_t *header, jwt_alg_t alg, const unsigned char **key, size_t *key_len)
{
    const ob_jwks_key_t *k = header->has_kid ? ob_jwks_find(self->jwks, header->kid) : NULL;
    if (k) {
        if (jwt_str_alg(k->alg) != alg)
            return "algorithm_not_allowed";
        *key = (const unsigned char *)k->pem;
        *key_len = k->pem_len;
        return NULL;
    }
    if (alg == JWT_ALG_HS256 && self->hs_secret) {
        *key = self->hs_secret;
        *key_len = self->hs_secret_len;
        return NULL;
    }
    if (alg == self->static_alg) {
        *key = (const unsigned char *)self->static_pem;
        *key_len = self->static_pem_len;
        return NULL;
    }
    /*  HS256 is never served by the JWKS (we only keep RSA and EC keys), so
     *  an HS256 token without a secret configured is an algorithm problem,
     *  not a key we have yet to fetch. */
    if (self->jwks && alg != JWT_ALG_HS256)
        return "unknown_key";
    return "algorithm_not_allowed";
}

/*  A NumericDate member as seconds; -1 when present but unusable, 0 when
 *  absent, 1 when read. */
static int
s_numeric_date(const json_t *claims, const char *name, int64_t *out)
{
    json_t *value = json_object_get(claims, name);
    if (!value)
        return 0;
    double d;
    if (json_is_integer(value)) {
        json_int_t i = json_integer_value(value);
        if (i > S_MAX_TIME || i < -S_MAX_TIME)
            return -1;
        *out = (int64_t)i;
        return 1;
    }
    if (!json_is_real(value))
        return -1;
    d = json_real_value(value);
    if (!isfinite(d) || d > (double)S_MAX_TIME || d < -(double)S_MAX_TIME)
        return -1;
    *out = (int64_t)floor(d);
    return 1;
}

static bool
s_audience_matches(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *item;
        json_array_foreach(aud, i, item)
        {
            if (json_is_string(item) && strcmp(json_string_value(item), want) == 0)
                return true;
        }
    }
    return false;
}

/*  Checks the verified claims; NULL when good (then *out is filled), else the
 *  reason code. */
static const char *
s_check_claims(const ob_jwt_auth_t *self, const json_t *claims, int64_t now_s, ob_jwt_claims_t *out)
{
    int64_t exp = 0, nbf = 0, earliest, latest;
    if (s_numeric_date(claims, "exp", &exp) != 1)
        return "token_malformed"; /* a token without exp would never expire */
    int has_nbf = s_numeric_date(claims, "nbf", &nbf);
    if (has_nbf < 0)
        return "token_malformed";
    if (__builtin_sub_overflow(now_s, (int64_t)self->leeway_s, &earliest))
        earliest = INT64_MIN;
    if (__builtin_add_overflow(now_s, (int64_t)self->leeway_s, &latest))
        latest = INT64_MAX;
    if (earliest >= exp)
        return "token_expired";
    if (has_nbf && nbf > latest)
        return "token_not_yet_valid";

    if (self->issuer) {
        const char *iss = ob_json_str(claims, "iss");
        if (!iss || strcmp(iss, self->issuer) != 0)
            return "wrong_issuer";
    }
    if (self->audience && !s_audience_matches(json_object_get(claims, "aud"), self->audience))
        return "wrong_audience";

    const char *sub = ob_json_str(claims, "sub");
    if (!sub || !*sub || strlen(sub) > OB_JWT_SUB_MAX || s_has_control(sub))
        return "token_malformed";
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    const char *email = ob_json_str(claims, "email");
    if (email && strlen(email) <= OB_JWT_EMAIL_MAX && !s_has_control(email))
        snprintf(out->email, sizeof out->email, "%s", email);
    out->exp = exp;
    return NULL;
}

ob_err_t
ob_jwt_auth_verify(ob_jwt_auth_t *self, const char *token, size_t len, int64_t now_s, ob_jwt_claims_t *out,
                   const char **reason_code)
{
    ob_jwt_claims_t claims;
    memset(&claims, 0, sizeof claims);
    const char *reason = NULL;
    ob_err_t err = OB_ERR_UNAUTHORIZED;
    char *copy = NULL;
    json_t *payload = NULL;
    ob_jwt_header_t header;
    size_t dot1, dot2;

    if (!self) {
        err = OB_ERR_INTERNAL;
        reason = "internal";
        goto done;
    }
    if (!token || len == 0) {
        reason = "token_missing";
        goto done;
    }
    if (len > OB_JWT_AUTH_MAX_TOKEN || ob_jwt_auth_read_header(token, len, &header) != 0 ||
        s_split(token, len, &dot1, &dot2) != 0) {
        reason = "token_malformed";
        goto done;
    }
    /*  The algorithm decides before any key is touched: see the header. */
    jwt_alg_t alg = s_supported_alg(header.alg);
    if (alg == JWT_ALG_INVAL) {
        reason = "algorithm_not_allowed";
        goto done;
    }
    if (!header.typ_ok) {
        reason = "token_malformed"; /* libjwt 1.x refuses any typ but "JWT" */
        goto done;
    }
    if (dot2 + 1 == len) {
        reason = "bad_signature"; /* a signing algorithm with no signature */
        goto done;
    }
    /*  The claims as JSON, before the signature: libjwt refuses a payload
     *  jansson cannot read (not JSON, exp 1e309) as if the signature were
     *  wrong, and the caller deserves to know the token itself is broken. */
    payload = s_segment_json(token + dot1 + 1, dot2 - dot1 - 1);
    if (!payload) {
        reason = "token_malformed";
        goto done;
    }
    copy = malloc(len + 1); /* libjwt wants a C string; the token is a view */
    if (!copy) {
        err = OB_ERR_INTERNAL;
        reason = "internal";
        goto done;
    }
    memcpy(copy, token, len);
    copy[len] = '\0';

    const unsigned char *key = NULL;
    size_t key_len = 0;
    int rc = 0;
    jwt_t *jwt = NULL;
    ob_jwks_rdlock(self->jwks);
    reason = s_pick_key(self, &header, alg, &key, &key_len);
    if (!reason)
        rc = jwt_decode(&jwt, copy, key, (int)key_len);
    ob_jwks_unlock(self->jwks);
    if (reason) {
        if (strcmp(reason, "unknown_key") == 0)
            ob_jwks_request_refresh(self->jwks);
        goto done;
    }
    jwt_free(jwt);
    if (rc != 0) {
        err = rc == ENOMEM ? OB_ERR_INTERNAL : OB_ERR_UNAUTHORIZED;
        reason = rc == ENOMEM ? "internal" : "bad_signature";
        goto done;
    }

    /*  The signature covers these exact bytes; read the claims ourselves so
     *  that exp may be a real, aud an array, and sizes are bounded. */
    reason = s_check_claims(self, payload, now_s, &claims);
    if (!reason)
        err = OB_OK;

done:
    json_decref(payload);
    free(copy);
    if (out)
        *out = claims; /* zeroed unless OB_OK */
    if (reason_code)
        *reason_code = err == OB_OK ? "ok" : reason;
    return err;
}

/* ------------------------------------------------------------------------ */
/*  Finding the token                                                        */

static bool
s_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*  The value of cookie `name` in a Cookie header, per RFC 6265 5.4 / 4.2.1. */
static int
s_find_cookie(const char *header, size_t len, const char *name, const char **value, size_t *value_len)
{
    size_t name_len = strlen(name);
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && header[end] != ';')
            end++;
        size_t start = pos;
        pos = end + 1;
        while (start < end && s_is_ows(header[start]))
            start++;
        while (end > start && s_is_ows(header[end - 1]))
            end--;
        const char *eq = memchr(header + start, '=', end - start);
        if (!eq)
            continue;
        size_t key_end = (size_t)(eq - header);
        while (key_end > start && s_is_ows(header[key_end - 1]))
            key_end--;
        if (key_end - start != name_len || memcmp(header + start, name, name_len) != 0)
            continue;
        size_t v = (size_t)(eq - header) + 1;
        while (v < end && s_is_ows(header[v]))
            v++;
        if (end - v >= 2 && header[v] == '"' && header[end - 1] == '"') {
            v++;
            end--;
        }
        if (end > v) {
            *value = header + v;
            *value_len = end - v;
            return 0;
        }
    }
    return -1;
}

int
ob_jwt_auth_extract_token(const char *authz, size_t authz_len, const char *cookie_header, size_t cookie_len,
                          const char *cookie_name, const char **tok, size_t *tok_len)
{
    if (!tok || !tok_len)
        return -1;
    if (authz && authz_len && ob_service_token_parse_bearer(authz, authz_len, tok, tok_len) == 0)
        return 0;
    if (cookie_header && cookie_len && cookie_name && *cookie_name)
        return s_find_cookie(cookie_header, cookie_len, cookie_name, tok, tok_len);
    return -1;
}
