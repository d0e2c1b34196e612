/*  usage_service - another "usage" runtime on its own thread. */
#include "services/lago-worker/usage_service.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "services/lago-worker/usage_state.h"

struct _usage_service_t {
    ob_pg_t *pg;
    ob_redis_t *redis;
    usage_state_t state;
    ob_worker_config_t config;
    pthread_t thread;
};

static void *
s_run(void *arg)
{
    usage_service_t *self = arg;
    if (ob_worker_run(&self->config) != 0)
        ob_log_error("a usage runtime stopped with an error");
    return NULL;
}

usage_service_t *
usage_service_start(const char *database_url, const char *redis_url, const usage_metrics_t *metrics, bool fail_open,
                    const ob_worker_config_t *config)
{
    usage_service_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg = ob_pg_new(database_url, "lago-worker");
    self->redis = ob_redis_new(redis_url);
    if (!self->pg || !self->redis || usage_state_init(&self->state, self->pg, self->redis, metrics, fail_open) != 0) {
        usage_state_release(&self->state);
        ob_pg_destroy(&self->pg);
        ob_redis_destroy(&self->redis);
        free(self);
        return NULL;
    }
    /* As the main runtime's: fail fast on a dead Redis, the policy decides. */
    ob_redis_set_timeouts(self->redis, 300, 1000);
    ob_redis_set_backoff(self->redis, 50, 1000);
    self->config = *config;
    self->config.state = &self->state;
    self->config.on_metrics = NULL;
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        usage_state_release(&self->state);
        ob_pg_destroy(&self->pg);
        ob_redis_destroy(&self->redis);
        free(self);
        return NULL;
    }
    return self;
}

void
usage_service_stop(usage_service_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    usage_service_t *self = *self_p;
    ob_worker_request_stop();
    pthread_join(self->thread, NULL);
    usage_state_release(&self->state);
    ob_pg_destroy(&self->pg);
    ob_redis_destroy(&self->redis);
    free(self);
    *self_p = NULL;
}
