/*  stripe_reconcile - the daily reconcile inside the stripe-worker. */
#include "services/stripe-worker/stripe_reconcile.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clients/reconcile.h"
#include "clients/stripe_api.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"

#define S_MAX_ROWS 1000 /* drift rows kept in the run's row */

struct _stripe_reconcile_t {
    stripe_reconcile_config_t config;
    char *database_url, *api_base, *secret_key;
    char holder[128];
    ob_pg_t *pg;
    stripe_api_t *stripe;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop, running;
};

static void
s_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "reconcile_claim",
                  "UPDATE stripe_reconcile_runs SET lease_until = now() + make_interval(secs => $1::int), holder = $2"
                  " WHERE next_run_at <= now() AND (lease_until IS NULL OR lease_until < now()) RETURNING 1",
                  2);
    ob_pg_prepare(pg, "reconcile_done",
                  "UPDATE stripe_reconcile_runs SET lease_until = NULL, holder = NULL, runs = runs + 1, last_run_at = now(),"
                  " last_ok_at = now(), last_error = NULL, counts = $2::jsonb, drift = $3::jsonb, fix_events = $4::int,"
                  " next_run_at = now() + make_interval(secs => $5::int) WHERE holder = $1",
                  5);
    ob_pg_prepare(pg, "reconcile_failed",
                  "UPDATE stripe_reconcile_runs SET lease_until = NULL, holder = NULL, runs = runs + 1, last_run_at = now(),"
                  " last_error = $2, next_run_at = now() + make_interval(secs => $3::int) WHERE holder = $1",
                  3);
    ob_pg_prepare(pg, "reconcile_due_in",
                  "SELECT ceil(extract(epoch FROM greatest(next_run_at, coalesce(lease_until, next_run_at)) - now()))::bigint"
                  " FROM stripe_reconcile_runs",
                  0);
}

/*  Seconds until the run is due or its lease runs out, whichever is later,
 *  within [1, 60] (re-read each time: another worker may have moved it). */
static long
s_due_in_s(stripe_reconcile_t *self)
{
    PGresult *r = ob_pg_exec(self->pg, "reconcile_due_in", 0, NULL, NULL, NULL);
    long s = ob_pg_classify(self->pg, r) == OB_OK && PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : 60;
    PQclear(r);
    return s < 1 ? 1 : s > 60 ? 60 : s;
}

static void
s_finish_failed(stripe_reconcile_t *self, const char *error)
{
    char retry[24];
    /* Retried sooner than a whole interval: Stripe or Postgres were away. */
    snprintf(retry, sizeof retry, "%ld", self->config.interval_s < 300 ? self->config.interval_s : 300);
    const char *values[] = {self->holder, error, retry};
    PQclear(ob_pg_exec(self->pg, "reconcile_failed", 3, values, NULL, NULL)); /* else the lease runs out */
    ob_log_warn("reconcile: the daily run failed: %s", error);
}

