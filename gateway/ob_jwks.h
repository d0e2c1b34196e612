/*  ob_jwks - a JWKS key set fetched from an identity provider.
 *
 *  Holds the usable signing keys of one JWKS document (Keycloak/Authentik
 *  style), fetches it with libcurl and keeps it fresh from a refresher loop.
 *  Kept apart from verification because it is the only part that does I/O
 *  and owns threads.
 *
 *  Keys: each needs a kid (duplicates after the first are skipped); keys
 *  marked "use" other than "sig" are skipped; the rest go through
 *  ob_jwt_keys_from_jwk. At most OB_JWT_AUTH_MAX_JWKS_KEYS are kept.
 *
 *  Threads. The published set is immutable and sits behind a
 *  writer-preferring rwlock: readers take ob_jwks_rdlock, look keys up with
 *  ob_jwks_find and use them, then ob_jwks_unlock; a refresh builds a new set
 *  and swaps it in under the write lock. ob_jwks_refresh blocks on the
 *  network and must run off the event loops. The refresher re-fetches every
 *  refresh_interval_ms, and early (at most once per min_refresh_ms) when
 *  ob_jwks_request_refresh is called.
 *
 *  Shutdown: ob_jwks_stop_refresher(), join the refresher thread, then
 *  ob_jwks_destroy(). Every function except new is NULL-safe (NULL being
 *  "no JWKS configured").
 */
#ifndef OB_JWKS_H_INCLUDED
#define OB_JWKS_H_INCLUDED

#include <stddef.h>

#include "gateway/ob_jwt_auth.h"

typedef struct _ob_jwks_t ob_jwks_t;

/*  One usable key. Owned by the key set; valid only while the read lock is
 *  held. */
typedef struct {
    char kid[OB_JWT_KID_MAX + 1];
    const char *alg; /* "RS256" or "ES256" (static) */
    char *pem;       /* SubjectPublicKeyInfo PEM, NUL-terminated */
    size_t pem_len;
} ob_jwks_key_t;

/*  Creates an empty key set for url (copied; must be http:// or https://,
 *  checked by the caller). Times are in milliseconds and must be > 0.
 *  Does not fetch. NULL on OOM. */
ob_jwks_t *ob_jwks_new(const char *url, long min_refresh_ms, long refresh_interval_ms, long timeout_ms);

/*  Frees the set and nulls *self_p. NULL-safe. The refresher must have been
 *  stopped and its thread joined. */
void ob_jwks_destroy(ob_jwks_t **self_p);

/*  Fetches the document now and swaps in its usable keys. Blocks for up to
 *  timeout_ms. Returns 0, or -1 (the previous set stays) when the fetch
 *  fails, the answer is not 200, not JSON, or has no usable key. Concurrent
 *  calls are serialised. */
int ob_jwks_refresh(ob_jwks_t *self);

/*  Swaps in the usable keys of a JWKS document already in hand (what
 *  refresh does with the body it fetched; the fuzz target feeds it too).
 *  Returns 0, or -1 (the previous set stays) when doc is not JSON, is over
 *  OB_JWT_AUTH_MAX_JWKS_BYTES or has no usable key. No I/O. */
int ob_jwks_load(ob_jwks_t *self, const char *doc, size_t len);

/*  The refresher loop; runs on the caller's thread until
 *  ob_jwks_stop_refresher. */
void ob_jwks_run_refresher(ob_jwks_t *self);

/*  Makes ob_jwks_run_refresher return promptly; sticky. Any thread. */
void ob_jwks_stop_refresher(ob_jwks_t *self);

/*  Asks the refresher for an early fetch (rate-limited by min_refresh_ms).
 *  Cheap, never blocks on I/O; safe to call while holding the read lock. */
void ob_jwks_request_refresh(ob_jwks_t *self);

/*  Number of keys in the current set. */
size_t ob_jwks_count(ob_jwks_t *self);

/*  Read lock around ob_jwks_find and every use of the key it returns. */
void ob_jwks_rdlock(ob_jwks_t *self);
void ob_jwks_unlock(ob_jwks_t *self);

/*  The key named kid, or NULL. The caller holds the read lock; the key is
 *  borrowed until ob_jwks_unlock. */
const ob_jwks_key_t *ob_jwks_find(const ob_jwks_t *self, const char *kid);

#endif
