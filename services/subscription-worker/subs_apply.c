/*  subs_apply - applies subscription_updates rows idempotently and in an
 *  order-proof way. */
#include "services/subscription-worker/subs_apply.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_entitlements.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "common/ob_redis.h"
#include "common/ob_worker.h"
#include "services/subscription-worker/subs_change.h"
#include "services/subscription-worker/subs_notify.h"
#include "services/subscription-worker/subs_publish.h"

#define S_BATCH 64
#define S_MAX_USERS 4

struct _subs_applier_t {
    ob_pg_t *pg;
    ob_redis_t *redis;
    int max_attempts;
};

/*  Users whose entitlements changed in the current transaction. */
typedef struct {
    char ids[S_MAX_USERS][256];
    int count;
} s_users_t;

static void
s_prepare(ob_pg_t *pg)
{
    subs_publish_prepare(pg);
    subs_change_prepare(pg);
    subs_notify_prepare(pg);
    ob_pg_prepare(pg, "apply_next",
                  "SELECT id, kind, payload::text FROM subscription_updates"
                  " WHERE status = 'pending' AND next_attempt_at <= now()"
                  " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                  0);
    ob_pg_prepare(pg, "apply_done",
                  "UPDATE subscription_updates SET status = 'applied', applied_at = now(), last_error = NULL, result = $2::jsonb"
                  " WHERE id = $1",
                  2);
    ob_pg_prepare(pg, "apply_wait",
                  "UPDATE subscription_updates SET last_error = $2,"
                  " next_attempt_at = now() + make_interval(secs => least(60, 1 + extract(epoch FROM now() - created_at) / 10))"
                  " WHERE id = $1",
                  2);
    ob_pg_prepare(pg, "apply_fail",
                  "UPDATE subscription_updates SET attempts = attempts + 1, last_error = $2,"
                  " status = CASE WHEN attempts + 1 >= $3::int THEN 'failed' ELSE 'pending' END,"
                  " next_attempt_at = now() + make_interval(secs => least(300, power(2, least(attempts, 20))))"
                  " WHERE id = $1 AND status = 'pending'",
                  3);
    ob_pg_prepare(pg, "apply_changed", "SELECT pg_notify('subscription_changed', $1)", 1);
    /* customers */
    ob_pg_prepare(pg, "apply_customer_release",
                  "UPDATE customers SET stripe_customer_id = NULL, updated_at = now()"
                  " WHERE stripe_customer_id = $2 AND user_id <> $1",
                  2);
    ob_pg_prepare(pg, "apply_customer_link",
                  "INSERT INTO customers (user_id, email, stripe_customer_id) VALUES ($1, $3, $2)"
                  " ON CONFLICT (user_id) DO UPDATE SET stripe_customer_id = EXCLUDED.stripe_customer_id,"
                  " email = coalesce(EXCLUDED.email, customers.email), updated_at = now()",
                  3);
    /* Adds the link only: an existing customer id is never replaced. */
    ob_pg_prepare(pg, "apply_customer_add",
                  "INSERT INTO customers (user_id, email, stripe_customer_id) VALUES ($1, nullif($2, ''), $3)"
                  " ON CONFLICT (user_id) DO UPDATE SET"
                  " stripe_customer_id = coalesce(customers.stripe_customer_id, excluded.stripe_customer_id),"
                  " email = coalesce(customers.email, excluded.email), updated_at = now()"
                  " RETURNING stripe_customer_id",
                  3);
    ob_pg_prepare(pg, "apply_link_subscriptions",
                  "UPDATE subscriptions SET user_id = $1, updated_at = now()"
                  " WHERE (id = $3 OR (stripe_customer_id = $2 AND user_id IS NULL)) AND user_id IS DISTINCT FROM $1",
                  3);
}

subs_applier_t *
subs_applier_new(const char *database_url, const char *redis_url, int max_attempts)
{
    subs_applier_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg = ob_pg_new(database_url, "subscription-worker-apply");
    self->redis = ob_redis_new(redis_url ? redis_url : "redis://127.0.0.1:6379");
    self->max_attempts = max_attempts > 0 ? max_attempts : 10;
    if (!self->pg || !self->redis) {
        subs_applier_destroy(&self);
        return NULL;
    }
    s_prepare(self->pg);
    ob_pg_listen(self->pg, "subscription_updates");
    return self;
}

void
subs_applier_destroy(subs_applier_t **self_p)
{
    subs_applier_t *self = *self_p;
    if (!self)
        return;
    ob_pg_destroy(&self->pg);
    ob_redis_destroy(&self->redis);
    free(self);
    *self_p = NULL;
}

/* --- helpers ---------------------------------------------------------------- */

static const char *
s_str(const json_t *m, const char *key)
{
    const char *s = ob_json_str(m, key);
    return s && *s ? s : NULL;
}

static void
s_users_add(s_users_t *users, const char *user_id)
{
    if (!user_id || !*user_id)
        return;
    for (int i = 0; i < users->count; i++)
        if (strcmp(users->ids[i], user_id) == 0)
            return;
    if (users->count < S_MAX_USERS)
        snprintf(users->ids[users->count++], sizeof users->ids[0], "%s", user_id);
}

/* --- the messages ----------------------------------------------------------- */

typedef enum { S_APPLIED, S_WAIT } s_outcome_t;

static ob_err_t
s_apply_link(subs_applier_t *self, const json_t *m, s_users_t *users)
{
    const char *user = s_str(m, "user_id"), *customer = s_str(m, "customer_id");
    if (!user || !customer)
        return OB_ERR_INVALID;
    const char *release[] = {user, customer};
    const char *link[] = {user, customer, s_str(m, "email")};
    const char *subs[] = {user, customer, s_str(m, "subscription_id")};
    ob_err_t err = ob_pg_run(self->pg, "apply_customer_release", 2, release, NULL);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "apply_customer_link", 3, link, NULL);
    if (err == OB_OK)
        err = ob_pg_run(self->pg, "apply_link_subscriptions", 3, subs, NULL);
    if (err == OB_OK)
        err = subs_notify_linked(self->pg, user); /* a subscription that came before its link */
    s_users_add(users, user);
    return err;
}

