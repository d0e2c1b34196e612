/*  ob_csrf - same-origin and JSON for cookie-authenticated writes. */
#include "gateway/ob_csrf.h"

#include <ctype.h>
#include <string.h>

static bool
s_is(ob_bytes_t value, const char *text)
{
    return value.len == strlen(text) && memcmp(value.ptr, text, value.len) == 0;
}

static bool
s_is_nocase(const char *a, size_t len, const char *b)
{
    return len == strlen(b) && strncasecmp(a, b, len) == 0;
}

bool
ob_csrf_safe_method(ob_bytes_t method)
{
    return s_is(method, "GET") || s_is(method, "HEAD") || s_is(method, "OPTIONS");
}

/*  The origin part of a URL, "scheme://host[:port]", as a view: everything
 *  before the first '/' after "://". A default port is kept as written. */
static bool
s_origin_of(const char *url, const char **out, size_t *len)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url)
        return false;
    const char *host = sep + 3;
    size_t host_len = strcspn(host, "/?#");
    if (host_len == 0)
        return false;
    *out = url;
    *len = (size_t)(host - url) + host_len;
    return true;
}

static bool
s_origin_allowed(const ob_csrf_request_t *r)
{
    if (!r->origin.ptr || r->origin.len == 0 || s_is(r->origin, "null"))
        return false;
    const char *want;
    size_t want_len;
    if (r->public_base_url && *r->public_base_url && s_origin_of(r->public_base_url, &want, &want_len))
        return r->origin.len == want_len && strncasecmp(r->origin.ptr, want, want_len) == 0;
    if (!r->host.ptr || r->host.len == 0)
        return false;
    for (size_t k = 0; k < 2; k++) {
        const char *scheme = k == 0 ? "http://" : "https://";
        size_t scheme_len = strlen(scheme);
        if (r->origin.len == scheme_len + r->host.len && strncasecmp(r->origin.ptr, scheme, scheme_len) == 0 &&
            strncasecmp(r->origin.ptr + scheme_len, r->host.ptr, r->host.len) == 0)
            return true;
    }
    return false;
}

static bool
s_json(ob_bytes_t content_type)
{
    if (!content_type.ptr)
        return false;
    size_t len = 0;
    while (len < content_type.len && content_type.ptr[len] != ';')
        len++;
    while (len > 0 && isspace((unsigned char)content_type.ptr[len - 1]))
        len--;
    return s_is_nocase(content_type.ptr, len, "application/json");
}

const char *
ob_csrf_check(const ob_csrf_request_t *request)
{
    if (ob_csrf_safe_method(request->method))
        return NULL;
    if (!s_origin_allowed(request))
        return "cross_origin";
    if (!s_json(request->content_type))
        return "json_required";
    return NULL;
}
