/*  ob_server - the gateway's HTTP edge on h2o loop threads.
 *
 *  A request's life: on_req matches a route, checks the body size and the
 *  caller, packs one envelope and sends it to the broker without blocking,
 *  then parks the h2o_req_t in the thread's pending table with a deadline.
 *  The reply (or the deadline, or the client going away) ends it. The
 *  pending record lives in req->pool with a dispose hook, so a reply can
 *  never reach a request h2o has already freed.
 */
#include "gateway/ob_server.h"

#include <errno.h>
#include <h2o.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "common/ob_bounds.h"
#include "common/ob_clock.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "gateway/ob_error_filter.h"
#include "gateway/ob_etag.h"
#include "gateway/ob_framing.h"
#include "gateway/ob_routes.h"
#include "gateway/ob_static.h"
#include "proto/ob_wire.h"

#define PENDING_SLOTS 16384 /* per thread; a power of two */
#define DRAIN_BATCH 256

typedef struct loop_thread loop_thread_t;

typedef struct {
    h2o_req_t *req; /* NULL once answered or disposed */
    loop_thread_t *thread;
    uint64_t key;
    const ob_route_t *route;
    h2o_timeout_entry_t deadline;
    char request_id[40];
} pending_t;

struct loop_thread {
    ob_server_t *server;
    int index;
    pthread_t thread;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int listen_fd;
    h2o_socket_t *listener;
    void *dealer;
    h2o_socket_t *dealer_watch;
    h2o_timeout_t deadline_timeout;
    h2o_timeout_entry_t drain_later; /* resumes a capped drain on the next turn */
    pending_t *pending[PENDING_SLOTS];
    uint64_t next_key;
    int inflight;
    uint64_t request_counter;
};

struct _ob_server_t {
    ob_server_config_t config;
    h2o_globalconf_t globalconf;
    loop_thread_t *threads;
    atomic_bool stopping;
};

/* --- responses ----------------------------------------------------------- */

static const char *
s_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

static void
s_add_header(h2o_req_t *req, const char *name, const char *value, size_t len)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, len);
}

/*  Sends a body of the given type; copies it into the request's pool. */
static void
s_send_body(h2o_req_t *req, int status, const char *request_id, const char *content_type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = s_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    if (request_id && *request_id) {
        /* h2o keeps header values by reference: they must live in the request's pool. */
        h2o_iovec_t id = h2o_strdup(&req->pool, request_id, SIZE_MAX);
        s_add_header(req, "x-request-id", id.base, id.len);
    }
    if (status == 503)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    /* Without a content length h2o closes HTTP/1.1 connections on non-200 answers. */
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static void
s_send_json(h2o_req_t *req, int status, const char *request_id, const char *body, size_t len)
{
    s_send_body(req, status, request_id, "application/json", body, len);
}

static void
s_send_error(h2o_req_t *req, int status, const char *request_id, const char *code, const char *message)
{
    char body[512];
    size_t len = ob_json_error(body, sizeof body, code, message);
    s_send_json(req, status, request_id, body, len);
}

/* --- pending requests ---------------------------------------------------- */

static void
s_pending_forget(pending_t *pending)
{
    loop_thread_t *thread = pending->thread;
    if (pending->req) {
        pending->req = NULL;
        thread->inflight--;
    }
    size_t slot = pending->key & (PENDING_SLOTS - 1);
    if (thread->pending[slot] == pending)
        thread->pending[slot] = NULL;
    if (h2o_timeout_is_linked(&pending->deadline))
        h2o_timeout_unlink(&pending->deadline);
}

static void
s_pending_on_dispose(void *p)
{
    s_pending_forget(p);
}

static void
s_pending_on_deadline(h2o_timeout_entry_t *entry)
{
    pending_t *pending = H2O_STRUCT_FROM_MEMBER(pending_t, deadline, entry);
    h2o_req_t *req = pending->req;
    char request_id[sizeof pending->request_id];
    memcpy(request_id, pending->request_id, sizeof request_id);
    ob_log(OB_LOG_WARN, request_id, "deadline passed waiting for %s", pending->route->rpc);
    s_pending_forget(pending);
    if (req)
        s_send_error(req, 504, request_id, "timeout", "the request was not completed in time; retry");
}

static bool
s_etag_matches(h2o_req_t *req, ob_bytes_t etag)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    return i >= 0 && ob_etag_matches(req->headers.entries[i].value.base, req->headers.entries[i].value.len, etag.ptr, etag.len);
}

