/*  usage_events - validation of usage events and authorize requests. */
#include "services/lago-worker/usage_events.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int
usage_metrics_add(usage_metrics_t *self, const char *code, bool quota)
{
    if (self->count >= LAGO_METRICS_MAX || strlen(code) >= sizeof self->code[0])
        return -1;
    snprintf(self->code[self->count], sizeof self->code[0], "%s", code);
    self->quota[self->count++] = quota;
    return 0;
}

bool
usage_metrics_find(const usage_metrics_t *self, const char *code, bool *quota)
{
    for (size_t i = 0; code && i < self->count; i++)
        if (strcmp(self->code[i], code) == 0) {
            if (quota)
                *quota = self->quota[i];
            return true;
        }
    return false;
}

static int
s_refuse(usage_events_problem_t *problem, const char *code, const char *message)
{
    problem->code = code;
    problem->message = message;
    return -1;
}

/*  An identifier: a string of 1..USAGE_EVENTS_ID_MAX bytes without control characters. */
static bool
s_is_id(const json_t *value)
{
    if (!json_is_string(value))
        return false;
    size_t len = json_string_length(value);
    const unsigned char *s = (const unsigned char *)json_string_value(value);
    if (len == 0 || len > USAGE_EVENTS_ID_MAX || strlen((const char *)s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int
s_check_ids(const json_t *object, const usage_metrics_t *metrics, usage_event_t *out, usage_events_problem_t *problem)
{
    const json_t *tx = json_object_get(object, "transaction_id");
    const json_t *user = json_object_get(object, "user_id");
    const json_t *code = json_object_get(object, "code");
    if (!tx)
        return s_refuse(problem, "missing_transaction_id", "transaction_id is required");
    if (!s_is_id(tx))
        return s_refuse(problem, "invalid_transaction_id", "transaction_id must be a string of 1-255 printable bytes");
    if (!user)
        return s_refuse(problem, "missing_user_id", "user_id is required");
    if (!s_is_id(user))
        return s_refuse(problem, "invalid_user_id", "user_id must be a string of 1-255 printable bytes");
    if (!json_is_string(code))
        return s_refuse(problem, "missing_code", "code is required and must be a string");
    if (!usage_metrics_find(metrics, json_string_value(code), NULL))
        return s_refuse(problem, "unknown_code", "code is not a known metric");
    out->transaction_id = json_string_value(tx);
    out->user_id = json_string_value(user);
    out->code = json_string_value(code);
    return 0;
}

int
usage_events_check(const json_t *event, const usage_metrics_t *metrics, double now, usage_event_t *out,
                   usage_events_problem_t *problem)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(event))
        return s_refuse(problem, "invalid_event", "an event must be a JSON object");
    if (s_check_ids(event, metrics, out, problem) != 0)
        return -1;
    const json_t *timestamp = json_object_get(event, "timestamp");
    out->occurred_at = now;
    if (timestamp && !json_is_null(timestamp)) {
        if (!json_is_number(timestamp) || !isfinite(json_number_value(timestamp)))
            return s_refuse(problem, "invalid_timestamp", "timestamp must be Unix seconds (a number)");
        double t = json_number_value(timestamp);
        if (t < now - USAGE_EVENTS_PAST_S)
            return s_refuse(problem, "timestamp_too_old", "timestamp is more than 40 days in the past");
        if (t > now + USAGE_EVENTS_FUTURE_S)
            return s_refuse(problem, "timestamp_in_future", "timestamp is more than 5 minutes in the future");
        out->occurred_at = t;
    }
    out->quantity = 1;
    const json_t *properties = json_object_get(event, "properties");
    if (properties && !json_is_null(properties)) {
        if (!json_is_object(properties))
            return s_refuse(problem, "invalid_properties", "properties must be a JSON object");
        size_t size = json_dumpb(properties, NULL, 0, JSON_COMPACT);
        if (size == 0 || size > USAGE_EVENTS_PROPERTIES_MAX)
            return s_refuse(problem, "properties_too_large", "properties must be at most 4096 bytes of JSON");
        const json_t *quantity = json_object_get(properties, "quantity");
        if (quantity) {
            if (!json_is_integer(quantity) || json_integer_value(quantity) < 0 ||
                json_integer_value(quantity) > USAGE_EVENTS_QUANTITY_MAX)
                return s_refuse(problem, "invalid_quantity", "properties.quantity must be an integer from 0 to 10^9");
            out->quantity = json_integer_value(quantity);
        }
        out->properties = properties;
    }
    return 0;
}

int
usage_events_check_authorize(const json_t *body, const usage_metrics_t *metrics, double now, usage_event_t *out,
                             usage_events_problem_t *problem)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(body))
        return s_refuse(problem, "invalid_body", "the body must be a JSON object");
    if (s_check_ids(body, metrics, out, problem) != 0)
        return -1;
    out->occurred_at = now;
    out->quantity = 1;
    const json_t *quantity = json_object_get(body, "quantity");
    if (quantity && !json_is_null(quantity)) {
        if (!json_is_integer(quantity) || json_integer_value(quantity) < 1 ||
            json_integer_value(quantity) > USAGE_EVENTS_QUANTITY_MAX)
            return s_refuse(problem, "invalid_quantity", "quantity must be an integer from 1 to 10^9");
        out->quantity = json_integer_value(quantity);
    }
    return 0;
}

const json_t *
usage_events_batch(const json_t *body, usage_events_problem_t *problem)
{
    const json_t *events = json_object_get(body, "events");
    if (!json_is_array(events)) {
        s_refuse(problem, "missing_events", "the body must be {\"events\":[...]}");
        return NULL;
    }
    if (json_array_size(events) == 0 || json_array_size(events) > USAGE_EVENTS_BATCH_MAX) {
        s_refuse(problem, "invalid_batch_size", "a batch holds 1 to 100 events");
        return NULL;
    }
    return events;
}
