/*  ob_csrf - a state-changing call authenticated by the session cookie must
 *  come from our own pages.
 *
 *  A browser attaches the cookie to a cross-site form post or fetch as well,
 *  so for such a call the gateway also requires:
 *    - an Origin header equal to PUBLIC_BASE_URL's origin (scheme, host and
 *      port), or, when that is not set, naming the Host the request was sent
 *      to (http or https); a missing or "null" Origin is refused, since
 *      every browser sends one on a POST;
 *    - Content-Type application/json (parameters such as charset allowed),
 *      which a plain HTML form cannot send and a cross-site fetch can only
 *      send after a CORS preflight that this gateway never grants.
 *  GET, HEAD and OPTIONS change nothing and pass; so does every call that
 *  carries its token in an Authorization header (a script with a token is
 *  not riding on ambient credentials).
 *
 *  Pure over its inputs: table-tested in tests/unit/test_csrf.c.
 */
#ifndef OB_CSRF_H_INCLUDED
#define OB_CSRF_H_INCLUDED

#include <stdbool.h>

#include "proto/ob_proto.h"

typedef struct {
    ob_bytes_t method, origin, host, content_type;
    const char *public_base_url; /* PUBLIC_BASE_URL or NULL */
} ob_csrf_request_t;

/*  NULL when the cookie-authenticated request may pass, else the error code
 *  of the 403: "cross_origin" (Origin missing or foreign) or
 *  "json_required" (another content type). */
const char *ob_csrf_check(const ob_csrf_request_t *request);

/*  True for methods that must not change state (GET, HEAD, OPTIONS). */
bool ob_csrf_safe_method(ob_bytes_t method);

#endif
