/*  ob_query - reads one parameter of a URL query string ("a=1&b=x%20y"). */
#ifndef OB_QUERY_H_INCLUDED
#define OB_QUERY_H_INCLUDED

#include <stddef.h>

#include "proto/ob_proto.h"

/*  Copies the percent-decoded value of the first `name` parameter into out
 *  (NUL-terminated, cap bytes). Returns 0 when found and it fits, -1 when
 *  absent or too long, or cap is 0 (out is then left unchanged). '+' decodes as a space. */
int ob_query_get(ob_bytes_t query, const char *name, char *out, size_t cap);

/*  One rule for API parameters: absent is absent, and a value given but
 *  unusable is INVALID (the caller answers 400), never silently ignored. */
typedef enum { OB_QUERY_ABSENT, OB_QUERY_FOUND, OB_QUERY_INVALID } ob_query_result_t;

/*  Like ob_query_get, but a value too long for out (cap bytes with the NUL)
 *  or holding a NUL byte once decoded is INVALID (out unchanged). */
ob_query_result_t ob_query_text(ob_bytes_t query, const char *name, char *out, size_t cap);

/*  A decimal integer within [min, max] into *out. Empty, signs, other
 *  characters, overflow and values out of range are INVALID; *out is set
 *  only when FOUND. */
ob_query_result_t ob_query_long(ob_bytes_t query, const char *name, long min, long max, long *out);

#endif
