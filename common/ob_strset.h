/*  ob_strset - a set of borrowed strings (open addressing), for telling
 *  duplicates apart inside one batch. The strings must outlive the set. */
#ifndef OB_STRSET_H_INCLUDED
#define OB_STRSET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char **slots;
    size_t cap; /* a power of two */
    size_t count;
} ob_strset_t;

/*  Room for at least n strings. 0 or -1 (OOM). */
int ob_strset_init(ob_strset_t *self, size_t n);
void ob_strset_release(ob_strset_t *self);

/*  Adds s; returns 1 when added, 0 when it was there already, -1 on OOM. */
int ob_strset_add(ob_strset_t *self, const char *s);
bool ob_strset_has(const ob_strset_t *self, const char *s);

#endif
