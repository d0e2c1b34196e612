/*  stripe_api - Stripe calls over ob_http, answers through jansson.
 *
 *  Every call goes through s_call(): one place builds the URL and headers,
 *  sends, parses and maps the outcome, and logs it without secrets.
 */
#include "clients/stripe_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_http.h"
#include "common/ob_log.h"
#include "clients/stripe_form.h"

#define STRIPE_MAX_LOOKUP_KEYS 10

struct _stripe_api_t {
    ob_http_t *http;
    char *base_url;    /* without a trailing '/' */
    char *auth_header; /* "Authorization: Bearer sk_..." */
    long timeout_ms;
    int max_attempts;
    long backoff_base_ms;
    bool last_replayed; /* of the last answer */
    long long last_date;
    char portal_configuration[128]; /* bpc_... for portal sessions; "" = the account's default */
};

stripe_api_t *
stripe_api_new(const char *base_url, const char *secret_key)
{
    if (!base_url || !secret_key || !*secret_key || strpbrk(secret_key, "\r\n ") ||
        (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) || strpbrk(base_url, "\r\n "))
        return NULL;
    stripe_api_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    size_t len = strlen(base_url);
    while (len > 0 && base_url[len - 1] == '/')
        len--;
    self->base_url = strndup(base_url, len);
    if (asprintf(&self->auth_header, "Authorization: Bearer %s", secret_key) < 0)
        self->auth_header = NULL;
    self->http = ob_http_new();
    if (!self->base_url || !self->auth_header || !self->http) {
        stripe_api_destroy(&self);
        return NULL;
    }
    return self;
}

void
stripe_api_destroy(stripe_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    stripe_api_t *self = *self_p;
    if (self->auth_header) {
        explicit_bzero(self->auth_header, strlen(self->auth_header));
        free(self->auth_header);
    }
    free(self->base_url);
    ob_http_destroy(&self->http);
    free(self);
    *self_p = NULL;
}

void
stripe_api_set_limits(stripe_api_t *self, long timeout_ms, int max_attempts, long backoff_base_ms)
{
    if (!self)
        return;
    self->timeout_ms = timeout_ms;
    self->max_attempts = max_attempts;
    self->backoff_base_ms = backoff_base_ms;
}

stripe_mode_t
stripe_key_mode(const char *key)
{
    if (!key)
        return STRIPE_MODE_UNKNOWN;
    if (strncmp(key, "sk_live_", 8) == 0 || strncmp(key, "rk_live_", 8) == 0)
        return STRIPE_MODE_LIVE;
    if (strncmp(key, "sk_test_", 8) == 0 || strncmp(key, "rk_test_", 8) == 0)
        return STRIPE_MODE_TEST;
    return STRIPE_MODE_UNKNOWN;
}

bool
stripe_mode_matches(stripe_mode_t mode, bool livemode)
{
    return mode == STRIPE_MODE_UNKNOWN || (mode == STRIPE_MODE_LIVE) == livemode;
}

bool
stripe_api_last_replayed(const stripe_api_t *self)
{
    return self && self->last_replayed;
}

long long
stripe_api_last_date(const stripe_api_t *self)
{
    return self ? self->last_date : 0;
}

static bool
s_is(const char *value, const char *want)
{
    return value && strcmp(value, want) == 0;
}

ob_err_t
stripe_api_map_error(long http_status, const char *type, const char *code)
{
    if (http_status == 0 || http_status == 429 || http_status >= 500)
        return OB_ERR_TRANSIENT;
    if (http_status >= 200 && http_status < 300)
        return OB_OK;
    if (http_status == 401 || http_status == 403)
        return OB_ERR_UPSTREAM;
    if (http_status == 402 || s_is(type, "card_error"))
        return OB_ERR_PAYMENT;
    if (http_status == 404 || s_is(code, "resource_missing"))
        return OB_ERR_NOT_FOUND;
    if (s_is(type, "idempotency_error"))
        return OB_ERR_CONFLICT;
    if (http_status == 409)
        return OB_ERR_TRANSIENT; /* lock_timeout and friends: still busy after our retries */
    if (http_status == 400 || s_is(type, "invalid_request_error"))
        return OB_ERR_INVALID;
    return OB_ERR_UPSTREAM;
}

