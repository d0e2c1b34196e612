/*  stripe_event_map - Stripe events to domain messages and notification requests. */
#include "services/stripe-worker/stripe_event_map.h"

#include <stdio.h>
#include <string.h>

#include "common/ob_bounds.h"

int
stripe_event_head(const json_t *event, stripe_event_head_t *head, const char **reason)
{
    memset(head, 0, sizeof *head);
    const json_t *id = json_object_get(event, "id"), *type = json_object_get(event, "type");
    const json_t *created = json_object_get(event, "created"), *livemode = json_object_get(event, "livemode");
    if (!json_is_string(id) ||
        ob_bounds_check_text(json_string_value(id), json_string_length(id), OB_BOUND_ID_MAX) != OB_BOUND_OK) {
        *reason = "the event has no usable id";
        return -1;
    }
    if (!json_is_string(type) ||
        ob_bounds_check_text(json_string_value(type), json_string_length(type), OB_BOUND_ID_MAX) != OB_BOUND_OK) {
        *reason = "the event has no type";
        return -1;
    }
    if (!json_is_integer(created) || json_integer_value(created) < 0) {
        *reason = "the event has no created time";
        return -1;
    }
    head->id = json_string_value(id);
    head->type = json_string_value(type);
    head->created = json_integer_value(created);
    head->livemode = json_is_true(livemode);
    return 0;
}

void
stripe_effect_clear(stripe_effect_t *effect)
{
    json_decref(effect->update);
    json_decref(effect->notify_payload);
    memset(effect, 0, sizeof *effect);
}

int
stripe_event_plan_from_lookup_key(const char *lookup_key, char *plan, size_t cap)
{
    static const char *const suffixes[] = {"_monthly", "_yearly"};
    size_t len = lookup_key ? strlen(lookup_key) : 0;
    for (size_t i = 0; i < 2; i++) {
        size_t slen = strlen(suffixes[i]);
        if (len > slen && strcmp(lookup_key + len - slen, suffixes[i]) == 0 && len - slen < cap) {
            memcpy(plan, lookup_key, len - slen);
            plan[len - slen] = '\0';
            return 0;
        }
    }
    return -1;
}

/* --- reading Stripe objects ------------------------------------------------ */

/*  An id field: Stripe sends a string, or the object when expanded. */
static const char *
s_id(const json_t *value)
{
    if (json_is_string(value))
        return json_string_value(value);
    return json_string_value(json_object_get(value, "id"));
}

static const json_t *
s_path(const json_t *value, const char *a, const char *b, const char *c)
{
    value = json_object_get(value, a);
    if (b)
        value = json_object_get(value, b);
    if (c)
        value = json_object_get(value, c);
    return value;
}

static const char *
s_str(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s && *s ? s : NULL;
}

/*  Sets key to a string, or null when s is NULL. */
static void
s_set_str(json_t *object, const char *key, const char *s)
{
    json_object_set_new(object, key, s ? json_string(s) : json_null());
}

/*  Sets key to an integer taken from value, or null when it is not one. */
static void
s_set_int(json_t *object, const char *key, const json_t *value)
{
    json_object_set_new(object, key, json_is_integer(value) ? json_integer(json_integer_value(value)) : json_null());
}

static json_t *
s_message_as_of(const char *kind, const char *event_id, json_int_t created)
{
    json_t *m = json_object();
    json_object_set_new(m, "kind", json_string(kind));
    json_object_set_new(m, "event_id", json_string(event_id));
    json_object_set_new(m, "event_created", json_integer(created));
    return m;
}

static json_t *
s_message(const char *kind, const json_t *event)
{
    return s_message_as_of(kind, json_string_value(json_object_get(event, "id")),
                           json_integer_value(json_object_get(event, "created")));
}

/*  Copies src into a fixed field of out; a value that does not fit marks the
 *  effect unusable (stripe_event_map refuses it) rather than cut short. */
