/*  ob_query - reads one parameter of a URL query string ("a=1&b=x%20y"). */
#ifndef OB_QUERY_H_INCLUDED
#define OB_QUERY_H_INCLUDED

#include <stddef.h>

#include "proto/ob_proto.h"

/*  Copies the percent-decoded value of the first `name` parameter into out
 *  (NUL-terminated, cap bytes). Returns 0 when found and it fits, -1 when
 *  absent or too long, or cap is 0 (out is then left unchanged). '+' decodes as a space. */
int ob_query_get(ob_bytes_t query, const char *name, char *out, size_t cap);

#endif
