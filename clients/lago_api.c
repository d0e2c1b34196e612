/*  lago_api - see lago_api.h. Request and response shapes follow Lago's API
 *  reference: every resource is wrapped in a root key ({"customer":{...}}),
 *  except the events batch ({"events":[...]}); errors are
 *  {"status":422,"error":"Unprocessable Entity","code":"validation_errors",
 *   "error_details":{"field":["value_already_exist"]}}.
 */
#include "clients/lago_api.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_http.h"
#include "common/ob_log.h"

#define ALREADY_EXISTS "value_already_exist"

struct _lago_api_t {
    ob_http_t *http;
    char *base_url;    /* without a trailing slash */
    char *auth_header; /* "Authorization: Bearer <key>": a secret, never logged */
    long timeout_ms;
    int max_attempts;
    long backoff_base_ms;
};

static void
copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static bool
is_blank(const char *s)
{
    return s == NULL || *s == '\0';
}

/*  Refuses bytes that would let a value break out of a header line. */
static bool
is_header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static ob_err_t
refuse(lago_api_error_t *err, const char *reason)
{
    memset(err, 0, sizeof(*err));
    copy_str(err->message, sizeof(err->message), reason);
    return OB_ERR_INVALID;
}

/*  Percent-encodes a path segment (RFC 3986 unreserved characters pass). */
static char *
escape_segment(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *p = out;
    if (!out)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("-._~", *c)) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

lago_api_t *
lago_api_new(const char *api_url, const char *api_key)
{
    if (is_blank(api_url) || is_blank(api_key) || !is_header_safe(api_key))
        return NULL;
    lago_api_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->base_url = strdup(api_url);
    if (asprintf(&self->auth_header, "Authorization: Bearer %s", api_key) < 0)
        self->auth_header = NULL;
    self->http = ob_http_new();
    if (!self->base_url || !self->auth_header || !self->http) {
        lago_api_destroy(&self);
        return NULL;
    }
    size_t len = strlen(self->base_url);
    while (len > 0 && self->base_url[len - 1] == '/')
        self->base_url[--len] = '\0';
    return self;
}

void
lago_api_destroy(lago_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lago_api_t *self = *self_p;
    ob_http_destroy(&self->http);
    if (self->auth_header) {
        explicit_bzero(self->auth_header, strlen(self->auth_header));
        free(self->auth_header);
    }
    free(self->base_url);
    free(self);
    *self_p = NULL;
}

void
lago_api_set_retry(lago_api_t *self, long timeout_ms, int max_attempts, long backoff_base_ms)
{
    self->timeout_ms = timeout_ms;
    self->max_attempts = max_attempts;
    self->backoff_base_ms = backoff_base_ms;
}

/*  Appends "key: a,b" lines of error_details (nested one level for the
 *  batch's per-index errors) to buf; notes whether value_already_exist is
 *  among them. */
static void
summarize_details(const json_t *details, const char *prefix, char *buf, size_t cap, bool *already_exists)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)details, key, value)
    {
        char name[96];
        snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
        if (json_is_object(value) && !*prefix) {
            summarize_details(value, name, buf, cap, already_exists);
            continue;
        }
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s:", len ? "; " : "", name);
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            const char *text = json_string_value(item);
            if (!text)
                continue;
            if (strcmp(text, ALREADY_EXISTS) == 0)
                *already_exists = true;
            len = strlen(buf);
            snprintf(buf + len, cap - len, "%s%s", i ? "," : " ", text);
        }
    }
}

