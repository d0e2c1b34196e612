/*  ob_strset - a set of borrowed strings. */
#include "common/ob_strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int
ob_strset_init(ob_strset_t *self, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 1)
        cap *= 2;
    self->slots = calloc(cap, sizeof *self->slots);
    self->cap = self->slots ? cap : 0;
    self->count = 0;
    return self->slots ? 0 : -1;
}

void
ob_strset_release(ob_strset_t *self)
{
    free(self->slots);
    memset(self, 0, sizeof *self);
}

/*  The slot holding s, or the empty slot where it would go. The set is never
 *  more than half full, so an empty slot always exists. */
static size_t
s_find(const ob_strset_t *self, const char *s)
{
    size_t i = (size_t)s_hash(s) & (self->cap - 1);
    while (self->slots[i] && strcmp(self->slots[i], s) != 0)
        i = (i + 1) & (self->cap - 1);
    return i;
}

int
ob_strset_add(ob_strset_t *self, const char *s)
{
    if (!self->cap)
        return -1;
    if (2 * (self->count + 1) > self->cap) {
        ob_strset_t bigger;
        if (ob_strset_init(&bigger, self->cap) != 0)
            return -1;
        for (size_t i = 0; i < self->cap; i++)
            if (self->slots[i])
                bigger.slots[s_find(&bigger, self->slots[i])] = self->slots[i], bigger.count++;
        free(self->slots);
        *self = bigger;
    }
    size_t i = s_find(self, s);
    if (self->slots[i])
        return 0;
    self->slots[i] = s;
    self->count++;
    return 1;
}

bool
ob_strset_has(const ob_strset_t *self, const char *s)
{
    return self->cap && self->slots[s_find(self, s)] != NULL;
}
