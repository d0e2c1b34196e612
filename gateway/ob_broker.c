/*  ob_broker - the Majordomo-style broker inside the gateway.
 *
 *  State lives in this thread only; the live-worker counts are atomics so the
 *  loop threads can answer /ready without a round trip.
 */
#include "gateway/ob_broker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "common/ob_clock.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_metrics.h"
#include "gateway/ob_exposition.h"
#include "gateway/ob_frames.h"
#include "proto/ob_proto.h"
#include "proto/ob_wire.h"

#define MAX_WORKERS 512
#define MAX_CREDIT 1024
#define MAX_IDENTITY 64
#define DRAIN_BATCH 256
#define MAX_SNAPSHOT (256 * 1024)       /* a worker's METRICS frame kept at most */
#define MAX_FRAMES (3 + 2 * MAX_CREDIT) /* a REPLY carries up to credit route/reply pairs */

typedef struct {
    bool in_use;
    uint32_t generation;
    uint8_t client[MAX_IDENTITY]; /* the loop thread's routing id */
    size_t client_len;
    uint8_t key[8];
} slot_t;

typedef struct {
    uint8_t identity[MAX_IDENTITY];
    size_t identity_len;
    int service;
    int credit;
    int inflight;
    bool draining;      /* said DISCONNECT: no new work, finish what it holds */
    int64_t expires_ms; /* monotonic */
    slot_t *slots;
    uint32_t *free_slots; /* stack of free slot indexes */
    int free_count;
    char *metrics; /* the latest METRICS snapshot (JSON), NULL before the first */
    size_t metrics_len;
} worker_t;

typedef struct {
    uint8_t client[MAX_IDENTITY];
    size_t client_len;
    uint8_t key[8];
    int64_t deadline_ms; /* Unix ms */
    zmq_msg_t envelope;
} queued_t;

typedef struct {
    queued_t *ring;
    int head, count;
    int next_worker; /* round-robin cursor into the worker list */
} service_queue_t;

struct _ob_broker_t {
    void *frontend;
    void *backend;
    ob_broker_config_t config;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    atomic_int live[OB_SERVICE_COUNT];
    atomic_int backlog[OB_SERVICE_COUNT];
    worker_t *workers[MAX_WORKERS];
    int worker_count;
    service_queue_t queues[OB_SERVICE_COUNT];
    int64_t next_heartbeat_ms;
    zmq_msg_t *frames; /* MAX_FRAMES, reused for every worker message */
};

static int64_t
s_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- sending ------------------------------------------------------------- */

static int
s_send(void *socket, const void *data, size_t len, bool more)
{
    return zmq_send(socket, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0 ? -1 : 0;
}

/*  Sends [client][key + reply] to a loop thread. */
static void
s_send_reply(ob_broker_t *self, const uint8_t *client, size_t client_len, const uint8_t *key, const void *reply, size_t len)
{
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, 8 + len) != 0)
        return;
    memcpy(zmq_msg_data(&frame), key, 8);
    memcpy((uint8_t *)zmq_msg_data(&frame) + 8, reply, len);
    if (s_send(self->frontend, client, client_len, true) != 0 || zmq_msg_send(&frame, self->frontend, ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&frame);
}

/*  Answers a loop thread's request with a broker-made 503. */
static void
s_refuse(ob_broker_t *self, const uint8_t *client, size_t client_len, const uint8_t *key, const char *code, const char *message)
{
    char body[256];
    size_t body_len = ob_json_error(body, sizeof body, code, message);
    ob_reply_t reply = {.status = 503, .body = {body, body_len}};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    if (ob_reply_pack(&reply, &buffer) == 0)
        s_send_reply(self, client, client_len, key, buffer.data, buffer.size);
    msgpack_sbuffer_destroy(&buffer);
}

static void
s_send_command(ob_broker_t *self, const worker_t *worker, char command)
{
    if (s_send(self->backend, worker->identity, worker->identity_len, true) == 0 &&
        s_send(self->backend, OB_WIRE_PROTOCOL, 4, true) == 0)
        s_send(self->backend, &command, 1, false);
}

