/*  lago_strset - a set of borrowed strings (open addressing), for telling
 *  duplicates apart inside one batch. The strings must outlive the set. */
#ifndef LAGO_STRSET_H_INCLUDED
#define LAGO_STRSET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char **slots;
    size_t cap; /* a power of two */
    size_t count;
} lago_strset_t;

/*  Room for at least n strings. 0 or -1 (OOM). */
int lago_strset_init(lago_strset_t *self, size_t n);
void lago_strset_release(lago_strset_t *self);

/*  Adds s; returns 1 when added, 0 when it was there already, -1 on OOM. */
int lago_strset_add(lago_strset_t *self, const char *s);
bool lago_strset_has(const lago_strset_t *self, const char *s);

#endif
