/*  subs_apply - applies subscription_updates rows idempotently and in an
 *  order-proof way. */
#include "services/subscription-worker/subs_apply.h"

#include <inttypes.h>
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
#include "services/subscription-worker/subs_order.h"

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
    ob_entitlements_prepare(pg);
    ob_pg_prepare(pg,
                  "apply_next",
                  "SELECT id, kind, payload::text FROM subscription_updates"
                  " WHERE status = 'pending' AND next_attempt_at <= now()"
                  " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                  0);
    ob_pg_prepare(pg,
                  "apply_done",
                  "UPDATE subscription_updates SET status = 'applied', applied_at = now(), last_error = NULL WHERE id = $1",
                  1);
    ob_pg_prepare(pg,
                  "apply_wait",
                  "UPDATE subscription_updates SET last_error = $2,"
                  " next_attempt_at = now() + make_interval(secs => least(60, 1 + extract(epoch FROM now() - created_at) / 10))"
                  " WHERE id = $1",
                  2);
    ob_pg_prepare(pg,
                  "apply_fail",
                  "UPDATE subscription_updates SET attempts = attempts + 1, last_error = $2,"
                  " status = CASE WHEN attempts + 1 >= $3::int THEN 'failed' ELSE 'pending' END,"
                  " next_attempt_at = now() + make_interval(secs => least(300, power(2, least(attempts, 20))))"
                  " WHERE id = $1 AND status = 'pending'",
                  3);
    ob_pg_prepare(pg,
                  "apply_wake_waiting",
                  "UPDATE subscription_updates SET next_attempt_at = now()"
                  " WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at > now()",
                  1);
    ob_pg_prepare(pg, "apply_changed", "SELECT pg_notify('subscription_changed', $1)", 1);
    /* customers */
    ob_pg_prepare(pg,
                  "apply_customer_release",
                  "UPDATE customers SET stripe_customer_id = NULL, updated_at = now()"
                  " WHERE stripe_customer_id = $2 AND user_id <> $1",
                  2);
    ob_pg_prepare(pg,
                  "apply_customer_link",
                  "INSERT INTO customers (user_id, email, stripe_customer_id) VALUES ($1, $3, $2)"
                  " ON CONFLICT (user_id) DO UPDATE SET stripe_customer_id = EXCLUDED.stripe_customer_id,"
                  " email = coalesce(EXCLUDED.email, customers.email), updated_at = now()",
                  3);
    /* From subscription metadata: fill in, never take a customer away from another user. */
    ob_pg_prepare(pg,
                  "apply_customer_fill",
                  "INSERT INTO customers (user_id, stripe_customer_id)"
                  " SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE stripe_customer_id = $2)"
                  " ON CONFLICT (user_id) DO UPDATE SET stripe_customer_id = EXCLUDED.stripe_customer_id, updated_at = now()"
                  " WHERE customers.stripe_customer_id IS NULL",
                  2);
    ob_pg_prepare(pg, "apply_customer_user", "SELECT user_id FROM customers WHERE stripe_customer_id = $1", 1);
    ob_pg_prepare(pg,
                  "apply_link_subscriptions",
                  "UPDATE subscriptions SET user_id = $1, updated_at = now()"
                  " WHERE (id = $3 OR (stripe_customer_id = $2 AND user_id IS NULL)) AND user_id IS DISTINCT FROM $1",
                  3);
    /* subscriptions */
    ob_pg_prepare(pg,
                  "apply_sub_placeholder",
                  "INSERT INTO subscriptions (id, user_id, stripe_customer_id, status, started_at, last_event_created)"
                  " VALUES ($1, NULL, $2, 'incomplete', coalesce(to_timestamp($3::bigint), now()), -1)"
                  " ON CONFLICT (id) DO NOTHING",
                  3);
    ob_pg_prepare(pg,
                  "apply_sub_lock",
                  "SELECT coalesce(user_id, ''), status, last_event_created, coalesce(last_event_id, ''),"
                  " coalesce(stripe_customer_id, '') FROM subscriptions WHERE id = $1 FOR UPDATE",
                  1);
    ob_pg_prepare(pg,
                  "apply_sub_update",
                  "UPDATE subscriptions SET"
                  " user_id = coalesce($2, user_id),"
                  " stripe_customer_id = coalesce($3, stripe_customer_id),"
                  " plan_id = CASE WHEN $4::bool THEN coalesce($5, plan_id) ELSE plan_id END,"
                  " interval = CASE WHEN $4::bool THEN coalesce($6, interval) ELSE interval END,"
                  " stripe_price_id = CASE WHEN $4::bool THEN coalesce($7, stripe_price_id) ELSE stripe_price_id END,"
                  " stripe_item_id = CASE WHEN $4::bool THEN coalesce($8, stripe_item_id) ELSE stripe_item_id END,"
                  " cancel_at_period_end = CASE WHEN $4::bool THEN $9::bool ELSE cancel_at_period_end END,"
                  " trial_end = CASE WHEN $4::bool THEN to_timestamp($10::bigint) ELSE trial_end END,"
                  " status = coalesce($11, status),"
                  " canceled_at = CASE WHEN $11 = 'canceled' THEN coalesce(to_timestamp($12::bigint), canceled_at, now())"
                  "                    WHEN $4::bool THEN to_timestamp($12::bigint) ELSE canceled_at END,"
                  " last_event_created = CASE WHEN $13::bool THEN $14::bigint ELSE last_event_created END,"
                  " last_event_id = CASE WHEN $13::bool THEN $15 ELSE last_event_id END,"
                  " current_period_start = CASE WHEN $17::bigint IS NOT NULL AND (current_period_end IS NULL"
                  "     OR to_timestamp($17::bigint) > current_period_end) THEN to_timestamp($16::bigint)"
                  "     ELSE current_period_start END,"
                  " current_period_end = CASE WHEN $17::bigint IS NOT NULL AND (current_period_end IS NULL"
                  "     OR to_timestamp($17::bigint) > current_period_end) THEN to_timestamp($17::bigint)"
                  "     ELSE current_period_end END,"
                  " updated_at = now()"
                  " WHERE id = $1",
                  17);
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

typedef struct {
    char text[24];
    bool present;
} s_int_t;

/*  An integer member as decimal text, or absent. */
static s_int_t
s_int(const json_t *m, const char *key)
{
    s_int_t v = { "", false };
    const json_t *value = json_object_get(m, key);
    if (json_is_integer(value)) {
        snprintf(v.text, sizeof v.text, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        v.present = true;
    }
    return v;
}

static const char *
s_opt(const s_int_t *v)
{
    return v->present ? v->text : NULL;
}

static const char *
s_str(const json_t *m, const char *key)
{
    const char *s = ob_json_str(m, key);
    return s && *s ? s : NULL;
}

static ob_err_t
s_exec(ob_pg_t *pg, const char *name, int n, const char *const *values, PGresult **out)
{
    PGresult *r = ob_pg_exec(pg, name, n, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    if (out && err == OB_OK)
        *out = r;
    else
        PQclear(r);
    return err;
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

/*  The user a Stripe customer is linked to ("" when none). */
static ob_err_t
s_customer_user(ob_pg_t *pg, const char *customer, char *out, size_t cap)
{
    out[0] = '\0';
    if (!customer)
        return OB_OK;
    const char *values[] = { customer };
    PGresult *r = NULL;
    ob_err_t err = s_exec(pg, "apply_customer_user", 1, values, &r);
    if (err == OB_OK && PQntuples(r) == 1)
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return err;
}

/* --- the messages ----------------------------------------------------------- */

typedef enum { S_APPLIED, S_WAIT } s_outcome_t;

static ob_err_t
s_apply_link(subs_applier_t *self, const json_t *m, s_users_t *users)
{
    const char *user = s_str(m, "user_id"), *customer = s_str(m, "customer_id");
    if (!user || !customer)
        return OB_ERR_INVALID;
    const char *release[] = { user, customer };
    const char *link[] = { user, customer, s_str(m, "email") };
    const char *subs[] = { user, customer, s_str(m, "subscription_id") };
    ob_err_t err = s_exec(self->pg, "apply_customer_release", 2, release, NULL);
    if (err == OB_OK)
        err = s_exec(self->pg, "apply_customer_link", 3, link, NULL);
    if (err == OB_OK)
        err = s_exec(self->pg, "apply_link_subscriptions", 3, subs, NULL);
    s_users_add(users, user);
    return err;
}

typedef struct {
    char user_id[256];
    char status[24];
    int64_t created;
    char event_id[256];
} s_stored_t;

/*  Locks the subscription row; OB_ERR_NOT_FOUND when there is none. */
static ob_err_t
s_lock(ob_pg_t *pg, const char *id, s_stored_t *stored)
{
    const char *values[] = { id };
    PGresult *r = NULL;
    ob_err_t err = s_exec(pg, "apply_sub_lock", 1, values, &r);
    if (err == OB_OK && PQntuples(r) == 0)
        err = OB_ERR_NOT_FOUND;
    if (err == OB_OK) {
        snprintf(stored->user_id, sizeof stored->user_id, "%s", PQgetvalue(r, 0, 0));
        snprintf(stored->status, sizeof stored->status, "%s", PQgetvalue(r, 0, 1));
        stored->created = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        snprintf(stored->event_id, sizeof stored->event_id, "%s", PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    return err;
}

typedef struct {
    const char *user;   /* set when newly known */
    bool snapshot;      /* overwrite the keyed fields */
    const char *status; /* status to write, NULL = keep */
    bool key;           /* record this event as the newest applied */
} s_change_t;

static ob_err_t
s_update(ob_pg_t *pg, const char *id, const json_t *m, const s_change_t *c)
{
    s_int_t trial_end = s_int(m, "trial_end"), canceled_at = s_int(m, "canceled_at"), created = s_int(m, "event_created");
    s_int_t start = s_int(m, "current_period_start"), end = s_int(m, "current_period_end");
    const char *values[17] = {
        id,
        c->user,
        s_str(m, "customer_id"),
        c->snapshot ? "true" : "false",
        s_str(m, "plan_id"),
        s_str(m, "interval"),
        s_str(m, "price_id"),
        s_str(m, "item_id"),
        json_is_true(json_object_get(m, "cancel_at_period_end")) ? "true" : "false",
        s_opt(&trial_end),
        c->status,
        s_opt(&canceled_at),
        c->key ? "true" : "false",
        s_opt(&created),
        s_str(m, "event_id"),
        start.present && end.present ? start.text : NULL,
        start.present && end.present ? end.text : NULL,
    };
    return s_exec(pg, "apply_sub_update", 17, values, NULL);
}

/*  Whose subscription this is: the event's metadata, else the row, else
 *  the customer's link. "" when nobody is known yet. */
static ob_err_t
s_resolve_user(ob_pg_t *pg, const json_t *m, const s_stored_t *stored, char *out, size_t cap)
{
    const char *from_event = s_str(m, "user_id");
    if (from_event) {
        snprintf(out, cap, "%s", from_event);
        const char *customer = s_str(m, "customer_id");
        if (customer) {
            const char *values[] = { from_event, customer };
            return s_exec(pg, "apply_customer_fill", 2, values, NULL);
        }
        return OB_OK;
    }
    if (stored->user_id[0]) {
        snprintf(out, cap, "%s", stored->user_id);
        return OB_OK;
    }
    return s_customer_user(pg, s_str(m, "customer_id"), out, cap);
}

static ob_err_t
s_apply_subscription(subs_applier_t *self, const json_t *m, bool deleted, s_users_t *users)
{
    const char *id = s_str(m, "subscription_id"), *status = s_str(m, "status");
    if (!id || subs_order_rank(status) < 0)
        return OB_ERR_INVALID;
    s_int_t start_date = s_int(m, "start_date");
    const char *placeholder[] = { id, s_str(m, "customer_id"), s_opt(&start_date) };
    PGresult *r = NULL;
    ob_err_t err = s_exec(self->pg, "apply_sub_placeholder", 3, placeholder, &r);
    bool created_now = err == OB_OK && strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (err != OB_OK)
        return err;
    if (created_now) {
        /* Invoices that arrived before the subscription can go now. */
        const char *values[] = { id };
        if ((err = s_exec(self->pg, "apply_wake_waiting", 1, values, NULL)) != OB_OK)
            return err;
    }
    s_stored_t stored;
    char user[256];
    if ((err = s_lock(self->pg, id, &stored)) != OB_OK || (err = s_resolve_user(self->pg, m, &stored, user, sizeof user)) != OB_OK)
        return err;
    int64_t created = json_integer_value(json_object_get(m, "event_created"));
    bool newer = subs_order_supersedes(created, status, s_str(m, "event_id"), stored.created, stored.status, stored.event_id);
    s_change_t change = {
        .user = user[0] ? user : NULL,
        .snapshot = newer,
        .status = newer ? status : NULL,
        .key = newer,
    };
    if (deleted && !subs_order_is_terminal(stored.status))
        change.status = status; /* canceled (or incomplete_expired) whatever the order: it is terminal */
    if ((err = s_update(self->pg, id, m, &change)) != OB_OK)
        return err;
    s_users_add(users, user);
    if (stored.user_id[0] && strcmp(stored.user_id, user) != 0)
        s_users_add(users, stored.user_id);
    return OB_OK;
}

static ob_err_t
s_apply_invoice(subs_applier_t *self, const json_t *m, bool paid, s_users_t *users, s_outcome_t *outcome)
{
    const char *id = s_str(m, "subscription_id");
    if (!id)
        return OB_ERR_INVALID;
    s_stored_t stored;
    ob_err_t err = s_lock(self->pg, id, &stored);
    if (err == OB_ERR_NOT_FOUND) {
        *outcome = S_WAIT;
        return OB_OK;
    }
    char user[256];
    if (err != OB_OK || (err = s_resolve_user(self->pg, m, &stored, user, sizeof user)) != OB_OK)
        return err;
    const char *proposed = NULL;
    const char *st = stored.status;
    if (paid) {
        bool settles =
          strcmp(st, "incomplete") == 0 || strcmp(st, "past_due") == 0 || strcmp(st, "unpaid") == 0 || strcmp(st, "active") == 0;
        /* A trial's own (zero) invoice does not end the trial; money paid at its end does. */
        if (strcmp(st, "trialing") == 0 && json_integer_value(json_object_get(m, "amount")) > 0)
            settles = true;
        if (settles)
            proposed = "active";
    } else if (strcmp(st, "active") == 0 || strcmp(st, "trialing") == 0 || strcmp(st, "past_due") == 0) {
        proposed = "past_due";
    }
    int64_t created = json_integer_value(json_object_get(m, "event_created"));
    bool newer =
      proposed && subs_order_supersedes(created, proposed, s_str(m, "event_id"), stored.created, stored.status, stored.event_id);
    /* A failed payment does not renew the period: only a paid invoice moves it. */
    json_t *period_only = json_deep_copy(m);
    if (!paid) {
        json_object_set_new(period_only, "current_period_start", json_null());
        json_object_set_new(period_only, "current_period_end", json_null());
    }
    s_change_t change = { .user = user[0] ? user : NULL, .snapshot = false, .status = newer ? proposed : NULL, .key = newer };
    err = s_update(self->pg, id, period_only, &change);
    json_decref(period_only);
    s_users_add(users, user);
    return err;
}

/* --- the loop --------------------------------------------------------------- */

static void
s_publish(subs_applier_t *self, const s_users_t *users)
{
    for (int i = 0; i < users->count; i++)
        if (ob_entitlements_refresh(self->redis, self->pg, users->ids[i]) != OB_OK)
            ob_log_warn("entitlements for a user not published (Redis or Postgres unavailable); readers rebuild on a miss");
}

static void
s_record_failure(subs_applier_t *self, const char *id, const char *error)
{
    char max[16];
    snprintf(max, sizeof max, "%d", self->max_attempts);
    const char *values[] = { id, error, max };
    s_exec(self->pg, "apply_fail", 3, values, NULL);
}

/*  Applies one due message. 1 applied (or waited), 0 none due, -1 error. */
static int
s_apply_one(subs_applier_t *self)
{
    if (ob_pg_begin(self->pg) != OB_OK)
        return -1;
    PGresult *r = NULL;
    ob_err_t err = s_exec(self->pg, "apply_next", 0, NULL, &r);
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

    s_users_t users = { .count = 0 };
    s_outcome_t outcome = S_APPLIED;
    if (!m)
        err = OB_ERR_INVALID;
    else if (strcmp(kind, "customer.link") == 0)
        err = s_apply_link(self, m, &users);
    else if (strcmp(kind, "subscription.snapshot") == 0 || strcmp(kind, "subscription.deleted") == 0)
        err = s_apply_subscription(self, m, strcmp(kind, "subscription.deleted") == 0, &users);
    else if (strcmp(kind, "invoice.paid") == 0 || strcmp(kind, "invoice.payment_failed") == 0)
        err = s_apply_invoice(self, m, strcmp(kind, "invoice.paid") == 0, &users, &outcome);
    else
        err = OB_ERR_INVALID;
    json_decref(m);

    const char *done[] = { id, "waiting for the subscription's first event" };
    if (err == OB_OK)
        err = outcome == S_WAIT ? s_exec(self->pg, "apply_wait", 2, done, NULL) : s_exec(self->pg, "apply_done", 1, done, NULL);
    for (int i = 0; err == OB_OK && outcome == S_APPLIED && i < users.count; i++) {
        const char *values[] = { users.ids[i] };
        err = s_exec(self->pg, "apply_changed", 1, values, NULL);
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
    s_record_failure(self, id, error);
    return err == OB_ERR_TRANSIENT ? -1 : 1;
}

int
subs_applier_run(subs_applier_t *self)
{
    for (int i = 0; i < S_BATCH; i++) {
        int rc = s_apply_one(self);
        if (rc <= 0)
            return rc;
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
