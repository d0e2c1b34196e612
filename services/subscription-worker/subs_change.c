/*  subs_change - Stripe's view of one subscription -> its row, order-proof. */
#include "services/subscription-worker/subs_change.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_json.h"
#include "services/subscription-worker/subs_order.h"

void
subs_change_prepare(ob_pg_t *pg)
{
    ob_pg_prepare(pg, "sub_apply_wake_waiting",
                  "UPDATE subscription_updates SET next_attempt_at = now()"
                  " WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at > now()",
                  1);
    /* From subscription metadata: fill in, never take a customer away from another user. */
    ob_pg_prepare(pg, "sub_apply_customer_fill",
                  "INSERT INTO customers (user_id, stripe_customer_id)"
                  " SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM customers WHERE stripe_customer_id = $2)"
                  " ON CONFLICT (user_id) DO UPDATE SET stripe_customer_id = EXCLUDED.stripe_customer_id, updated_at = now()"
                  " WHERE customers.stripe_customer_id IS NULL",
                  2);
    ob_pg_prepare(pg, "sub_apply_customer_user", "SELECT user_id FROM customers WHERE stripe_customer_id = $1", 1);
    ob_pg_prepare(pg, "sub_apply_placeholder",
                  "INSERT INTO subscriptions (id, user_id, stripe_customer_id, status, started_at, last_event_created)"
                  " VALUES ($1, NULL, $2, 'incomplete', coalesce(to_timestamp($3::bigint), now()), -1)"
                  " ON CONFLICT (id) DO NOTHING",
                  3);
    ob_pg_prepare(pg, "sub_apply_lock",
                  "SELECT coalesce(user_id, ''), status, last_event_created, coalesce(last_event_id, ''),"
                  " coalesce(stripe_customer_id, '') FROM subscriptions WHERE id = $1 FOR UPDATE",
                  1);
    ob_pg_prepare(pg, "sub_apply_update",
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

/* --- helpers ---------------------------------------------------------------- */

typedef struct {
    char text[24];
    bool present;
} s_int_t;

/*  An integer member as decimal text, or absent. */
static s_int_t
s_int(const json_t *m, const char *key)
{
    s_int_t v = {"", false};
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

/*  The user a Stripe customer is linked to ("" when none). */
static ob_err_t
s_customer_user(ob_pg_t *pg, const char *customer, char *out, size_t cap)
{
    out[0] = '\0';
    if (!customer)
        return OB_OK;
    const char *values[] = {customer};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "sub_apply_customer_user", 1, values, &r);
    if (err == OB_OK && PQntuples(r) == 1)
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
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
    const char *values[] = {id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "sub_apply_lock", 1, values, &r);
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
    return ob_pg_run(pg, "sub_apply_update", 17, values, NULL);
}

/*  Whose subscription this is: the message's user, else the row's, else
 *  the customer's link. "" when nobody is known yet. */
static ob_err_t
s_resolve_user(ob_pg_t *pg, const json_t *m, const s_stored_t *stored, char *out, size_t cap)
{
    const char *from_event = s_str(m, "user_id");
    if (from_event) {
        snprintf(out, cap, "%s", from_event);
        const char *customer = s_str(m, "customer_id");
        if (customer) {
            const char *values[] = {from_event, customer};
            return ob_pg_run(pg, "sub_apply_customer_fill", 2, values, NULL);
        }
        return OB_OK;
    }
    if (stored->user_id[0]) {
        snprintf(out, cap, "%s", stored->user_id);
        return OB_OK;
    }
    return s_customer_user(pg, s_str(m, "customer_id"), out, cap);
}

/* --- the messages ----------------------------------------------------------- */

ob_err_t
subs_change_subscription(ob_pg_t *pg, const json_t *m, bool deleted, subs_change_result_t *result)
{
    memset(result, 0, sizeof *result);
    const char *id = s_str(m, "subscription_id"), *status = s_str(m, "status");
    if (!id || subs_order_rank(status) < 0)
        return OB_ERR_INVALID;
    s_int_t start_date = s_int(m, "start_date");
    const char *placeholder[] = {id, s_str(m, "customer_id"), s_opt(&start_date)};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(pg, "sub_apply_placeholder", 3, placeholder, &r);
    bool created_now = err == OB_OK && strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (err != OB_OK)
        return err;
    if (created_now) {
        /* Invoices that arrived before the subscription can go now. */
        const char *values[] = {id};
        if ((err = ob_pg_run(pg, "sub_apply_wake_waiting", 1, values, NULL)) != OB_OK)
            return err;
    }
    s_stored_t stored;
    char *user = result->user_id;
    if ((err = s_lock(pg, id, &stored)) != OB_OK || (err = s_resolve_user(pg, m, &stored, user, sizeof result->user_id)) != OB_OK)
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
    if ((err = s_update(pg, id, m, &change)) != OB_OK)
        return err;
    result->newer = newer;
    if (stored.user_id[0] && strcmp(stored.user_id, user) != 0)
        snprintf(result->previous_user_id, sizeof result->previous_user_id, "%s", stored.user_id);
    return OB_OK;
}

ob_err_t
subs_change_invoice(ob_pg_t *pg, const json_t *m, bool paid, subs_change_result_t *result)
{
    memset(result, 0, sizeof *result);
    const char *id = s_str(m, "subscription_id");
    if (!id)
        return OB_ERR_INVALID;
    s_stored_t stored;
    ob_err_t err = s_lock(pg, id, &stored);
    char *user = result->user_id;
    if (err != OB_OK || (err = s_resolve_user(pg, m, &stored, user, sizeof result->user_id)) != OB_OK)
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
    s_change_t change = {.user = user[0] ? user : NULL, .snapshot = false, .status = newer ? proposed : NULL, .key = newer};
    err = s_update(pg, id, period_only, &change);
    json_decref(period_only);
    result->newer = newer;
    return err;
}
