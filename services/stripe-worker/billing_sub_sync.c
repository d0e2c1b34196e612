/*  billing_sub_sync - Stripe's answer to a subscription change -> subscriptions. */
#include "services/stripe-worker/billing_sub_sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/ob_log.h"

static void
s_str(char *dst, size_t cap, const json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));
    snprintf(dst, cap, "%s", value ? value : "");
}

static int64_t
s_time(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    return json_is_integer(value) ? (int64_t)json_integer_value(value) : 0;
}

int
billing_sub_fields_read(const json_t *sub, billing_sub_fields_t *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(sub))
        return -1;
    s_str(out->id, sizeof out->id, sub, "id");
    s_str(out->status, sizeof out->status, sub, "status");
    if (!out->id[0] || !out->status[0])
        return -1;
    const json_t *customer = json_object_get(sub, "customer");
    s_str(out->customer_id, sizeof out->customer_id, json_is_object(customer) ? customer : sub,
          json_is_object(customer) ? "id" : "customer");
    const json_t *item = json_array_get(json_object_get(json_object_get(sub, "items"), "data"), 0);
    const json_t *price = json_object_get(item, "price");
    s_str(out->item_id, sizeof out->item_id, item, "id");
    s_str(out->price_id, sizeof out->price_id, price, "id");
    s_str(out->interval, sizeof out->interval, json_object_get(price, "recurring"), "interval");
    s_str(out->plan_hint, sizeof out->plan_hint, json_object_get(sub, "metadata"), "plan_id");
    if (!out->plan_hint[0])
        s_str(out->plan_hint, sizeof out->plan_hint, json_object_get(price, "metadata"), "plan_id");
    out->start_date = s_time(sub, "start_date");
    if (!out->start_date)
        out->start_date = s_time(sub, "created");
    out->current_period_start = s_time(sub, "current_period_start");
    if (!out->current_period_start)
        out->current_period_start = s_time(item, "current_period_start");
    out->current_period_end = s_time(sub, "current_period_end");
    if (!out->current_period_end)
        out->current_period_end = s_time(item, "current_period_end");
    out->cancel_at_period_end = json_is_true(json_object_get(sub, "cancel_at_period_end"));
    out->trial_end = s_time(sub, "trial_end");
    out->canceled_at = s_time(sub, "canceled_at");
    return 0;
}

/*  subs_order.h's precedence, for same-second ties. */
#define RANK(status)                                                                                                       \
    "coalesce(array_position(ARRAY['incomplete', 'trialing', 'active', 'past_due', 'unpaid', 'paused',"                   \
    " 'incomplete_expired', 'canceled'], " status ") - 1, -1)"

