/*  stripe_processor - claims, processes and retries inbox events. */
#include "services/stripe-worker/stripe_processor.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_pgarray.h"
#include "services/stripe-worker/stripe_event_map.h"
#include "services/stripe-worker/stripe_plan.h"

struct _stripe_processor_t {
    ob_pg_t *pg;
    stripe_processor_config_t config;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool woken, stop;
};

static void
s_prepare(ob_pg_t *pg)
{
    stripe_plan_prepare(pg);
    ob_pg_prepare(pg, "proc_claim",
                  "UPDATE stripe_events e SET locked_until = now() + make_interval(secs => $2::int), attempts = e.attempts + 1"
                  " FROM (SELECT id FROM stripe_events WHERE status = 'pending' AND next_attempt_at <= now()"
                  "       AND (locked_until IS NULL OR locked_until < now())"
                  "       ORDER BY next_attempt_at LIMIT $1::int FOR UPDATE SKIP LOCKED) c"
                  " WHERE e.id = c.id RETURNING e.id, e.payload, e.attempts",
                  2);
    ob_pg_prepare(pg, "proc_lock", "SELECT status FROM stripe_events WHERE id = $1 FOR UPDATE", 1);
    ob_pg_prepare(pg, "proc_update_insert",
                  "INSERT INTO subscription_updates (source_event_id, kind, subscription_id, payload)"
                  " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (source_event_id, kind) DO NOTHING",
                  4);
    ob_pg_prepare(pg, "proc_wake_subscriptions", "SELECT pg_notify('subscription_updates', '')", 0);
    ob_pg_prepare(pg, "proc_notification_insert",
                  "INSERT INTO notifications (dedupe_key, kind, user_id, payload)"
                  " VALUES ($1, $2, coalesce($3, (SELECT user_id FROM customers WHERE stripe_customer_id = $4)), $5::jsonb)"
                  " ON CONFLICT (dedupe_key) DO NOTHING",
                  5);
    ob_pg_prepare(pg, "proc_done",
                  "UPDATE stripe_events SET status = $2, processed_at = now(), locked_until = NULL, last_error = $3"
                  " WHERE id = $1",
                  3);
    ob_pg_prepare(pg, "proc_ignore_many",
                  "UPDATE stripe_events SET status = 'ignored', processed_at = now(), locked_until = NULL"
                  " WHERE id = ANY($1::text[]) AND status = 'pending'",
                  1);
    ob_pg_prepare(pg, "proc_fail",
                  "UPDATE stripe_events SET last_error = $2, locked_until = NULL,"
                  " status = CASE WHEN attempts >= $3::int THEN 'failed' ELSE 'pending' END,"
                  " next_attempt_at = now() + make_interval(secs => least($5::float8,"
                  "     $4::float8 * power(2, least(greatest(attempts - 1, 0), 40))) / 1000.0)"
                  " WHERE id = $1 AND status = 'pending'",
                  5);
}

stripe_processor_t *
stripe_processor_new(const char *conninfo, const stripe_processor_config_t *config)
{
    stripe_processor_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg = ob_pg_new(conninfo, "stripe-worker-processor");
    if (!self->pg) {
        free(self);
        return NULL;
    }
    self->config = config ? *config : (stripe_processor_config_t){0};
    if (self->config.batch <= 0)
        self->config.batch = 32;
    if (self->config.max_attempts <= 0)
        self->config.max_attempts = 8;
    if (self->config.retry_base_ms <= 0)
        self->config.retry_base_ms = 1000;
    if (self->config.retry_max_ms <= 0)
        self->config.retry_max_ms = 3600000;
    if (self->config.lease_s <= 0)
        self->config.lease_s = 60;
    if (self->config.idle_ms <= 0)
        self->config.idle_ms = 500;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    s_prepare(self->pg);
    return self;
}

