/*  lago_service - the "lago" broker service on its own thread. */
#include "services/lago-worker/lago_service.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"
#include "services/lago-worker/lago_inbox.h"

/*  How long start waits for the broker to know the service (ms). */
#define S_READY_WAIT_MS 5000

struct _lago_service_t {
    ob_pg_t *pg;
    int credit;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool ready; /* the broker has answered our READY (or the runtime ended) */
};

static void
s_ingest(void *state, ob_job_t **jobs, size_t count)
{
    lago_service_t *self = state;
    lago_inbox_ingest(self->pg, jobs, count);
}

static const ob_worker_method_t s_methods[] = {
    {"lago_webhook.ingest", NULL, s_ingest},
};

static void
s_on_ready(void *state)
{
    lago_service_t *self = state;
    pthread_mutex_lock(&self->lock);
    self->ready = true;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->lock);
}

static void *
s_run(void *arg)
{
    lago_service_t *self = arg;
    ob_worker_config_t config = {
        .service = "lago",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = self,
        .credit = self->credit,
        .on_ready = s_on_ready,
    };
    if (ob_worker_run(&config) != 0)
        ob_log_error("the lago service stopped with an error");
    s_on_ready(self); /* nobody waits for a runtime that has ended */
    return NULL;
}

lago_service_t *
lago_service_start(const char *database_url, int credit)
{
    lago_service_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->credit = credit;
    self->pg = ob_pg_new(database_url, "lago-worker-webhooks");
    if (!self->pg) {
        free(self);
        return NULL;
    }
    lago_inbox_prepare(self->pg);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->changed, NULL);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        pthread_cond_destroy(&self->changed);
        pthread_mutex_destroy(&self->lock);
        ob_pg_destroy(&self->pg);
        free(self);
        return NULL;
    }
    /* "lago" is known to the broker before "usage" says READY: whoever sees
     * the usage service served can send Lago's webhooks too. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += S_READY_WAIT_MS / 1000;
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (!self->ready && rc == 0)
        rc = pthread_cond_timedwait(&self->changed, &self->lock, &until);
    bool ready = self->ready;
    pthread_mutex_unlock(&self->lock);
    if (!ready)
        ob_log_warn("the broker has not answered the lago service yet; serving usage all the same");
    return self;
}

void
lago_service_stop(lago_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lago_service_t *self = *self_p;
    ob_worker_request_stop();
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->changed);
    pthread_mutex_destroy(&self->lock);
    ob_pg_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}
