/*  ob_etag - conditional requests: does an If-None-Match header name our
 *  entity tag? Shared by the API answers and the static pages. */
#ifndef OB_ETAG_H_INCLUDED
#define OB_ETAG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/*  True when the If-None-Match value (a comma-separated list; weak tags
 *  compare equal, "*" matches anything) names etag. False for an empty etag. */
bool ob_etag_matches(const char *if_none_match, size_t len, const char *etag, size_t etag_len);

#endif