static void
s_answer(h2o_req_t *req, const ob_route_t *route, const char *request_id, const ob_reply_t *reply)
{
    int status = reply->status >= 100 && reply->status <= 599 ? (int)reply->status : 502;
    if (reply->etag.len) {
        h2o_iovec_t etag = h2o_strdup(&req->pool, reply->etag.ptr, reply->etag.len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag.base, etag.len);
    }
    if (route->cacheable && status == 200)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("public, max-age=60"));
    if (reply->served_by.len) {
        h2o_iovec_t served_by = h2o_strdup(&req->pool, reply->served_by.ptr, reply->served_by.len);
        s_add_header(req, "x-served-by", served_by.base, served_by.len);
    }
    if (reply->location.len) {
        h2o_iovec_t location = h2o_strdup(&req->pool, reply->location.ptr, reply->location.len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, location.base, location.len);
    }
    if (status == 200 && route->cacheable && s_etag_matches(req, reply->etag)) {
        req->res.status = 304;
        req->res.reason = s_reason(304);
        h2o_iovec_t id = h2o_strdup(&req->pool, request_id, SIZE_MAX);
        s_add_header(req, "x-request-id", id.base, id.len);
        req->res.content_length = 0;
        h2o_send_inline(req, "", 0);
        return;
    }
    if (reply->body.len == 0)
        s_send_error(req, status == 200 ? 502 : status, request_id, "empty_reply", "the service sent no body");
    else if (route->service == OB_ROUTE_SERVICE_BROKER && status == 200)
        s_send_body(req, status, request_id, "text/plain; version=0.0.4; charset=utf-8", reply->body.ptr, reply->body.len);
    else
        s_send_json(req, status, request_id, reply->body.ptr, reply->body.len);
}

/* --- the broker pipe ----------------------------------------------------- */

static void
s_on_reply(loop_thread_t *thread, zmq_msg_t *frame)
{
    if (zmq_msg_size(frame) < 8)
        return;
    const uint8_t *data = zmq_msg_data(frame);
    uint64_t key;
    memcpy(&key, data, 8);
    pending_t *pending = thread->pending[key & (PENDING_SLOTS - 1)];
    if (!pending || pending->key != key || !pending->req)
        return; /* late: already answered 504, or the client left */
    /* Forget first: answering may release the request (and the pending record with it). */
    h2o_req_t *req = pending->req;
    const ob_route_t *route = pending->route;
    char request_id[sizeof pending->request_id];
    memcpy(request_id, pending->request_id, sizeof request_id);
    s_pending_forget(pending);
    ob_reply_t reply;
    ob_proto_err_t err = ob_reply_unpack(&reply, data + 8, zmq_msg_size(frame) - 8);
    if (err != OB_PROTO_OK) {
        ob_log(OB_LOG_ERROR, request_id, "bad reply from %s: %s", route->rpc, ob_proto_strerror(err));
        s_send_error(req, 502, request_id, "bad_reply", "the service answered with a malformed message");
        return;
    }
    s_answer(req, route, request_id, &reply);
}

/*  Reads replies until the pipe is empty or a batch is done, in which case
 *  the rest waits for the next loop turn. ZMQ_FD is edge-triggered: the
 *  pipe counts as empty only once ZMQ_EVENTS says so, checked once at the
 *  end rather than before every read (each check is a system call). */