/*  Stripe ids are [A-Za-z0-9_]; anything else could escape the path. */
static bool
s_valid_id(const char *id)
{
    if (!id || !*id)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static bool
s_has_key(const char *idempotency_key)
{
    return idempotency_key && *idempotency_key && strlen(idempotency_key) <= 255;
}

static void
s_copy_field(char *dst, size_t size, const json_t *obj, const char *key)
{
    const char *value = json_string_value(json_object_get(obj, key));
    snprintf(dst, size, "%s", value ? value : "");
}

/*  Fills error from Stripe's {"error":{...}} when the body has one. */
static void
s_parse_error(const char *body, size_t len, stripe_error_t *error)
{
    if (!body)
        return;
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *e = json_object_get(root, "error");
    if (json_is_object(e)) {
        s_copy_field(error->type, sizeof error->type, e, "type");
        s_copy_field(error->code, sizeof error->code, e, "code");
        s_copy_field(error->decline_code, sizeof error->decline_code, e, "decline_code");
        s_copy_field(error->param, sizeof error->param, e, "param");
        s_copy_field(error->message, sizeof error->message, e, "message");
    }
    json_decref(root);
}

/*  Sends one call. form may be NULL; for GET and DELETE it becomes the query
 *  string. path holds only validated ids, so it is safe to log. */
static ob_err_t
s_call(stripe_api_t *self, const char *method, const char *path, const stripe_form_t *form, const char *idempotency_key,
       json_t **result, stripe_error_t *error)
{
    stripe_error_t scratch;
    if (!error)
        error = &scratch;
    memset(error, 0, sizeof *error);
    if (result)
        *result = NULL;
    if (!self)
        return OB_ERR_INVALID;
    self->last_replayed = false;
    self->last_date = 0;

    bool is_post = strcmp(method, "POST") == 0;
    size_t form_len = 0;
    const char *encoded = form ? stripe_form_body(form, &form_len) : "";
    if (!encoded) {
        snprintf(error->message, sizeof error->message, "could not encode the request");
        return OB_ERR_INVALID;
    }
    if (is_post && !s_has_key(idempotency_key)) {
        snprintf(error->message, sizeof error->message, "an Idempotency-Key is required on POST");
        return OB_ERR_INVALID;
    }

    char *url = NULL;
    bool with_query = !is_post && form_len > 0;
    if (asprintf(&url, "%s%s%s%s", self->base_url, path, with_query ? "?" : "", with_query ? encoded : "") < 0)
        return OB_ERR_INTERNAL;
    const char *headers[] = {self->auth_header,
                             "Stripe-Version: " STRIPE_API_VERSION,
                             "Accept: application/json",
                             "User-Agent: ops-center-billing/1",
                             "Content-Type: application/x-www-form-urlencoded",
                             NULL};
    if (!is_post)
        headers[4] = NULL;
    ob_http_request_t req = {.method = method,
                             .url = url,
                             .headers = headers,
                             .body = is_post ? encoded : NULL,
                             .body_len = is_post ? form_len : 0,
                             .idempotency_key = is_post ? idempotency_key : NULL,
                             .timeout_ms = self->timeout_ms,
                             .max_attempts = self->max_attempts,
                             .backoff_base_ms = self->backoff_base_ms};
    ob_http_response_t resp = {0};
    ob_err_t err = ob_http_send(self->http, &req, &resp);
    free(url);

    error->http_status = resp.status;
    self->last_replayed = resp.replayed;
    self->last_date = resp.date;
    snprintf(error->request_id, sizeof error->request_id, "%s", resp.request_id);
    if (err == OB_OK && resp.status >= 200 && resp.status < 300) {
        json_t *root = json_loadb(resp.body, resp.body_len, 0, NULL);
        if (json_is_object(root)) {
            ob_log_debug("stripe %s %s -> %ld stripe_request_id=%s", method, path, resp.status, resp.request_id);
            if (result)
                *result = root;
            else
                json_decref(root);
            ob_http_response_reset(&resp);
            return OB_OK;
        }
        json_decref(root);
        snprintf(error->message, sizeof error->message, "Stripe answered %ld with a body that is not a JSON object", resp.status);
        err = OB_ERR_UPSTREAM;
    } else if (err == OB_OK) {
        s_parse_error(resp.body, resp.body_len, error);
        err = stripe_api_map_error(resp.status, error->type, error->code);
    } else if (resp.error[0]) {
        snprintf(error->message, sizeof error->message, "%s", resp.error);
    }
    /* A declined card or a bad request is the user's outcome; the rest is ours or Stripe's. */
    ob_log_level_t level = err == OB_ERR_PAYMENT || err == OB_ERR_NOT_FOUND || err == OB_ERR_INVALID ? OB_LOG_INFO
                           : err == OB_ERR_TRANSIENT                                                 ? OB_LOG_WARN
                                                                                                     : OB_LOG_ERROR;
    ob_log(level, NULL, "stripe %s %s -> %ld %s/%s (%s) attempts=%d stripe_request_id=%s", method, path, resp.status,
           error->type[0] ? error->type : "-", error->code[0] ? error->code : "-", ob_err_name(err), resp.attempts,
           error->request_id[0] ? error->request_id : "-");
    ob_http_response_reset(&resp);
    return err;
}

/*  "/v1/<collection>/<id>" into buf; false when the id is unsafe. */
static bool
s_object_path(char *buf, size_t size, const char *collection, const char *id)
{
    if (!s_valid_id(id))
        return false;
    int n = snprintf(buf, size, "/v1/%s/%s", collection, id);
    return n > 0 && (size_t)n < size;
}

/*  Sends form (and destroys it), mapping a failed build to OB_ERR_INTERNAL. */
static ob_err_t
s_send_form(stripe_api_t *self, const char *method, const char *path, stripe_form_t **form_p, const char *idempotency_key,
            json_t **result, stripe_error_t *error)
{
    if (!*form_p) {
        if (error)
            memset(error, 0, sizeof *error);
        if (result)
            *result = NULL;
        return OB_ERR_INTERNAL;
    }
    ob_err_t err = s_call(self, method, path, *form_p, idempotency_key, result, error);
    stripe_form_destroy(form_p);
    return err;
}

static ob_err_t
s_invalid(json_t **result, stripe_error_t *error, const char *why)
{
    if (result)
        *result = NULL;
    if (error) {
        memset(error, 0, sizeof *error);
        snprintf(error->message, sizeof error->message, "%s", why);
    }
    return OB_ERR_INVALID;
}

ob_err_t
stripe_api_create_customer(stripe_api_t *self, const char *idempotency_key, const char *email, const char *user_id, json_t **result,
                           stripe_error_t *error)
{
    stripe_form_t *form = stripe_form_new();
    if (email)
        stripe_form_add(form, "email", email);
    if (user_id)
        stripe_form_add(form, "metadata[user_id]", user_id);
    return s_send_form(self, "POST", "/v1/customers", &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_retrieve_customer(stripe_api_t *self, const char *customer_id, json_t **result, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "customers", customer_id))
        return s_invalid(result, error, "bad customer id");
    return s_call(self, "GET", path, NULL, NULL, result, error);
}

ob_err_t
stripe_api_create_checkout_session(stripe_api_t *self, const char *idempotency_key, const stripe_checkout_params_t *params,
                                   json_t **result, stripe_error_t *error)
{
    if (!params || !s_valid_id(params->customer) || !s_valid_id(params->price_id) || !params->success_url)
        return s_invalid(result, error, "checkout needs a customer, a price and a success_url");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "mode", "subscription");
    stripe_form_add(form, "customer", params->customer);
    stripe_form_add(form, "line_items[0][price]", params->price_id);
    stripe_form_add(form, "line_items[0][quantity]", "1");
    stripe_form_add(form, "success_url", params->success_url);
    if (params->cancel_url)
        stripe_form_add(form, "cancel_url", params->cancel_url);
    if (params->client_reference_id)
        stripe_form_add(form, "client_reference_id", params->client_reference_id);
    if (params->user_id) {
        stripe_form_add(form, "metadata[user_id]", params->user_id);
        stripe_form_add(form, "subscription_data[metadata][user_id]", params->user_id);
    }
    if (params->plan_id) {
        stripe_form_add(form, "metadata[plan_id]", params->plan_id);
        stripe_form_add(form, "subscription_data[metadata][plan_id]", params->plan_id);
    }
    return s_send_form(self, "POST", "/v1/checkout/sessions", &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_create_portal_session(stripe_api_t *self, const char *idempotency_key, const char *customer_id, const char *return_url,
                                 json_t **result, stripe_error_t *error)
{
    if (!s_valid_id(customer_id))
        return s_invalid(result, error, "bad customer id");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "customer", customer_id);
    if (self && self->portal_configuration[0])
        stripe_form_add(form, "configuration", self->portal_configuration);
    if (return_url)
        stripe_form_add(form, "return_url", return_url);
    return s_send_form(self, "POST", "/v1/billing_portal/sessions", &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_list_payment_methods(stripe_api_t *self, const char *customer_id, json_t **result, stripe_error_t *error)
{
    if (!s_valid_id(customer_id))
        return s_invalid(result, error, "bad customer id");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "customer", customer_id);
    stripe_form_add(form, "type", "card");
    stripe_form_add(form, "limit", "100");
    return s_send_form(self, "GET", "/v1/payment_methods", &form, NULL, result, error);
}

ob_err_t
stripe_api_list_subscriptions(stripe_api_t *self, const char *starting_after, json_t **result, stripe_error_t *error)
{
    if (starting_after && !s_valid_id(starting_after))
        return s_invalid(result, error, "bad subscription id");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "status", "all");
    stripe_form_add(form, "limit", "100");
    if (starting_after)
        stripe_form_add(form, "starting_after", starting_after);
    return s_send_form(self, "GET", "/v1/subscriptions", &form, NULL, result, error);
}

ob_err_t
stripe_api_retrieve_subscription(stripe_api_t *self, const char *subscription_id, json_t **result, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "subscriptions", subscription_id))
        return s_invalid(result, error, "bad subscription id");
    return s_call(self, "GET", path, NULL, NULL, result, error);
}

