/*  ob_stripe_sig - verifies Stripe's Stripe-Signature webhook header.
 *
 *  The header is "t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]": a list of
 *  comma-separated key=value items. Each v1 is hex(HMAC-SHA256(key=endpoint
 *  secret, "<t>.<raw body>")), keyed with the whole "whsec_..." string exactly
 *  as Stripe's own libraries do. Items with other keys (v0, future schemes,
 *  items without '=') are ignored; the first "t" wins, as in Stripe's
 *  libraries. Stripe sends two v1 items while an endpoint secret is being
 *  rolled, and we may hold two secrets at once (a comma-separated list), so a
 *  request is accepted when any v1 matches any configured secret.
 *
 *  Order of checks, as Stripe's libraries do it: parse, then signature, then
 *  timestamp. So TOO_OLD / TOO_NEW are only ever reported for a header that
 *  Stripe really signed (a replay or a skewed clock), never for a forgery.
 *
 *  A valid signature over an empty body is OK here: the signature is what this
 *  module judges. The HTTP layer rejects an empty body separately as invalid
 *  JSON.
 *
 *  Pure: no I/O, no allocation, no global state beyond OpenSSL's; safe on any
 *  thread. The header is a (pointer, length) view, not NUL-terminated.
 */
#ifndef OB_STRIPE_SIG_H_INCLUDED
#define OB_STRIPE_SIG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/*  STRIPE_WEBHOOK_TOLERANCE_S default, and what a tolerance <= 0 falls back to. */
#define OB_STRIPE_SIG_DEFAULT_TOLERANCE_S 300
/*  Longer headers are MALFORMED without being parsed (Stripe's are < 300 bytes). */
#define OB_STRIPE_SIG_MAX_HEADER 4096
/*  More v1 items than this is MALFORMED (Stripe sends one, two while rolling). */
#define OB_STRIPE_SIG_MAX_V1 16
/*  Hex length of one signature; ob_stripe_sig_sign needs cap > this. */
#define OB_STRIPE_SIG_HEX_LEN 64

typedef enum {
    OB_STRIPE_SIG_OK = 0,
    OB_STRIPE_SIG_MISSING,       /* no header, or an empty one */
    OB_STRIPE_SIG_MALFORMED,     /* unparsable: no t, bad t, too long, too many v1 */
    OB_STRIPE_SIG_NO_V1,         /* parsed, but no v1 item at all */
    OB_STRIPE_SIG_MISMATCH,      /* no v1 matches any configured secret */
    OB_STRIPE_SIG_TOO_OLD,       /* authentic, but t < now - tolerance */
    OB_STRIPE_SIG_TOO_NEW,       /* authentic, but t > now + tolerance */
    OB_STRIPE_SIG_NOT_CONFIGURED /* secrets_csv holds no secret: a server problem, not the caller's */
} ob_stripe_sig_result_t;

/*  Verifies header[0..header_len) for body[0..body_len) against every secret
 *  in secrets_csv (comma-separated; spaces around entries and empty entries
 *  are ignored). tolerance_s bounds |now_s - t|; a value <= 0 means the
 *  default, never "no check". When the header parsed, *signed_at_out (may be
 *  NULL) receives t, otherwise 0, so callers can log how late a replay was.
 *  Never reads outside the given spans. */
ob_stripe_sig_result_t ob_stripe_sig_verify(const char *header, size_t header_len, const void *body, size_t body_len,
                                            const char *secrets_csv, long tolerance_s, int64_t now_s, int64_t *signed_at_out);

/*  A stable snake_case code for the JSON error body, e.g. "signature_missing". */
const char *ob_stripe_sig_code(ob_stripe_sig_result_t result);

/*  One human sentence explaining the result. */
const char *ob_stripe_sig_message(ob_stripe_sig_result_t result);

/*  Writes the lowercase hex v1 signature of (t, body) under secret, as Stripe
 *  would, NUL-terminated, into out_hex[0..cap). For tests, the benchmark and
 *  the Stripe stand-in. Returns 0, or -1 when cap <= OB_STRIPE_SIG_HEX_LEN,
 *  t < 0 or an argument is NULL (body may be NULL when len is 0). */
int ob_stripe_sig_sign(const char *secret, int64_t t, const void *body, size_t len, char *out_hex, size_t cap);

#endif
