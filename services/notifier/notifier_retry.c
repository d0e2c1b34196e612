/*  notifier_retry - the retry schedule. */
#include "services/notifier/notifier_retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
notifier_retry_parse(notifier_retry_t *self, const char *text)
{
    memset(self, 0, sizeof *self);
    const char *p = text ? text : NOTIFIER_RETRY_DEFAULT;
    while (*p) {
        while (*p == ' ')
            p++;
        char *end;
        errno = 0;
        long value = strtol(p, &end, 10);
        if (end == p || errno || value < 0 || value > 30L * 86400 || self->count == NOTIFIER_RETRY_MAX)
            return -1;
        self->delays_s[self->count++] = value;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            if (!*p)
                return -1;
        } else if (*p) {
            return -1;
        }
    }
    return self->count > 0 ? 0 : -1;
}

long
notifier_retry_next_ms(const notifier_retry_t *self, int attempts, long retry_after_s, double unit)
{
    if (attempts < 1 || attempts >= self->count)
        return -1;
    double delay = (double)self->delays_s[attempts] * 1000.0;
    delay *= 0.9 + 0.2 * unit;
    if (retry_after_s > 0 && delay < (double)retry_after_s * 1000.0)
        delay = (double)retry_after_s * 1000.0;
    return (long)delay;
}
