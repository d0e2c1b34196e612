/*  ob_worker - the runtime every worker process runs on. */
#include "common/ob_worker.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ob_config.h"
#include "common/ob_curve.h"
#include "common/ob_endpoint.h"
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

/* --- the connections to the gateways' brokers ------------------------------ */

/*  One gateway's broker: its own DEALER (one DEALER connected to several
 *  brokers would round-robin READY and heartbeats between them), its own
 *  liveness, heartbeat and metrics clocks. */
typedef struct {
    char *endpoint; /* owned */
    int number;     /* its position in BROKER_ENDPOINT, from 1 (for logs) */
    zsock_t *socket;
    int64_t expires; /* zclock_mono ms: silent until then = gone */
    int64_t next_heartbeat;
    int64_t next_metrics;
    bool said_bye; /* the broker sent DISCONNECT since the last look */
    bool done;     /* stopping: this broker let us go, or is gone */
} link_t;

typedef struct {
    const ob_worker_config_t *config;
    int heartbeat_ms;
    int metrics_ms;
    link_t *links;
    size_t link_count;
    ob_job_t *jobs;   /* credit per link */
    size_t *job_link; /* the link each job came from: its answer goes back there */
    ob_job_t **by_method;
    char served_by[96]; /* service@host:pid */
    /* CURVE, when its keys are set (the secret stays in the environment). */
    const char *client_secret;
    char server_public[OB_CURVE_KEY_LEN + 1];
    char client_public[OB_CURVE_KEY_LEN + 1];
} runtime_t;

/*  The runtime serving on this thread (for ob_worker_keepalive). */
static _Thread_local runtime_t *s_running;

static void
s_send_command(link_t *link, char command, const char *arg1, const char *arg2)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, OB_WIRE_PROTOCOL);
    zmsg_addmem(msg, &command, 1);
    if (arg1)
        zmsg_addstr(msg, arg1);
    if (arg2)
        zmsg_addstr(msg, arg2);
    zmsg_send(&msg, link->socket);
}

/*  Sends every link the heartbeat that is due. */
static void
s_heartbeat_due(runtime_t *rt, int64_t now)
{
    for (size_t i = 0; i < rt->link_count; i++) {
        link_t *link = &rt->links[i];
        if (link->socket && now >= link->next_heartbeat) {
            s_send_command(link, OB_WIRE_HEARTBEAT, NULL, NULL);
            link->next_heartbeat = now + rt->heartbeat_ms;
        }
    }
}

void
ob_worker_keepalive(void)
{
    runtime_t *rt = s_running;
    if (rt)
        s_heartbeat_due(rt, zclock_mono());
}

/*  A new DEALER towards one broker, READY sent. -1 when libzmq refuses the
 *  endpoint (settings are validated first, so this is a last line). */
static int
s_connect(runtime_t *rt, link_t *link)
{
    zsock_destroy(&link->socket);
    link->socket = zsock_new(ZMQ_DEALER);
    if (!link->socket)
        return -1;
    zsock_set_linger(link->socket, 0);
    zsock_set_sndhwm(link->socket, 100000);
    zsock_set_rcvhwm(link->socket, 100000);
    zsock_set_heartbeat_ivl(link->socket, 1000);
    zsock_set_heartbeat_timeout(link->socket, 3000);
    zsock_set_reconnect_ivl(link->socket, 100);
    zsock_set_reconnect_ivl_max(link->socket, 2000);
    zsock_set_maxmsgsize(link->socket, OB_PROTO_MAX_FRAME + 1024);
    zsock_set_rcvtimeo(link->socket, 0);
    /* A send never waits: a gateway that is gone must not hold up the others,
     * and SIGTERM is noticed in every state. */
    zsock_set_sndtimeo(link->socket, 0);
    if (rt->client_secret) {
        zsock_set_curve_serverkey(link->socket, rt->server_public);
        zsock_set_curve_publickey(link->socket, rt->client_public);
        zsock_set_curve_secretkey(link->socket, rt->client_secret);
    }
    if (zsock_connect(link->socket, "%s", link->endpoint) != 0) {
        ob_log_error("BROKER_ENDPOINT: libzmq cannot use endpoint %d of the list (%s)", link->number, zmq_strerror(zmq_errno()));
        return -1;
    }
    char credit[16];
    snprintf(credit, sizeof credit, "%d", rt->config->credit);
    s_send_command(link, OB_WIRE_READY, rt->config->service, credit);
    int64_t now = zclock_mono();
    link->expires = now + 3 * rt->heartbeat_ms;
    link->next_heartbeat = now + rt->heartbeat_ms;
    link->next_metrics = 0; /* a broker that forgot us gets a snapshot at once */
    link->said_bye = false;
    return 0;
}

