/*  admin_stripe_config - the Stripe webhook endpoint and customer portal
 *  (admin_stripe_config.h).
 */
#include "services/billing-admin/admin_stripe_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clients/ob_idempotency.h"
#include "common/ob_config.h"

static void s_add(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*  Appends "; <text>" (no separator first) to out. */
static void
s_add(char *out, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(out);
    if (n && n + 2 < cap) {
        memcpy(out + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    if (n < cap)
        vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

static const char *
s_str(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

static bool
s_array_has(const json_t *array, const char *value)
{
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item) if (json_is_string(item) && strcmp(json_string_value(item), value) == 0) return true;
    return false;
}

int
admin_stripe_webhook_url(char *out, size_t cap)
{
    const char *base = ob_config_get("PUBLIC_BASE_URL");
    if (!base || !*base)
        return -1;
    size_t len = strlen(base);
    while (len && base[len - 1] == '/')
        len--;
    int n = snprintf(out, cap, "%.*s%s", (int)len, base, ADMIN_STRIPE_WEBHOOK_PATH);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

ob_err_t
admin_stripe_find_webhook(stripe_api_t *stripe, const char *url, json_t **list, json_t **endpoint, stripe_error_t *error)
{
    *endpoint = NULL;
    ob_err_t err = stripe_api_list_webhook_endpoints(stripe, list, error);
    if (err != OB_OK)
        return err;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(*list, "data"), i, item)
    {
        const char *item_url = s_str(item, "url");
        if (item_url && strcmp(item_url, url) == 0) {
            *endpoint = item;
            return OB_OK;
        }
        const char *description = s_str(item, "description");
        if (!*endpoint && description && strcmp(description, ADMIN_STRIPE_DESCRIPTION) == 0)
            *endpoint = item;
    }
    return OB_OK;
}

void
admin_stripe_webhook_diff(const json_t *endpoint, const char *url, char *out, size_t cap)
{
    out[0] = '\0';
    const char *have_url = s_str(endpoint, "url");
    if (!have_url || strcmp(have_url, url) != 0)
        s_add(out, cap, "url is %s, want %s", have_url ? have_url : "-", url);
    const json_t *events = json_object_get(endpoint, "enabled_events");
    char missing[512] = "", extra[512] = "";
    for (size_t i = 0; stripe_handled_events[i]; i++)
        if (!s_array_has(events, stripe_handled_events[i]) && !s_array_has(events, "*"))
            s_add(missing, sizeof missing, "%s", stripe_handled_events[i]);
    size_t i;
    const json_t *event;
    json_array_foreach(events, i, event)
    {
        bool known = false;
        for (size_t k = 0; stripe_handled_events[k]; k++)
            known |= json_is_string(event) && strcmp(json_string_value(event), stripe_handled_events[k]) == 0;
        if (!known)
            s_add(extra, sizeof extra, "%s", json_is_string(event) ? json_string_value(event) : "?");
    }
    if (missing[0])
        s_add(out, cap, "missing event types: %s", missing);
    if (extra[0])
        s_add(out, cap, "event types the project does not handle: %s", extra);
    const char *version = s_str(endpoint, "api_version");
    if (!version || strcmp(version, STRIPE_API_VERSION) != 0)
        s_add(out, cap, "api_version is %s, want " STRIPE_API_VERSION, version ? version : "the account default");
    const char *status = s_str(endpoint, "status");
    if (!status || strcmp(status, "enabled") != 0)
        s_add(out, cap, "status is %s", status ? status : "-");
}

static void
s_key(char *key, size_t cap, const char *kind, const char *id, const char *url)
{
    char events[1024] = "";
    for (size_t i = 0; stripe_handled_events[i]; i++)
        s_add(events, sizeof events, "%s", stripe_handled_events[i]);
    ob_idempotency_key(key, cap, kind, 0, 0, id ? id : "-", url, events, STRIPE_API_VERSION, (const char *)NULL);
}

int
admin_stripe_webhook_setup(stripe_api_t *stripe, const admin_setup_opts_t *opts, admin_setup_tally_t *tally)
{
    char url[1024];
    if (admin_stripe_webhook_url(url, sizeof url) != 0) {
        printf("webhook  %-16s skipped: PUBLIC_BASE_URL is not set (Stripe needs the gateway's public address)\n", "stripe");
        return 0;
    }
    json_t *list = NULL, *endpoint = NULL;
    stripe_error_t serr;
    if (admin_stripe_find_webhook(stripe, url, &list, &endpoint, &serr) != OB_OK) {
        printf("webhook  %-16s FAILED (cannot list webhook endpoints: HTTP %ld %s)\n", "stripe", serr.http_status, serr.message);
        tally->failed++;
        return -1;
    }
    char diff[2048];
    int rc = 0;
    const char *id = endpoint ? s_str(endpoint, "id") : NULL;
    const char *version = endpoint ? s_str(endpoint, "api_version") : NULL;
    bool recreate = endpoint && (!version || strcmp(version, STRIPE_API_VERSION) != 0);
    if (endpoint)
        admin_stripe_webhook_diff(endpoint, url, diff, sizeof diff);
    if (endpoint && !diff[0]) {
        printf("webhook  %-16s unchanged %s %s\n", "stripe", id, url);
        tally->kept++;
    } else if (opts->dry_run) {
        printf("webhook  %-16s would %s %s%s%s\n", "stripe",
               !endpoint  ? "register"
               : recreate ? "re-register"
                          : "update",
               url, endpoint ? ": " : "", endpoint ? diff : "");
        (*(endpoint ? &tally->changed : &tally->fresh))++;
    } else if (endpoint && !recreate) {
        char key[96];
        s_key(key, sizeof key, "setup-webhook-update", id, url);
        ob_err_t err = stripe_api_update_webhook_endpoint(stripe, key, id, url, stripe_handled_events, NULL, &serr);
        if (err == OB_OK) {
            printf("webhook  %-16s updated %s %s (was: %s)\n", "stripe", id, url, diff);
            tally->changed++;
        } else {
            printf("webhook  %-16s FAILED (update: HTTP %ld %s)\n", "stripe", serr.http_status, serr.message);
            tally->failed++;
            rc = -1;
        }
    } else {
        /* New, or on another API version (Stripe cannot change that in place): a new endpoint, a new secret. */
        char key[96];
        s_key(key, sizeof key, "setup-webhook", id, url);
        json_t *made = NULL;
        ob_err_t err =
            stripe_api_create_webhook_endpoint(stripe, key, url, stripe_handled_events, ADMIN_STRIPE_DESCRIPTION, &made, &serr);
        const char *secret = s_str(made, "secret");
        if (err != OB_OK || !secret) {
            printf("webhook  %-16s FAILED (create: HTTP %ld %s)\n", "stripe", serr.http_status, serr.message);
            tally->failed++;
            rc = -1;
        } else {
            printf("webhook  %-16s %s %s %s (api_version " STRIPE_API_VERSION ", %zu event types)\n", "stripe",
                   recreate ? "replaced" : "registered", s_str(made, "id"), url,
                   json_array_size(json_object_get(made, "enabled_events")));
            (*(recreate ? &tally->changed : &tally->fresh))++;
            rc = admin_setup_secret(opts, "STRIPE_WEBHOOK_SECRET", secret);
            if (rc == 0 && recreate && stripe_api_delete_webhook_endpoint(stripe, id, &serr) != OB_OK)
                printf("webhook  %-16s the old endpoint %s could not be deleted (HTTP %ld): delete it in the dashboard\n", "stripe",
                       id, serr.http_status);
            if (rc != 0)
                tally->failed++;
        }
        json_decref(made);
    }
    json_decref(list);
    return rc;
}

ob_err_t
admin_stripe_find_portal(stripe_api_t *stripe, json_t **list, json_t **config, stripe_error_t *error)
{
    *config = NULL;
    ob_err_t err = stripe_api_list_portal_configurations(stripe, list, error);
    if (err != OB_OK)
        return err;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(*list, "data"), i, item)
    {
        if (json_is_true(json_object_get(item, "is_default"))) {
            *config = item;
            return OB_OK;
        }
        const char *owner = s_str(json_object_get(item, "metadata"), "managed_by");
        if (!*config && owner && strcmp(owner, "billing-admin") == 0)
            *config = item;
    }
    return OB_OK;
}

static bool
s_switchable(const admin_price_row_t *row)
{
    return !row->spec.trial && row->price_id[0] && row->product_id[0];
}

void
admin_stripe_portal_diff(const json_t *config, const admin_price_row_t *rows, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    const json_t *features = json_object_get(config, "features");
    const json_t *update = json_object_get(features, "subscription_update");
    const json_t *cancel = json_object_get(features, "subscription_cancel");
    if (!json_is_true(json_object_get(update, "enabled")))
        s_add(out, cap, "plan switching is off");
    if (!s_array_has(json_object_get(update, "default_allowed_updates"), "price"))
        s_add(out, cap, "price changes are not allowed");
    const json_t *products = json_object_get(update, "products");
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        want += !rows[i].spec.trial; /* a price missing at Stripe is plan_prices' finding, not an extra here */
        if (!s_switchable(&rows[i]))
            continue;
        bool found = false;
        size_t j;
        const json_t *product;
        json_array_foreach(products, j, product)
        {
            const char *id = s_str(product, "product");
            found |= id && strcmp(id, rows[i].product_id) == 0 && s_array_has(json_object_get(product, "prices"), rows[i].price_id);
        }
        if (!found)
            s_add(out, cap, "price %s (%s) is not offered", rows[i].spec.lookup_key, rows[i].price_id);
    }
    size_t have = 0, j;
    const json_t *product;
    json_array_foreach(products, j, product) have += json_array_size(json_object_get(product, "prices"));
    if (have > want)
        s_add(out, cap, "%zu price(s) offered that are not in the catalogue", have - want);
    if (!json_is_true(json_object_get(cancel, "enabled")))
        s_add(out, cap, "cancellation is off");
    const char *mode = s_str(cancel, "mode");
    if (!mode || strcmp(mode, "at_period_end") != 0)
        s_add(out, cap, "cancellation mode is %s, want at_period_end", mode ? mode : "-");
    if (!json_is_true(json_object_get(json_object_get(features, "payment_method_update"), "enabled")))
        s_add(out, cap, "payment method update is off");
    if (!json_is_true(json_object_get(json_object_get(features, "invoice_history"), "enabled")))
        s_add(out, cap, "invoice history is off");
    const char *setting = ob_config_get("STRIPE_PORTAL_CONFIGURATION");
    if (setting && strcmp(setting, s_str(config, "id") ?: "") != 0)
        s_add(out, cap, "STRIPE_PORTAL_CONFIGURATION is %s, not this configuration", setting);
    const char *return_url = ob_config_get("STRIPE_PORTAL_RETURN_URL");
    const char *have_url = s_str(config, "default_return_url");
    if (return_url && (!have_url || strcmp(have_url, return_url) != 0))
        s_add(out, cap, "default_return_url is %s, want %s", have_url ? have_url : "-", return_url);
}

static stripe_form_t *
s_portal_form(const admin_price_row_t *rows, size_t n, bool create)
{
    stripe_form_t *form = stripe_form_new();
    stripe_form_add_bool(form, "features[subscription_update][enabled]", true);
    stripe_form_add(form, "features[subscription_update][default_allowed_updates][0]", "price");
    stripe_form_add(form, "features[subscription_update][proration_behavior]", "create_prorations");
    int product = -1, price = 0;
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!s_switchable(&rows[i]))
            continue;
        if (!last || strcmp(last, rows[i].product_id) != 0) {
            last = rows[i].product_id;
            product++;
            price = 0;
            stripe_form_addf(form, last, "features[subscription_update][products][%d][product]", product);
        }
        stripe_form_addf(form, rows[i].price_id, "features[subscription_update][products][%d][prices][%d]", product, price++);
    }
    stripe_form_add_bool(form, "features[subscription_cancel][enabled]", true);
    stripe_form_add(form, "features[subscription_cancel][mode]", "at_period_end");
    stripe_form_add_bool(form, "features[payment_method_update][enabled]", true);
    stripe_form_add_bool(form, "features[invoice_history][enabled]", true);
    const char *return_url = ob_config_get("STRIPE_PORTAL_RETURN_URL");
    if (return_url)
        stripe_form_add(form, "default_return_url", return_url);
    if (create)
        stripe_form_add(form, "metadata[managed_by]", "billing-admin");
    return form;
}