/*  customer.add: the link user -> customer unless the user has one already.
 *  *outcome = {"stripe_customer_id": the customer now on record}. */
static ob_err_t
s_apply_add(subs_applier_t *self, const json_t *m, json_t **outcome)
{
    const char *user = s_str(m, "user_id"), *customer = s_str(m, "customer_id");
    if (!user || !customer)
        return OB_ERR_INVALID;
    const char *email = ob_json_str(m, "email");
    const char *values[] = {user, email ? email : "", customer};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "apply_customer_add", 3, values, &r);
    if (err == OB_OK && PQntuples(r) == 1)
        *outcome = json_pack("{s:s}", "stripe_customer_id", PQgetvalue(r, 0, 0));
    else if (err == OB_OK)
        err = OB_ERR_INTERNAL;
    PQclear(r);
    return err;
}

/*  A subscription or invoice message, and the lifecycle notification
 *  requests the change causes, in the same transaction (subs_notify.h). */
static ob_err_t
s_apply_change(subs_applier_t *self, const char *kind, const json_t *m, subs_change_result_t *result)
{
    const char *id = s_str(m, "subscription_id");
    subs_notify_row_t before;
    ob_err_t err = subs_notify_read(self->pg, id, &before);
    if (err != OB_OK)
        return err;
    if (strncmp(kind, "invoice.", 8) == 0)
        err = subs_change_invoice(self->pg, m, strcmp(kind, "invoice.paid") == 0, result);
    else
        err = subs_change_subscription(self->pg, m, strcmp(kind, "subscription.deleted") == 0, result);
    return err == OB_OK ? subs_notify_changed(self->pg, id, &before, s_str(m, "event_id")) : err;
}

/*  Adds the users whose entitlements the change touched. */
static void
s_users_add_result(s_users_t *users, const subs_change_result_t *result)
{
    s_users_add(users, result->user_id);
    s_users_add(users, result->previous_user_id);
}

/* --- the loop --------------------------------------------------------------- */

static void
s_publish(subs_applier_t *self, const s_users_t *users)
{
    for (int i = 0; i < users->count; i++)
        if (subs_publish_user(self->pg, self->redis, users->ids[i]) != OB_OK)
            ob_log_warn("entitlements for a user not published (Redis or Postgres unavailable); owed in entitlement_versions");
}