static ob_err_t
error_from_json(long status, const json_t *reply, lago_api_error_t *err)
{
    memset(err, 0, sizeof(*err));
    err->status = status;
    if (status >= 200 && status < 300)
        return OB_OK;
    if (status == 0) {
        copy_str(err->message, sizeof(err->message), "no response from Lago");
        return OB_ERR_TRANSIENT;
    }

    char details[192] = "";
    const json_t *error_details = json_object_get(reply, "error_details");
    if (json_is_object(error_details))
        summarize_details(error_details, "", details, sizeof(details), &err->already_exists);
    copy_str(err->code, sizeof(err->code), json_string_value(json_object_get(reply, "code")));
    const char *text = json_string_value(json_object_get(reply, "error"));
    snprintf(err->message, sizeof(err->message), "%s%s%s", text ? text : "HTTP error", *details ? ": " : "", details);

    if (status == 429 || status >= 500)
        return OB_ERR_TRANSIENT;
    switch (status) {
    case 400:
        return OB_ERR_INVALID;
    case 404:
        return OB_ERR_NOT_FOUND;
    case 409:
        return OB_ERR_CONFLICT;
    case 422:
        return err->already_exists ? OB_ERR_CONFLICT : OB_ERR_INVALID;
    default: /* 401 (our key is wrong), 403 (premium feature), ...: nothing a retry fixes */
        return OB_ERR_UPSTREAM;
    }
}

ob_err_t
lago_api_error_from_response(long status, const char *body, lago_api_error_t *err)
{
    json_t *reply = body ? json_loads(body, 0, NULL) : NULL;
    ob_err_t rc = error_from_json(status, reply, err);
    json_decref(reply);
    return rc;
}

/*  One logical request. body (may be NULL) is borrowed. On any response with
 *  a JSON body, *reply_out (if given) receives it, error or not; the caller
 *  decrefs it. op names the call in logs. */
static ob_err_t
call(lago_api_t *self, const char *op, const char *method, const char *path, const json_t *body, json_t **reply_out,
     lago_api_error_t *err)
{
    if (reply_out)
        *reply_out = NULL;
    char *url = NULL, *text = NULL;
    if (asprintf(&url, "%s%s", self->base_url, path) < 0) {
        memset(err, 0, sizeof(*err));
        copy_str(err->message, sizeof(err->message), "out of memory");
        return OB_ERR_INTERNAL;
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT))) {
        free(url);
        memset(err, 0, sizeof(*err));
        copy_str(err->message, sizeof(err->message), "out of memory");
        return OB_ERR_INTERNAL;
    }
    const char *headers[] = {self->auth_header, "Content-Type: application/json", "Accept: application/json", NULL};
    ob_http_request_t req = {
        .method = method,
        .url = url,
        .headers = headers,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .timeout_ms = self->timeout_ms,
        .max_attempts = self->max_attempts,
        .backoff_base_ms = self->backoff_base_ms,
    };
    ob_http_response_t resp = {0};
    ob_err_t rc = ob_http_send(self->http, &req, &resp);
    json_t *reply = NULL;
    if (rc == OB_OK) {
        reply = resp.body && resp.body_len ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        rc = error_from_json(resp.status, reply, err);
        if (rc == OB_OK && reply_out && !json_is_object(reply)) {
            err->status = resp.status;
            copy_str(err->message, sizeof(err->message), "Lago answered without a JSON object");
            rc = OB_ERR_UPSTREAM;
        }
    } else {
        /* TRANSIENT: no answer after every attempt; INVALID: a malformed URL
         * (LAGO_API_URL); UPSTREAM: an oversized answer. */
        memset(err, 0, sizeof(*err));
        err->status = resp.status;
        snprintf(err->message, sizeof(err->message), "%s: %.200s",
                 rc == OB_ERR_TRANSIENT ? "no response from Lago" : "request failed", *resp.error ? resp.error : ob_err_name(rc));
    }
    if (rc != OB_OK)
        ob_log(rc == OB_ERR_NOT_FOUND || rc == OB_ERR_CONFLICT ? OB_LOG_INFO : OB_LOG_WARN, NULL,
               "lago: %s: %s (status %ld, code %s, %d attempts)", op, ob_err_name(rc), err->status, *err->code ? err->code : "-",
               resp.attempts);
    if (reply_out)
        *reply_out = reply;
    else
        json_decref(reply);
    ob_http_response_reset(&resp);
    free(text);
    free(url);
    return rc;
}