static void
s_drain(loop_thread_t *thread)
{
    for (int n = 0; n < DRAIN_BATCH; n++) {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, thread->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            int events = 0;
            size_t size = sizeof events;
            if (zmq_getsockopt(thread->dealer, ZMQ_EVENTS, &events, &size) != 0 || !(events & ZMQ_POLLIN))
                return;
            continue;
        }
        s_on_reply(thread, &frame);
        zmq_msg_close(&frame);
    }
    if (!h2o_timeout_is_linked(&thread->drain_later))
        h2o_timeout_link(thread->ctx.loop, &thread->ctx.zero_timeout, &thread->drain_later);
}

static void
s_on_drain_later(h2o_timeout_entry_t *entry)
{
    s_drain(H2O_STRUCT_FROM_MEMBER(loop_thread_t, drain_later, entry));
}

static void
s_on_dealer_readable(h2o_socket_t *sock, const char *err)
{
    (void)err;
    s_drain(sock->data);
}

/* --- requests ------------------------------------------------------------ */

static ob_bytes_t
s_header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    ob_bytes_t value = {NULL, 0};
    if (i >= 0) {
        value.ptr = req->headers.entries[i].value.base;
        value.len = req->headers.entries[i].value.len;
    }
    return value;
}

static void
s_make_request_id(loop_thread_t *thread, h2o_req_t *req, char *out, size_t cap)
{
    ob_bytes_t given = s_header(req, "x-request-id");
    bool usable = given.len > 0 && given.len < cap && given.len <= 36;
    for (size_t i = 0; usable && i < given.len; i++) {
        char c = given.ptr[i];
        usable = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    }
    if (usable) {
        memcpy(out, given.ptr, given.len);
        out[given.len] = '\0';
        return;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(out, cap, "%lx%02x%08llx", (unsigned long)now.tv_sec, thread->index & 0xff,
             (unsigned long long)++thread->request_counter);
}

static int
s_on_health(h2o_req_t *req, const char *request_id)
{
    static const char body[] = "{\"status\":\"ok\"}";
    s_send_json(req, 200, request_id, body, sizeof body - 1);
    return 0;
}

static int
s_on_ready(ob_server_t *server, h2o_req_t *req, const char *request_id)
{
    json_t *missing = json_array();
    json_t *workers = json_object();
    for (int i = 0; i < OB_SERVICE_COUNT; i++) {
        int live = ob_broker_live_workers(server->config.broker, i);
        json_object_set_new(workers, ob_wire_service_name(i), json_integer(live));
        if (live == 0)
            json_array_append_new(missing, json_string(ob_wire_service_name(i)));
    }
    bool ready = json_array_size(missing) == 0 && !atomic_load(&server->stopping);
    json_t *body = json_pack("{s:s,s:o,s:o}", "status", ready ? "ready" : "not_ready", "workers", workers, "missing", missing);
    size_t len;
    char *text = ob_json_dump(body, &len);
    json_decref(body);
    if (!text) {
        s_send_error(req, 500, request_id, "internal", "out of memory");
        return 0;
    }
    s_send_json(req, ready ? 200 : 503, request_id, text, len);
    free(text);
    return 0;
}

/*  Packs the method's payload: the webhook messages carry the raw body, all
 *  other calls the generic ob_call. */
static int
s_pack_payload(const ob_route_t *route, const ob_edge_identity_t *identity, ob_bytes_t param, ob_bytes_t query, ob_bytes_t body,
               ob_bytes_t lago_key, msgpack_sbuffer *out)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (route->auth == OB_AUTH_STRIPE_SIGNATURE) {
        ob_stripe_webhook_t msg = {.body = body, .signed_at = identity->signed_at, .received_ms = now_ms};
        return ob_stripe_webhook_pack(&msg, out);
    }
    if (route->auth == OB_AUTH_LAGO_SIGNATURE) {
        ob_lago_webhook_t msg = {.unique_key = lago_key, .body = body, .received_ms = now_ms};
        return ob_lago_webhook_pack(&msg, out);
    }
    ob_call_t call = {
        .principal = ob_bytes(identity->principal),
        .role = ob_bytes(identity->role),
        .email = identity->email[0] ? ob_bytes(identity->email) : (ob_bytes_t){NULL, 0},
        .path_param = param,
        .query = query,
        .body = body.ptr ? body : (ob_bytes_t){"", 0},
    };
    return ob_call_pack(&call, out);
}