/*  Reads the CURVE settings (checked one by one by the service's settings
 *  table): both keys or neither, and a public key that belongs to the
 *  secret. Prints one line per problem; -1 when there was one. */
static int
s_curve_settings(runtime_t *rt)
{
    static atomic_flag reported = ATOMIC_FLAG_INIT; /* one report per process, however many runtimes */
    const char *server = ob_config_get("BROKER_SERVER_PUBLIC_KEY");
    const char *secret = ob_config_get("BROKER_CLIENT_SECRET_KEY");
    const char *public = ob_config_get("BROKER_CLIENT_PUBLIC_KEY");
    if (!server && !secret && !public)
        return 0;
    if (!server || !secret) {
        if (!atomic_flag_test_and_set(&reported))
            fprintf(stderr, "config: %s is required with %s (CURVE)\n",
                    server ? "BROKER_CLIENT_SECRET_KEY" : "BROKER_SERVER_PUBLIC_KEY",
                    server   ? "BROKER_SERVER_PUBLIC_KEY"
                    : secret ? "BROKER_CLIENT_SECRET_KEY"
                             : "BROKER_CLIENT_PUBLIC_KEY");
        return -1;
    }
    if (!zmq_has("curve") || ob_curve_public(secret, rt->client_public) != 0 || ob_curve_key_problem(server)) {
        if (!atomic_flag_test_and_set(&reported))
            fprintf(stderr, "config: BROKER_CLIENT_SECRET_KEY cannot be used for CURVE\n");
        return -1;
    }
    if (public && strcmp(public, rt->client_public) != 0) {
        if (!atomic_flag_test_and_set(&reported))
            fprintf(stderr, "config: BROKER_CLIENT_PUBLIC_KEY does not belong to BROKER_CLIENT_SECRET_KEY\n");
        return -1;
    }
    snprintf(rt->server_public, sizeof rt->server_public, "%s", server);
    rt->client_secret = secret;
    return 0;
}

/*  Splits BROKER_ENDPOINT (validated by the service's settings check) into
 *  links. -1 on allocation failure. */
static int
s_links_new(runtime_t *rt, const char *list)
{
    size_t count = 1;
    for (const char *p = list; *p; p++)
        count += *p == ',';
    rt->links = calloc(count, sizeof *rt->links);
    if (!rt->links)
        return -1;
    for (const char *item = list; rt->link_count < count; item++) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        link_t *link = &rt->links[rt->link_count];
        if (!(link->endpoint = strndup(item, len)))
            return -1;
        link->number = (int)++rt->link_count;
        if (!comma)
            break;
        item = comma;
    }
    return 0;
}

static void
s_links_destroy(runtime_t *rt)
{
    for (size_t i = 0; rt->links && i < rt->link_count; i++) {
        zsock_destroy(&rt->links[i].socket);
        free(rt->links[i].endpoint);
    }
    free(rt->links);
    rt->links = NULL;
    rt->link_count = 0;
}

/*  Sends the process's metrics snapshot to every broker whose turn it is;
 *  the service refreshes its gauges first (on_metrics), once for all. */