static void
s_copy(stripe_effect_t *out, char *dst, size_t cap, const char *src)
{
    if ((size_t)snprintf(dst, cap, "%s", src ? src : "") >= cap)
        out->_overflow = true;
}

/* --- subscriptions ---------------------------------------------------------- */

/*  The subscription's first item (where the price and, since 2025-03-31, the
 *  period live). */
static const json_t *
s_first_item(const json_t *subscription)
{
    return json_array_get(s_path(subscription, "items", "data", NULL), 0);
}

/*  Period dates: on the subscription (older API versions) or on its items;
 *  with several items the latest ending one counts. */
static void
s_subscription_period(const json_t *subscription, json_t *m)
{
    const json_t *start = json_object_get(subscription, "current_period_start");
    const json_t *end = json_object_get(subscription, "current_period_end");
    if (!json_is_integer(end)) {
        size_t i;
        const json_t *item;
        json_array_foreach(s_path(subscription, "items", "data", NULL), i, item)
        {
            const json_t *item_end = json_object_get(item, "current_period_end");
            if (json_is_integer(item_end) && (!json_is_integer(end) || json_integer_value(item_end) > json_integer_value(end))) {
                end = item_end;
                start = json_object_get(item, "current_period_start");
            }
        }
    }
    s_set_int(m, "current_period_start", start);
    s_set_int(m, "current_period_end", end);
}

static const char *const s_statuses[] = {"trialing",           "active", "past_due", "unpaid", "canceled", "incomplete",
                                         "incomplete_expired", "paused", NULL};

static bool
s_known_status(const char *status)
{
    for (size_t i = 0; status && s_statuses[i]; i++)
        if (strcmp(status, s_statuses[i]) == 0)
            return true;
    return false;
}

json_t *
stripe_event_subscription_message(const json_t *sub, const char *event_id, int64_t created, bool deleted, char *error, size_t cap)
{
    const char *id = s_str(sub, "id");
    const char *status = s_str(sub, "status");
    /* A deletion ends the subscription: canceled, unless Stripe says it expired unpaid (also terminal). */
    if (deleted && !(status && strcmp(status, "incomplete_expired") == 0))
        status = "canceled";
    if (!id) {
        snprintf(error, cap, "the subscription has no id");
        return NULL;
    }
    if (!s_known_status(status)) {
        snprintf(error, cap, "unknown subscription status");
        return NULL;
    }
    const json_t *item = s_first_item(sub);
    const json_t *price = json_object_get(item, "price");
    if (!price)
        price = json_object_get(sub, "plan"); /* very old API versions: the legacy plan object */
    json_t *candidates = json_array();
    char from_key[128];
    if (stripe_event_plan_from_lookup_key(s_str(price, "lookup_key"), from_key, sizeof from_key) == 0)
        json_array_append_new(candidates, json_string(from_key));
    const char *price_plan = s_str(json_object_get(price, "metadata"), "plan_id");
    const char *sub_plan = s_str(json_object_get(sub, "metadata"), "plan_id");
    if (price_plan)
        json_array_append_new(candidates, json_string(price_plan));
    if (sub_plan)
        json_array_append_new(candidates, json_string(sub_plan));
    const char *interval = s_str(json_object_get(price, "recurring"), "interval");
    if (!interval)
        interval = s_str(price, "interval"); /* legacy plan object */
    if (interval && strcmp(interval, "month") != 0 && strcmp(interval, "year") != 0)
        interval = NULL;

    json_t *m = s_message_as_of(deleted ? "subscription.deleted" : "subscription.snapshot", event_id, created);
    s_set_str(m, "subscription_id", id);
    s_set_str(m, "customer_id", s_id(json_object_get(sub, "customer")));
    s_set_str(m, "user_id", s_str(json_object_get(sub, "metadata"), "user_id"));
    s_set_str(m, "email", NULL);
    s_set_str(m, "status", status);
    json_object_set_new(m, "plan_candidates", candidates);
    s_set_str(m, "interval", interval);
    s_set_str(m, "price_id", s_str(price, "id"));
    s_set_str(m, "item_id", s_str(item, "id"));
    json_object_set_new(m, "cancel_at_period_end", json_boolean(json_is_true(json_object_get(sub, "cancel_at_period_end"))));
    s_set_int(m, "trial_end", json_object_get(sub, "trial_end"));
    s_set_int(m, "canceled_at",
              json_object_get(sub, deleted && !json_is_integer(json_object_get(sub, "canceled_at")) ? "ended_at" : "canceled_at"));
    const json_t *start = json_object_get(sub, "start_date");
    s_set_int(m, "start_date", json_is_integer(start) ? start : json_object_get(sub, "created"));
    s_subscription_period(sub, m);
    return m;
}

