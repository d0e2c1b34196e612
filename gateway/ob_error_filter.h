/*  ob_error_filter - h2o's own error answers in the API's JSON error shape.
 *
 *  h2o answers some requests itself before the gateway's handler runs: a
 *  body over its entity limit (413), broken chunked encoding, an unknown
 *  Transfer-Encoding or a malformed Content-Length (400), an Expect other
 *  than 100-continue (417). It sends those through h2o_send_error_generic
 *  as text/plain; this output filter, registered on the host's paths,
 *  rewrites any text/plain answer of status 400 and above into
 *  {"error":{"code":"...","message":"..."}} with h2o's sentence as the
 *  message. What h2o writes straight to the socket without a response
 *  object (a request head it cannot parse: too many headers, control bytes)
 *  stays h2o's fixed "400 Bad Request" text; docs/internals/bounds.md lists
 *  both.
 */
#ifndef OB_ERROR_FILTER_H_INCLUDED
#define OB_ERROR_FILTER_H_INCLUDED

#include <h2o.h>
#include <stddef.h>

/*  Adds the filter to pathconf (call once per path, before serving). */
void ob_error_filter_register(h2o_pathconf_t *pathconf);

/*  The stable code for an error status h2o may send ("bad_request",
 *  "payload_too_large", "expectation_failed", ... "http_error"). */
const char *ob_error_filter_code(int status);

/*  Writes the JSON error body for h2o's plain-text answer into buf (cap
 *  bytes, NUL-terminated): the code for status and text (not
 *  NUL-terminated; bytes outside printable ASCII are dropped) as the
 *  message. Returns the length. */
size_t ob_error_filter_body(char *buf, size_t cap, int status, const char *text, size_t text_len);

#endif