void
stripe_processor_destroy(stripe_processor_t **self_p)
{
    stripe_processor_t *self = *self_p;
    if (!self)
        return;
    if (self->running) {
        pthread_mutex_lock(&self->lock);
        self->stop = true;
        pthread_cond_signal(&self->cond);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    ob_pg_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}

/* --- one event -------------------------------------------------------------- */

/*  Replaces plan_candidates with plan_id (stripe_plan.h). A snapshot with
 *  no known plan is an error (retried: the catalogue may be behind); a
 *  deletion cancels whatever the plan was. */
static ob_err_t
s_resolve_plan(ob_pg_t *pg, json_t *update, char *error, size_t cap)
{
    ob_err_t err = stripe_plan_resolve(pg, update);
    if (err != OB_ERR_NOT_FOUND)
        return err;
    if (strcmp(json_string_value(json_object_get(update, "kind")), "subscription.snapshot") == 0) {
        snprintf(error, cap, "no known plan for the subscription's price (lookup_key or metadata.plan_id)");
        return OB_ERR_INVALID;
    }
    return OB_OK;
}

/*  The effect's writes and the processed mark, in the open transaction. */
static ob_err_t
s_write_effect(stripe_processor_t *self, const char *id, stripe_effect_t *effect, char *error, size_t cap)
{
    ob_err_t err = OB_OK;
    if (effect->update) {
        if ((err = s_resolve_plan(self->pg, effect->update, error, cap)) != OB_OK)
            return err;
        char *payload = ob_json_dump(effect->update, NULL);
        if (!payload)
            return OB_ERR_INTERNAL;
        const char *values[] = {id, effect->update_kind, ob_json_str(effect->update, "subscription_id"), payload};
        err = ob_pg_run(self->pg, "proc_update_insert", 4, values, NULL);
        free(payload);
        if (err == OB_OK)
            err = ob_pg_run(self->pg, "proc_wake_subscriptions", 0, NULL, NULL);
        if (err != OB_OK)
            return err;
    }
    if (effect->notify_kind[0]) {
        char dedupe[400];
        snprintf(dedupe, sizeof dedupe, "stripe:%s:%s", id, effect->notify_kind);
        char *payload = ob_json_dump(effect->notify_payload, NULL);
        if (!payload)
            return OB_ERR_INTERNAL;
        const char *values[] = {dedupe, effect->notify_kind, effect->notify_user[0] ? effect->notify_user : NULL,
                                effect->notify_customer[0] ? effect->notify_customer : NULL, payload};
        err = ob_pg_run(self->pg, "proc_notification_insert", 5, values, NULL);
        free(payload);
        if (err != OB_OK)
            return err;
    }
    const char *values[] = {id, effect->ignored ? "ignored" : "processed", effect->note[0] ? effect->note : NULL};
    return ob_pg_run(self->pg, "proc_done", 3, values, NULL);
}

/*  Processes one claimed event. OB_OK when it is done (by us or, after a
 *  lease ran out, by another worker); otherwise error says why. */
static ob_err_t
s_process(stripe_processor_t *self, const char *id, json_t *event, char *error, size_t cap, bool *permanent)
{
    stripe_effect_t effect;
    ob_err_t err = stripe_event_map(event, &effect, error, cap);
    if (err != OB_OK) {
        *permanent = true; /* the same event maps the same way on every attempt */
        return err;
    }
    if ((err = ob_pg_begin(self->pg)) != OB_OK) {
        snprintf(error, cap, "database unavailable");
        stripe_effect_clear(&effect);
        return err;
    }
    const char *values[] = {id};
    PGresult *r = NULL;
    err = ob_pg_run(self->pg, "proc_lock", 1, values, &r);
    bool pending = err == OB_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "pending") == 0;
    PQclear(r);
    if (err == OB_OK && pending)
        err = s_write_effect(self, id, &effect, error, cap);
    stripe_effect_clear(&effect);
    if (err != OB_OK) {
        ob_pg_rollback(self->pg);
        if (!error[0])
            snprintf(error, cap, "database error (%s)", ob_err_name(err));
        return err;
    }
    if ((err = ob_pg_commit(self->pg)) != OB_OK)
        snprintf(error, cap, "commit failed (%s)", ob_err_name(err));
    return err;
}