/*  "/api/v1/<collection>/<escaped id>" into a new string, or NULL. */
static char *
resource_path(const char *collection, const char *id)
{
    char *escaped = escape_segment(id), *path = NULL;
    if (escaped && asprintf(&path, "/api/v1/%s/%s", collection, escaped) < 0)
        path = NULL;
    free(escaped);
    return path;
}

static json_t *
event_json(const lago_event_t *event)
{
    if (is_blank(event->transaction_id) || is_blank(event->external_subscription_id) || is_blank(event->code))
        return NULL;
    json_t *properties = event->properties_json ? json_loads(event->properties_json, 0, NULL) : json_object();
    if (!json_is_object(properties)) {
        json_decref(properties);
        return NULL;
    }
    json_t *object = json_pack("{s:s, s:s, s:s, s:o}", "transaction_id", event->transaction_id, "external_subscription_id",
                               event->external_subscription_id, "code", event->code, "properties", properties);
    if (object && event->timestamp != 0)
        json_object_set_new(object, "timestamp", json_integer(event->timestamp));
    return object;
}

static json_t *
events_batch(const lago_event_t *events, size_t n)
{
    if (n == 0 || n > LAGO_API_BATCH_MAX)
        return NULL;
    json_t *array = json_array();
    for (size_t i = 0; array && i < n; i++) {
        json_t *event = event_json(&events[i]);
        if (!event || json_array_append_new(array, event) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array ? json_pack("{s:o}", "events", array) : NULL;
}

char *
lago_api_events_batch_json(const lago_event_t *events, size_t n)
{
    json_t *body = events_batch(events, n);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/*  Marks in dup[] the events a 422 rejected only because their
 *  transaction_id exists. Returns how many, or -1 if any other error is
 *  among them (then the batch is really invalid). */
static int
batch_duplicates(const json_t *reply, size_t n, bool *dup)
{
    const json_t *details = json_object_get(reply, "error_details");
    if (!json_is_object(details) || json_object_size(details) == 0)
        return -1;
    int count = 0;
    const char *key;
    json_t *fields;
    json_object_foreach((json_t *)details, key, fields)
    {
        char *end;
        errno = 0;
        unsigned long index = strtoul(key, &end, 10);
        if (errno || *end || end == key || index >= n || !json_is_object(fields) || json_object_size(fields) != 1)
            return -1;
        json_t *codes = json_object_get(fields, "transaction_id");
        if (!json_is_array(codes) || json_array_size(codes) == 0)
            return -1;
        size_t i;
        json_t *code;
        json_array_foreach(codes, i, code)
        {
            if (!json_is_string(code) || strcmp(json_string_value(code), ALREADY_EXISTS) != 0)
                return -1;
        }
        if (!dup[index])
            count++;
        dup[index] = true;
    }
    return count;
}

ob_err_t
lago_api_send_events_batch(lago_api_t *self, const lago_event_t *events, size_t n, lago_api_error_t *err)
{
    json_t *body = events_batch(events, n);
    if (!body)
        return refuse(err, n > LAGO_API_BATCH_MAX ? "more than 100 events in a batch" : "invalid or empty batch");

    json_t *reply = NULL;
    ob_err_t rc = call(self, "send_events_batch", "POST", "/api/v1/events/batch", body, &reply, err);
    bool *dup = rc == OB_ERR_CONFLICT && err->status == 422 ? calloc(n, sizeof(bool)) : NULL;
    int dups = dup ? batch_duplicates(reply, n, dup) : -1;
    json_decref(reply);
    json_decref(body);
    if (dups <= 0) {
        free(dup);
        return rc == OB_ERR_CONFLICT && err->status == 422 ? OB_ERR_INVALID : rc; /* a batch is rejected whole */
    }

    /* A replay: drop what Lago already has and send the rest once. */
    lago_event_t *rest = (size_t)dups < n ? calloc(n - (size_t)dups, sizeof(*rest)) : NULL;
    size_t kept = 0;
    for (size_t i = 0; rest && i < n; i++)
        if (!dup[i])
            rest[kept++] = events[i];
    free(dup);
    ob_log_info("lago: send_events_batch: %d of %zu events already ingested", dups, n);
    if ((size_t)dups == n) {
        memset(err, 0, sizeof(*err));
        return OB_OK;
    }
    if (!rest) {
        memset(err, 0, sizeof(*err));
        copy_str(err->message, sizeof(err->message), "out of memory");
        return OB_ERR_INTERNAL;
    }
    body = events_batch(rest, kept);
    free(rest);
    rc = body ? call(self, "send_events_batch", "POST", "/api/v1/events/batch", body, NULL, err) : OB_ERR_INTERNAL;
    json_decref(body);
    return rc == OB_ERR_CONFLICT && err->status == 422 ? OB_ERR_INVALID : rc;
}

ob_err_t
lago_api_upsert_customer(lago_api_t *self, const char *external_id, const char *email, const char *name, lago_api_error_t *err)
{
    if (is_blank(external_id))
        return refuse(err, "external_id is required");
    json_t *customer = json_pack("{s:s}", "external_id", external_id);
    if (customer && email)
        json_object_set_new(customer, "email", json_string(email));
    if (customer && name)
        json_object_set_new(customer, "name", json_string(name));
    json_t *body = customer ? json_pack("{s:o}", "customer", customer) : NULL;
    /* jansson refuses invalid UTF-8: json_string() then yields NULL and the member is silently absent */
    if (!body || (email && !json_object_get(customer, "email")) || (name && !json_object_get(customer, "name"))) {
        json_decref(body);
        return refuse(err, "customer fields must be UTF-8");
    }
    ob_err_t rc = call(self, "upsert_customer", "POST", "/api/v1/customers", body, NULL, err);
    json_decref(body);
    return rc;
}

static void
read_subscription(const json_t *subscription, lago_subscription_t *out)
{
    memset(out, 0, sizeof(*out));
    copy_str(out->lago_id, sizeof(out->lago_id), json_string_value(json_object_get(subscription, "lago_id")));
    copy_str(out->external_id, sizeof(out->external_id), json_string_value(json_object_get(subscription, "external_id")));
    copy_str(out->plan_code, sizeof(out->plan_code), json_string_value(json_object_get(subscription, "plan_code")));
    copy_str(out->status, sizeof(out->status), json_string_value(json_object_get(subscription, "status")));
    copy_str(out->next_plan_code, sizeof(out->next_plan_code), json_string_value(json_object_get(subscription, "next_plan_code")));
}

ob_err_t
lago_api_create_subscription(lago_api_t *self, const char *external_customer_id, const char *external_id, const char *plan_code,
                             const char *billing_time, lago_subscription_t *out, lago_api_error_t *err)
{
    if (is_blank(external_customer_id) || is_blank(external_id) || is_blank(plan_code))
        return refuse(err, "external_customer_id, external_id and plan_code are required");
    json_t *subscription = json_pack("{s:s, s:s, s:s}", "external_customer_id", external_customer_id, "external_id", external_id,
                                     "plan_code", plan_code);
    if (subscription && billing_time)
        json_object_set_new(subscription, "billing_time", json_string(billing_time));
    json_t *body = subscription ? json_pack("{s:o}", "subscription", subscription) : NULL;
    if (!body)
        return refuse(err, "subscription fields must be UTF-8");
    json_t *reply = NULL;
    ob_err_t rc = call(self, "create_subscription", "POST", "/api/v1/subscriptions", body, out ? &reply : NULL, err);
    if (rc == OB_OK && out)
        read_subscription(json_object_get(reply, "subscription"), out);
    json_decref(reply);
    json_decref(body);
    return rc;
}

ob_err_t
lago_api_terminate_subscription(lago_api_t *self, const char *external_id, lago_api_error_t *err)
{
    if (is_blank(external_id))
        return refuse(err, "external_id is required");
    char *path = resource_path("subscriptions", external_id);
    if (!path)
        return refuse(err, "out of memory");
    ob_err_t rc = call(self, "terminate_subscription", "DELETE", path, NULL, NULL, err);
    free(path);
    if (rc == OB_ERR_NOT_FOUND) {
        memset(err, 0, sizeof(*err));
        return OB_OK;
    }
    return rc;
}

ob_err_t
lago_api_create_billable_metric(lago_api_t *self, const char *code, const char *name, lago_aggregation_t aggregation,
                                lago_api_error_t *err)
{
    if (is_blank(code) || is_blank(name))
        return refuse(err, "code and name are required");
    json_t *metric = json_pack("{s:s, s:s, s:s, s:b}", "code", code, "name", name, "aggregation_type",
                               aggregation == LAGO_AGG_COUNT ? "count_agg" : "sum_agg", "recurring", 0);
    if (metric && aggregation != LAGO_AGG_COUNT)
        json_object_set_new(metric, "field_name", json_string(LAGO_API_QUANTITY_FIELD));
    json_t *body = metric ? json_pack("{s:o}", "billable_metric", metric) : NULL;
    if (!body)
        return refuse(err, "metric fields must be UTF-8");
    ob_err_t rc = call(self, "create_billable_metric", "POST", "/api/v1/billable_metrics", body, NULL, err);
    json_decref(body);
    return rc;
}

ob_err_t
lago_api_get_billable_metric(lago_api_t *self, const char *code, lago_billable_metric_t *out, lago_api_error_t *err)
{
    if (is_blank(code))
        return refuse(err, "code is required");
    char *path = resource_path("billable_metrics", code);
    if (!path)
        return refuse(err, "out of memory");
    json_t *reply = NULL;
    ob_err_t rc = call(self, "get_billable_metric", "GET", path, NULL, &reply, err);
    free(path);
    if (rc == OB_OK) {
        const json_t *metric = json_object_get(reply, "billable_metric");
        memset(out, 0, sizeof(*out));
        copy_str(out->lago_id, sizeof(out->lago_id), json_string_value(json_object_get(metric, "lago_id")));
        copy_str(out->code, sizeof(out->code), json_string_value(json_object_get(metric, "code")));
        copy_str(out->name, sizeof(out->name), json_string_value(json_object_get(metric, "name")));
        copy_str(out->aggregation_type, sizeof(out->aggregation_type),
                 json_string_value(json_object_get(metric, "aggregation_type")));
        copy_str(out->field_name, sizeof(out->field_name), json_string_value(json_object_get(metric, "field_name")));
        if (!*out->lago_id) {
            copy_str(err->message, sizeof(err->message), "billable_metric without lago_id");
            rc = OB_ERR_UPSTREAM;
        }
    }
    json_decref(reply);
    return rc;
}

/*  Lago's charges reference a metric by its Lago id, not by code. */
static json_t *
charges_json(lago_api_t *self, const lago_plan_spec_t *plan, ob_err_t *rc, lago_api_error_t *err)
{
    json_t *charges = json_array();
    for (size_t i = 0; charges && i < plan->charges_count; i++) {
        const lago_charge_t *charge = &plan->charges[i];
        lago_billable_metric_t metric;
        if (is_blank(charge->metric_code) || is_blank(charge->unit_amount)) {
            *rc = refuse(err, "a charge needs metric_code and unit_amount");
        } else if ((*rc = lago_api_get_billable_metric(self, charge->metric_code, &metric, err)) == OB_OK) {
            json_t *item = json_pack("{s:s, s:s, s:b, s:{s:s}}", "billable_metric_id", metric.lago_id, "charge_model", "standard",
                                     "pay_in_advance", 0, "properties", "amount", charge->unit_amount);
            if (!item || json_array_append_new(charges, item) != 0)
                *rc = refuse(err, "invalid charge");
        }
        if (*rc != OB_OK) {
            json_decref(charges);
            return NULL;
        }
    }
    if (!charges)
        *rc = refuse(err, "out of memory");
    return charges;
}

static ob_err_t
save_plan(lago_api_t *self, const lago_plan_spec_t *plan, bool update, lago_api_error_t *err)
{
    if (is_blank(plan->code) || is_blank(plan->name) || is_blank(plan->interval) || is_blank(plan->currency) ||
        plan->amount_cents < 0 || (plan->charges_count > 0 && !plan->charges))
        return refuse(err, "code, name, interval, currency and amount_cents >= 0 are required");
    ob_err_t rc = OB_OK;
    json_t *charges = charges_json(self, plan, &rc, err);
    if (!charges)
        return rc;
    json_t *body = json_pack("{s:{s:s, s:s, s:s, s:I, s:s, s:b, s:o}}", "plan", "code", plan->code, "name", plan->name, "interval",
                             plan->interval, "amount_cents", (json_int_t)plan->amount_cents, "amount_currency", plan->currency,
                             "pay_in_advance", plan->pay_in_advance, "charges", charges);
    if (!body)
        return refuse(err, "plan fields must be UTF-8");
    char *path = update ? resource_path("plans", plan->code) : NULL;
    if (update && !path) {
        json_decref(body);
        return refuse(err, "out of memory");
    }
    rc = update ? call(self, "update_plan", "PUT", path, body, NULL, err)
                : call(self, "create_plan", "POST", "/api/v1/plans", body, NULL, err);
    free(path);
    json_decref(body);
    return rc;
}

ob_err_t
lago_api_create_plan(lago_api_t *self, const lago_plan_spec_t *plan, lago_api_error_t *err)
{
    return save_plan(self, plan, false, err);
}

ob_err_t
lago_api_update_plan(lago_api_t *self, const lago_plan_spec_t *plan, lago_api_error_t *err)
{
    return save_plan(self, plan, true, err);
}

ob_err_t
lago_api_get_plan_json(lago_api_t *self, const char *code, json_t **reply, lago_api_error_t *err)
{
    *reply = NULL;
    if (is_blank(code))
        return refuse(err, "code is required");
    char *path = resource_path("plans", code);
    if (!path)
        return refuse(err, "out of memory");
    ob_err_t rc = call(self, "get_plan", "GET", path, NULL, reply, err);
    free(path);
    if (rc != OB_OK) {
        json_decref(*reply);
        *reply = NULL;
    }
    return rc;
}

ob_err_t
lago_api_list_webhook_endpoints(lago_api_t *self, json_t **reply, lago_api_error_t *err)
{
    ob_err_t rc = call(self, "list_webhook_endpoints", "GET", "/api/v1/webhook_endpoints?per_page=100", NULL, reply, err);
    if (rc != OB_OK) {
        json_decref(*reply);
        *reply = NULL;
    }
    return rc;
}

ob_err_t
lago_api_save_webhook_endpoint(lago_api_t *self, const char *lago_id, const char *url, const char *signature_algo,
                               lago_api_error_t *err)
{
    if (is_blank(url) || is_blank(signature_algo))
        return refuse(err, "webhook_url and signature_algo are required");
    json_t *body = json_pack("{s:{s:s, s:s}}", "webhook_endpoint", "webhook_url", url, "signature_algo", signature_algo);
    if (!body)
        return refuse(err, "the url must be UTF-8");
    char *path = lago_id ? resource_path("webhook_endpoints", lago_id) : NULL;
    ob_err_t rc;
    if (lago_id && !path)
        rc = refuse(err, "out of memory");
    else if (lago_id)
        rc = call(self, "update_webhook_endpoint", "PUT", path, body, NULL, err);
    else
        rc = call(self, "create_webhook_endpoint", "POST", "/api/v1/webhook_endpoints", body, NULL, err);
    free(path);
    json_decref(body);
    return rc;
}

ob_err_t
lago_api_get_webhook_public_key(lago_api_t *self, char *out, size_t cap, lago_api_error_t *err)
{
    json_t *reply = NULL;
    ob_err_t rc = call(self, "webhook_public_key", "GET", "/api/v1/webhooks/json_public_key", NULL, &reply, err);
    const char *key = json_string_value(json_object_get(json_object_get(reply, "webhook"), "public_key"));
    if (rc == OB_OK && (!key || !*key || strlen(key) >= cap)) {
        copy_str(err->message, sizeof(err->message), "Lago's answer has no webhook.public_key");
        rc = OB_ERR_UPSTREAM;
    }
    if (rc == OB_OK)
        copy_str(out, cap, key);
    json_decref(reply);
    return rc;
}

ob_err_t
lago_api_list_subscriptions(lago_api_t *self, int page, json_t **result, lago_api_error_t *err)
{
    *result = NULL;
    if (page < 1)
        return refuse(err, "page starts at 1");
    char path[160];
    snprintf(path, sizeof path, "/api/v1/subscriptions?page=%d&per_page=100&status%%5B%%5D=active&status%%5B%%5D=terminated", page);
    json_t *reply = NULL;
    ob_err_t rc = call(self, "list_subscriptions", "GET", path, NULL, &reply, err);
    if (rc == OB_OK && !json_is_array(json_object_get(reply, "subscriptions"))) {
        copy_str(err->message, sizeof(err->message), "the answer has no subscriptions list");
        rc = OB_ERR_UPSTREAM;
    }
    if (rc == OB_OK)
        *result = reply;
    else
        json_decref(reply);
    return rc;
}

static void
iso_time(char *out, size_t cap, long long t)
{
    time_t seconds = (time_t)t;
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(out, cap, "%Y-%m-%dT%H%%3A%M%%3A%SZ", &tm);
}

ob_err_t
lago_api_list_events(lago_api_t *self, const char *external_subscription_id, long long from, long long to, int page, int per_page,
                     json_t **result, lago_api_error_t *err)
{
    *result = NULL;
    if (is_blank(external_subscription_id) || page < 1 || per_page < 1 || per_page > 100 || from < 0 || to < from)
        return refuse(err, "a subscription, page from 1, per_page 1..100 and from <= to are required");
    char *escaped = escape_segment(external_subscription_id), *path = NULL;
    char since[40], until[40];
    iso_time(since, sizeof since, from);
    iso_time(until, sizeof until, to);
    if (!escaped ||
        asprintf(&path, "/api/v1/events?external_subscription_id=%s&timestamp_from=%s&timestamp_to=%s&page=%d&per_page=%d", escaped,
                 since, until, page, per_page) < 0)
        path = NULL;
    free(escaped);
    if (!path)
        return refuse(err, "out of memory");
    json_t *reply = NULL;
    ob_err_t rc = call(self, "list_events", "GET", path, NULL, &reply, err);
    free(path);
    if (rc == OB_OK && !json_is_array(json_object_get(reply, "events"))) {
        copy_str(err->message, sizeof(err->message), "the answer has no events list");
        rc = OB_ERR_UPSTREAM;
    }
    if (rc == OB_OK)
        *result = reply;
    else
        json_decref(reply);
    return rc;
}

ob_err_t
lago_api_get_plan(lago_api_t *self, const char *code, lago_plan_t *out, lago_api_error_t *err)
{
    if (is_blank(code))
        return refuse(err, "code is required");
    char *path = resource_path("plans", code);
    if (!path)
        return refuse(err, "out of memory");
    json_t *reply = NULL;
    ob_err_t rc = call(self, "get_plan", "GET", path, NULL, &reply, err);
    free(path);
    if (rc == OB_OK) {
        const json_t *plan = json_object_get(reply, "plan");
        memset(out, 0, sizeof(*out));
        copy_str(out->lago_id, sizeof(out->lago_id), json_string_value(json_object_get(plan, "lago_id")));
        copy_str(out->code, sizeof(out->code), json_string_value(json_object_get(plan, "code")));
        copy_str(out->name, sizeof(out->name), json_string_value(json_object_get(plan, "name")));
        copy_str(out->interval, sizeof(out->interval), json_string_value(json_object_get(plan, "interval")));
        copy_str(out->currency, sizeof(out->currency), json_string_value(json_object_get(plan, "amount_currency")));
        out->amount_cents = (int64_t)json_integer_value(json_object_get(plan, "amount_cents"));
        out->charges_count = json_array_size(json_object_get(plan, "charges"));
        if (!*out->lago_id) {
            copy_str(err->message, sizeof(err->message), "plan without lago_id");
            rc = OB_ERR_UPSTREAM;
        }
    }
    json_decref(reply);
    return rc;
}