static void
s_send_metrics_due(runtime_t *rt, int64_t now)
{
    bool due = false;
    for (size_t i = 0; i < rt->link_count; i++)
        due = due || now >= rt->links[i].next_metrics;
    if (!due)
        return;
    if (rt->config->on_metrics)
        rt->config->on_metrics(rt->config->state);
    json_t *snapshot = ob_metrics_snapshot();
    size_t len = 0;
    char *text = snapshot ? ob_json_dump(snapshot, &len) : NULL;
    json_decref(snapshot);
    for (size_t i = 0; i < rt->link_count; i++) {
        link_t *link = &rt->links[i];
        if (now < link->next_metrics)
            continue;
        link->next_metrics = now + rt->metrics_ms;
        if (!text)
            continue;
        zmsg_t *msg = zmsg_new();
        char command = OB_WIRE_METRICS;
        zmsg_addstr(msg, OB_WIRE_PROTOCOL);
        zmsg_addmem(msg, &command, 1);
        zmsg_addmem(msg, text, len);
        zmsg_send(&msg, link->socket);
    }
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

/*  Sends the answers of the jobs answered since the last flush, to the
 *  broker each job came from (one message per broker for all of them: one
 *  wake-up, not one per answer); with all, every job not sent yet (an
 *  unanswered one gets 500). */
static void
s_flush(runtime_t *rt, size_t count, bool *sent, bool all)
{
    for (size_t l = 0; l < rt->link_count; l++) {
        zmsg_t *msg = zmsg_new();
        char command = OB_WIRE_REPLY;
        zmsg_addstr(msg, OB_WIRE_PROTOCOL);
        zmsg_addmem(msg, &command, 1);
        for (size_t i = 0; i < count; i++) {
            if (sent[i] || rt->job_link[i] != l || (!all && rt->jobs[i].status == 0))
                continue;
            s_add_reply(rt, msg, &rt->jobs[i]);
            sent[i] = true;
        }
        if (zmsg_size(msg) > 2)
            zmsg_send(&msg, rt->links[l].socket);
        zmsg_destroy(&msg);
    }
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

/*  Takes one message off the link's socket. Returns 1 for a job stored at
 *  *job, 0 for a command handled here, -1 when nothing is waiting. */
static int
s_receive(runtime_t *rt, link_t *link, ob_job_t *job)
{
    zmsg_t *msg = zmsg_recv(link->socket); /* never blocks: the receive timeout is 0 */
    if (!msg)
        return -1;
    link->expires = zclock_mono() + 3 * rt->heartbeat_ms;
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
        link->said_bye = true;
    }
    zframe_destroy(&protocol);
    zframe_destroy(&command);
    zmsg_destroy(&msg);
    return result;
}

/*  Takes every waiting request from every broker (each holds at most the
 *  credit it was given) and runs them, until none is waiting. Returns true
 *  when any request came. */
static bool
s_serve_waiting(runtime_t *rt)
{
    size_t credit = (size_t)rt->config->credit;
    bool any = false;
    for (;;) {
        size_t count = 0;
        for (size_t l = 0; l < rt->link_count; l++) {
            size_t from_link = 0;
            int rc;
            while (from_link < credit && (rc = s_receive(rt, &rt->links[l], &rt->jobs[count])) >= 0)
                if (rc == 1) {
                    rt->job_link[count++] = l;
                    from_link++;
                }
        }
        if (count == 0)
            return any;
        any = true;
        s_process(rt, count);
    }
}

/*  Reconnects every broker that went silent or asked us to (a gateway that
 *  restarted forgets its workers: a fresh socket says READY again). While
 *  stopping, such a broker is done instead. -1 when libzmq refuses. */
static int
s_check_links(runtime_t *rt, int64_t now, bool stopping)
{
    for (size_t i = 0; i < rt->link_count; i++) {
        link_t *link = &rt->links[i];
        if (link->done || !(link->said_bye || now > link->expires))
            continue;
        if (stopping) {
            link->done = true;
            continue;
        }
        ob_log_warn("broker %d (%s) %s; reconnecting", link->number, link->endpoint,
                    link->said_bye ? "asked us to reconnect" : "went silent");
        if (s_connect(rt, link) != 0)
            return -1;
    }
    return 0;
}

static bool
s_all_done(const runtime_t *rt)
{
    for (size_t i = 0; i < rt->link_count; i++)
        if (!rt->links[i].done)
            return false;
    return true;
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
    const char *endpoints = ob_config_str("BROKER_ENDPOINT", "tcp://127.0.0.1:5555");
    runtime_t rt = {
        .config = &defaults,
        .heartbeat_ms = (int)ob_config_int("HEARTBEAT_MS", 1000),
        .metrics_ms = (int)ob_config_int("METRICS_INTERVAL_MS", 5000),
    };
    int exit_code = 0;
    if (s_curve_settings(&rt) != 0) {
        exit_code = 2;
        goto out;
    }
    if (s_links_new(&rt, endpoints) != 0 || rt.link_count > OB_ENDPOINT_LIST_MAX) {
        ob_log_error("BROKER_ENDPOINT: cannot set up the connections");
        exit_code = 1;
        goto out;
    }
    size_t slots = (size_t)defaults.credit * rt.link_count;
    rt.jobs = calloc(slots, sizeof(ob_job_t));
    rt.job_link = calloc(slots, sizeof(size_t));
    rt.by_method = calloc(slots, sizeof(ob_job_t *));
    if (!rt.jobs || !rt.job_link || !rt.by_method) {
        exit_code = 1;
        goto out;
    }
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(rt.served_by, sizeof rt.served_by, "%s@%s:%d", defaults.service, host, (int)getpid());
    for (size_t i = 0; i < rt.link_count; i++)
        if (s_connect(&rt, &rt.links[i]) != 0) {
            exit_code = 2;
            goto out;
        }
    /* Every gateway has our READY before the service says it has (lago-worker
     * orders its two runtimes by this). */
    if (defaults.on_ready)
        defaults.on_ready(defaults.state);
    s_running = &rt;
    ob_log_info("serving %s via %s (credit %d per gateway, %s)", defaults.service, endpoints, defaults.credit,
                rt.client_secret ? "CURVE" : "plain TCP");

    int64_t next_tick = zclock_mono();
    int64_t goodbye_at = 0, last_message = zclock_mono();
    bool more_background = false;
    for (;;) {
        int64_t now = zclock_mono();
        if (s_stop_requested && !goodbye_at) {
            /* No new work from here on; what is already on its way is still answered. */
            for (size_t i = 0; i < rt.link_count; i++)
                s_send_command(&rt.links[i], OB_WIRE_DISCONNECT, NULL, NULL);
            goodbye_at = now;
            ob_log_info("stopping: finishing in-flight requests");
        }
        if (goodbye_at && (now - last_message > 2 * rt.heartbeat_ms || now - goodbye_at > 10000 || s_all_done(&rt)))
            break;

        /* Sleep until the next heartbeat or tick; never spin when there is no tick. */
        long timeout = more_background ? 0 : defaults.on_tick ? next_tick - now : rt.heartbeat_ms;
        zmq_pollitem_t items[OB_ENDPOINT_LIST_MAX + 1];
        for (size_t i = 0; i < rt.link_count; i++) {
            link_t *link = &rt.links[i];
            if (link->next_heartbeat - now < timeout)
                timeout = link->next_heartbeat - now;
            if (rt.metrics_ms > 0 && !goodbye_at && link->next_metrics - now < timeout)
                timeout = link->next_metrics - now;
            items[i] = (zmq_pollitem_t){zsock_resolve(link->socket), 0, ZMQ_POLLIN, 0};
        }
        if (timeout < 0)
            timeout = 0;
        int extra_fd = defaults.watch_fd ? defaults.watch_fd(defaults.state) : -1;
        items[rt.link_count] = (zmq_pollitem_t){NULL, extra_fd, ZMQ_POLLIN, 0};
        if (zmq_poll(items, (int)rt.link_count + (extra_fd >= 0), timeout) < 0 && errno != EINTR)
            break;
        if (extra_fd >= 0 && (items[rt.link_count].revents & ZMQ_POLLIN) && defaults.on_fd)
            defaults.on_fd(defaults.state);

        if (s_serve_waiting(&rt))
            last_message = zclock_mono();
        now = zclock_mono();
        if (s_check_links(&rt, now, goodbye_at != 0) != 0) {
            exit_code = 1;
            break;
        }
        s_heartbeat_due(&rt, now);
        if (!goodbye_at && rt.metrics_ms > 0)
            s_send_metrics_due(&rt, now);
        if (defaults.on_tick && !goodbye_at && (more_background || now >= next_tick)) {
            more_background = defaults.on_tick(defaults.state) > 0;
            next_tick = zclock_mono() + defaults.tick_ms;
        }
    }
    ob_log_info("stopped");
out:
    s_running = NULL;
    s_links_destroy(&rt);
    free(rt.jobs);
    free(rt.job_link);
    free(rt.by_method);
    return exit_code;
}