static void
s_send_command_to(ob_broker_t *self, const void *identity, size_t len, char command)
{
    if (s_send(self->backend, identity, len, true) == 0 && s_send(self->backend, OB_WIRE_PROTOCOL, 4, true) == 0)
        s_send(self->backend, &command, 1, false);
}

/* --- workers ------------------------------------------------------------- */

static worker_t *
s_worker_find(ob_broker_t *self, const void *identity, size_t len, int *index_out)
{
    for (int i = 0; i < self->worker_count; i++) {
        worker_t *worker = self->workers[i];
        if (worker->identity_len == len && memcmp(worker->identity, identity, len) == 0) {
            if (index_out)
                *index_out = i;
            return worker;
        }
    }
    return NULL;
}

static void
s_worker_remove(ob_broker_t *self, int index, const char *why)
{
    worker_t *worker = self->workers[index];
    for (int i = 0; i < worker->credit; i++) {
        slot_t *slot = &worker->slots[i];
        if (slot->in_use)
            s_refuse(self, slot->client, slot->client_len, slot->key, "worker_lost",
                     "the worker handling this request went away; retry");
    }
    atomic_fetch_sub(&self->backlog[worker->service], worker->inflight);
    if (!worker->draining)
        atomic_fetch_sub(&self->live[worker->service], 1);
    ob_log_info("worker left: service=%s reason=%s inflight=%d", ob_wire_service_name(worker->service), why, worker->inflight);
    self->workers[index] = self->workers[--self->worker_count];
    free(worker->slots);
    free(worker->free_slots);
    free(worker->metrics);
    free(worker);
}

/*  Keeps the worker's latest snapshot; an oversized one is ignored. */
static void
s_worker_metrics(worker_t *worker, zmq_msg_t *frame)
{
    size_t len = zmq_msg_size(frame);
    if (len == 0 || len > MAX_SNAPSHOT)
        return;
    char *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, zmq_msg_data(frame), len);
    free(worker->metrics);
    worker->metrics = copy;
    worker->metrics_len = len;
}

static void
s_worker_ready(ob_broker_t *self, const void *identity, size_t identity_len, zmq_msg_t *service_frame, zmq_msg_t *credit_frame)
{
    if (identity_len > MAX_IDENTITY || self->worker_count >= MAX_WORKERS)
        return;
    int service = ob_wire_service_find(zmq_msg_data(service_frame), zmq_msg_size(service_frame));
    char credit_text[16] = "";
    size_t credit_len = zmq_msg_size(credit_frame);
    if (credit_len < sizeof credit_text)
        memcpy(credit_text, zmq_msg_data(credit_frame), credit_len);
    int credit = atoi(credit_text);
    if (service < 0 || credit < 1) {
        ob_log_warn("worker refused: unknown service or bad credit");
        s_send_command_to(self, identity, identity_len, OB_WIRE_DISCONNECT);
        return;
    }
    if (credit > MAX_CREDIT)
        credit = MAX_CREDIT;
    int existing;
    if (s_worker_find(self, identity, identity_len, &existing))
        s_worker_remove(self, existing, "said ready again");

    worker_t *worker = calloc(1, sizeof *worker);
    if (!worker || !(worker->slots = calloc((size_t)credit, sizeof *worker->slots)) ||
        !(worker->free_slots = calloc((size_t)credit, sizeof *worker->free_slots))) {
        if (worker)
            free(worker->slots);
        free(worker);
        return;
    }
    memcpy(worker->identity, identity, identity_len);
    worker->identity_len = identity_len;
    worker->service = service;
    worker->credit = credit;
    worker->expires_ms = ob_clock_mono_ms() + 3 * self->config.heartbeat_ms;
    for (int i = 0; i < credit; i++)
        worker->free_slots[i] = (uint32_t)(credit - 1 - i);
    worker->free_count = credit;
    self->workers[self->worker_count++] = worker;
    atomic_fetch_add(&self->live[service], 1);
    ob_log_info("worker joined: service=%s credit=%d", ob_wire_service_name(service), credit);
}

