/*  JSON error bodies: always {"error":{"code","message"}}, always valid. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "common/ob_err.h"
#include "common/ob_json.h"

static void
s_expect_shape(const char *body, const char *code, const char *message)
{
    json_error_t error;
    json_t *value = json_loads(body, 0, &error);
    cr_assert_not_null(value, "not JSON: %s", body);
    json_t *inner = json_object_get(value, "error");
    cr_assert(json_is_object(inner));
    cr_assert_str_eq(json_string_value(json_object_get(inner, "code")), code);
    if (message)
        cr_assert_str_eq(json_string_value(json_object_get(inner, "message")), message);
    json_decref(value);
}

Test(json_error, shape_and_escaping)
{
    char buf[256];
    size_t len = ob_json_error(buf, sizeof buf, "invalid_json", "quote \" backslash \\ newline \n tab \t");
    cr_assert_eq(len, strlen(buf));
    s_expect_shape(buf, "invalid_json", "quote \" backslash \\ newline \n tab \t");
}

Test(json_error, too_small_a_buffer_still_gives_valid_json)
{
    char buf[64];
    char message[500];
    memset(message, 'x', sizeof message - 1);
    message[sizeof message - 1] = '\0';
    ob_json_error(buf, sizeof buf, "not_found", message);
    s_expect_shape(buf, "internal", NULL);
}

Test(json_error, heap_variant)
{
    size_t len;
    char *body = ob_json_error_new("payload_too_large", "too big", &len);
    cr_assert_eq(len, strlen(body));
    s_expect_shape(body, "payload_too_large", "too big");
    free(body);
}

Test(json_error, every_outcome_has_a_status_and_name)
{
    static const struct {
        ob_err_t err;
        int status;
        const char *name;
    } table[] = {
        {OB_OK, 200, "ok"},
        {OB_ERR_INVALID, 400, "invalid_request"},
        {OB_ERR_UNAUTHORIZED, 401, "unauthorized"},
        {OB_ERR_PAYMENT, 402, "payment_required"},
        {OB_ERR_NOT_FOUND, 404, "not_found"},
        {OB_ERR_CONFLICT, 409, "conflict"},
        {OB_ERR_QUOTA, 429, "quota_exceeded"},
        {OB_ERR_UPSTREAM, 502, "upstream_error"},
        {OB_ERR_TRANSIENT, 503, "unavailable"},
        {OB_ERR_TIMEOUT, 504, "timeout"},
        {(ob_err_t)999, 500, "internal"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        cr_expect_eq(ob_err_http_status(table[i].err), table[i].status);
        cr_expect_str_eq(ob_err_name(table[i].err), table[i].name);
    }
}

Test(json_error, parse_object_rejects_non_objects)
{
    const char *reason;
    cr_assert_null(ob_json_parse_object("[1]", 3, &reason));
    cr_assert_str_eq(reason, "the body must be a JSON object");
    cr_assert_null(ob_json_parse_object("{\"a\":1,\"a\":2}", 13, &reason), "duplicate keys are refused");
    cr_assert_null(ob_json_parse_object("{", 1, &reason));
    cr_assert_null(ob_json_parse_object(NULL, 0, &reason));
    json_t *ok = ob_json_parse_object("{\"a\":\"b\"}", 9, &reason);
    cr_assert_str_eq(ob_json_str(ok, "a"), "b");
    json_decref(ok);
}

Test(json, time_is_iso8601_utc_or_null)
{
    json_t *t = ob_json_time(1738324800);
    cr_expect_str_eq(json_string_value(t), "2025-01-31T12:00:00Z");
    json_decref(t);
    cr_expect(json_is_null(ob_json_time(0)));
    cr_expect(json_is_null(ob_json_time(-5)));
}

Test(json, utc_reads_back_what_time_writes_and_nothing_else)
{
    static const struct {
        const char *json;
        int64_t expect;
    } cases[] = {
        {"\"2025-01-31T12:00:00Z\"", 1738324800},
        {"\"1970-01-01T00:00:01Z\"", 1},
        {"\"2025-01-31T12:00:00\"", -1},   /* no zone: not UTC for sure */
        {"\"2025-01-31T12:00:00Zx\"", -1}, /* trailing bytes */
        {"\"2025-01-31\"", -1},
        {"\"tomorrow\"", -1},
        {"1738324800", -1}, /* a number is not the shape asked for */
        {"null", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *value = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        cr_expect_eq(ob_json_utc(value), cases[i].expect, "%s", cases[i].json);
        json_decref(value);
    }
    cr_expect_eq(ob_json_utc(NULL), -1);
}

Test(json, reason_is_one_to_five_hundred_bytes)
{
    char long_reason[520];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    json_t *ok = json_pack("{s:s}", "reason", "ticket 42"), *empty = json_pack("{s:s}", "reason", ""),
           *number = json_pack("{s:i}", "reason", 4), *too_long = json_pack("{s:s}", "reason", long_reason);
    cr_expect_str_eq(ob_json_reason(ok), "ticket 42");
    cr_expect_null(ob_json_reason(empty));
    cr_expect_null(ob_json_reason(number));
    cr_expect_null(ob_json_reason(too_long));
    long_reason[500] = '\0';
    json_object_set_new(too_long, "reason", json_string(long_reason));
    cr_expect_not_null(ob_json_reason(too_long));
    json_decref(ok);
    json_decref(empty);
    json_decref(number);
    json_decref(too_long);
}
