/*  ob_idempotency - the Idempotency-Key every call to an outside API that
 *  creates something carries (Stripe's header, Lago's transaction ids), shared
 *  by the workers and the setup tools so a retry by either reuses the key.
 */
#ifndef OB_IDEMPOTENCY_H_INCLUDED
#define OB_IDEMPOTENCY_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

/*  A stable Idempotency-Key: "<kind>:<sha256 of the parts, 32 hex>" for the
 *  NULL-terminated list of parts (so ids of any length fit Stripe's 255
 *  bytes and nothing personal is sent in a header). bucket_s > 0 adds the
 *  current time window (now / bucket_s) to the parts: a retry within the
 *  window reuses the key, a deliberate repeat later gets a new object. */
void ob_idempotency_key(char *out, size_t cap, const char *kind, int64_t now_s, int64_t bucket_s, ...) __attribute__((sentinel));

#endif