/*  Routes a worker's reply to the loop thread that asked. */
static void
s_worker_reply(ob_broker_t *self, worker_t *worker, zmq_msg_t *route, zmq_msg_t *reply)
{
    if (zmq_msg_size(route) != 8)
        return;
    uint32_t index, generation;
    memcpy(&index, zmq_msg_data(route), 4);
    memcpy(&generation, (char *)zmq_msg_data(route) + 4, 4);
    if (index >= (uint32_t)worker->credit)
        return;
    slot_t *slot = &worker->slots[index];
    if (!slot->in_use || slot->generation != generation)
        return; /* a stale reply: the request was already answered */
    s_send_reply(self, slot->client, slot->client_len, slot->key, zmq_msg_data(reply), zmq_msg_size(reply));
    slot->in_use = false;
    worker->free_slots[worker->free_count++] = index;
    worker->inflight--;
    atomic_fetch_sub(&self->backlog[worker->service], 1);
}

/*  Receives one whole multipart message into frames (up to max). Returns the
 *  frame count, 0 when nothing is waiting, -1 on error. */
static void s_dispatch(ob_broker_t *self, int service);

static void
s_on_backend(ob_broker_t *self)
{
    for (int n = 0; n < DRAIN_BATCH; n++) {
        zmq_msg_t *frames = self->frames;
        int count = ob_frames_recv(self->backend, frames, MAX_FRAMES);
        if (count <= 0)
            return;
        const void *identity = zmq_msg_data(&frames[0]);
        size_t identity_len = zmq_msg_size(&frames[0]);
        if (count < 3 || zmq_msg_size(&frames[1]) != 4 || memcmp(zmq_msg_data(&frames[1]), OB_WIRE_PROTOCOL, 4) != 0 ||
            zmq_msg_size(&frames[2]) < 1) {
            ob_frames_close(frames, count);
            continue;
        }
        char command = *(const char *)zmq_msg_data(&frames[2]);
        int index;
        worker_t *worker = s_worker_find(self, identity, identity_len, &index);
        if (command == OB_WIRE_READY) {
            if (count == 5) {
                s_worker_ready(self, identity, identity_len, &frames[3], &frames[4]);
                if ((worker = s_worker_find(self, identity, identity_len, NULL)))
                    s_dispatch(self, worker->service);
            }
        } else if (!worker) {
            if (command != OB_WIRE_DISCONNECT)
                s_send_command_to(self, identity, identity_len, OB_WIRE_DISCONNECT);
        } else {
            worker->expires_ms = ob_clock_mono_ms() + 3 * self->config.heartbeat_ms;
            if (command == OB_WIRE_REPLY && count >= 5 && (count - 3) % 2 == 0) {
                /* One message answers a whole batch: [route][reply] pairs. */
                for (int pair = 3; pair + 1 < count; pair += 2)
                    s_worker_reply(self, worker, &frames[pair], &frames[pair + 1]);
                if (!worker->draining)
                    s_dispatch(self, worker->service);
                else if (worker->inflight == 0)
                    s_worker_remove(self, index, "finished draining");
            } else if (command == OB_WIRE_METRICS && count == 4) {
                s_worker_metrics(worker, &frames[3]);
            } else if (command == OB_WIRE_DISCONNECT) {
                if (!worker->draining) {
                    worker->draining = true;
                    atomic_fetch_sub(&self->live[worker->service], 1);
                }
                if (worker->inflight == 0)
                    s_worker_remove(self, index, "said goodbye");
            }
        }
        ob_frames_close(frames, count);
    }
}

/* --- requests ------------------------------------------------------------ */

