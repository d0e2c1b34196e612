/*  ob_worker - the runtime every worker process runs on. */
#include "common/ob_worker.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_metrics.h"
#include "proto/ob_wire.h"

static volatile sig_atomic_t s_stop_requested = 0;

static void
s_on_signal(int signal_number)
{
    (void)signal_number;
    s_stop_requested = 1;
}

void
ob_worker_request_stop(void)
{
    s_stop_requested = 1;
}

/* --- replies ------------------------------------------------------------- */

static void
s_set_body(ob_job_t *job, int status, char *body, size_t len)
{
    free(job->body);
    job->status = status;
    job->body = body;
    job->body_len = len;
}

void
ob_job_reply_json(ob_job_t *job, int status, json_t *body)
{
    size_t len;
    char *text = ob_json_dump(body, &len);
    json_decref(body);
    if (!text) {
        ob_job_reply_error(job, 500, "internal", "out of memory");
        return;
    }
    s_set_body(job, status, text, len);
}

void
ob_job_reply_text(ob_job_t *job, int status, const char *text)
{
    json_t *value = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (!value) {
        ob_job_reply_error(job, 500, "internal", "the answer could not be built");
        return;
    }
    ob_job_reply_json(job, status, value);
}

void
ob_job_reply_error(ob_job_t *job, int status, const char *code, const char *message)
{
    size_t len;
    char *text = ob_json_error_new(code, message, &len);
    s_set_body(job, status, text, text ? len : 0);
}

void
ob_job_reply_err(ob_job_t *job, ob_err_t err, const char *code, const char *message)
{
    ob_job_reply_error(job, ob_err_http_status(err), code ? code : ob_err_name(err), message);
}

int
ob_job_call(ob_job_t *job, ob_call_t *call)
{
    ob_proto_err_t err = ob_call_unpack(call, job->envelope.payload.ptr, job->envelope.payload.len);
    if (err != OB_PROTO_OK) {
        ob_job_reply_error(job, 400, "bad_message", ob_proto_strerror(err));
        return -1;
    }
    return 0;
}

json_t *
ob_job_body_object(ob_job_t *job, const ob_call_t *call)
{
    if (call->body.len == 0)
        return json_object();
    const char *reason;
    json_t *object = ob_json_parse_object(call->body.ptr, call->body.len, &reason);
    if (!object)
        ob_job_reply_error(job, 400, "invalid_json", reason);
    return object;
}

/* --- the connection to the broker ---------------------------------------- */

typedef struct {
    const ob_worker_config_t *config;
    const char *endpoint;
    int heartbeat_ms;
    int metrics_ms;
    int64_t next_metrics;
    zsock_t *socket;
    int64_t broker_expires; /* zclock_mono ms */
    int64_t next_heartbeat;
    ob_job_t *jobs;
    ob_job_t **by_method;
    char served_by[96]; /* service@host:pid */
    bool heard_from_broker;
} runtime_t;

/*  The runtime serving on this thread (for ob_worker_keepalive). */
static _Thread_local runtime_t *s_running;

void
ob_worker_keepalive(void)
{
    runtime_t *rt = s_running;
    if (!rt || !rt->socket)
        return;
    int64_t now = zclock_mono();
    if (now < rt->next_heartbeat)
        return;
    zmsg_t *msg = zmsg_new();
    char command = OB_WIRE_HEARTBEAT;
    zmsg_addstr(msg, OB_WIRE_PROTOCOL);
    zmsg_addmem(msg, &command, 1);
    zmsg_send(&msg, rt->socket);
    rt->next_heartbeat = now + rt->heartbeat_ms;
}

static void
s_send_command(runtime_t *rt, char command, const char *arg1, const char *arg2)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, OB_WIRE_PROTOCOL);
    zmsg_addmem(msg, &command, 1);
    if (arg1)
        zmsg_addstr(msg, arg1);
    if (arg2)
        zmsg_addstr(msg, arg2);
    zmsg_send(&msg, rt->socket);
}

/*  A new DEALER towards the broker, READY sent. -1 when libzmq refuses the
 *  endpoint (settings are validated first, so this is a last line). */