/*  One frame per request, [key 8][service 1][deadline ms 8][envelope]: every
 *  ZeroMQ call costs system calls, so the header rides with the payload. */
static int
s_send_request(void *dealer, uint64_t key, uint8_t service, int64_t deadline_ms, const void *envelope, size_t len)
{
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, OB_BROKER_REQUEST_HEADER + len) != 0)
        return -1;
    uint8_t *data = zmq_msg_data(&frame);
    memcpy(data, &key, 8);
    data[8] = service;
    memcpy(data + 9, &deadline_ms, 8);
    memcpy(data + OB_BROKER_REQUEST_HEADER, envelope, len);
    if (zmq_msg_send(&frame, dealer, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return -1;
    }
    return 0;
}

static int
s_forward(loop_thread_t *thread, h2o_req_t *req, const ob_route_t *route, const ob_edge_identity_t *identity, ob_bytes_t param,
          ob_bytes_t lago_key, const char *request_id)
{
    ob_server_t *server = thread->server;
    uint64_t key = ++thread->next_key;
    size_t slot = key & (PENDING_SLOTS - 1);
    if (thread->pending[slot]) {
        s_send_error(req, 503, request_id, "overloaded", "too many requests in flight; retry shortly");
        return 0;
    }
    ob_bytes_t query = {NULL, 0};
    if (req->query_at != SIZE_MAX) {
        query.ptr = req->path.base + req->query_at + 1;
        query.len = req->path.len - req->query_at - 1;
    }
    ob_bytes_t body = {req->entity.base, req->entity.base ? req->entity.len : 0};

    msgpack_sbuffer payload, envelope_buffer;
    msgpack_sbuffer_init(&payload);
    msgpack_sbuffer_init(&envelope_buffer);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t deadline_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + server->config.request_timeout_ms;
    const char *service_name = ob_wire_service_name(route->service);
    ob_envelope_t envelope = {
        .service = ob_bytes(service_name ? service_name : "gateway"),
        .method = ob_bytes(route->rpc),
        .request_id = ob_bytes(request_id),
        .deadline_ms = deadline_ms,
        .trace_id = ob_bytes(request_id),
    };
    int rc = s_pack_payload(route, identity, param, query, body, lago_key, &payload);
    if (rc == 0) {
        envelope.payload.ptr = payload.data ? payload.data : "";
        envelope.payload.len = payload.size;
        rc = ob_envelope_pack(&envelope, &envelope_buffer);
    }
    if (rc == 0 && envelope_buffer.size > OB_PROTO_MAX_FRAME) {
        /* A worker drops its broker connection on a frame over its limit: refuse here. */
        msgpack_sbuffer_destroy(&payload);
        msgpack_sbuffer_destroy(&envelope_buffer);
        s_send_error(req, 413, request_id, "request_too_large", "the request is over the size a service accepts");
        return 0;
    }
    if (rc == 0)
        rc = s_send_request(thread->dealer, key, (uint8_t)route->service, deadline_ms, envelope_buffer.data, envelope_buffer.size);
    msgpack_sbuffer_destroy(&payload);
    msgpack_sbuffer_destroy(&envelope_buffer);
    if (rc != 0) {
        s_send_error(req, 503, request_id, "overloaded", "the gateway cannot queue the request; retry shortly");
        return 0;
    }

    pending_t *pending = h2o_mem_alloc_shared(&req->pool, sizeof *pending, s_pending_on_dispose);
    memset(pending, 0, sizeof *pending);
    pending->req = req;
    pending->thread = thread;
    pending->key = key;
    pending->route = route;
    snprintf(pending->request_id, sizeof pending->request_id, "%s", request_id);
    pending->deadline.cb = s_pending_on_deadline;
    thread->pending[slot] = pending;
    thread->inflight++;
    h2o_timeout_link(thread->ctx.loop, &thread->deadline_timeout, &pending->deadline);
    /* A send can make the socket readable without the fd firing: look once
     * more at the end of this loop turn (once for all requests of the turn). */
    if (!h2o_timeout_is_linked(&thread->drain_later))
        h2o_timeout_link(thread->ctx.loop, &thread->ctx.zero_timeout, &thread->drain_later);
    return 0;
}

