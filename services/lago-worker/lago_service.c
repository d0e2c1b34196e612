/*  lago_service - the "lago" broker service on its own thread. */
#include "services/lago-worker/lago_service.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_worker.h"
#include "services/lago-worker/lago_inbox.h"

struct _lago_service_t {
    ob_pg_t *pg;
    int credit;
    pthread_t thread;
};

static const ob_worker_method_t s_methods[] = {
    {"lago_webhook.ingest", NULL, lago_inbox_ingest},
};

static void *
s_run(void *arg)
{
    lago_service_t *self = arg;
    ob_worker_config_t config = {
        .service = "lago",
        .methods = s_methods,
        .method_count = sizeof s_methods / sizeof s_methods[0],
        .state = self->pg,
        .credit = self->credit,
    };
    if (ob_worker_run(&config) != 0)
        ob_log_error("the lago service stopped with an error");
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
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        ob_pg_destroy(&self->pg);
        free(self);
        return NULL;
    }
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
    ob_pg_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}