ob_err_t
stripe_api_update_subscription_cancel_at_period_end(stripe_api_t *self, const char *idempotency_key, const char *subscription_id,
                                                    bool cancel_at_period_end, json_t **result, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "subscriptions", subscription_id))
        return s_invalid(result, error, "bad subscription id");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add_bool(form, "cancel_at_period_end", cancel_at_period_end);
    return s_send_form(self, "POST", path, &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_cancel_subscription_now(stripe_api_t *self, const char *subscription_id, json_t **result, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "subscriptions", subscription_id))
        return s_invalid(result, error, "bad subscription id");
    return s_call(self, "DELETE", path, NULL, NULL, result, error);
}

ob_err_t
stripe_api_update_subscription_trial_end(stripe_api_t *self, const char *idempotency_key, const char *subscription_id,
                                         int64_t trial_end, json_t **result, stripe_error_t *error)
{
    char path[160], end[24];
    if (!s_object_path(path, sizeof path, "subscriptions", subscription_id) || trial_end <= 0)
        return s_invalid(result, error, "bad subscription id or trial end");
    snprintf(end, sizeof end, "%lld", (long long)trial_end);
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "trial_end", end);
    stripe_form_add(form, "proration_behavior", "none");
    return s_send_form(self, "POST", path, &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_update_subscription_price(stripe_api_t *self, const char *idempotency_key, const char *subscription_id,
                                     const char *item_id, const char *new_price_id, json_t **result, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "subscriptions", subscription_id) || !s_valid_id(item_id) || !s_valid_id(new_price_id))
        return s_invalid(result, error, "bad subscription, item or price id");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "items[0][id]", item_id);
    stripe_form_add(form, "items[0][price]", new_price_id);
    stripe_form_add(form, "proration_behavior", "create_prorations");
    return s_send_form(self, "POST", path, &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_list_prices_by_lookup_keys(stripe_api_t *self, const char *const *lookup_keys, size_t count, json_t **result,
                                      stripe_error_t *error)
{
    if (!lookup_keys || count == 0 || count > STRIPE_MAX_LOOKUP_KEYS)
        return s_invalid(result, error, "between 1 and 10 lookup keys");
    stripe_form_t *form = stripe_form_new();
    for (size_t i = 0; i < count; i++)
        stripe_form_addf(form, lookup_keys[i], "lookup_keys[%zu]", i);
    stripe_form_add(form, "limit", "100");
    return s_send_form(self, "GET", "/v1/prices", &form, NULL, result, error);
}

ob_err_t
stripe_api_create_product(stripe_api_t *self, const char *idempotency_key, const char *name, const char *plan_id, json_t **result,
                          stripe_error_t *error)
{
    if (!name || !*name)
        return s_invalid(result, error, "a product needs a name");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "name", name);
    if (plan_id)
        stripe_form_add(form, "metadata[plan_id]", plan_id);
    return s_send_form(self, "POST", "/v1/products", &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_create_price(stripe_api_t *self, const char *idempotency_key, const stripe_price_params_t *params, json_t **result,
                        stripe_error_t *error)
{
    if (!params || !s_valid_id(params->product) || !params->currency || !*params->currency || params->unit_amount < 0)
        return s_invalid(result, error, "a price needs a product, a currency and an amount >= 0");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "product", params->product);
    stripe_form_add_int(form, "unit_amount", params->unit_amount);
    stripe_form_add(form, "currency", params->currency);
    if (params->interval)
        stripe_form_add(form, "recurring[interval]", params->interval);
    if (params->lookup_key) {
        stripe_form_add(form, "lookup_key", params->lookup_key);
        stripe_form_add_bool(form, "transfer_lookup_key", true);
    }
    if (params->plan_id)
        stripe_form_add(form, "metadata[plan_id]", params->plan_id);
    return s_send_form(self, "POST", "/v1/prices", &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_retrieve_balance(stripe_api_t *self, json_t **result, stripe_error_t *error)
{
    return s_call(self, "GET", "/v1/balance", NULL, NULL, result, error);
}

int
stripe_api_set_portal_configuration(stripe_api_t *self, const char *configuration_id)
{
    if (!self || (configuration_id && *configuration_id && !s_valid_id(configuration_id)))
        return -1;
    snprintf(self->portal_configuration, sizeof self->portal_configuration, "%s", configuration_id ? configuration_id : "");
    return 0;
}

ob_err_t
stripe_api_archive_price(stripe_api_t *self, const char *idempotency_key, const char *price_id, json_t **result,
                         stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "prices", price_id))
        return s_invalid(result, error, "a price id is [A-Za-z0-9_]");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add_bool(form, "active", false);
    return s_send_form(self, "POST", path, &form, idempotency_key, result, error);
}

const char *const stripe_handled_events[] = {"checkout.session.completed",
                                             "customer.subscription.created",
                                             "customer.subscription.updated",
                                             "customer.subscription.deleted",
                                             "customer.subscription.trial_will_end",
                                             "invoice.paid",
                                             "invoice.payment_failed",
                                             NULL};

ob_err_t
stripe_api_list_webhook_endpoints(stripe_api_t *self, json_t **result, stripe_error_t *error)
{
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "limit", "100");
    return s_send_form(self, "GET", "/v1/webhook_endpoints", &form, NULL, result, error);
}

