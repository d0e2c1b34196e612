/*  ob_framing - one reading of a request's body framing, or a 400. */
#include "gateway/ob_framing.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/*  picohttpparser, the parser h2o itself reads requests with, is compiled
 *  into libh2o and exported, but Debian ships no header for it. Parsing the
 *  head again with the very same parser means we see the headers exactly as
 *  h2o did. These declarations match picohttpparser.h. */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path, size_t *path_len,
                      int *minor_version, struct phr_header *headers, size_t *num_headers, size_t last_len);

#define MAX_HEADERS H2O_MAX_HEADERS /* h2o refuses more */

static bool
s_name_is(const struct phr_header *header, const char *name)
{
    size_t len = strlen(name);
    return header->name_len == len && strncasecmp(header->name, name, len) == 0;
}

static ob_framing_verdict_t
s_check_headers(const struct phr_header *headers, size_t count)
{
    size_t lengths = 0, encodings = 0;
    bool chunked = true;
    for (size_t i = 0; i < count; i++) {
        const struct phr_header *header = &headers[i];
        if (!header->name)
            return OB_FRAMING_FOLDED_HEADER;
        if (s_name_is(header, "content-length")) {
            lengths++;
        } else if (s_name_is(header, "transfer-encoding")) {
            encodings++;
            if (!(header->value_len == 7 && strncasecmp(header->value, "chunked", 7) == 0))
                chunked = false;
        }
    }
    if (lengths > 1)
        return OB_FRAMING_DUPLICATE_LENGTH;
    if (lengths && encodings)
        return OB_FRAMING_LENGTH_WITH_ENCODING;
    if (encodings > 1 || !chunked)
        return OB_FRAMING_BAD_TRANSFER_ENCODING;
    return OB_FRAMING_OK;
}

static int
s_parse(const char *head, size_t len, h2o_iovec_t *method, h2o_iovec_t *path, struct phr_header *headers, size_t *count)
{
    const char *method_base, *path_base;
    size_t method_len, path_len;
    int minor;
    *count = MAX_HEADERS;
    int rc = phr_parse_request(head, len, &method_base, &method_len, &path_base, &path_len, &minor, headers, count, 0);
    *method = h2o_iovec_init(method_base, method_len);
    *path = h2o_iovec_init(path_base, path_len);
    return rc;
}

ob_framing_verdict_t
ob_framing_check_head(const char *head, size_t len)
{
    struct phr_header headers[MAX_HEADERS];
    size_t count;
    h2o_iovec_t method, path;
    if (!head || s_parse(head, len, &method, &path, headers, &count) <= 0)
        return OB_FRAMING_UNREADABLE;
    return s_check_headers(headers, count);
}

ob_framing_verdict_t
ob_framing_check_req(h2o_req_t *req)
{
    if (req->version >= 0x200)
        return OB_FRAMING_OK;
    h2o_socket_t *sock = req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    if (!sock || !sock->input)
        return OB_FRAMING_UNREADABLE;
    struct phr_header headers[MAX_HEADERS];
    size_t count;
    h2o_iovec_t method, path;
    size_t len = sock->input->size < H2O_MAX_REQLEN ? sock->input->size : H2O_MAX_REQLEN;
    if (s_parse(sock->input->bytes, len, &method, &path, headers, &count) <= 0)
        return OB_FRAMING_UNREADABLE;
    /* The same request h2o parsed, not a neighbour in the buffer. */
    if (!h2o_memis(method.base, method.len, req->input.method.base, req->input.method.len) ||
        !h2o_memis(path.base, path.len, req->input.path.base, req->input.path.len))
        return OB_FRAMING_UNREADABLE;
    return s_check_headers(headers, count);
}

const char *
ob_framing_reason(ob_framing_verdict_t verdict)
{
    switch (verdict) {
    case OB_FRAMING_OK:
        return "the request's framing is unambiguous";
    case OB_FRAMING_DUPLICATE_LENGTH:
        return "more than one Content-Length header";
    case OB_FRAMING_LENGTH_WITH_ENCODING:
        return "Content-Length together with Transfer-Encoding";
    case OB_FRAMING_BAD_TRANSFER_ENCODING:
        return "Transfer-Encoding must be exactly \"chunked\", given once";
    case OB_FRAMING_FOLDED_HEADER:
        return "folded header lines are not accepted";
    case OB_FRAMING_UNREADABLE:
        break;
    }
    return "the request head cannot be read";
}