static int
s_connect(runtime_t *rt)
{
    zsock_destroy(&rt->socket);
    rt->socket = zsock_new(ZMQ_DEALER);
    zsock_set_linger(rt->socket, 0);
    zsock_set_sndhwm(rt->socket, 100000);
    zsock_set_rcvhwm(rt->socket, 100000);
    zsock_set_heartbeat_ivl(rt->socket, 1000);
    zsock_set_heartbeat_timeout(rt->socket, 3000);
    zsock_set_reconnect_ivl(rt->socket, 100);
    zsock_set_reconnect_ivl_max(rt->socket, 2000);
    zsock_set_maxmsgsize(rt->socket, OB_PROTO_MAX_FRAME + 1024);
    zsock_set_rcvtimeo(rt->socket, 0);
    /* A send never waits longer than a heartbeat: SIGTERM is noticed in every state. */
    zsock_set_sndtimeo(rt->socket, rt->heartbeat_ms);
    if (zsock_connect(rt->socket, "%s", rt->endpoint) != 0) {
        ob_log_error("BROKER_ENDPOINT: libzmq cannot use it (%s)", zmq_strerror(zmq_errno()));
        return -1;
    }
    char credit[16];
    snprintf(credit, sizeof credit, "%d", rt->config->credit);
    s_send_command(rt, OB_WIRE_READY, rt->config->service, credit);
    rt->broker_expires = zclock_mono() + 3 * rt->heartbeat_ms;
    if (!rt->heard_from_broker) {
        rt->heard_from_broker = true;
        if (rt->config->on_ready)
            rt->config->on_ready(rt->config->state);
    }
    rt->next_heartbeat = zclock_mono() + rt->heartbeat_ms;
    rt->next_metrics = 0; /* a broker that forgot us gets a snapshot at once */
    return 0;
}

/*  Sends the process's metrics snapshot; the service refreshes its
 *  gauges first (on_metrics). */
static void
s_send_metrics(runtime_t *rt)
{
    if (rt->config->on_metrics)
        rt->config->on_metrics(rt->config->state);
    json_t *snapshot = ob_metrics_snapshot();
    size_t len = 0;
    char *text = snapshot ? ob_json_dump(snapshot, &len) : NULL;
    json_decref(snapshot);
    if (!text)
        return;
    zmsg_t *msg = zmsg_new();
    char command = OB_WIRE_METRICS;
    zmsg_addstr(msg, OB_WIRE_PROTOCOL);
    zmsg_addmem(msg, &command, 1);
    zmsg_addmem(msg, text, len);
    zmsg_send(&msg, rt->socket);
    free(text);
}

/*  Appends [route][ob_reply] for the job to a REPLY message. */
static void
s_add_reply(runtime_t *rt, zmsg_t *msg, ob_job_t *job)
{
    zframe_t *route = zmsg_first(job->_frames); /* [route][envelope] after the header was popped */
    if (job->status == 0)
        ob_job_reply_error(job, 500, "no_answer", "the service did not answer");
    ob_reply_t reply = {
        .status = job->status,
        .request_id = job->envelope.request_id,
        .body = {job->body ? job->body : "", job->body_len},
        .etag = job->etag[0] ? ob_bytes(job->etag) : (ob_bytes_t){NULL, 0},
        .served_by = ob_bytes(rt->served_by),
    };
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    if (ob_reply_pack(&reply, &buffer) == 0) {
        zmsg_addmem(msg, zframe_data(route), zframe_size(route));
        zmsg_addmem(msg, buffer.data, buffer.size);
    }
    msgpack_sbuffer_destroy(&buffer);
}

static void
s_release(ob_job_t *job)
{
    zmsg_t *frames = job->_frames;
    zmsg_destroy(&frames);
    free(job->body);
    memset(job, 0, sizeof *job);
}

static const ob_worker_method_t *
s_find_method(const ob_worker_config_t *config, ob_bytes_t name)
{
    for (size_t i = 0; i < config->method_count; i++)
        if (ob_bytes_eq(name, config->methods[i].name))
            return &config->methods[i];
    return NULL;
}

/*  Sends the answers of the jobs answered since the last flush (one message
 *  for all of them: one wake-up of the broker, not one per answer); with
 *  all, every job not sent yet (an unanswered one gets 500). */
