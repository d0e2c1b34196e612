/*  ob_error_filter - rewrites h2o's plain-text errors as JSON errors. */
#include "gateway/ob_error_filter.h"

#include <stdbool.h>
#include <string.h>

#include "common/ob_json.h"

#define BODY_CAP 320

typedef struct {
    h2o_ostream_t super;
    bool sent;
} json_ostream_t;

const char *
ob_error_filter_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 413:
        return "payload_too_large";
    case 414:
        return "uri_too_long";
    case 417:
        return "expectation_failed";
    case 431:
        return "headers_too_large";
    case 500:
        return "internal";
    case 502:
        return "bad_gateway";
    case 503:
        return "unavailable";
    default:
        return "http_error";
    }
}

size_t
ob_error_filter_body(char *buf, size_t cap, int status, const char *text, size_t text_len)
{
    char message[160];
    size_t n = 0;
    for (size_t i = 0; i < text_len && n + 1 < sizeof message; i++)
        if (text[i] >= 0x20 && text[i] < 0x7f)
            message[n++] = text[i];
    message[n] = '\0';
    return ob_json_error(buf, cap, ob_error_filter_code(status), n ? message : "the request was refused");
}

static bool
s_is_plain_error(h2o_req_t *req)
{
    if (req->res.status < 400)
        return false;
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    return i >= 0 && req->res.headers.entries[i].value.len >= 10 &&
           memcmp(req->res.headers.entries[i].value.base, "text/plain", 10) == 0;
}

/*  h2o_send_error_generic sends its whole body in one final call; the body
 *  is rebuilt here, where the text is known and the headers not yet out. */
static void
s_on_send(h2o_ostream_t *self_, h2o_req_t *req, h2o_iovec_t *bufs, size_t count, h2o_send_state_t state)
{
    json_ostream_t *self = (json_ostream_t *)self_;
    if (self->sent) {
        h2o_ostream_send_next(&self->super, req, NULL, 0, state);
        return;
    }
    self->sent = true;
    char text[160];
    size_t text_len = 0;
    for (size_t i = 0; i < count && text_len < sizeof text; i++) {
        size_t take = bufs[i].len < sizeof text - text_len ? bufs[i].len : sizeof text - text_len;
        memcpy(text + text_len, bufs[i].base, take);
        text_len += take;
    }
    char *body = h2o_mem_alloc_pool(&req->pool, BODY_CAP);
    size_t len = ob_error_filter_body(body, BODY_CAP, req->res.status, text, text_len);
    req->res.content_length = len;
    h2o_iovec_t out = h2o_iovec_init(body, len);
    /* HEAD: h2o sends no body, and neither do we. */
    bool head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
    h2o_ostream_send_next(&self->super, req, head ? NULL : &out, head ? 0 : 1, state);
}

static void
s_on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    if (s_is_plain_error(req)) {
        ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
        req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        json_ostream_t *stream = (json_ostream_t *)h2o_add_ostream(req, sizeof *stream, slot);
        stream->super.do_send = s_on_send;
        stream->sent = false;
        slot = &stream->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void
ob_error_filter_register(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *filter = h2o_create_filter(pathconf, sizeof *filter);
    filter->on_setup_ostream = s_on_setup_ostream;
}