/*  A malformed message (permanent) is failed at once; others retry. */
static void
s_record_failure(subs_applier_t *self, const char *id, const char *error, bool permanent)
{
    char max[16];
    snprintf(max, sizeof max, "%d", permanent ? 1 : self->max_attempts);
    const char *values[] = {id, error, max};
    ob_pg_run(self->pg, "apply_fail", 3, values, NULL);
}

/*  Applies one due message. 1 applied (or waited), 0 none due, -1 error. */
static int
s_apply_one(subs_applier_t *self)
{
    if (ob_pg_begin(self->pg) != OB_OK)
        return -1;
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "apply_next", 0, NULL, &r);
    if (err != OB_OK || PQntuples(r) == 0) {
        PQclear(r);
        ob_pg_rollback(self->pg);
        return err == OB_OK ? 0 : -1;
    }
    char id[32], kind[40];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    snprintf(kind, sizeof kind, "%s", PQgetvalue(r, 0, 1));
    json_t *m = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
    PQclear(r);

    s_users_t users = {.count = 0};
    subs_change_result_t result = {.newer = false};
    s_outcome_t outcome = S_APPLIED;
    json_t *outcome_json = NULL; /* what the asker reads back from the row */
    if (!m)
        err = OB_ERR_INVALID;
    else if (strcmp(kind, "customer.link") == 0)
        err = s_apply_link(self, m, &users);
    else if (strcmp(kind, "customer.add") == 0)
        err = s_apply_add(self, m, &outcome_json);
    else if (strcmp(kind, "subscription.snapshot") == 0 || strcmp(kind, "subscription.deleted") == 0 ||
             strcmp(kind, "invoice.paid") == 0 || strcmp(kind, "invoice.payment_failed") == 0)
        err = s_apply_change(self, kind, m, &result);
    else
        err = OB_ERR_INVALID;
    json_decref(m);
    if (err == OB_ERR_NOT_FOUND && strncmp(kind, "invoice.", 8) == 0) {
        outcome = S_WAIT; /* the subscription has not been seen yet */
        err = OB_OK;
    }
    s_users_add_result(&users, &result);
    if (!outcome_json && strncmp(kind, "subscription.", 13) == 0)
        outcome_json = json_pack("{s:b}", "newer", result.newer);
    char *outcome_text = outcome_json ? ob_json_dump(outcome_json, NULL) : NULL;
    json_decref(outcome_json);

    const char *wait[] = {id, "waiting for the subscription's first event"};
    const char *done[] = {id, outcome_text};
    if (err == OB_OK)
        err =
            outcome == S_WAIT ? ob_pg_run(self->pg, "apply_wait", 2, wait, NULL) : ob_pg_run(self->pg, "apply_done", 2, done, NULL);
    free(outcome_text);
    for (int i = 0; err == OB_OK && outcome == S_APPLIED && i < users.count; i++) {
        const char *values[] = {users.ids[i]};
        err = ob_pg_run(self->pg, "apply_changed", 1, values, NULL);
    }
    if (err == OB_OK)
        err = ob_pg_commit(self->pg);
    else
        ob_pg_rollback(self->pg);
    if (err == OB_OK) {
        if (outcome == S_APPLIED)
            s_publish(self, &users);
        return 1;
    }
    char error[128];
    snprintf(error, sizeof error, "%s: %s", kind, err == OB_ERR_INVALID ? "the message is malformed" : ob_err_name(err));
    ob_log_warn("subscription update %s failed: %s", id, error);
    s_record_failure(self, id, error, err == OB_ERR_INVALID);
    return err == OB_ERR_TRANSIENT ? -1 : 1;
}

int
subs_applier_run(subs_applier_t *self)
{
    for (int i = 0; i < S_BATCH; i++) {
        int rc = s_apply_one(self);
        if (rc <= 0)
            return rc;
        /* A batch can outlast the broker's liveness (3 heartbeats): a busy
         * worker must not be taken for a dead one. */
        ob_worker_keepalive();
    }
    return 1;
}

int
subs_applier_fd(subs_applier_t *self)
{
    return ob_pg_socket(self->pg);
}

static void
s_on_notify(void *arg, const char *channel, const char *payload)
{
    (void)arg;
    (void)channel;
    (void)payload;
}

void
subs_applier_on_fd(subs_applier_t *self)
{
    if (ob_pg_consume_notifies(self->pg, s_on_notify, self) != 0)
        subs_applier_run(self);
}