/*  Portal sessions name a configuration that is not the account's default:
 *  STRIPE_PORTAL_CONFIGURATION (read by the stripe-worker) must hold its id. */
static int
s_portal_setting(const admin_setup_opts_t *opts, const json_t *config, admin_setup_tally_t *tally)
{
    const char *id = s_str(config, "id");
    if (!config || !id || json_is_true(json_object_get(config, "is_default")))
        return 0;
    const char *have = ob_config_get("STRIPE_PORTAL_CONFIGURATION");
    if (have && strcmp(have, id) == 0)
        return 0;
    if (opts->dry_run) {
        printf("portal   %-16s would set STRIPE_PORTAL_CONFIGURATION\n", "stripe");
        return 0;
    }
    if (opts->write_env) {
        if (admin_env_file_set(opts->write_env, "STRIPE_PORTAL_CONFIGURATION", id) != 0) {
            tally->failed++;
            return -1;
        }
        printf("setting  %-16s STRIPE_PORTAL_CONFIGURATION=%s written to %s\n", "stripe", id, opts->write_env);
    } else {
        printf("setting  %-16s put it in the settings: STRIPE_PORTAL_CONFIGURATION=%s\n", "stripe", id);
    }
    return 0;
}

int
admin_stripe_portal_setup(stripe_api_t *stripe, const admin_setup_opts_t *opts, const admin_price_row_t *rows, size_t n,
                          admin_setup_tally_t *tally)
{
    json_t *list = NULL, *config = NULL;
    stripe_error_t serr;
    if (admin_stripe_find_portal(stripe, &list, &config, &serr) != OB_OK) {
        printf("portal   %-16s FAILED (cannot list configurations: HTTP %ld %s)\n", "stripe", serr.http_status, serr.message);
        tally->failed++;
        return -1;
    }
    char diff[2048] = "";
    if (config)
        admin_stripe_portal_diff(config, rows, n, diff, sizeof diff);
    const char *id = config ? s_str(config, "id") : NULL;
    int rc = 0;
    if (config && !diff[0]) {
        printf("portal   %-16s unchanged %s\n", "stripe", id);
        tally->kept++;
    } else if (opts->dry_run) {
        printf("portal   %-16s would %s%s\n", "stripe", config ? "update: " : "configure", diff);
        (*(config ? &tally->changed : &tally->fresh))++;
    } else {
        stripe_form_t *form = s_portal_form(rows, n, !config);
        size_t len = 0;
        const char *body = form ? stripe_form_body(form, &len) : NULL;
        char key[96];
        ob_idempotency_key(key, sizeof key, "setup-portal", 0, 0, id ? id : "-", body ? body : "-", (const char *)NULL);
        json_t *saved = NULL;
        ob_err_t err = stripe_api_save_portal_configuration(stripe, key, id, &form, &saved, &serr);
        if (err == OB_OK) {
            if (config)
                printf("portal   %-16s updated %s (was: %s)\n", "stripe", s_str(saved, "id"), diff);
            else
                printf("portal   %-16s configured %s\n", "stripe", s_str(saved, "id"));
            (*(config ? &tally->changed : &tally->fresh))++;
        } else {
            printf("portal   %-16s FAILED (HTTP %ld %s)\n", "stripe", serr.http_status, serr.message);
            tally->failed++;
            rc = -1;
        }
        if (err == OB_OK)
            rc = s_portal_setting(opts, saved, tally);
        json_decref(saved);
    }
    if (opts->dry_run || (config && !diff[0]))
        rc = s_portal_setting(opts, config, tally) == 0 ? rc : -1;
    json_decref(list);
    return rc;
}
