/*  ob_pgarray - Postgres array parameters: binary (ob_pgarray_t) or text
 *  literal (ob_pgarray_text_t).
 *
 *  Lets one prepared statement take a whole batch (unnest($1::text[], ...))
 *  without quoting: each element is copied as length + bytes, exactly as
 *  array_recv reads it. Pass the result with format 1 (binary).
 */
#ifndef OB_PGARRAY_H_INCLUDED
#define OB_PGARRAY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_PG_OID_BOOL 16
#define OB_PG_OID_INT8 20
#define OB_PG_OID_TEXT 25

typedef struct {
    char *data;
    size_t len, cap;
    uint32_t elem_oid;
    uint32_t count;
    bool failed; /* out of memory: do not send */
} ob_pgarray_t;

/*  An empty one-dimensional array of elem_oid elements. */
void ob_pgarray_init(ob_pgarray_t *self, uint32_t elem_oid);

/*  Appends one element (its binary send format). */
void ob_pgarray_add(ob_pgarray_t *self, const void *bytes, size_t len);
void ob_pgarray_add_int8(ob_pgarray_t *self, int64_t value);
void ob_pgarray_add_bool(ob_pgarray_t *self, bool value);

/*  Writes the header; returns the bytes to send (length in *len), or NULL
 *  when out of memory. Valid until the next add or release. */
const char *ob_pgarray_finish(ob_pgarray_t *self, int *len);

void ob_pgarray_release(ob_pgarray_t *self);

/*  A growing Postgres array literal ({"a","b",NULL}): rows travel to the
 *  server as array parameters, unnested there (much cheaper for the server
 *  than a JSON document of rows). */
typedef struct {
    char *data;
    size_t len, cap;
    size_t count;
    bool failed; /* out of memory */
} ob_pgarray_text_t;

/*  Appends one element (NULL = SQL NULL), quoted and escaped. */
void ob_pgarray_text_add(ob_pgarray_text_t *self, const char *value);
/*  The literal, NUL-terminated (borrowed), or NULL after OOM. */
const char *ob_pgarray_text_value(ob_pgarray_text_t *self);
void ob_pgarray_text_release(ob_pgarray_text_t *self);

#endif