static void
s_add_events(stripe_form_t *form, const char *const *events)
{
    for (size_t i = 0; events && events[i]; i++)
        stripe_form_addf(form, events[i], "enabled_events[%zu]", i);
}

ob_err_t
stripe_api_create_webhook_endpoint(stripe_api_t *self, const char *idempotency_key, const char *url, const char *const *events,
                                   const char *description, json_t **result, stripe_error_t *error)
{
    if (!url || !*url || !events || !events[0])
        return s_invalid(result, error, "a webhook endpoint needs a url and events");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "url", url);
    s_add_events(form, events);
    stripe_form_add(form, "api_version", STRIPE_API_VERSION);
    if (description)
        stripe_form_add(form, "description", description);
    return s_send_form(self, "POST", "/v1/webhook_endpoints", &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_update_webhook_endpoint(stripe_api_t *self, const char *idempotency_key, const char *endpoint_id, const char *url,
                                   const char *const *events, json_t **result, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "webhook_endpoints", endpoint_id) || !url || !events || !events[0])
        return s_invalid(result, error, "an endpoint id, a url and events");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "url", url);
    s_add_events(form, events);
    stripe_form_add_bool(form, "disabled", false);
    return s_send_form(self, "POST", path, &form, idempotency_key, result, error);
}

ob_err_t
stripe_api_delete_webhook_endpoint(stripe_api_t *self, const char *endpoint_id, stripe_error_t *error)
{
    char path[160];
    if (!s_object_path(path, sizeof path, "webhook_endpoints", endpoint_id))
        return s_invalid(NULL, error, "an endpoint id is [A-Za-z0-9_]");
    return s_call(self, "DELETE", path, NULL, NULL, NULL, error);
}