/* --- request metrics ----------------------------------------------------- */

/*  Lives in the request's pool: its dispose hook runs when h2o frees the
 *  request, after whichever path answered it, and records status and time. */
typedef struct {
    ob_http_metrics_t *metrics;
    h2o_req_t *req;
    int slot;
    int64_t start_us;
} observed_t;

static void
s_observed_on_dispose(void *p)
{
    observed_t *observed = p;
    double seconds = (double)(ob_clock_mono_us() - observed->start_us) / 1e6;
    ob_http_metrics_observe(observed->metrics, observed->slot, observed->req->res.status, seconds);
}

static observed_t *
s_observe(ob_server_t *server, h2o_req_t *req, int slot)
{
    if (!server->config.http_metrics)
        return NULL;
    observed_t *observed = h2o_mem_alloc_shared(&req->pool, sizeof *observed, s_observed_on_dispose);
    observed->metrics = server->config.http_metrics;
    observed->req = req;
    observed->slot = slot;
    observed->start_us = ob_clock_mono_us();
    return observed;
}

static int
s_on_req(h2o_handler_t *handler, h2o_req_t *req)
{
    (void)handler;
    loop_thread_t *thread = H2O_STRUCT_FROM_MEMBER(loop_thread_t, ctx, req->conn->ctx);
    ob_server_t *server = thread->server;
    char request_id[40];
    s_make_request_id(thread, req, request_id, sizeof request_id);
    observed_t *observed = s_observe(server, req, ob_http_metrics_extra_slot(OB_HTTP_SLOT_UNMATCHED));

    ob_framing_verdict_t framing = ob_framing_check_req(req);
    if (framing != OB_FRAMING_OK) {
        /* Close: whatever follows on this connection is never read as a request. */
        req->http1_is_persistent = 0;
        ob_log(OB_LOG_INFO, request_id, "refused framing: %s", ob_framing_reason(framing));
        s_send_error(req, 400, request_id, "bad_framing", ob_framing_reason(framing));
        return 0;
    }
    h2o_iovec_t path = req->path_normalized;
    bool health = h2o_memis(path.base, path.len, H2O_STRLIT("/health"));
    if (health || h2o_memis(path.base, path.len, H2O_STRLIT("/ready"))) {
        if (observed)
            observed->slot = ob_http_metrics_extra_slot(health ? OB_HTTP_SLOT_HEALTH : OB_HTTP_SLOT_READY);
        /* GET only, like every route (HEAD included: docs/internals/bounds.md). */
        if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
            s_add_header(req, "allow", H2O_STRLIT("GET"));
            s_send_error(req, 405, request_id, "method_not_allowed", "this endpoint does not accept that method");
            return 0;
        }
        return health ? s_on_health(req, request_id) : s_on_ready(server, req, request_id);
    }
    if (server->config.web && ob_static_serve(server->config.web, req))
        return 0;

    const ob_route_t *route;
    ob_bytes_t param;
    char allow[64];
    ob_route_match_t match =
        ob_routes_match(req->method.base, req->method.len, path.base, path.len, &route, &param, allow, sizeof allow);
    if (match == OB_ROUTE_FOUND && observed)
        observed->slot = ob_http_metrics_route_slot(route);
    switch (match) {
    case OB_ROUTE_NO_PATH:
        s_send_error(req, 404, request_id, "not_found", "no such endpoint");
        return 0;
    case OB_ROUTE_WRONG_METHOD:
        s_add_header(req, "allow", h2o_strdup(&req->pool, allow, strlen(allow)).base, strlen(allow));
        s_send_error(req, 405, request_id, "method_not_allowed", "this endpoint does not accept that method");
        return 0;
    case OB_ROUTE_FOUND:
        break;
    }
    ob_bound_verdict_t bound = param.len ? ob_bounds_check_text(param.ptr, param.len, OB_BOUND_ID_MAX) : OB_BOUND_OK;
    if (bound != OB_BOUND_OK) {
        char message[96];
        snprintf(message, sizeof message, "the path parameter %s", ob_bounds_reason(bound));
        s_send_error(req, 400, request_id, "invalid_path_parameter", message);
        return 0;
    }
    if (req->entity.base && req->entity.len > server->config.max_body) {
        s_send_error(req, 413, request_id, "payload_too_large", "the request body is over the size limit");
        return 0;
    }

    ob_edge_request_t edge = {
        .authorization = s_header(req, "authorization"),
        .cookie = s_header(req, "cookie"),
        .stripe_signature = s_header(req, "stripe-signature"),
        .lago_algorithm = s_header(req, "x-lago-signature-algorithm"),
        .lago_signature = s_header(req, "x-lago-signature"),
        .lago_unique_key = s_header(req, "x-lago-unique-key"),
        .body = {req->entity.base, req->entity.base ? req->entity.len : 0},
        .now_s = (int64_t)time(NULL),
        .method = {req->method.base, req->method.len},
        .origin = s_header(req, "origin"),
        .host = {req->authority.base, req->authority.len},
        .content_type = s_header(req, "content-type"),
    };
    ob_edge_identity_t identity;
    ob_edge_denial_t denial;
    if (ob_edge_auth_check(&server->config.auth, route->auth, &edge, &identity, &denial) != 0) {
        if (denial.status == 401)
            s_add_header(req, "www-authenticate", H2O_STRLIT("Bearer realm=\"ops-center-billing\""));
        ob_log(OB_LOG_INFO, request_id, "denied %s: %s", route->rpc, denial.code);
        s_send_error(req, denial.status, request_id, denial.code, denial.message);
        return 0;
    }
    return s_forward(thread, req, route, &identity, param, edge.lago_unique_key, request_id);
}

