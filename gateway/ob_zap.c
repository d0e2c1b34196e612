/*  ob_zap - the broker's ZAP handler (ob_zap.h). */
#include "gateway/ob_zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/ob_clock.h"
#include "common/ob_curve.h"
#include "common/ob_log.h"
#include "gateway/ob_frames.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7 /* version, request id, domain, address, routing id, mechanism, credentials */
#define LOGGED_KEYS 16
#define LOG_EVERY_MS 60000

struct _ob_zap_t {
    void *socket;
    char *allowed_keys;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct {
        uint8_t key[32];
        int64_t at_ms;
    } logged[LOGGED_KEYS]; /* refusals logged lately, so a retrying worker is not logged each time */
    int next_logged;
};

bool
ob_zap_allows(const char *allowed_keys, const char *mechanism, size_t mechanism_len, const uint8_t *key, size_t key_len)
{
    return mechanism_len == 5 && memcmp(mechanism, "CURVE", 5) == 0 && key_len == 32 && allowed_keys &&
           ob_curve_keys_contain(allowed_keys, key);
}

/*  Logs a refused key unless it was logged less than a minute ago. */
static void
s_log_refusal(ob_zap_t *self, const char *address, size_t address_len, const uint8_t *key, size_t key_len)
{
    int64_t now = ob_clock_mono_ms();
    if (key_len == 32) {
        for (int i = 0; i < LOGGED_KEYS; i++)
            if (self->logged[i].at_ms && now - self->logged[i].at_ms < LOG_EVERY_MS && memcmp(self->logged[i].key, key, 32) == 0)
                return;
        memcpy(self->logged[self->next_logged].key, key, 32);
        self->logged[self->next_logged].at_ms = now;
        self->next_logged = (self->next_logged + 1) % LOGGED_KEYS;
    }
    char text[OB_CURVE_KEY_LEN + 1] = "(none)";
    if (key_len == 32)
        ob_curve_encode(key, text);
    ob_log_warn("broker refused a worker from %.*s: public key %s is not in BROKER_CLIENT_PUBLIC_KEYS",
                (int)(address_len > 64 ? 64 : address_len), address, text);
}

static void
s_reply(ob_zap_t *self, zmq_msg_t *request_id, bool allowed)
{
    const char *code = allowed ? "200" : "400";
    const char *text = allowed ? "OK" : "key not allowed";
    zmq_send(self->socket, "1.0", 3, ZMQ_SNDMORE);
    zmq_msg_send(request_id, self->socket, ZMQ_SNDMORE);
    zmq_send(self->socket, code, 3, ZMQ_SNDMORE);
    zmq_send(self->socket, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->socket, "", 0, ZMQ_SNDMORE); /* user id */
    zmq_send(self->socket, "", 0, 0);           /* metadata */
}

/*  Answers one request: [1.0][id][domain][address][routing id][mechanism][credentials...]. */
static void
s_handle(ob_zap_t *self)
{
    zmq_msg_t frames[ZAP_FRAMES];
    int count = ob_frames_recv(self->socket, frames, ZAP_FRAMES);
    if (count < 0)
        return; /* a broken message has no one to answer */
    if (count >= 6 && zmq_msg_size(&frames[0]) == 3 && memcmp(zmq_msg_data(&frames[0]), "1.0", 3) == 0) {
        const char *mechanism = zmq_msg_data(&frames[5]);
        size_t mechanism_len = zmq_msg_size(&frames[5]);
        const uint8_t *key = count > 6 ? zmq_msg_data(&frames[6]) : NULL;
        size_t key_len = count > 6 ? zmq_msg_size(&frames[6]) : 0;
        bool allowed = ob_zap_allows(self->allowed_keys, mechanism, mechanism_len, key, key_len);
        if (!allowed)
            s_log_refusal(self, zmq_msg_data(&frames[3]), zmq_msg_size(&frames[3]), key, key_len);
        s_reply(self, &frames[1], allowed);
    } else if (count >= 2) {
        /* Not a ZAP request we understand: refuse it all the same (a REP must answer). */
        s_reply(self, &frames[1], false);
    }
    ob_frames_close(frames, count);
}

static void *
s_run(void *arg)
{
    ob_zap_t *self = arg;
    zmq_pollitem_t item = {self->socket, 0, ZMQ_POLLIN, 0};
    while (!atomic_load(&self->stop)) {
        if (zmq_poll(&item, 1, 100) < 0 && errno != EINTR)
            break;
        if (item.revents & ZMQ_POLLIN)
            s_handle(self);
    }
    return NULL;
}

ob_zap_t *
ob_zap_new(void *zmq_ctx, const char *allowed_keys)
{
    ob_zap_t *self = calloc(1, sizeof *self);
    if (!self || !(self->allowed_keys = strdup(allowed_keys))) {
        free(self);
        return NULL;
    }
    int zero = 0;
    self->socket = zmq_socket(zmq_ctx, ZMQ_REP);
    if (!self->socket || zmq_setsockopt(self->socket, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(self->socket, ZAP_ENDPOINT) != 0) {
        ob_log_error("broker: cannot start the ZAP handler: %s", zmq_strerror(errno));
        ob_zap_destroy(&self);
        return NULL;
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        ob_log_error("broker: cannot start the ZAP handler's thread");
        ob_zap_destroy(&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
ob_zap_destroy(ob_zap_t **self_p)
{
    ob_zap_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        atomic_store(&self->stop, true);
        pthread_join(self->thread, NULL);
    }
    if (self->socket)
        zmq_close(self->socket);
    free(self->allowed_keys);
    free(self);
    *self_p = NULL;
}