/*  Records a failed attempt; a permanent error marks the event failed now. */
static void
s_fail(stripe_processor_t *self, const char *id, const char *error, bool permanent)
{
    char max[16], base[24], cap[24];
    snprintf(max, sizeof max, "%d", permanent ? 0 : self->config.max_attempts);
    snprintf(base, sizeof base, "%ld", self->config.retry_base_ms);
    snprintf(cap, sizeof cap, "%ld", self->config.retry_max_ms);
    const char *values[] = {id, error, max, base, cap};
    /* If this fails too (Postgres down), the lease runs out and the event is claimed again. */
    ob_pg_run(self->pg, "proc_fail", 5, values, NULL);
}

int
stripe_processor_run_once(stripe_processor_t *self)
{
    char batch[16], lease[16];
    snprintf(batch, sizeof batch, "%d", self->config.batch);
    snprintf(lease, sizeof lease, "%d", self->config.lease_s);
    const char *values[] = {batch, lease};
    PGresult *claimed = NULL;
    if (ob_pg_run(self->pg, "proc_claim", 2, values, &claimed) != OB_OK)
        return -1;
    int n = PQntuples(claimed);
    ob_pgarray_t ignored;
    ob_pgarray_init(&ignored, OB_PG_OID_TEXT);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(claimed, i, 0);
        int attempts = atoi(PQgetvalue(claimed, i, 2));
        char error[256] = "";
        json_error_t jerr;
        json_t *event = json_loads(PQgetvalue(claimed, i, 1), 0, &jerr);
        ob_err_t err;
        bool permanent = false;
        if (attempts > self->config.max_attempts) {
            /* Claimed that often without an outcome: its workers keep dying on it. */
            snprintf(error, sizeof error, "gave up after %d claims without an outcome", attempts - 1);
            err = OB_ERR_INTERNAL;
        } else if (!event) {
            snprintf(error, sizeof error, "the stored payload is not JSON");
            err = OB_ERR_INVALID;
            permanent = true;
        } else if (!stripe_event_is_handled(ob_json_str(event, "type"))) {
            /* Fast path: types we never act on are marked ignored together, in one statement. */
            ob_pgarray_add(&ignored, id, strlen(id));
            json_decref(event);
            continue;
        } else {
            err = s_process(self, id, event, error, sizeof error, &permanent);
        }
        json_decref(event);
        if (err != OB_OK) {
            ob_log_warn("stripe event %s: attempt %d failed: %s", id, attempts, error);
            s_fail(self, id, error, permanent);
        }
    }
    if (ignored.count > 0) {
        int len;
        const char *array = ob_pgarray_finish(&ignored, &len);
        if (array) {
            const char *ivalues[] = {array};
            const int formats[] = {1};
            PGresult *r = ob_pg_exec(self->pg, "proc_ignore_many", 1, ivalues, &len, formats);
            ob_pg_classify(self->pg, r); /* on failure the leases run out and they are claimed again */
            PQclear(r);
        }
    }
    ob_pgarray_release(&ignored);
    PQclear(claimed);
    return n;
}

/* --- the thread ------------------------------------------------------------- */

void
stripe_processor_wake(void *arg)
{
    stripe_processor_t *self = arg;
    pthread_mutex_lock(&self->lock);
    if (!self->woken) {
        self->woken = true;
        pthread_cond_signal(&self->cond);
    }
    pthread_mutex_unlock(&self->lock);
}

static void *
s_thread(void *arg)
{
    stripe_processor_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        bool stop = self->stop;
        self->woken = false;
        pthread_mutex_unlock(&self->lock);
        if (stop)
            break;
        int n = stripe_processor_run_once(self);
        if (n > 0)
            continue;
        int wait_ms = self->config.idle_ms;
        if (n < 0 && ob_pg_retry_in_ms(self->pg) > 0 && ob_pg_retry_in_ms(self->pg) < wait_ms)
            wait_ms = ob_pg_retry_in_ms(self->pg);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&self->lock);
        while (!self->woken && !self->stop)
            if (pthread_cond_timedwait(&self->cond, &self->lock, &until) != 0)
                break;
        pthread_mutex_unlock(&self->lock);
    }
    return NULL;
}

int
stripe_processor_start(stripe_processor_t *self)
{
    if (self->running)
        return 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals go to the main thread */
    int rc = pthread_create(&self->thread, NULL, s_thread, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    self->running = true;
    return 0;
}
