/*  ob_backoff - jittered exponential back-off. */
#include "common/ob_backoff.h"

void
ob_backoff_init(ob_backoff_t *self, int base_ms, int max_ms, uint32_t seed)
{
    self->last_ms = 0;
    self->rng = seed ? seed : 0x9e3779b9u;
    ob_backoff_set(self, base_ms, max_ms);
}

void
ob_backoff_set(ob_backoff_t *self, int base_ms, int max_ms)
{
    self->base_ms = base_ms > 0 ? base_ms : 1;
    self->max_ms = max_ms >= self->base_ms ? max_ms : self->base_ms;
}

int
ob_backoff_next(ob_backoff_t *self)
{
    int delay = self->last_ms ? self->last_ms * 2 : self->base_ms;
    if (delay > self->max_ms)
        delay = self->max_ms;
    self->last_ms = delay;
    uint32_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    self->rng = x;
    int jitter = delay / 5;
    return delay - jitter + (jitter ? (int)(x % (uint32_t)(2 * jitter + 1)) : 0);
}

void
ob_backoff_reset(ob_backoff_t *self)
{
    self->last_ms = 0;
}