int
stripe_reconcile_run_once(stripe_reconcile_t *self)
{
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", self->config.lease_s);
    const char *claim[] = {lease, self->holder};
    PGresult *r = ob_pg_exec(self->pg, "reconcile_claim", 2, claim, NULL, NULL);
    ob_err_t err = ob_pg_classify(self->pg, r);
    int claimed = err == OB_OK ? PQntuples(r) : 0;
    PQclear(r);
    if (err != OB_OK)
        return -1;
    if (claimed == 0)
        return 0;

    char error[512];
    json_t *stripe_subs = NULL;
    json_t *drift = reconcile_subscriptions(self->pg, self->stripe, NULL, 0, &stripe_subs, error, sizeof error);
    if (!drift) {
        s_finish_failed(self, error);
        return -1;
    }
    json_t *fixed = json_array();
    int fixes = self->config.fix ? reconcile_record_fixes(self->pg, drift, stripe_subs, fixed) : 0;
    if (fixes > 0 && self->config.wake)
        self->config.wake(self->config.wake_arg);
    json_t *counts = reconcile_count_kinds(drift);
    while (json_array_size(drift) > S_MAX_ROWS)
        json_array_remove(drift, json_array_size(drift) - 1);
    char *counts_text = ob_json_dump(counts, NULL), *drift_text = ob_json_dump(drift, NULL);
    char fix_text[24], next[24];
    snprintf(fix_text, sizeof fix_text, "%d", fixes > 0 ? fixes : 0);
    snprintf(next, sizeof next, "%ld", self->config.interval_s);
    const char *values[] = {self->holder, counts_text, drift_text, fix_text, next};
    r = counts_text && drift_text ? ob_pg_exec(self->pg, "reconcile_done", 5, values, NULL, NULL) : NULL;
    err = ob_pg_classify(self->pg, r);
    PQclear(r);
    if (json_object_size(counts) > 0)
        ob_log_warn("reconcile: local subscriptions and Stripe's disagree: %s%s (billing-admin reconcile shows them)",
                    counts_text ? counts_text : "?", fixes > 0 ? "; Stripe's truth recorded in the inbox" : "");
    else
        ob_log_info("reconcile: local subscriptions and Stripe's agree");
    free(counts_text);
    free(drift_text);
    json_decref(counts);
    json_decref(drift);
    json_decref(fixed);
    json_decref(stripe_subs);
    return err == OB_OK ? 1 : -1;
}

static void *
s_thread(void *arg)
{
    stripe_reconcile_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        bool stop = self->stop;
        pthread_mutex_unlock(&self->lock);
        if (stop)
            break;
        stripe_reconcile_run_once(self);
        /* Looks again when the run is due or a lease (maybe a dead peer's)
         * runs out, and at least every minute. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s_due_in_s(self);
        pthread_mutex_lock(&self->lock);
        while (!self->stop)
            if (pthread_cond_timedwait(&self->cond, &self->lock, &until) != 0)
                break;
        pthread_mutex_unlock(&self->lock);
    }
    return NULL;
}

static void
s_free(stripe_reconcile_t *self)
{
    stripe_api_destroy(&self->stripe);
    ob_pg_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    free(self->database_url);
    free(self->api_base);
    free(self->secret_key);
    free(self);
}

stripe_reconcile_t *
stripe_reconcile_start(const stripe_reconcile_config_t *config)
{
    if (config->interval_s <= 0) {
        ob_log_info("reconcile: the daily run is off (RECONCILE_INTERVAL_S=0)");
        return NULL;
    }
    if (!config->stripe_secret_key || !*config->stripe_secret_key) {
        ob_log_warn("reconcile: no STRIPE_SECRET_KEY: the daily run is off");
        return NULL;
    }
    stripe_reconcile_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    if (self->config.lease_s <= 0)
        self->config.lease_s = 900;
    self->database_url = strdup(config->database_url);
    self->api_base = strdup(config->stripe_api_base ? config->stripe_api_base : "https://api.stripe.com");
    self->secret_key = strdup(config->stripe_secret_key);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(self->holder, sizeof self->holder, "%s:%ld", host, (long)getpid());
    self->pg = self->database_url ? ob_pg_new(self->database_url, "stripe-worker-reconcile") : NULL;
    self->stripe = self->api_base && self->secret_key ? stripe_api_new(self->api_base, self->secret_key) : NULL;
    if (!self->pg || !self->stripe) {
        ob_log_error("reconcile: cannot set up (check DATABASE_URL, STRIPE_API_BASE)");
        s_free(self);
        return NULL;
    }
    s_prepare(self->pg);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals go to the main thread */
    int rc = pthread_create(&self->thread, NULL, s_thread, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        s_free(self);
        return NULL;
    }
    self->running = true;
    return self;
}

void
stripe_reconcile_stop(stripe_reconcile_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    stripe_reconcile_t *self = *self_p;
    if (self->running) {
        pthread_mutex_lock(&self->lock);
        self->stop = true;
        pthread_cond_signal(&self->cond);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    s_free(self);
    *self_p = NULL;
}
