/*  notifier_retry - when to try a delivery again.
 *
 *  A schedule is a comma-separated list of delays in seconds, one per
 *  attempt: the default is the Standard Webhooks example, "0,5,300,1800,
 *  7200,18000,36000,36000" (immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
 *  10 h, 10 h). Attempt n (1-based) is due schedule[n-1] after attempt n-1
 *  failed; after the last one the delivery has failed for good. Delays get
 *  +-10% jitter so a burst of failures does not retry in lock-step. */
#ifndef NOTIFIER_RETRY_H_INCLUDED
#define NOTIFIER_RETRY_H_INCLUDED

#include <stdbool.h>

#define NOTIFIER_RETRY_MAX 32

typedef struct {
    int count;
    long delays_s[NOTIFIER_RETRY_MAX];
} notifier_retry_t;

#define NOTIFIER_RETRY_DEFAULT "0,5,300,1800,7200,18000,36000,36000"

/*  Parses text (NULL = the default). Returns -1 when it is not 1 to 32
 *  comma-separated non-negative integers (at most 30 days each). */
int notifier_retry_parse(notifier_retry_t *self, const char *text);

/*  After attempt `attempts` (1-based) failed: the delay in milliseconds
 *  before the next one, jittered with `unit` in [0, 1), at least
 *  retry_after_s when the answer asked for that (0 = not asked). Returns -1
 *  when the schedule is used up. */
long notifier_retry_next_ms(const notifier_retry_t *self, int attempts, long retry_after_s, double unit);

#endif