static ob_err_t
s_map_subscription(const json_t *event, const json_t *sub, bool deleted, stripe_effect_t *out, char *error, size_t cap)
{
    json_t *m = stripe_event_subscription_message(sub, json_string_value(json_object_get(event, "id")),
                                                  json_integer_value(json_object_get(event, "created")), deleted, error, cap);
    if (!m)
        return OB_ERR_INVALID;
    out->update = m;
    out->update_kind = json_string_value(json_object_get(m, "kind"));
    return OB_OK;
}

static void
s_map_trial_will_end(const json_t *event, const json_t *sub, stripe_effect_t *out)
{
    s_copy(out, out->notify_kind, sizeof out->notify_kind, "trial_will_end");
    s_copy(out, out->notify_user, sizeof out->notify_user, s_str(json_object_get(sub, "metadata"), "user_id"));
    s_copy(out, out->notify_customer, sizeof out->notify_customer, s_id(json_object_get(sub, "customer")));
    json_t *p = json_object();
    s_set_str(p, "event_id", s_str(event, "id"));
    s_set_str(p, "subscription_id", s_str(sub, "id"));
    s_set_str(p, "customer_id", s_id(json_object_get(sub, "customer")));
    s_set_int(p, "trial_end", json_object_get(sub, "trial_end"));
    out->notify_payload = p;
}

/* --- invoices --------------------------------------------------------------- */

/*  The invoice's subscription: `subscription` before 2025-03-31, then
 *  `parent.subscription_details.subscription`. */
static const char *
s_invoice_subscription(const json_t *invoice)
{
    const char *id = s_id(json_object_get(invoice, "subscription"));
    return id ? id : s_id(s_path(invoice, "parent", "subscription_details", "subscription"));
}

static const json_t *
s_invoice_metadata(const json_t *invoice)
{
    const json_t *metadata = s_path(invoice, "parent", "subscription_details", "metadata");
    return metadata ? metadata : s_path(invoice, "subscription_details", "metadata", NULL);
}

/*  The period the invoice paid for: the subscription line with the latest
 *  end (invoice.period_* is the previous period on renewal invoices). */
static void
s_invoice_period(const json_t *invoice, json_t *m)
{
    const json_t *start = NULL, *end = NULL;
    size_t i;
    const json_t *line;
    json_array_foreach(s_path(invoice, "lines", "data", NULL), i, line)
    {
        const json_t *line_end = s_path(line, "period", "end", NULL);
        if (json_is_integer(line_end) && (!end || json_integer_value(line_end) > json_integer_value(end))) {
            end = line_end;
            start = s_path(line, "period", "start", NULL);
        }
    }
    s_set_int(m, "current_period_start", start);
    s_set_int(m, "current_period_end", end);
}

