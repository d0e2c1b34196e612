/*  reconcile_drift - what differs between our subscriptions, Stripe's and Lago's. */
#include "clients/reconcile_drift.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *
s_str(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s ? s : "";
}

static bool
s_live(const char *status)
{
    return strcmp(status, "trialing") == 0 || strcmp(status, "active") == 0 || strcmp(status, "past_due") == 0;
}

/*  The id of Stripe's first item's price ("" when none). */
static const char *
s_stripe_price(const json_t *sub)
{
    const json_t *item = json_array_get(json_object_get(json_object_get(sub, "items"), "data"), 0);
    const json_t *price = json_object_get(item, "price");
    return json_is_string(price) ? json_string_value(price) : s_str(price, "id");
}

static const json_t *
s_find(const json_t *array, const char *key, const char *value)
{
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item) if (strcmp(s_str(item, key), value) == 0) return item;
    return NULL;
}

/*  The Lago subscription of that external id that is active, else any. */
static const json_t *
s_find_lago(const json_t *lago, const char *id)
{
    const json_t *found = NULL;
    size_t i;
    const json_t *item;
    json_array_foreach(lago, i, item)
    {
        if (strcmp(s_str(item, "external_id"), id) != 0)
            continue;
        if (strcmp(s_str(item, "status"), "active") == 0)
            return item;
        found = item;
    }
    return found;
}

static void
s_add(json_t *drift, const char *kind, const char *id, const char *user, const char *local, const char *remote, bool fixable)
{
    json_array_append_new(drift, json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:b}", "kind", kind, "subscription_id", id, "user_id",
                                           user && *user ? user : NULL, "local", local, "remote", remote, "fixable", fixable));
}

static int
s_order(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int c = strcmp(s_str(x, "kind"), s_str(y, "kind"));
    return c ? c : strcmp(s_str(x, "subscription_id"), s_str(y, "subscription_id"));
}

static json_t *
s_sorted(json_t *drift)
{
    size_t n = json_array_size(drift);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        json_decref(drift);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(drift, i));
    qsort(items, n, sizeof *items, s_order);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(sorted, items[i]);
    free(items);
    json_decref(drift);
    return sorted;
}

json_t *
reconcile_drift_compare(const json_t *local, const json_t *stripe, const json_t *lago)
{
    json_t *drift = json_array();
    if (!drift)
        return NULL;
    size_t i;
    const json_t *sub;
    json_array_foreach(stripe, i, sub)
    {
        const char *id = s_str(sub, "id");
        const json_t *mine = s_find(local, "id", id);
        const char *status = s_str(sub, "status");
        const char *user = s_str(json_object_get(sub, "metadata"), "user_id");
        if (!mine) {
            s_add(drift, "missing_here", id, user, NULL, status, true);
            continue;
        }
        user = s_str(mine, "user_id");
        if (strcmp(s_str(mine, "status"), status) != 0)
            s_add(drift, "status_mismatch", id, user, s_str(mine, "status"), status, true);
        const char *price = s_stripe_price(sub);
        if (*price && strcmp(s_str(mine, "price_id"), price) != 0)
            s_add(drift, "price_mismatch", id, user, s_str(mine, "price_id"), price, true);
    }
    json_array_foreach(local, i, sub)
    {
        const char *id = s_str(sub, "id"), *status = s_str(sub, "status");
        if (json_is_false(json_object_get(sub, "in_window")))
            continue; /* outside --since: looked up, not checked */
        if (!s_find(stripe, "id", id))
            s_add(drift, "missing_in_stripe", id, s_str(sub, "user_id"), status, NULL, false);
        if (!lago)
            continue;
        const json_t *theirs = s_find_lago(lago, id);
        bool active = theirs && strcmp(s_str(theirs, "status"), "active") == 0;
        if (s_live(status) && !active)
            s_add(drift, "missing_in_lago", id, s_str(sub, "user_id"), status, theirs ? s_str(theirs, "status") : NULL, false);
        else if (s_live(status) && strcmp(s_str(theirs, "plan_code"), s_str(sub, "plan_id")) != 0)
            s_add(drift, "lago_plan_mismatch", id, s_str(sub, "user_id"), s_str(sub, "plan_id"), s_str(theirs, "plan_code"), false);
        else if (!s_live(status) && active)
            s_add(drift, "lago_not_ended", id, s_str(sub, "user_id"), status, "active", false);
    }
    json_array_foreach(lago, i, sub)
    {
        const char *id = s_str(sub, "external_id");
        if (strcmp(s_str(sub, "status"), "active") == 0 && !s_find(local, "id", id))
            s_add(drift, "lago_not_ended", id, s_str(sub, "external_customer_id"), NULL, "active", false);
    }
    return s_sorted(drift);
}
