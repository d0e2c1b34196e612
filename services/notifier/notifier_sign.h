/*  notifier_sign - Standard Webhooks signatures and secrets.
 *
 *  A secret is "whsec_" + base64 of the key bytes. The signature of a
 *  message is "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"));
 *  the webhook-signature header lists one per secret, space-separated (two
 *  while a rotated-out secret still signs). */
#ifndef NOTIFIER_SIGN_H_INCLUDED
#define NOTIFIER_SIGN_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/*  A new secret: "whsec_" + base64 of 32 random bytes (NUL-terminated, cap
 *  >= 52). Returns -1 when the random source fails or cap is too small. */
int notifier_sign_new_secret(char *out, size_t cap);

/*  A new identifier: prefix + 24 random hex digits ("ep_", "msg_"). */
int notifier_sign_new_id(const char *prefix, char *out, size_t cap);

/*  Appends "v1,<base64 signature>" for secret to out (NUL-terminated;
 *  preceded by a space when out is not empty). Returns -1 when the secret
 *  is not "whsec_" + valid base64 of 1..64 bytes, or out is too small. */
int notifier_sign_append(const char *secret, const char *msg_id, int64_t timestamp, const char *body, size_t body_len, char *out,
                         size_t cap);

#endif
