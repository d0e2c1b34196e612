/*  ob_backoff - the jittered exponential back-off of reconnect attempts.
 *
 *  Each failure doubles the delay from base_ms up to max_ms; the delay used
 *  is jittered by +-20% so many workers that lost the same server do not
 *  come back in lock-step. A success resets it. Shared by ob_pg and
 *  ob_redis; plain data, no clock (the caller adds the delay to its own).
 */
#ifndef OB_BACKOFF_H_INCLUDED
#define OB_BACKOFF_H_INCLUDED

#include <stdint.h>

typedef struct {
    int base_ms, max_ms;
    int last_ms;  /* the last delay before jitter; 0 after a success */
    uint32_t rng; /* xorshift32 state: jitter only, no need for quality */
} ob_backoff_t;

/*  From base_ms to max_ms (base at least 1, max at least base); seed makes
 *  two holders differ (any value; 0 is replaced). */
void ob_backoff_init(ob_backoff_t *self, int base_ms, int max_ms, uint32_t seed);

/*  Changes the bounds, keeping the state. */
void ob_backoff_set(ob_backoff_t *self, int base_ms, int max_ms);

/*  After a failure: the next delay (doubled, capped, jittered), in ms. */
int ob_backoff_next(ob_backoff_t *self);

/*  After a success. */
void ob_backoff_reset(ob_backoff_t *self);

#endif
