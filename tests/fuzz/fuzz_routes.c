/*  fuzz_routes - the route table's path matcher and path-parameter capture
 *  (gateway/ob_routes.c), which sees every request's method and path.
 *
 *  Input: "<method> <path>". A found route's parameter is a non-empty view
 *  into the path holding no '/'; Allow lists only known methods.
 */
#include <string.h>

#include "gateway/ob_routes.h"
#include "tests/fuzz/fuzz_util.h"

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
    } else if (r == OB_ROUTE_WRONG_METHOD) {
        FUZZ_CHECK(strnlen(allow, sizeof allow) < sizeof allow && allow[0] != '\0');
    }
    char tiny[1];
    (void)ob_routes_match(m, method_len, p, len, &route, &param, tiny, 0);
    free(m);
    free(p);
    return 0;
}