/*  Sends queued requests of a service to workers with credit, round robin. */
static void
s_dispatch(ob_broker_t *self, int service)
{
    service_queue_t *queue = &self->queues[service];
    int64_t now = s_unix_ms();
    while (queue->count > 0) {
        worker_t *chosen = NULL;
        for (int tries = 0; tries < self->worker_count; tries++) {
            worker_t *worker = self->workers[(queue->next_worker + tries) % self->worker_count];
            if (worker->service == service && !worker->draining && worker->free_count > 0) {
                chosen = worker;
                queue->next_worker = (queue->next_worker + tries + 1) % self->worker_count;
                break;
            }
        }
        if (!chosen)
            return;
        queued_t *entry = &queue->ring[queue->head];
        queue->head = (queue->head + 1) % self->config.queue_limit;
        queue->count--;
        /* An empty queue starts again at the front: the ring's pages are touched
         * only as deep as requests really wait, not all of them as it turns. */
        if (queue->count == 0)
            queue->head = 0;
        if (entry->deadline_ms && entry->deadline_ms < now) {
            /* The loop thread has already answered 504; nobody waits for this. */
            atomic_fetch_sub(&self->backlog[service], 1);
            zmq_msg_close(&entry->envelope);
            continue;
        }
        uint32_t index = chosen->free_slots[--chosen->free_count];
        slot_t *slot = &chosen->slots[index];
        slot->in_use = true;
        slot->generation++;
        memcpy(slot->client, entry->client, entry->client_len);
        slot->client_len = entry->client_len;
        memcpy(slot->key, entry->key, 8);
        chosen->inflight++;
        uint8_t route[8];
        memcpy(route, &index, 4);
        memcpy(route + 4, &slot->generation, 4);
        char command = OB_WIRE_REQUEST;
        if (s_send(self->backend, chosen->identity, chosen->identity_len, true) < 0 ||
            s_send(self->backend, OB_WIRE_PROTOCOL, 4, true) < 0 || s_send(self->backend, &command, 1, true) < 0 ||
            s_send(self->backend, route, 8, true) < 0 || zmq_msg_send(&entry->envelope, self->backend, ZMQ_DONTWAIT) < 0) {
            /* Unroutable (the worker vanished) or its pipe is full: fail this one now. */
            zmq_msg_close(&entry->envelope);
            s_refuse(self, slot->client, slot->client_len, slot->key, "worker_unreachable",
                     "the worker could not take the request; retry");
            slot->in_use = false;
            chosen->free_slots[chosen->free_count++] = index;
            chosen->inflight--;
            atomic_fetch_sub(&self->backlog[service], 1);
            continue;
        }
    }
}

/* --- /metrics ------------------------------------------------------------ */

