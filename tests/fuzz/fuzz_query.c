/*  fuzz_query - the query-string readers (common/ob_query.c).
 *
 *  Input: "<name>\n<query string>". The value read fits the buffer, is
 *  NUL-terminated and never longer than the raw query; a buffer too small
 *  leaves out untouched. ob_query_text agrees with ob_query_get and refuses
 *  a decoded NUL; ob_query_long gives a value within its range, or leaves
 *  *out alone.
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
    char text[64], raw[64];
    memset(text, 'x', sizeof text);
    ob_query_result_t tr = ob_query_text(query, n, text, sizeof text);
    int gr = ob_query_get(query, n, raw, sizeof raw);
    if (tr == OB_QUERY_FOUND) {
        FUZZ_CHECK(gr == 0 && strcmp(text, raw) == 0);
    } else {
        for (size_t k = 0; k < sizeof text; k++)
            FUZZ_CHECK(text[k] == 'x');
        if (tr == OB_QUERY_ABSENT)
            FUZZ_CHECK(gr == -1);
    }

    static const long ranges[][2] = {
        {0, 0}, {1, 100}, {-5, 5}, {0, 2147483647L}, {-9223372036854775807L - 1, 9223372036854775807L}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        long value = 12345;
        ob_query_result_t lr = ob_query_long(query, n, ranges[i][0], ranges[i][1], &value);
        if (lr == OB_QUERY_FOUND)
            FUZZ_CHECK(value >= ranges[i][0] && value <= ranges[i][1]);
        else
            FUZZ_CHECK(value == 12345);
    }

    char one;
    FUZZ_CHECK(ob_query_get(query, n, &one, 0) == -1);
    free(n);
    free(q);
    return 0;
}