ob_err_t
stripe_api_list_portal_configurations(stripe_api_t *self, json_t **result, stripe_error_t *error)
{
    stripe_form_t *form = stripe_form_new();
    stripe_form_add_bool(form, "active", true);
    stripe_form_add(form, "limit", "100");
    return s_send_form(self, "GET", "/v1/billing_portal/configurations", &form, NULL, result, error);
}

ob_err_t
stripe_api_save_portal_configuration(stripe_api_t *self, const char *idempotency_key, const char *configuration_id,
                                     stripe_form_t **form_p, json_t **result, stripe_error_t *error)
{
    char path[192] = "/v1/billing_portal/configurations";
    if (configuration_id && !s_object_path(path, sizeof path, "billing_portal/configurations", configuration_id)) {
        stripe_form_destroy(form_p);
        return s_invalid(result, error, "a configuration id is [A-Za-z0-9_]");
    }
    return s_send_form(self, "POST", path, form_p, idempotency_key, result, error);
}

ob_err_t
stripe_api_list_invoices(stripe_api_t *self, const char *customer_id, int limit, json_t **result, stripe_error_t *error)
{
    if (!s_valid_id(customer_id))
        return s_invalid(result, error, "bad customer id");
    if (limit < 1 || limit > 100)
        return s_invalid(result, error, "limit must be 1..100");
    stripe_form_t *form = stripe_form_new();
    stripe_form_add(form, "customer", customer_id);
    stripe_form_add_int(form, "limit", limit);
    return s_send_form(self, "GET", "/v1/invoices", &form, NULL, result, error);
}