void
billing_sub_sync_prepare(ob_pg_t *pg)
{
    /* The plan: the price's row in stripe_prices, else the metadata hint, kept
     * only when the catalogue knows it (plan_id references plans). The
     * interval is kept for month and year only, as the webhook path does (the
     * weekly trial has none). The WHERE is subs_order_supersedes() in SQL:
     * terminal rows never change; else (created, status rank, id) must be
     * greater. Period dates only move forward. */
    ob_pg_prepare(pg, "billing_sub_apply",
                  "INSERT INTO subscriptions AS s (id, user_id, stripe_customer_id, plan_id, interval, status,"
                  " stripe_price_id, stripe_item_id, started_at, current_period_start, current_period_end,"
                  " cancel_at_period_end, trial_end, canceled_at, last_event_created, last_event_id, updated_at)"
                  " VALUES ($1, $2, nullif($3, ''),"
                  " (SELECT p.id FROM plans p WHERE p.id = coalesce((SELECT sp.plan_id FROM stripe_prices sp"
                  "   WHERE sp.price_id = nullif($7, '') LIMIT 1), nullif($4, ''))),"
                  " CASE WHEN $5 IN ('month', 'year') THEN $5 END, $6, nullif($7, ''), nullif($8, ''),"
                  " coalesce(to_timestamp(nullif($9, '0')::bigint), now()), to_timestamp(nullif($10, '0')::bigint),"
                  " to_timestamp(nullif($11, '0')::bigint), $12::boolean, to_timestamp(nullif($13, '0')::bigint),"
                  " to_timestamp(nullif($14, '0')::bigint), $15::bigint, $16, now())"
                  " ON CONFLICT (id) DO UPDATE SET user_id = coalesce(s.user_id, excluded.user_id),"
                  " stripe_customer_id = coalesce(excluded.stripe_customer_id, s.stripe_customer_id),"
                  " plan_id = coalesce(excluded.plan_id, s.plan_id), interval = coalesce(excluded.interval, s.interval),"
                  " status = excluded.status, stripe_price_id = coalesce(excluded.stripe_price_id, s.stripe_price_id),"
                  " stripe_item_id = coalesce(excluded.stripe_item_id, s.stripe_item_id),"
                  " current_period_start = CASE WHEN s.current_period_end IS NULL"
                  "   OR excluded.current_period_end > s.current_period_end"
                  "   THEN coalesce(excluded.current_period_start, s.current_period_start) ELSE s.current_period_start END,"
                  " current_period_end = greatest(s.current_period_end, excluded.current_period_end),"
                  " cancel_at_period_end = excluded.cancel_at_period_end, trial_end = excluded.trial_end,"
                  " canceled_at = excluded.canceled_at,"
                  " last_event_created = excluded.last_event_created, last_event_id = excluded.last_event_id,"
                  " updated_at = now()"
                  " WHERE s.status NOT IN ('canceled', 'incomplete_expired')"
                  " AND (excluded.last_event_created, " RANK("excluded.status") ", excluded.last_event_id COLLATE \"C\")"
                  " > (s.last_event_created, " RANK("s.status") ", coalesce(s.last_event_id, '') COLLATE \"C\")",
                  16);
}

ob_err_t
billing_sub_sync_apply(ob_pg_t *pg, ob_redis_t *redis, const char *user_id, const json_t *subscription,
                       int64_t version, const char *source, ob_entitlement_t *after)
{
    billing_sub_fields_t f;
    if (billing_sub_fields_read(subscription, &f) != 0)
        return OB_ERR_UPSTREAM;
    char start[24], period_start[24], period_end[24], trial_end[24], canceled_at[24], stamp[24];
    snprintf(start, sizeof start, "%" PRId64, f.start_date);
    snprintf(period_start, sizeof period_start, "%" PRId64, f.current_period_start);
    snprintf(period_end, sizeof period_end, "%" PRId64, f.current_period_end);
    snprintf(trial_end, sizeof trial_end, "%" PRId64, f.trial_end);
    snprintf(canceled_at, sizeof canceled_at, "%" PRId64, f.canceled_at);
    snprintf(stamp, sizeof stamp, "%" PRId64, version);
    const char *values[] = {f.id,         user_id,   f.customer_id, f.plan_hint,
                            f.interval,   f.status,  f.price_id,    f.item_id,
                            start,        period_start, period_end,  f.cancel_at_period_end ? "true" : "false",
                            trial_end,    canceled_at, stamp,        source};
    PGresult *r = ob_pg_exec(pg, "billing_sub_apply", 16, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(pg, r);
    if (err == OB_OK && PQcmdTuples(r)[0] == '0')
        ob_log_info("billing: subscription %s already holds newer state; Stripe's answer not applied", f.id);
    PQclear(r);
    if (err != OB_OK) {
        ob_log_error("billing: cannot store subscription %s: %s", f.id, ob_err_name(err));
        return err;
    }
    ob_entitlement_t scratch;
    ob_entitlement_t *e = after ? after : &scratch;
    ob_err_t load = ob_entitlements_load(pg, user_id, e);
    if ((load == OB_OK || load == OB_ERR_NOT_FOUND) && ob_entitlements_publish(redis, e, false) != 0)
        ob_log_warn("billing: entitlements of a user not republished; readers will reload them");
    return OB_OK;
}