static void
s_render_broker(ob_broker_t *self, ob_expo_t *expo)
{
    int inflight[OB_SERVICE_COUNT] = {0};
    for (int i = 0; i < self->worker_count; i++)
        inflight[self->workers[i]->service] += self->workers[i]->inflight;
    for (int i = 0; i < OB_SERVICE_COUNT; i++) {
        ob_expo_label_t labels[] = {{"service", ob_wire_service_name(i)}};
        ob_expo_add(expo, "ob_broker_workers", "gauge",
                    "Live workers serving the service (said READY, heartbeating, not draining).", "", labels, 1,
                    atomic_load(&self->live[i]));
        ob_expo_add(expo, "ob_broker_queue_depth", "gauge", "Requests waiting in the broker for a worker of the service.", "",
                    labels, 1, self->queues[i].count);
        ob_expo_add(expo, "ob_broker_requests_in_flight", "gauge", "Requests handed to the service's workers and not answered yet.",
                    "", labels, 1, inflight[i]);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double start = ob_metrics_start_time();
    ob_expo_label_t gateway[] = {{"program", "gateway"}};
    ob_expo_add(expo, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "", gateway, 1,
                ob_metrics_rss_bytes());
    ob_expo_add(expo, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", "", gateway,
                1, start);
    ob_expo_add(expo, "ob_process_uptime_seconds", "gauge", "Seconds since the process started.", "", gateway, 1,
                (double)now.tv_sec + now.tv_nsec / 1e9 - start);
}

/*  Renders the whole exposition and answers the loop thread with it. */
static void
s_answer_metrics(ob_broker_t *self, const uint8_t *client, size_t client_len, const uint8_t *key)
{
    ob_expo_t *expo = ob_expo_new();
    char *text = NULL;
    size_t len = 0;
    if (expo) {
        s_render_broker(self, expo);
        if (self->config.http_metrics)
            ob_http_metrics_render(self->config.http_metrics, expo);
        for (int i = 0; i < self->worker_count; i++)
            if (self->workers[i]->metrics)
                ob_expo_add_snapshot(expo, self->workers[i]->metrics, self->workers[i]->metrics_len);
        text = ob_expo_render(expo, &len);
        ob_expo_destroy(&expo);
    }
    if (!text) {
        s_refuse(self, client, client_len, key, "internal", "the metrics could not be built");
        return;
    }
    ob_reply_t reply = {.status = 200, .body = {text, len}};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    if (ob_reply_pack(&reply, &buffer) == 0)
        s_send_reply(self, client, client_len, key, buffer.data, buffer.size);
    msgpack_sbuffer_destroy(&buffer);
    free(text);
}

static void
s_on_frontend(ob_broker_t *self)
{
    for (int n = 0; n < DRAIN_BATCH; n++) {
        zmq_msg_t frames[2];
        int count = ob_frames_recv(self->frontend, frames, 2);
        if (count <= 0)
            return;
        const uint8_t *client = zmq_msg_data(&frames[0]);
        size_t client_len = zmq_msg_size(&frames[0]);
        if (count != 2 || client_len > MAX_IDENTITY || zmq_msg_size(&frames[1]) <= OB_BROKER_REQUEST_HEADER) {
            ob_frames_close(frames, count);
            continue;
        }
        const uint8_t *request = zmq_msg_data(&frames[1]);
        const uint8_t *key = request;
        int service = request[8];
        if (service == OB_ROUTE_SERVICE_BROKER) {
            s_answer_metrics(self, client, client_len, key);
            ob_frames_close(frames, count);
            continue;
        }
        service_queue_t *queue = service < OB_SERVICE_COUNT ? &self->queues[service] : NULL;
        if (!queue) {
            s_refuse(self, client, client_len, key, "unknown_service", "no such service");
        } else if (atomic_load(&self->live[service]) == 0) {
            s_refuse(self, client, client_len, key, "service_unavailable", "no worker is serving this right now; retry shortly");
        } else if (queue->count >= self->config.queue_limit) {
            s_refuse(self, client, client_len, key, "overloaded", "too many requests are waiting; retry shortly");
        } else {
            queued_t *entry = &queue->ring[(queue->head + queue->count) % self->config.queue_limit];
            memcpy(entry->client, client, client_len);
            entry->client_len = client_len;
            memcpy(entry->key, key, 8);
            memcpy(&entry->deadline_ms, request + 9, 8);
            size_t envelope_len = zmq_msg_size(&frames[1]) - OB_BROKER_REQUEST_HEADER;
            zmq_msg_init_size(&entry->envelope, envelope_len);
            memcpy(zmq_msg_data(&entry->envelope), request + OB_BROKER_REQUEST_HEADER, envelope_len);
            queue->count++;
            atomic_fetch_add(&self->backlog[service], 1);
            s_dispatch(self, service);
        }
        ob_frames_close(frames, count);
    }
}

/* --- heartbeats ---------------------------------------------------------- */

static void
s_heartbeat(ob_broker_t *self)
{
    int64_t now = ob_clock_mono_ms();
    for (int i = self->worker_count - 1; i >= 0; i--)
        if (self->workers[i]->expires_ms < now)
            s_worker_remove(self, i, "heartbeat expired");
    if (now < self->next_heartbeat_ms)
        return;
    self->next_heartbeat_ms = now + self->config.heartbeat_ms;
    for (int i = 0; i < self->worker_count; i++)
        s_send_command(self, self->workers[i], OB_WIRE_HEARTBEAT);
}

static void *
s_run(void *arg)
{
    ob_broker_t *self = arg;
    zmq_pollitem_t items[] = {{self->frontend, 0, ZMQ_POLLIN, 0}, {self->backend, 0, ZMQ_POLLIN, 0}};
    long timeout = self->config.heartbeat_ms < 100 ? self->config.heartbeat_ms : 100;
    while (!atomic_load(&self->stop)) {
        if (zmq_poll(items, 2, timeout) < 0 && errno != EINTR)
            break;
        /* Backend first: replies free credit for the requests behind them. */
        if (items[1].revents & ZMQ_POLLIN)
            s_on_backend(self);
        if (items[0].revents & ZMQ_POLLIN)
            s_on_frontend(self);
        s_heartbeat(self);
    }
    for (int i = 0; i < self->worker_count; i++)
        s_send_command(self, self->workers[i], OB_WIRE_DISCONNECT);
    return NULL;
}

/* --- lifecycle ----------------------------------------------------------- */

static void *
s_bind(void *ctx, const char *endpoint, int hwm, const char *curve_secret_key)
{
    void *socket = zmq_socket(ctx, ZMQ_ROUTER);
    if (!socket)
        return NULL;
    int one = 1, zero = 0, ivl = 1000, timeout = 3000;
    zmq_setsockopt(socket, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(socket, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    int64_t max_size = OB_PROTO_MAX_FRAME + 1024;
    zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
    if (curve_secret_key && (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
                             zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, curve_secret_key, strlen(curve_secret_key)) != 0 ||
                             zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, "ob-broker", 9) != 0)) {
        ob_log_error("broker cannot use CURVE: %s", zmq_strerror(errno));
        zmq_close(socket);
        return NULL;
    }
    if (zmq_bind(socket, endpoint) != 0) {
        ob_log_error("broker cannot bind %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(socket);
        return NULL;
    }
    return socket;
}

ob_broker_t *
ob_broker_new(void *zmq_ctx, const ob_broker_config_t *config)
{
    ob_broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->config.curve_secret_key = NULL; /* used once, in s_bind: not kept */
    if (self->config.heartbeat_ms <= 0)
        self->config.heartbeat_ms = 1000;
    if (self->config.queue_limit <= 0)
        self->config.queue_limit = 4096;
    if (!(self->frames = calloc(MAX_FRAMES, sizeof(zmq_msg_t)))) {
        ob_broker_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < OB_SERVICE_COUNT; i++)
        if (!(self->queues[i].ring = calloc((size_t)self->config.queue_limit, sizeof(queued_t)))) {
            ob_broker_destroy(&self);
            return NULL;
        }
    self->frontend = s_bind(zmq_ctx, config->frontend_endpoint, 100000, NULL);
    self->backend = self->frontend ? s_bind(zmq_ctx, config->backend_endpoint, 100000, config->curve_secret_key) : NULL;
    if (!self->backend) {
        ob_broker_destroy(&self);
        return NULL;
    }
    return self;
}

int
ob_broker_start(ob_broker_t *self)
{
    if (pthread_create(&self->thread, NULL, s_run, self) != 0)
        return -1;
    self->started = true;
    return 0;
}

void
ob_broker_stop(ob_broker_t *self)
{
    if (!self || !self->started)
        return;
    atomic_store(&self->stop, true);
    pthread_join(self->thread, NULL);
    self->started = false;
}

void
ob_broker_destroy(ob_broker_t **self_p)
{
    ob_broker_t *self = *self_p;
    if (!self)
        return;
    ob_broker_stop(self);
    while (self->worker_count > 0) {
        worker_t *worker = self->workers[--self->worker_count];
        free(worker->slots);
        free(worker->free_slots);
        free(worker);
    }
    for (int i = 0; i < OB_SERVICE_COUNT; i++) {
        service_queue_t *queue = &self->queues[i];
        for (int n = 0; queue->ring && n < queue->count; n++)
            zmq_msg_close(&queue->ring[(queue->head + n) % self->config.queue_limit].envelope);
        free(queue->ring);
    }
    free(self->frames);
    if (self->frontend)
        zmq_close(self->frontend);
    if (self->backend)
        zmq_close(self->backend);
    free(self);
    *self_p = NULL;
}

int
ob_broker_live_workers(ob_broker_t *self, int service)
{
    return service >= 0 && service < OB_SERVICE_COUNT ? atomic_load(&self->live[service]) : 0;
}

int
ob_broker_backlog(ob_broker_t *self, int service)
{
    return service >= 0 && service < OB_SERVICE_COUNT ? atomic_load(&self->backlog[service]) : 0;
}