static void
s_map_invoice(const json_t *event, const json_t *invoice, bool paid, stripe_effect_t *out)
{
    const char *subscription = s_invoice_subscription(invoice);
    const char *customer = s_id(json_object_get(invoice, "customer"));
    const char *user = s_str(s_invoice_metadata(invoice), "user_id");
    if (subscription) {
        json_t *m = s_message(paid ? "invoice.paid" : "invoice.payment_failed", event);
        s_set_str(m, "subscription_id", subscription);
        s_set_str(m, "customer_id", customer);
        s_set_str(m, "user_id", user);
        s_set_str(m, "email", s_str(invoice, "customer_email"));
        s_set_str(m, "billing_reason", s_str(invoice, "billing_reason"));
        s_set_int(m, "amount", json_object_get(invoice, paid ? "amount_paid" : "amount_due"));
        s_invoice_period(invoice, m);
        out->update = m;
        out->update_kind = json_string_value(json_object_get(m, "kind"));
    }
    s_copy(out, out->notify_kind, sizeof out->notify_kind, paid ? "receipt" : "payment_failed");
    s_copy(out, out->notify_user, sizeof out->notify_user, user);
    s_copy(out, out->notify_customer, sizeof out->notify_customer, customer);
    json_t *p = json_object();
    s_set_str(p, "event_id", s_str(event, "id"));
    s_set_str(p, "invoice_id", s_str(invoice, "id"));
    s_set_str(p, "subscription_id", subscription);
    s_set_str(p, "customer_id", customer);
    s_set_str(p, "email", s_str(invoice, "customer_email"));
    s_set_int(p, "amount", json_object_get(invoice, paid ? "amount_paid" : "amount_due"));
    s_set_str(p, "currency", s_str(invoice, "currency"));
    s_set_str(p, "hosted_invoice_url", s_str(invoice, "hosted_invoice_url"));
    if (!paid) {
        s_set_int(p, "attempt_count", json_object_get(invoice, "attempt_count"));
        s_set_int(p, "next_payment_attempt", json_object_get(invoice, "next_payment_attempt"));
    }
    out->notify_payload = p;
}

/* --- checkout --------------------------------------------------------------- */

static void
s_map_checkout(const json_t *event, const json_t *session, stripe_effect_t *out)
{
    const char *user = s_str(session, "client_reference_id");
    if (!user)
        user = s_str(json_object_get(session, "metadata"), "user_id");
    const char *customer = s_id(json_object_get(session, "customer"));
    if (!user || !customer) {
        out->ignored = true;
        s_copy(out, out->note, sizeof out->note, !user ? "the session names no platform user" : "the session has no customer");
        return;
    }
    json_t *m = s_message("customer.link", event);
    s_set_str(m, "subscription_id", s_id(json_object_get(session, "subscription")));
    s_set_str(m, "customer_id", customer);
    s_set_str(m, "user_id", user);
    const char *email = s_str(json_object_get(session, "customer_details"), "email");
    s_set_str(m, "email", email ? email : s_str(session, "customer_email"));
    out->update = m;
    out->update_kind = "customer.link";
}

static const char *const s_handled[] = {"checkout.session.completed",
                                        "customer.subscription.created",
                                        "customer.subscription.updated",
                                        "customer.subscription.deleted",
                                        "customer.subscription.trial_will_end",
                                        "invoice.paid",
                                        "invoice.payment_failed",
                                        NULL};

bool
stripe_event_is_handled(const char *type)
{
    for (size_t i = 0; type && s_handled[i]; i++)
        if (strcmp(type, s_handled[i]) == 0)
            return true;
    return false;
}

/* --- bounds ----------------------------------------------------------------- */

static const char *const s_id_keys[] = {"event_id", "subscription_id", "customer_id", "user_id", "price_id",
                                        "item_id",  "invoice_id",      "plan_id",     NULL};
static const char *const s_time_keys[] = {"event_created",        "trial_end",          "canceled_at",          "start_date",
                                          "current_period_start", "current_period_end", "next_payment_attempt", NULL};

