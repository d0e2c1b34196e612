/*  fuzz_routes - the route table's path matcher and path-parameter capture
 *  (gateway/ob_routes.c), which sees every request's method and path, and
 *  the gateway's path-parameter rule (common/ob_bounds.c) applied to what
 *  it captured.
 *
 *  Input: "<method> <path>". A found route's parameter is a non-empty view
 *  into the path holding no '/'; Allow lists only known methods. The
 *  parameter passes the bound exactly when it is 1..OB_BOUND_ID_MAX bytes of
 *  UTF-8 (as jansson, a second implementation, judges it) without control
 *  characters.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "common/ob_bounds.h"
#include "gateway/ob_routes.h"
#include "tests/fuzz/fuzz_util.h"

static void
s_check_bound(const char *text, size_t len)
{
    ob_bound_verdict_t verdict = ob_bounds_check_text(text, len, OB_BOUND_ID_MAX);
    FUZZ_CHECK(ob_bounds_reason(verdict) != NULL);
    bool control = false;
    for (size_t i = 0; i < len; i++)
        control |= (unsigned char)text[i] < 0x20 || text[i] == 0x7f;
    json_t *as_json = len ? json_stringn(text, len) : NULL;
    bool utf8 = as_json != NULL;
    json_decref(as_json);
    bool want_ok = len >= 1 && len <= OB_BOUND_ID_MAX && utf8 && !control;
    FUZZ_CHECK((verdict == OB_BOUND_OK) == want_ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *method;
    size_t method_len;
    fuzz_next(&data, &len, ' ', &method, &method_len);
    char *m = fuzz_strndup(method, method_len);
    char *p = fuzz_strndup((const char *)data, len);

    const ob_route_t *route = NULL;
    ob_bytes_t param = {NULL, 0};
    char allow[64];
    ob_route_match_t r = ob_routes_match(m, method_len, p, len, &route, &param, allow, sizeof allow);
    if (r == OB_ROUTE_FOUND) {
        FUZZ_CHECK(route && strlen(route->method) == method_len && memcmp(route->method, m, method_len) == 0);
        if (param.len) {
            FUZZ_CHECK(param.ptr >= p && param.ptr + param.len <= p + len);
            FUZZ_CHECK(memchr(param.ptr, '/', param.len) == NULL);
        }
        FUZZ_CHECK(strstr(route->pattern, "{}") || param.len == 0);
        s_check_bound(param.ptr, param.len);
    } else if (r == OB_ROUTE_WRONG_METHOD) {
        FUZZ_CHECK(strnlen(allow, sizeof allow) < sizeof allow && allow[0] != '\0');
    }
    /* The rule on any bytes, not only on what a route captured. */
    s_check_bound(p, len);
    char tiny[1];
    (void)ob_routes_match(m, method_len, p, len, &route, &param, tiny, 0);
    free(m);
    free(p);
    return 0;
}
