/*  ob_jwt_auth - user authentication with JSON Web Tokens.
 *
 *  A verifier holds up to three key sources, any combination of which may be
 *  configured:
 *    - an HS256 shared secret (AUTH_JWT_SECRET),
 *    - one PEM public key (AUTH_JWT_PUBLIC_KEY_FILE): an RSA key (>= 2048 bits)
 *      allows RS256 only, an EC P-256 key allows ES256 only,
 *    - a JWKS document (AUTH_JWKS_URL, Keycloak/Authentik style): each key has
 *      a kid; kty RSA (n, e) allows RS256, kty EC crv P-256 (x, y) allows
 *      ES256; keys marked "use":"enc", or whose "alg" is something else, are
 *      skipped.
 *
 *  Security: libjwt 1.x trusts the algorithm named in the token header. We
 *  therefore read the header ourselves first and pick the key from the header
 *  alg and kid; a token whose alg is not one a configured key allows ("none",
 *  HS256 when only an RSA key is configured, ...) is refused before libjwt sees
 *  any key. A key is only ever used with its own algorithm, so an RSA public
 *  key can never become an HMAC secret.
 *
 *  Claims, checked after the signature: exp is required (a token that never
 *  expires is refused), exp and nbf are allowed `leeway` seconds of clock skew,
 *  iss must equal the configured issuer, aud (a string or an array) must
 *  contain the configured audience, sub is required.
 *
 *  Threads. ob_jwt_auth_verify may run concurrently on any number of threads
 *  (the gateway's loop threads): the JWKS key set sits behind a
 *  writer-preferring rwlock, and verify never does I/O. JWKS documents are
 *  fetched with libcurl only by ob_jwt_auth_refresh_jwks, which blocks and
 *  must therefore run off the event loops: once at start-up, then from a
 *  background thread that the gateway dedicates to ob_jwt_auth_run_refresher.
 *  That loop re-fetches the document every jwks_refresh_interval_ms (so
 *  removed keys disappear), and early when verify meets a kid it does not know
 *  (a key rotation). Such early refreshes are rate-limited to one per
 *  jwks_min_refresh_ms (30 s), so a flood of made-up kids costs the identity
 *  provider at most one request per window. The request that met the unknown
 *  kid gets 401 unknown_key; its retry, after the refresh, succeeds.
 *
 *  Shutdown: ob_jwt_auth_stop_refresher(), join the refresher thread, then
 *  ob_jwt_auth_destroy().
 *
 *  Layout: this module parses and verifies tokens; key loading lives in
 *  ob_jwt_keys, the JWKS set with its fetch and refresher in ob_jwks. Callers
 *  only need this header.
 */
#ifndef OB_JWT_AUTH_H_INCLUDED
#define OB_JWT_AUTH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ob_err.h"

/*  Tokens longer than this are malformed (libjwt decodes on the stack). */
#define OB_JWT_AUTH_MAX_TOKEN 8192
/*  Largest sub / email kept in the claims (bytes, without the NUL). */
#define OB_JWT_SUB_MAX 255
#define OB_JWT_EMAIL_MAX 320
/*  Largest kid we look up or keep. */
#define OB_JWT_KID_MAX 128
/*  Keys kept from one JWKS document; the rest are ignored. */
#define OB_JWT_AUTH_MAX_JWKS_KEYS 32
/*  Largest JWKS document accepted. */
#define OB_JWT_AUTH_MAX_JWKS_BYTES (256 * 1024)

#define OB_JWT_AUTH_DEFAULT_LEEWAY_S 60
#define OB_JWT_AUTH_DEFAULT_MIN_REFRESH_MS 30000
#define OB_JWT_AUTH_DEFAULT_REFRESH_INTERVAL_MS 600000
#define OB_JWT_AUTH_DEFAULT_TIMEOUT_MS 5000
/*  For leeway_s: no clock skew allowed at all (0 means the default). */
#define OB_JWT_AUTH_NO_LEEWAY (-1)

typedef struct _ob_jwt_auth_t ob_jwt_auth_t;

/*  Every string is borrowed only for the duration of ob_jwt_auth_new (it
 *  copies what it keeps). NULL or "" leaves a source or a check off; numbers
 *  left 0 take the defaults above. */
typedef struct {
    const char *hs256_secret;      /* AUTH_JWT_SECRET: HS256 key bytes */
    const char *public_key_file;   /* AUTH_JWT_PUBLIC_KEY_FILE: PEM (or base64 DER) public key or certificate */
    const char *jwks_url;          /* AUTH_JWKS_URL: http(s) URL of a JWKS document */
    const char *issuer;            /* AUTH_JWT_ISSUER: required iss, exact match */
    const char *audience;          /* AUTH_JWT_AUDIENCE: required aud member */
    long leeway_s;                 /* clock skew for exp/nbf (default 60; OB_JWT_AUTH_NO_LEEWAY for none) */
    long jwks_min_refresh_ms;      /* at most one unknown-kid refresh per this (default 30 s) */
    long jwks_refresh_interval_ms; /* routine re-fetch period (default 10 min) */
    long jwks_timeout_ms;          /* whole-request timeout of one fetch (default 5 s) */
} ob_jwt_auth_config_t;

/*  The claims the gateway forwards. Strings are NUL-terminated copies. */
typedef struct {
    char sub[OB_JWT_SUB_MAX + 1];     /* the user id; always non-empty after OB_OK */
    char email[OB_JWT_EMAIL_MAX + 1]; /* "" when absent or unusable (too long, control bytes) */
    int64_t exp;                      /* expiry, Unix seconds */
} ob_jwt_claims_t;