static bool
s_listed(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

static int
s_check_string(const char *key, const json_t *value, size_t max, char *error, size_t cap)
{
    size_t len = json_string_length(value);
    ob_bound_verdict_t verdict = len ? ob_bounds_check_text(json_string_value(value), len, max) : OB_BOUND_OK;
    if (verdict == OB_BOUND_OK)
        return 0;
    snprintf(error, cap, "%s %s", key, ob_bounds_reason(verdict));
    return -1;
}

/*  Every value of a message within common/ob_bounds.h: ids and keys (and
 *  plan candidates) up to OB_BOUND_ID_MAX, other text up to
 *  OB_BOUND_TEXT_MAX, times within the range Postgres stores. */
static int
s_check_bounds(const json_t *message, char *error, size_t cap)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)message, key, value)
    {
        if (json_is_string(value)) {
            if (s_check_string(key, value, s_listed(key, s_id_keys) ? OB_BOUND_ID_MAX : OB_BOUND_TEXT_MAX, error, cap) != 0)
                return -1;
        } else if (json_is_integer(value) && s_listed(key, s_time_keys) && !ob_bounds_time_ok(json_integer_value(value))) {
            snprintf(error, cap, "%s is outside the accepted time range", key);
            return -1;
        } else if (json_is_array(value)) {
            size_t i;
            json_t *item;
            json_array_foreach(value, i, item)
            {
                if (json_is_string(item) && s_check_string(key, item, OB_BOUND_ID_MAX, error, cap) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

/*  True when a string anywhere in value holds a NUL: C strings would read
 *  it cut short (a different id than the one Stripe signed). */
static bool
s_has_nul(const json_t *value)
{
    const char *key;
    json_t *member;
    size_t i;
    if (json_is_string(value))
        return strlen(json_string_value(value)) != json_string_length(value);
    json_object_foreach((json_t *)value, key, member)
    {
        if (s_has_nul(member))
            return true;
    }
    json_array_foreach(value, i, member)
    {
        if (s_has_nul(member))
            return true;
    }
    return false;
}

static ob_err_t s_map(const json_t *event, stripe_effect_t *out, char *error, size_t cap);

ob_err_t
stripe_event_map(const json_t *event, stripe_effect_t *out, char *error, size_t cap)
{
    if (s_has_nul(event)) {
        memset(out, 0, sizeof *out);
        snprintf(error, cap, "a string contains a NUL (control) byte");
        return OB_ERR_INVALID;
    }
    ob_err_t err = s_map(event, out, error, cap);
    if (err != OB_OK) {
        stripe_effect_clear(out);
        return err;
    }
    if ((out->update && s_check_bounds(out->update, error, cap) != 0) ||
        (out->notify_payload && s_check_bounds(out->notify_payload, error, cap) != 0) ||
        (out->_overflow && snprintf(error, cap, "a user or customer id is longer than allowed") > 0)) {
        stripe_effect_clear(out);
        return OB_ERR_INVALID;
    }
    return OB_OK;
}

static ob_err_t
s_map(const json_t *event, stripe_effect_t *out, char *error, size_t cap)
{
    memset(out, 0, sizeof *out);
    const char *type = s_str(event, "type");
    const json_t *object = s_path(event, "data", "object", NULL);
    if (!type) {
        snprintf(error, cap, "the event has no type");
        return OB_ERR_INVALID;
    }
    if (stripe_event_is_handled(type) && !json_is_object(object)) {
        snprintf(error, cap, "the event has no data.object");
        return OB_ERR_INVALID;
    }
    if (strcmp(type, "checkout.session.completed") == 0) {
        s_map_checkout(event, object, out);
    } else if (strcmp(type, "customer.subscription.created") == 0 || strcmp(type, "customer.subscription.updated") == 0) {
        return s_map_subscription(event, object, false, out, error, cap);
    } else if (strcmp(type, "customer.subscription.deleted") == 0) {
        return s_map_subscription(event, object, true, out, error, cap);
    } else if (strcmp(type, "customer.subscription.trial_will_end") == 0) {
        s_map_trial_will_end(event, object, out);
    } else if (strcmp(type, "invoice.paid") == 0 || strcmp(type, "invoice.payment_failed") == 0) {
        s_map_invoice(event, object, strcmp(type, "invoice.paid") == 0, out);
    } else {
        out->ignored = true;
        s_copy(out, out->note, sizeof out->note, "");
    }
    return OB_OK;
}
