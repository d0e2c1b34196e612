/*  lago_background - Lago calls and timers, off the hot path. */
#include "services/lago-worker/lago_background.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/lago_api.h"
#include "common/ob_clock.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "services/lago-worker/lago_forward.h"
#include "services/lago-worker/lago_inbox.h"
#include "services/lago-worker/lago_reconcile.h"
#include "services/lago-worker/lago_sync.h"

#define S_NOTIFIED_MAX 64

struct _lago_background_t {
    pthread_t thread;
    atomic_bool stop;
    char *database_url, *api_url, *api_key;
    int tick_ms, sync_interval_ms, forward_max_backoff_s;
    /* thread-only state */
    ob_pg_t *pg;
    lago_api_t *api;
    lago_reconcile_config_t reconcile;
    char holder[128];
    char notified[S_NOTIFIED_MAX][256];
    int notified_count;
    bool reconcile_now;
};

static void
s_on_notify(void *arg, const char *channel, const char *payload)
{
    lago_background_t *self = arg;
    (void)channel;
    if (!payload || !payload[0] || strlen(payload) >= sizeof self->notified[0])
        return;
    if (self->notified_count >= S_NOTIFIED_MAX) {
        self->reconcile_now = true; /* too many at once: the scan covers them */
        return;
    }
    for (int i = 0; i < self->notified_count; i++)
        if (strcmp(self->notified[i], payload) == 0)
            return;
    snprintf(self->notified[self->notified_count++], sizeof self->notified[0], "%s", payload);
}

static void
s_on_connect(void *arg, ob_pg_t *pg)
{
    (void)pg;
    lago_background_t *self = arg;
    self->reconcile_now = true; /* notifications sent while disconnected are lost */
}

static void *
s_run(void *arg)
{
    lago_background_t *self = arg;
    self->pg = ob_pg_new(self->database_url, "lago-worker-background");
    if (!self->pg) {
        ob_log_error("lago background: DATABASE_URL cannot be used");
        return NULL;
    }
    lago_forward_prepare(self->pg);
    lago_sync_prepare(self->pg);
    lago_inbox_prepare(self->pg);
    lago_reconcile_prepare(self->pg);
    ob_pg_set_on_connect(self->pg, s_on_connect, self);
    ob_pg_listen(self->pg, "subscription_changed");
    if (self->api_url && self->api_key) {
        self->api = lago_api_new(self->api_url, self->api_key);
        /* One attempt per call: the tables hold the retry schedule. */
        if (self->api)
            lago_api_set_retry(self->api, 10000, 1, 100);
    }
    if (!self->api)
        ob_log_warn("LAGO_API_URL / LAGO_API_KEY not set: usage is recorded but not forwarded, subscriptions not synced");

    int64_t next_reconcile = 0, next_usage_check = 0;
    while (!atomic_load(&self->stop)) {
        bool more = false;
        if (ob_pg_ensure(self->pg) == 0) {
            int64_t now = ob_clock_mono_ms();
            if (self->api) {
                for (int i = 0; i < self->notified_count; i++)
                    lago_sync_user(self->pg, self->api, self->notified[i]);
                self->notified_count = 0;
                if (self->reconcile_now || now >= next_reconcile) {
                    self->reconcile_now = false;
                    lago_sync_due(self->pg, self->api);
                    next_reconcile = now + self->sync_interval_ms;
                }
                more = lago_forward_step(self->pg, self->api, self->forward_max_backoff_s) >= LAGO_API_BATCH_MAX;
                if (now >= next_usage_check)
                    next_usage_check = ob_clock_mono_ms() + 1000 * lago_reconcile_step(self->pg, self->api, &self->reconcile);
            } else {
                self->notified_count = 0;
            }
            int processed = lago_inbox_process(self->pg);
            more = more || processed >= 50;
        }
        if (more)
            continue;
        int fd = ob_pg_socket(self->pg);
        int wait = self->tick_ms;
        int retry = ob_pg_retry_in_ms(self->pg);
        if (fd < 0 && retry > 0 && retry < wait)
            wait = retry;
        struct pollfd item = {.fd = fd, .events = POLLIN};
        if (poll(&item, fd >= 0 ? 1 : 0, wait) > 0 && (item.revents & POLLIN))
            if (ob_pg_consume_notifies(self->pg, s_on_notify, self) < 0)
                self->reconcile_now = true;
    }
    lago_api_destroy(&self->api);
    ob_pg_destroy(&self->pg);
    return NULL;
}

lago_background_t *
lago_background_start(const lago_background_config_t *config)
{
    lago_background_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->database_url = strdup(config->database_url);
    self->api_url = config->lago_api_url ? strdup(config->lago_api_url) : NULL;
    self->api_key = config->lago_api_key ? strdup(config->lago_api_key) : NULL;
    self->tick_ms = config->tick_ms > 0 ? config->tick_ms : 250;
    self->sync_interval_ms = config->sync_interval_ms > 0 ? config->sync_interval_ms : 5000;
    self->forward_max_backoff_s = config->forward_max_backoff_s > 0 ? config->forward_max_backoff_s : 60;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(self->holder, sizeof self->holder, "%s:%ld", host, (long)getpid());
    self->reconcile = (lago_reconcile_config_t){
        .interval_s = config->reconcile_interval_s,
        .lease_s = config->reconcile_lease_s,
        .window_s = config->reconcile_window_s,
        .fix = config->reconcile_fix,
        .holder = self->holder,
    };
    atomic_init(&self->stop, false);
    if (!self->database_url || pthread_create(&self->thread, NULL, s_run, self) != 0) {
        free(self->database_url);
        free(self->api_url);
        free(self->api_key);
        free(self);
        return NULL;
    }
    return self;
}

void
lago_background_stop(lago_background_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lago_background_t *self = *self_p;
    atomic_store(&self->stop, true);
    pthread_join(self->thread, NULL);
    free(self->database_url);
    free(self->api_url);
    if (self->api_key)
        memset(self->api_key, 0, strlen(self->api_key));
    free(self->api_key);
    free(self);
    *self_p = NULL;
}
