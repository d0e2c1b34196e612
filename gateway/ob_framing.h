/*  ob_framing - refuses HTTP/1.x requests whose body framing a second HTTP
 *  hop (a load balancer, a proxy) could read differently from h2o.
 *
 *  h2o 2.2.5 takes the first Content-Length and lets Transfer-Encoding
 *  override it, and it does not show either header to handlers. A proxy in
 *  front may pick the other one: the bytes one side reads as a body the other
 *  reads as a second request (request smuggling). The rules here leave one
 *  reading only:
 *
 *    - at most one Content-Length;
 *    - never Content-Length together with Transfer-Encoding;
 *    - Transfer-Encoding, when present, once and exactly "chunked";
 *    - no obsolete line folding (a header line starting with a space).
 *
 *  A request that breaks one is answered 400 and its connection closed, so
 *  whatever follows it on the connection is never read.
 */
#ifndef OB_FRAMING_H_INCLUDED
#define OB_FRAMING_H_INCLUDED

#include <h2o.h>
#include <stddef.h>

typedef enum {
    OB_FRAMING_OK,
    OB_FRAMING_DUPLICATE_LENGTH,      /* two Content-Length headers */
    OB_FRAMING_LENGTH_WITH_ENCODING,  /* Content-Length and Transfer-Encoding */
    OB_FRAMING_BAD_TRANSFER_ENCODING, /* not exactly one "chunked" */
    OB_FRAMING_FOLDED_HEADER,         /* obs-fold continuation line */
    OB_FRAMING_UNREADABLE             /* the head does not parse */
} ob_framing_verdict_t;

/*  Checks a request head as received: request line, header lines and the
 *  blank line (bytes after it are ignored). Pure; head is borrowed. */
ob_framing_verdict_t ob_framing_check_head(const char *head, size_t len);

/*  A sentence for the verdict (static). */
const char *ob_framing_reason(ob_framing_verdict_t verdict);

/*  Checks the request h2o is handing us. Over HTTP/1.x, h2o 2.2.5 keeps the
 *  request's head at the start of the connection's input buffer until the
 *  response is done; the head found there must carry the same method and
 *  path as req, else the answer is OB_FRAMING_UNREADABLE (fail closed).
 *  Requests of other protocol versions are OB_FRAMING_OK (HTTP/2 frames
 *  carry their own lengths; the gateway does not serve HTTP/2 anyway). */
ob_framing_verdict_t ob_framing_check_req(h2o_req_t *req);

#endif
