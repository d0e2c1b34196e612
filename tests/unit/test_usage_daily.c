/*  usage_daily: the span of days the usage chart covers (pure). */
#include <criterion/criterion.h>
#include <stdint.h>

#include "services/lago-worker/usage_daily.h"

typedef struct {
    const char *name;
    int64_t start, end, now;
    int64_t first, last;
} span_case_t;

#define DAY 86400
static const span_case_t s_spans[] = {
    {"window running: its first day to today", 10 * DAY + 3600, 40 * DAY, 15 * DAY + 7, 10, 15},
    {"window ended: up to its last day", 10 * DAY, 40 * DAY, 90 * DAY, 10, 39},
    {"open-ended (trial total)", 10 * DAY, 0, 12 * DAY, 10, 12},
    {"started today", 20 * DAY + 5, 50 * DAY, 20 * DAY + 60, 20, 20},
    {"clock behind the window start", 20 * DAY, 50 * DAY, 19 * DAY, 20, 20},
    {"very long window: the newest days only", 0, 0, 1000 * DAY, 1000 - USAGE_DAILY_MAX_DAYS + 1, 1000},
};

Test(usage_daily, span)
{
    for (size_t i = 0; i < sizeof s_spans / sizeof s_spans[0]; i++) {
        const span_case_t *c = &s_spans[i];
        int64_t first, last;
        usage_daily_span(c->start, c->end, c->now, &first, &last);
        cr_expect_eq(first, c->first, "%s: first %ld", c->name, (long)first);
        cr_expect_eq(last, c->last, "%s: last %ld", c->name, (long)last);
    }
}