/* --- threads ------------------------------------------------------------- */

static void
s_on_accept(h2o_socket_t *listener, const char *err)
{
    loop_thread_t *thread = listener->data;
    if (err)
        return;
    for (int i = 0; i < 64; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (!sock)
            return;
        h2o_accept(&thread->accept_ctx, sock);
    }
}

static int
s_listen(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *
s_thread_main(void *arg)
{
    loop_thread_t *thread = arg;
    ob_server_t *server = thread->server;
    h2o_context_init(&thread->ctx, h2o_evloop_create(), &server->globalconf);
    thread->accept_ctx.ctx = &thread->ctx;
    thread->accept_ctx.hosts = server->globalconf.hosts;
    h2o_timeout_init(thread->ctx.loop, &thread->deadline_timeout, (uint64_t)server->config.request_timeout_ms);
    thread->drain_later.cb = s_on_drain_later;

    thread->dealer = zmq_socket(server->config.zmq_ctx, ZMQ_DEALER);
    int hwm = PENDING_SLOTS * 2, zero = 0;
    zmq_setsockopt(thread->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(thread->dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(thread->dealer, ZMQ_LINGER, &zero, sizeof zero);
    char identity[16];
    int identity_len = snprintf(identity, sizeof identity, "gw%d", thread->index);
    zmq_setsockopt(thread->dealer, ZMQ_ROUTING_ID, identity, (size_t)identity_len);
    zmq_connect(thread->dealer, server->config.broker_frontend);
    int zfd;
    size_t zfd_len = sizeof zfd;
    zmq_getsockopt(thread->dealer, ZMQ_FD, &zfd, &zfd_len);
    /* h2o closes the fd it watches and must never read it: give it a dup. */
    thread->dealer_watch = h2o_evloop_socket_create(thread->ctx.loop, dup(zfd), H2O_SOCKET_FLAG_DONT_READ);
    thread->dealer_watch->data = thread;
    h2o_socket_read_start(thread->dealer_watch, s_on_dealer_readable);

    thread->listener = h2o_evloop_socket_create(thread->ctx.loop, thread->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    thread->listener->data = thread;
    h2o_socket_read_start(thread->listener, s_on_accept);

    bool closing = false;
    while (!closing || thread->inflight > 0) {
        h2o_evloop_run(thread->ctx.loop, 100); /* -1 on EINTR is harmless: loop on our own flag */
        if (!closing && atomic_load(&server->stopping)) {
            closing = true;
            h2o_socket_read_stop(thread->listener);
            h2o_socket_close(thread->listener);
            thread->listener = NULL;
            h2o_context_request_shutdown(&thread->ctx);
        }
    }
    /* Let the last responses flush before the loop goes away. */
    for (int i = 0; i < 3; i++)
        h2o_evloop_run(thread->ctx.loop, 10);
    if (h2o_timeout_is_linked(&thread->drain_later))
        h2o_timeout_unlink(&thread->drain_later);
    h2o_socket_read_stop(thread->dealer_watch);
    h2o_socket_close(thread->dealer_watch);
    zmq_close(thread->dealer);
    /* The context is not disposed: idle keep-alive connections still hold its
     * timeouts (h2o asserts on that), and the process exits next anyway. */
    return NULL;
}

ob_server_t *
ob_server_new(const ob_server_config_t *config)
{
    ob_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    if (self->config.threads < 1)
        self->config.threads = 1;
    h2o_config_init(&self->globalconf);
    /* h2o's own limit sits above ours so that the common case gets our 413 after
     * the body is read (keep-alive); past it h2o's 413 closes the connection,
     * in JSON too (ob_error_filter). */
    self->globalconf.max_request_entity_size = self->config.max_body + 64 * 1024;
    /* HTTP/1.1 only: no h2c upgrade (no 101) and no prior-knowledge preface. */
    self->globalconf.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host = h2o_config_register_host(&self->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    ob_error_filter_register(&host->fallback_path);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    ob_error_filter_register(pathconf);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof *handler);
    handler->on_req = s_on_req;

    self->threads = calloc((size_t)self->config.threads, sizeof *self->threads);
    if (!self->threads) {
        ob_server_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < self->config.threads; i++) {
        self->threads[i].server = self;
        self->threads[i].index = i;
        self->threads[i].listen_fd = s_listen(self->config.host, self->config.port);
        if (self->threads[i].listen_fd < 0) {
            ob_log_error("cannot listen on %s:%d: %s", self->config.host, self->config.port, strerror(errno));
            for (int j = 0; j < i; j++)
                close(self->threads[j].listen_fd);
            self->config.threads = 0;
            ob_server_destroy(&self);
            return NULL;
        }
    }
    return self;
}

int
ob_server_start(ob_server_t *self)
{
    for (int i = 0; i < self->config.threads; i++)
        if (pthread_create(&self->threads[i].thread, NULL, s_thread_main, &self->threads[i]) != 0)
            return -1;
    return 0;
}

void
ob_server_shutdown(ob_server_t *self)
{
    if (!self || atomic_exchange(&self->stopping, true))
        return;
    for (int i = 0; i < self->config.threads; i++)
        pthread_join(self->threads[i].thread, NULL);
}

void
ob_server_destroy(ob_server_t **self_p)
{
    ob_server_t *self = *self_p;
    if (!self)
        return;
    free(self->threads);
    h2o_config_dispose(&self->globalconf);
    free(self);
    *self_p = NULL;
}
