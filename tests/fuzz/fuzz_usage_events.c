/*  fuzz_usage_events - usage event JSON (services/lago-worker/usage_events.c):
 *  the ingest batch envelope, each event of it, and the authorize body.
 *
 *  Input: a request body. An event that passes has every field within the
 *  bounds its header promises.
 */
#include <jansson.h>
#include <string.h>

#include "services/lago-worker/usage_events.h"
#include "tests/fuzz/fuzz_util.h"

#define NOW 1700000000.0

static usage_metrics_t s_metrics;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    FUZZ_CHECK(usage_metrics_add(&s_metrics, "api_calls", true) == 0);
    FUZZ_CHECK(usage_metrics_add(&s_metrics, "tokens", false) == 0);
    return 0;
}

static void
s_check_event(const usage_event_t *ev, int64_t min_quantity)
{
    FUZZ_CHECK(ev->transaction_id && *ev->transaction_id && strlen(ev->transaction_id) <= USAGE_EVENTS_ID_MAX);
    FUZZ_CHECK(ev->user_id && *ev->user_id && strlen(ev->user_id) <= USAGE_EVENTS_ID_MAX);
    FUZZ_CHECK(ev->code && usage_metrics_find(&s_metrics, ev->code, NULL));
    FUZZ_CHECK(ev->quantity >= min_quantity && ev->quantity <= USAGE_EVENTS_QUANTITY_MAX);
    FUZZ_CHECK(ev->occurred_at >= NOW - USAGE_EVENTS_PAST_S && ev->occurred_at <= NOW + USAGE_EVENTS_FUTURE_S);
    FUZZ_CHECK(!ev->properties || json_is_object(ev->properties));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    /* What the worker does with a body: jansson, as in usage_ingest. */
    json_t *body = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    usage_events_problem_t problem;
    usage_event_t ev;
    const json_t *events = usage_events_batch(body, &problem);
    if (events) {
        FUZZ_CHECK(json_is_array(events) && json_array_size(events) >= 1 && json_array_size(events) <= USAGE_EVENTS_BATCH_MAX);
        size_t i;
        const json_t *event;
        json_array_foreach(events, i, event)
        {
            if (usage_events_check(event, &s_metrics, NOW, &ev, &problem) == 0)
                s_check_event(&ev, 0);
            else
                FUZZ_CHECK(problem.code && problem.message);
        }
    } else {
        FUZZ_CHECK(problem.code && problem.message);
    }
    if (usage_events_check_authorize(body, &s_metrics, NOW, &ev, &problem) == 0)
        s_check_event(&ev, 1);
    if (usage_events_check(body, &s_metrics, NOW, &ev, &problem) == 0)
        s_check_event(&ev, 0);
    json_decref(body);
    return 0;
}