/*  The parts of a JWS protected header that choose the key. */
typedef struct {
    char alg[16]; /* as written in the token, e.g. "RS256" or "none" */
    char kid[OB_JWT_KID_MAX + 1];
    bool has_kid;
    bool typ_ok; /* typ absent or "JWT" (any case): the only form libjwt 1.x accepts */
} ob_jwt_header_t;

/*  Fills cfg from the AUTH_* settings (ob_config_get). The strings are
 *  borrowed from the environment. */
void ob_jwt_auth_config_from_env(ob_jwt_auth_config_t *cfg);

/*  Creates a verifier. Loads and checks the public key file now, so a bad key
 *  stops start-up rather than every request. Does not fetch the JWKS: call
 *  ob_jwt_auth_refresh_jwks once before serving. Returns NULL (and logs which
 *  setting is wrong, never its value) when no key source is configured, the
 *  key file is unreadable or holds an unsupported key, the HS256 secret is
 *  shorter than 32 bytes, a JWKS is configured without an issuer (an
 *  identity provider's JWKS signs every realm's and client's tokens), or on
 *  OOM. A JWKS or public key without an audience starts with an error-level
 *  warning on every start: tokens issued to other clients are accepted. */
ob_jwt_auth_t *ob_jwt_auth_new(const ob_jwt_auth_config_t *cfg);

/*  Frees the verifier and nulls *self_p. NULL-safe. The refresher must have
 *  been stopped and its thread joined. */
void ob_jwt_auth_destroy(ob_jwt_auth_t **self_p);

/*  Verifies token[0..len) (no NUL needed) at time now_s (Unix seconds).
 *  Returns OB_OK and fills *out, or OB_ERR_UNAUTHORIZED with *reason_code one
 *  of "token_missing", "token_malformed", "token_expired",
 *  "token_not_yet_valid", "bad_signature", "algorithm_not_allowed",
 *  "wrong_issuer", "wrong_audience", "unknown_key"; OB_ERR_INTERNAL with
 *  "internal" on OOM. *reason_code is a static string ("ok" on success); out
 *  and reason_code may be NULL. Thread-safe; no I/O (an unknown kid only
 *  wakes the refresher). */
ob_err_t ob_jwt_auth_verify(ob_jwt_auth_t *self, const char *token, size_t len, int64_t now_s, ob_jwt_claims_t *out,
                            const char **reason_code);

/*  Fetches the JWKS document now and swaps in its usable keys. Blocks for up
 *  to jwks_timeout_ms: never call it on an event loop thread. Returns 0, or -1
 *  (the previous key set stays) when the fetch fails, the answer is not 200,
 *  not JSON, or has no usable key, or when no JWKS URL is configured.
 *  Concurrent calls are serialised. */
int ob_jwt_auth_refresh_jwks(ob_jwt_auth_t *self);

/*  The refresher loop: runs on the caller's (dedicated) thread until
 *  ob_jwt_auth_stop_refresher is called, refreshing on schedule and on
 *  request as described above. Returns at once when no JWKS URL is
 *  configured or after a stop. */
void ob_jwt_auth_run_refresher(ob_jwt_auth_t *self);

/*  Makes ob_jwt_auth_run_refresher return promptly (even mid-wait); a fetch
 *  already under way finishes first (bounded by jwks_timeout_ms). Safe from
 *  any thread; sticky: a later run_refresher returns at once. */
void ob_jwt_auth_stop_refresher(ob_jwt_auth_t *self);

/*  Number of keys in the current JWKS key set (for health checks and tests). */
size_t ob_jwt_auth_jwks_count(ob_jwt_auth_t *self);

/*  Finds the token: "Authorization: Bearer <token>" first, else the cookie
 *  named cookie_name in a Cookie header ("a=b; c=d"; a DQUOTEd value is
 *  unquoted). All inputs are (pointer, length) views and may be NULL/0. On
 *  success *tok / *tok_len view into the input and 0 is returned; -1 when
 *  there is no usable token (then verify's answer is "token_missing"). */
int ob_jwt_auth_extract_token(const char *authz, size_t authz_len, const char *cookie_header, size_t cookie_len,
                              const char *cookie_name, const char **tok, size_t *tok_len);

/*  Reads the protected header of a compact JWS token[0..len): checks there
 *  are exactly three base64url segments (the third may be empty) and that the
 *  header is a JSON object with a string alg and no duplicate members.
 *  Returns 0, or -1 when the token is malformed. */
int ob_jwt_auth_read_header(const char *token, size_t len, ob_jwt_header_t *out);

/*  Reads a public key written as PEM ("PUBLIC KEY", "RSA PUBLIC KEY" or a
 *  "CERTIFICATE"), as base64 of such a PEM (Lago's /webhooks/public_key), or
 *  as base64 DER SubjectPublicKeyInfo (Keycloak's realm "Public key").
 *  Returns 0 with a malloc'd SubjectPublicKeyInfo PEM in *pem_out (caller
 *  frees), its length in *pem_len_out and the one algorithm the key allows in
 *  *alg_out ("RS256" for RSA >= 2048 bits, "ES256" for EC P-256); -1 for
 *  anything else. A thin wrapper over ob_jwt_keys_load_public_key, kept here
 *  so callers (ob_lago_sig, tests) need only this header. */
int ob_jwt_auth_load_public_key(const char *text, size_t len, char **pem_out, size_t *pem_len_out, const char **alg_out);

#endif
