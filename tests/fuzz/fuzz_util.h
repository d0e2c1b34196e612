/*  fuzz_util - what the libFuzzer targets in tests/fuzz share.
 *
 *  Each target is one fuzz_<name>.c defining LLVMFuzzerTestOneInput; its seed
 *  corpus is tests/fuzz/corpus/<name>/. Inputs that carry several fields
 *  (a header and a body, a key and a value) separate them with a byte chosen
 *  per target, so seeds stay readable text files.
 */
#ifndef FUZZ_UTIL_H_INCLUDED
#define FUZZ_UTIL_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_log.h"

/*  A failed property: report and abort, which libFuzzer records as a crash. */
#define FUZZ_CHECK(cond)                                                                                                           \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                               \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

/*  Only errors reach stderr: libFuzzer's own output stays readable. */
static inline void
fuzz_quiet_logs(void)
{
    setenv("LOG_LEVEL", "error", 1);
    ob_log_init("fuzz");
}

/*  Splits [*data, *data + *len) at the first sep: the part before it goes to
 *  *field / *field_len, and *data / *len move past the separator (to the end
 *  when there is none). */
static inline void
fuzz_next(const uint8_t **data, size_t *len, uint8_t sep, const char **field, size_t *field_len)
{
    const uint8_t *cut = memchr(*data, sep, *len);
    size_t n = cut ? (size_t)(cut - *data) : *len;
    *field = (const char *)*data;
    *field_len = n;
    *data += cut ? n + 1 : n;
    *len -= cut ? n + 1 : n;
}

/*  A malloc'd NUL-terminated copy of s[0..len) (aborts on OOM). */
static inline char *
fuzz_strndup(const char *s, size_t len)
{
    char *copy = malloc(len + 1);
    FUZZ_CHECK(copy != NULL);
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

#endif
