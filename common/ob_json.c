/*  ob_json - the JSON shapes every process answers with. */
#include "common/ob_json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t
ob_json_error(char *buf, size_t cap, const char *code, const char *message)
{
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    size_t len = body ? json_dumpb(body, buf, cap > 0 ? cap - 1 : 0, JSON_COMPACT) : 0;
    json_decref(body);
    if (len == 0 || len >= cap) {
        /* Too small for the message: fall back to the code alone, which is always short. */
        static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"error\"}}";
        len = sizeof fallback - 1 < cap ? sizeof fallback - 1 : 0;
        memcpy(buf, fallback, len);
    }
    if (cap > 0)
        buf[len] = '\0';
    return len;
}

char *
ob_json_error_new(const char *code, const char *message, size_t *len_out)
{
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *text = ob_json_dump(body, len_out);
    json_decref(body);
    return text;
}

json_t *
ob_json_parse_object(const char *data, size_t len, const char **reason_out)
{
    json_error_t error;
    json_t *value = data && len ? json_loadb(data, len, JSON_REJECT_DUPLICATES, &error) : NULL;
    if (!value) {
        *reason_out = "the body is not valid JSON";
        return NULL;
    }
    if (!json_is_object(value)) {
        json_decref(value);
        *reason_out = "the body must be a JSON object";
        return NULL;
    }
    return value;
}

const char *
ob_json_str(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

json_t *
ob_json_time(int64_t unix_s)
{
    if (unix_s <= 0)
        return json_null();
    time_t t = (time_t)unix_s;
    struct tm tm;
    char text[32];
    if (!gmtime_r(&t, &tm) || strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(text);
}

int64_t
ob_json_utc(const json_t *value)
{
    const char *text = json_string_value(value);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = text ? strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    return end && !*end ? (int64_t)timegm(&tm) : -1;
}

const char *
ob_json_reason(const json_t *body)
{
    const char *reason = ob_json_str(body, "reason");
    return reason && *reason && strlen(reason) <= 500 ? reason : NULL;
}

char *
ob_json_dump(const json_t *value, size_t *len_out)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    if (len_out)
        *len_out = text ? strlen(text) : 0;
    return text;
}
