/*  stripe_pgarray - a Postgres array parameter in binary format.
 *
 *  Lets one prepared statement take a whole batch (unnest($1::text[], ...))
 *  without quoting: each element is copied as length + bytes, exactly as
 *  array_recv reads it. Pass the result with format 1 (binary).
 */
#ifndef STRIPE_PGARRAY_H_INCLUDED
#define STRIPE_PGARRAY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STRIPE_PG_OID_BOOL 16
#define STRIPE_PG_OID_INT8 20
#define STRIPE_PG_OID_TEXT 25

typedef struct {
    char *data;
    size_t len, cap;
    uint32_t elem_oid;
    uint32_t count;
    bool failed; /* out of memory: do not send */
} stripe_pgarray_t;

/*  An empty one-dimensional array of elem_oid elements. */
void stripe_pgarray_init(stripe_pgarray_t *self, uint32_t elem_oid);

/*  Appends one element (its binary send format). */
void stripe_pgarray_add(stripe_pgarray_t *self, const void *bytes, size_t len);
void stripe_pgarray_add_int8(stripe_pgarray_t *self, int64_t value);
void stripe_pgarray_add_bool(stripe_pgarray_t *self, bool value);

/*  Writes the header; returns the bytes to send (length in *len), or NULL
 *  when out of memory. Valid until the next add or release. */
const char *stripe_pgarray_finish(stripe_pgarray_t *self, int *len);

void stripe_pgarray_release(stripe_pgarray_t *self);

#endif