static void
s_flush(runtime_t *rt, size_t count, bool *sent, bool all)
{
    zmsg_t *msg = zmsg_new();
    char command = OB_WIRE_REPLY;
    zmsg_addstr(msg, OB_WIRE_PROTOCOL);
    zmsg_addmem(msg, &command, 1);
    for (size_t i = 0; i < count; i++) {
        if (sent[i] || (!all && rt->jobs[i].status == 0))
            continue;
        s_add_reply(rt, msg, &rt->jobs[i]);
        sent[i] = true;
    }
    if (zmsg_size(msg) > 2)
        zmsg_send(&msg, rt->socket);
    zmsg_destroy(&msg);
}

/*  Runs every job: batch methods first, each getting all of its jobs in one
 *  call (group commits: database work only), then the one-at-a-time ones
 *  (which may call outside APIs). Answers go out after each call, so an
 *  answer (a committed webhook's, say) never waits behind a slow call. */
static void
s_process(runtime_t *rt, size_t count)
{
    const ob_worker_config_t *config = rt->config;
    bool done[count], sent[count];
    memset(done, 0, sizeof done);
    memset(sent, 0, sizeof sent);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < count; i++) {
            if (done[i])
                continue;
            ob_job_t *job = &rt->jobs[i];
            const ob_worker_method_t *method = s_find_method(config, job->envelope.method);
            if (!method) {
                ob_job_reply_error(job, 404, "unknown_method", "this service has no such method");
                done[i] = true;
                continue;
            }
            if (method->handle_batch) {
                size_t n = 0;
                for (size_t j = i; j < count; j++) {
                    if (!done[j] && s_find_method(config, rt->jobs[j].envelope.method) == method) {
                        rt->by_method[n++] = &rt->jobs[j];
                        done[j] = true;
                    }
                }
                method->handle_batch(config->state, rt->by_method, n);
            } else if (pass == 0) {
                continue; /* after every batch method */
            } else {
                done[i] = true;
                if (job->envelope.deadline_ms && job->envelope.deadline_ms < zclock_time()) {
                    /* The gateway has answered 504 already; nobody is waiting. */
                    ob_job_reply_error(job, 504, "timeout", "the deadline passed before the work started");
                    continue;
                }
                method->handle(config->state, job);
            }
            s_flush(rt, count, sent, false);
        }
    }
    s_flush(rt, count, sent, true);
    for (size_t i = 0; i < count; i++)
        s_release(&rt->jobs[i]);
}

/*  Takes one message off the socket. Returns 1 for a job stored at *job,
 *  0 for a command handled here, -1 when nothing is waiting. */
static int
s_receive(runtime_t *rt, ob_job_t *job, bool *broker_said_bye)
{
    zmsg_t *msg = zmsg_recv(rt->socket); /* never blocks: the receive timeout is 0 */
    if (!msg)
        return -1;
    rt->broker_expires = zclock_mono() + 3 * rt->heartbeat_ms;
    zframe_t *protocol = zmsg_pop(msg);
    zframe_t *command = zmsg_pop(msg);
    int result = 0;
    if (!protocol || !command || !zframe_streq(protocol, OB_WIRE_PROTOCOL) || zframe_size(command) != 1) {
        ob_log_warn("ignoring a malformed message from the broker");
    } else if (*zframe_data(command) == OB_WIRE_REQUEST && zmsg_size(msg) == 2) {
        zframe_t *envelope = zmsg_last(msg);
        ob_proto_err_t err = ob_envelope_unpack(&job->envelope, zframe_data(envelope), zframe_size(envelope));
        job->_frames = msg;
        msg = NULL;
        result = 1;
        if (err != OB_PROTO_OK) {
            ob_log_warn("malformed envelope: %s", ob_proto_strerror(err));
            ob_job_reply_error(job, 400, "bad_message", ob_proto_strerror(err));
        }
    } else if (*zframe_data(command) == OB_WIRE_DISCONNECT) {
        *broker_said_bye = true;
    }
    zframe_destroy(&protocol);
    zframe_destroy(&command);
    zmsg_destroy(&msg);
    return result;
}

