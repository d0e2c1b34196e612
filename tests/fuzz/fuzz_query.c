/*  fuzz_query - the query-string reader (common/ob_query.c).
 *
 *  Input: "<name>\n<query string>". The value read fits the buffer, is
 *  NUL-terminated and never longer than the raw query; a buffer too small
 *  leaves out untouched.
 */
#include <string.h>

#include "common/ob_query.h"
#include "tests/fuzz/fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    const char *name;
    size_t name_len;
    fuzz_next(&data, &len, '\n', &name, &name_len);
    char *n = fuzz_strndup(name, name_len);
    char *q = len ? fuzz_strndup((const char *)data, len) : NULL;
    ob_bytes_t query = {q, len};

    static const size_t caps[] = {1, 2, 8, 64, 4096};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        char *out = malloc(caps[i]);
        FUZZ_CHECK(out != NULL);
        memset(out, 'x', caps[i]);
        if (ob_query_get(query, n, out, caps[i]) == 0) {
            size_t got = strnlen(out, caps[i]);
            FUZZ_CHECK(got < caps[i] && got <= len);
        } else {
            for (size_t k = 0; k < caps[i]; k++)
                FUZZ_CHECK(out[k] == 'x');
        }
        free(out);
    }
    char one;
    FUZZ_CHECK(ob_query_get(query, n, &one, 0) == -1);
    free(n);
    free(q);
    return 0;
}
