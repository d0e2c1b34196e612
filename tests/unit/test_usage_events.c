/*  usage_events: usage events and authorize requests, what is accepted and
 *  why the rest is refused (services/lago-worker/usage_events.c). Pure logic,
 *  no servers. */
#include <criterion/criterion.h>
#include <string.h>

#include "services/lago-worker/usage_events.h"

#define NOW 1767225600.0 /* 2026-01-01T00:00:00Z */

static usage_metrics_t s_metrics;

static void
s_setup(void)
{
    memset(&s_metrics, 0, sizeof s_metrics);
    usage_metrics_add(&s_metrics, "api_calls", true);
    usage_metrics_add(&s_metrics, "tokens", false);
}

typedef struct {
    const char *json;
    const char *code; /* NULL = accepted */
} event_case_t;

static const event_case_t s_event_cases[] = {
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\"}", NULL},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"timestamp\":1767225500,"
     "\"properties\":{\"quantity\":3}}",
     NULL},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"tokens\",\"timestamp\":1767225599.5}", NULL},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"properties\":null}", NULL},
    {"[]", "invalid_event"},
    {"{\"user_id\":\"u1\",\"code\":\"api_calls\"}", "missing_transaction_id"},
    {"{\"transaction_id\":\"\",\"user_id\":\"u1\",\"code\":\"api_calls\"}", "invalid_transaction_id"},
    {"{\"transaction_id\":7,\"user_id\":\"u1\",\"code\":\"api_calls\"}", "invalid_transaction_id"},
    {"{\"transaction_id\":\"a\\u0001b\",\"user_id\":\"u1\",\"code\":\"api_calls\"}", "invalid_transaction_id"},
    {"{\"transaction_id\":\"t1\",\"code\":\"api_calls\"}", "missing_user_id"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"\",\"code\":\"api_calls\"}", "invalid_user_id"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\"}", "missing_code"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"bogus\"}", "unknown_code"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"timestamp\":\"yesterday\"}", "invalid_timestamp"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"timestamp\":1000}", "timestamp_too_old"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"timestamp\":1767229200}", "timestamp_in_future"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"properties\":[1]}", "invalid_properties"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"properties\":{\"quantity\":-1}}", "invalid_quantity"},
    {"{\"transaction_id\":\"t1\",\"user_id\":\"u1\",\"code\":\"api_calls\",\"properties\":{\"quantity\":1.5}}", "invalid_quantity"},
};

Test(usage_events, table, .init = s_setup)
{
    for (size_t i = 0; i < sizeof s_event_cases / sizeof s_event_cases[0]; i++) {
        const event_case_t *c = &s_event_cases[i];
        json_t *event = json_loads(c->json, JSON_DECODE_ANY, NULL);
        cr_assert(event != NULL, "case %zu does not parse", i);
        usage_event_t out;
        usage_events_problem_t problem = {0};
        int rc = usage_events_check(event, &s_metrics, NOW, &out, &problem);
        if (c->code)
            cr_expect(rc == -1 && problem.code && strcmp(problem.code, c->code) == 0, "case %zu: expected %s, got %s", i, c->code,
                      rc == 0 ? "accepted" : problem.code);
        else
            cr_expect(rc == 0, "case %zu: expected accepted, got %s", i, problem.code);
        json_decref(event);
    }
}

Test(usage_events, defaults_and_bounds, .init = s_setup)
{
    json_t *event = json_pack("{s:s,s:s,s:s}", "transaction_id", "t", "user_id", "u", "code", "api_calls");
    usage_event_t out;
    usage_events_problem_t problem;
    cr_assert(usage_events_check(event, &s_metrics, NOW, &out, &problem) == 0);
    cr_expect(out.quantity == 1 && out.occurred_at == NOW && out.properties == NULL);
    char long_id[USAGE_EVENTS_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    json_object_set_new(event, "transaction_id", json_string(long_id));
    cr_expect(usage_events_check(event, &s_metrics, NOW, &out, &problem) == -1);
    cr_expect(strcmp(problem.code, "invalid_transaction_id") == 0);
    long_id[USAGE_EVENTS_ID_MAX] = '\0'; /* exactly the maximum */
    json_object_set_new(event, "transaction_id", json_string(long_id));
    cr_expect(usage_events_check(event, &s_metrics, NOW, &out, &problem) == 0);
    /* properties over 4 KiB */
    char big[USAGE_EVENTS_PROPERTIES_MAX + 10];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_object_set_new(event, "properties", json_pack("{s:s}", "note", big));
    cr_expect(usage_events_check(event, &s_metrics, NOW, &out, &problem) == -1);
    cr_expect(strcmp(problem.code, "properties_too_large") == 0);
    json_decref(event);
}

Test(usage_events, batch_envelope, .init = s_setup)
{
    usage_events_problem_t problem;
    json_t *body = json_loads("{}", 0, NULL);
    cr_expect(usage_events_batch(body, &problem) == NULL && strcmp(problem.code, "missing_events") == 0);
    json_object_set_new(body, "events", json_array());
    cr_expect(usage_events_batch(body, &problem) == NULL && strcmp(problem.code, "invalid_batch_size") == 0);
    json_t *events = json_array();
    for (int i = 0; i < USAGE_EVENTS_BATCH_MAX; i++)
        json_array_append_new(events, json_object());
    json_object_set(body, "events", events);
    cr_expect(usage_events_batch(body, &problem) == events);
    json_array_append_new(events, json_object());
    cr_expect(usage_events_batch(body, &problem) == NULL && strcmp(problem.code, "invalid_batch_size") == 0);
    json_decref(events);
    json_decref(body);
}

Test(usage_events, authorize_body, .init = s_setup)
{
    static const event_case_t cases[] = {
        {"{\"transaction_id\":\"t\",\"user_id\":\"u\",\"code\":\"api_calls\"}", NULL},
        {"{\"transaction_id\":\"t\",\"user_id\":\"u\",\"code\":\"api_calls\",\"quantity\":5}", NULL},
        {"{\"transaction_id\":\"t\",\"user_id\":\"u\",\"code\":\"api_calls\",\"quantity\":0}", "invalid_quantity"},
        {"{\"transaction_id\":\"t\",\"user_id\":\"u\",\"code\":\"api_calls\",\"quantity\":\"1\"}", "invalid_quantity"},
        {"{\"user_id\":\"u\",\"code\":\"api_calls\"}", "missing_transaction_id"},
        {"{\"transaction_id\":\"t\",\"code\":\"api_calls\"}", "missing_user_id"},
        {"{\"transaction_id\":\"t\",\"user_id\":\"u\",\"code\":\"nope\"}", "unknown_code"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = json_loads(cases[i].json, 0, NULL);
        usage_event_t out;
        usage_events_problem_t problem = {0};
        int rc = usage_events_check_authorize(body, &s_metrics, NOW, &out, &problem);
        if (cases[i].code)
            cr_expect(rc == -1 && strcmp(problem.code, cases[i].code) == 0, "case %zu", i);
        else
            cr_expect(rc == 0 && out.occurred_at == NOW, "case %zu: %s", i, problem.code);
        json_decref(body);
    }
}
