/*  usage_events - what a usage event and an authorize request must look like
 *  (pure logic: no I/O, tested in tests/unit/test_usage_events.c).
 *
 *  An event is {"transaction_id","user_id","code","timestamp","properties"}:
 *    transaction_id, user_id  1..USAGE_EVENTS_ID_MAX bytes, no control characters
 *    code                     one of the known metric codes (usage_metrics)
 *    timestamp                Unix seconds (number), optional (= now); not older
 *                             than USAGE_EVENTS_PAST_S nor later than USAGE_EVENTS_FUTURE_S
 *    properties               an object, optional, at most USAGE_EVENTS_PROPERTIES_MAX
 *                             bytes as JSON; properties.quantity, when present,
 *                             is an integer in 0..USAGE_EVENTS_QUANTITY_MAX (default 1)
 */
#ifndef USAGE_EVENTS_H_INCLUDED
#define USAGE_EVENTS_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USAGE_EVENTS_BATCH_MAX 100
#define USAGE_EVENTS_ID_MAX 255
#define USAGE_EVENTS_PROPERTIES_MAX 4096
#define USAGE_EVENTS_PAST_S (40 * 86400)
#define USAGE_EVENTS_FUTURE_S 300
#define USAGE_EVENTS_QUANTITY_MAX 1000000000LL
#define LAGO_METRICS_MAX 32

/*  The known metric codes; quota marks the one(s) the plan's limit applies to. */
typedef struct {
    char code[LAGO_METRICS_MAX][65];
    bool quota[LAGO_METRICS_MAX];
    size_t count;
} usage_metrics_t;

/*  Adds a code (0, or -1 when full or too long). */
int usage_metrics_add(usage_metrics_t *self, const char *code, bool quota);

/*  True when code is known; *quota (may be NULL) says whether a limit applies. */
bool usage_metrics_find(const usage_metrics_t *self, const char *code, bool *quota);

/*  A checked event. Strings and properties borrow from the JSON they came from. */
typedef struct {
    const char *transaction_id;
    const char *user_id;
    const char *code;
    int64_t quantity;
    double occurred_at;       /* Unix seconds */
    const json_t *properties; /* NULL when absent */
} usage_event_t;

/*  A reason an input is refused: a stable code and a sentence. */
typedef struct {
    const char *code;
    const char *message;
} usage_events_problem_t;

/*  Checks one event of a batch against metrics at time now (Unix seconds).
 *  0 and *out filled, or -1 and *problem set. */
int usage_events_check(const json_t *event, const usage_metrics_t *metrics, double now, usage_event_t *out,
                       usage_events_problem_t *problem);

/*  Checks an authorize body {"user_id","code","quantity"?,"transaction_id"}:
 *  quantity is an integer 1..USAGE_EVENTS_QUANTITY_MAX (default 1); the event
 *  happens now. 0 or -1 as above. */
int usage_events_check_authorize(const json_t *body, const usage_metrics_t *metrics, double now, usage_event_t *out,
                                 usage_events_problem_t *problem);

/*  The batch envelope: {"events":[...]} with 1..USAGE_EVENTS_BATCH_MAX entries.
 *  Returns the array (borrowed) or NULL with *problem set. */
const json_t *usage_events_batch(const json_t *body, usage_events_problem_t *problem);

#endif