int
ob_worker_run(const ob_worker_config_t *config)
{
    zsys_handler_set(NULL); /* our own handler below; czmq's would swallow SIGTERM */
    struct sigaction action = {.sa_handler = s_on_signal};
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    ob_worker_config_t defaults = *config;
    if (defaults.credit <= 0)
        defaults.credit = 64;
    if (defaults.tick_ms <= 0)
        defaults.tick_ms = 250;
    runtime_t rt = {
        .config = &defaults,
        .endpoint = ob_config_str("BROKER_ENDPOINT", "tcp://127.0.0.1:5555"),
        .heartbeat_ms = (int)ob_config_int("HEARTBEAT_MS", 1000),
        .metrics_ms = (int)ob_config_int("METRICS_INTERVAL_MS", 5000),
        .jobs = calloc((size_t)defaults.credit, sizeof(ob_job_t)),
        .by_method = calloc((size_t)defaults.credit, sizeof(ob_job_t *)),
    };
    if (!rt.jobs || !rt.by_method)
        return 1;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(rt.served_by, sizeof rt.served_by, "%s@%s:%d", defaults.service, host, (int)getpid());
    if (s_connect(&rt) != 0) {
        zsock_destroy(&rt.socket);
        free(rt.jobs);
        free(rt.by_method);
        return 2;
    }
    s_running = &rt;
    ob_log_info("serving %s via %s (credit %d)", defaults.service, rt.endpoint, defaults.credit);

    int64_t next_tick = zclock_mono();
    int64_t goodbye_at = 0, last_message = zclock_mono();
    bool more_background = false;
    int exit_code = 0;
    for (;;) {
        int64_t now = zclock_mono();
        if (s_stop_requested && !goodbye_at) {
            /* No new work from here on; what is already on its way is still answered. */
            s_send_command(&rt, OB_WIRE_DISCONNECT, NULL, NULL);
            goodbye_at = now;
            ob_log_info("stopping: finishing in-flight requests");
        }
        if (goodbye_at && (now - last_message > 2 * rt.heartbeat_ms || now - goodbye_at > 10000))
            break;

        /* Sleep until the next heartbeat or tick; never spin when there is no tick. */
        long timeout = more_background ? 0 : defaults.on_tick ? next_tick - now : rt.heartbeat_ms;
        if (rt.next_heartbeat - now < timeout)
            timeout = rt.next_heartbeat - now;
        if (rt.metrics_ms > 0 && rt.next_metrics - now < timeout)
            timeout = rt.next_metrics - now;
        if (timeout < 0)
            timeout = 0;
        int extra_fd = defaults.watch_fd ? defaults.watch_fd(defaults.state) : -1;
        zmq_pollitem_t items[2] = {{zsock_resolve(rt.socket), 0, ZMQ_POLLIN, 0}, {NULL, extra_fd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, extra_fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
            break;
        if (extra_fd >= 0 && (items[1].revents & ZMQ_POLLIN) && defaults.on_fd)
            defaults.on_fd(defaults.state);

        bool broker_said_bye = false;
        for (;;) {
            size_t count = 0;
            int rc;
            while (count < (size_t)defaults.credit && (rc = s_receive(&rt, &rt.jobs[count], &broker_said_bye)) >= 0)
                if (rc == 1)
                    count++;
            if (count == 0)
                break;
            last_message = zclock_mono();
            s_process(&rt, count);
        }
        now = zclock_mono();
        if (broker_said_bye || now > rt.broker_expires) {
            if (goodbye_at)
                break;
            ob_log_warn("broker %s; reconnecting", broker_said_bye ? "asked us to reconnect" : "went silent");
            if (s_connect(&rt) != 0) {
                exit_code = 1;
                break;
            }
        }
        if (now >= rt.next_heartbeat) {
            s_send_command(&rt, OB_WIRE_HEARTBEAT, NULL, NULL);
            rt.next_heartbeat = now + rt.heartbeat_ms;
        }
        if (!goodbye_at && rt.metrics_ms > 0 && now >= rt.next_metrics) {
            s_send_metrics(&rt);
            rt.next_metrics = zclock_mono() + rt.metrics_ms;
        }
        if (defaults.on_tick && !goodbye_at && (more_background || now >= next_tick)) {
            more_background = defaults.on_tick(defaults.state) > 0;
            next_tick = zclock_mono() + defaults.tick_ms;
        }
    }
    s_running = NULL;
    zsock_destroy(&rt.socket);
    free(rt.jobs);
    free(rt.by_method);
    ob_log_info("stopped");
    return exit_code;
}
