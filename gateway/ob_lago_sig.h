/*  ob_lago_sig - verifies Lago's webhook signatures.
 *
 *  Lago sends X-Lago-Signature-Algorithm ("hmac" or "jwt") and
 *  X-Lago-Signature (lago-api, Webhook#generate_headers):
 *    hmac: base64(HMAC-SHA256(key = the organisation's HMAC key, raw body)),
 *          standard alphabet with padding (Ruby's Base64.strict_encode64).
 *    jwt:  a JWT signed RS256 with Lago's private key whose payload is
 *          {"data": <the raw body as a string>, "iss": <Lago's LAGO_API_URL>};
 *          it has no exp, so replays are stopped downstream by
 *          X-Lago-Unique-Key, not here.
 *  Lago versions from before the hmac option send no algorithm header; their
 *  signature is always a JWT, so a missing algorithm header means "jwt". That
 *  costs nothing: the JWT path is the strict one.
 *
 *  The JWT header is read by us first (ob_jwt_auth_read_header) and anything
 *  but alg RS256 is refused before libjwt is handed the key, so neither
 *  "none" nor HS256-keyed-with-the-public-key can pass.
 *
 *  A verifier is immutable after ob_lago_sig_new: verify is thread-safe and
 *  does no I/O.
 */
#ifndef OB_LAGO_SIG_H_INCLUDED
#define OB_LAGO_SIG_H_INCLUDED

#include <stddef.h>

/*  Larger X-Lago-Signature values are refused: libjwt 1.x decodes the token on
 *  the stack, and h2o caps a request head at about 400 KiB anyway. Lago's own
 *  docs point large payloads at hmac. */
#define OB_LAGO_SIG_MAX_SIGNATURE (512 * 1024)

typedef enum {
    OB_LAGO_SIG_OK = 0,
    OB_LAGO_SIG_MISSING,           /* no X-Lago-Signature */
    OB_LAGO_SIG_UNKNOWN_ALGORITHM, /* X-Lago-Signature-Algorithm is neither hmac nor jwt */
    OB_LAGO_SIG_NOT_CONFIGURED,    /* no key configured for that algorithm: a server problem */
    OB_LAGO_SIG_MALFORMED,         /* the signature cannot be decoded at all */
    OB_LAGO_SIG_ALG_NOT_ALLOWED,   /* a JWT whose header alg is not RS256 */
    OB_LAGO_SIG_MISMATCH,          /* bad signature, or it signs a different body */
    OB_LAGO_SIG_WRONG_ISSUER       /* a valid JWT from another Lago (iss differs) */
} ob_lago_sig_result_t;

typedef struct _ob_lago_sig_t ob_lago_sig_t;

/*  Borrowed for the duration of ob_lago_sig_new only. NULL or "" turns the
 *  algorithm (or the issuer check) off. */
typedef struct {
    const char *hmac_key;   /* LAGO_WEBHOOK_HMAC_KEY */
    const char *public_key; /* LAGO_WEBHOOK_PUBLIC_KEY: base64 of the PEM (as /webhooks/public_key returns it) or a PEM */
    const char *issuer;     /* LAGO_API_URL: required iss; compared ignoring one trailing '/' */
} ob_lago_sig_config_t;

/*  Fills cfg from LAGO_WEBHOOK_HMAC_KEY, LAGO_WEBHOOK_PUBLIC_KEY and
 *  LAGO_API_URL (strings borrowed from the environment). */
void ob_lago_sig_config_from_env(ob_lago_sig_config_t *cfg);

/*  Creates a verifier; decodes and checks the public key now. Returns NULL
 *  (and logs which setting is wrong) when the public key is set but is not an
 *  RSA key of at least 2048 bits, or on OOM. A config with no key at all is
 *  valid: every verify then answers NOT_CONFIGURED. */
ob_lago_sig_t *ob_lago_sig_new(const ob_lago_sig_config_t *cfg);

/*  Frees the verifier (the HMAC key is wiped) and nulls *self_p. NULL-safe. */
void ob_lago_sig_destroy(ob_lago_sig_t **self_p);

/*  Verifies one webhook. algorithm / signature are the two header values as
 *  (pointer, length) views, NULL/0 when absent; body is the raw request body.
 *  Never reads outside the given spans. */
ob_lago_sig_result_t ob_lago_sig_verify(const ob_lago_sig_t *self, const char *algorithm, size_t algorithm_len,
                                        const char *signature, size_t signature_len, const void *body, size_t body_len);

/*  A stable snake_case code for the JSON error body, e.g. "signature_missing". */
const char *ob_lago_sig_code(ob_lago_sig_result_t result);

/*  One human sentence explaining the result. */
const char *ob_lago_sig_message(ob_lago_sig_result_t result);

/*  Writes the hmac-algorithm signature Lago would send for body, NUL-
 *  terminated, into out[0..cap) (cap >= 45). For tests and the Lago stand-in.
 *  Returns 0 or -1. */
int ob_lago_sig_hmac(const char *key, const void *body, size_t len, char *out, size_t cap);

#endif
