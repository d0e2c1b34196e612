/*  ob_query - reads one parameter of a URL query string. */
#include "common/ob_query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*  Percent-decodes [v, end) into out when it is not NULL; returns the length. */
static size_t
s_decode(const char *v, const char *end, char *out)
{
    size_t n = 0;
    while (v < end) {
        char c = *v++;
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && end - v >= 2 && s_hex(v[0]) >= 0 && s_hex(v[1]) >= 0) {
            c = (char)(s_hex(v[0]) * 16 + s_hex(v[1]));
            v += 2;
        }
        if (out)
            out[n] = c;
        n++;
    }
    return n;
}

int
ob_query_get(ob_bytes_t query, const char *name, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    size_t name_len = strlen(name);
    const char *p = query.ptr, *end = query.ptr ? query.ptr + query.len : NULL;
    while (p && p < end) {
        const char *pair_end = memchr(p, '&', (size_t)(end - p));
        if (!pair_end)
            pair_end = end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *key_end = eq ? eq : pair_end;
        if ((size_t)(key_end - p) == name_len && memcmp(p, name, name_len) == 0) {
            const char *v = eq ? eq + 1 : pair_end;
            /* Two passes, so a value too long for out leaves out untouched. */
            if (s_decode(v, pair_end, NULL) + 1 > cap)
                return -1;
            out[s_decode(v, pair_end, out)] = '\0';
            return 0;
        }
        p = pair_end + 1;
    }
    return -1;
}

/*  The raw value of the first `name` parameter, or NULL when absent. */
static const char *
s_find(ob_bytes_t query, const char *name, const char **value_end)
{
    size_t name_len = strlen(name);
    const char *p = query.ptr, *end = query.ptr ? query.ptr + query.len : NULL;
    while (p && p < end) {
        const char *pair_end = memchr(p, '&', (size_t)(end - p));
        if (!pair_end)
            pair_end = end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *key_end = eq ? eq : pair_end;
        if ((size_t)(key_end - p) == name_len && memcmp(p, name, name_len) == 0) {
            *value_end = pair_end;
            return eq ? eq + 1 : pair_end;
        }
        p = pair_end + 1;
    }
    return NULL;
}

ob_query_result_t
ob_query_text(ob_bytes_t query, const char *name, char *out, size_t cap)
{
    const char *end, *v = s_find(query, name, &end);
    if (!v)
        return OB_QUERY_ABSENT;
    size_t len = s_decode(v, end, NULL);
    if (len + 1 > cap)
        return OB_QUERY_INVALID;
    char buf[len + 1];
    s_decode(v, end, buf);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return OB_QUERY_INVALID;
    memcpy(out, buf, len + 1);
    return OB_QUERY_FOUND;
}

ob_query_result_t
ob_query_long(ob_bytes_t query, const char *name, long min, long max, long *out)
{
    char text[24];
    ob_query_result_t rc = ob_query_text(query, name, text, sizeof text);
    if (rc != OB_QUERY_FOUND)
        return rc;
    if (text[0] < '0' || text[0] > '9')
        return OB_QUERY_INVALID;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < min || value > max)
        return OB_QUERY_INVALID;
    *out = value;
    return OB_QUERY_FOUND;
}
