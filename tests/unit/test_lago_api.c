/*  lago_api: the batch body, the mapping of Lago's answers to outcomes, and a
 *  few round trips against a scripted HTTP server in a thread of the test. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clients/lago_api.h"
#include "common/ob_http.h"

/* ---- the batch body ---------------------------------------------------------------------- */

static const lago_event_t good = {"tx-1", "sub-1", "api_calls", 1700000000, "{\"quantity\":3}"};

typedef struct {
    const char *name;
    lago_event_t event;
} bad_event_t;

static const bad_event_t bad_events[] = {
    {"no transaction_id", {NULL, "sub-1", "api_calls", 0, NULL}},
    {"empty transaction_id", {"", "sub-1", "api_calls", 0, NULL}},
    {"no subscription", {"tx-1", NULL, "api_calls", 0, NULL}},
    {"no code", {"tx-1", "sub-1", "", 0, NULL}},
    {"properties not JSON", {"tx-1", "sub-1", "api_calls", 0, "quantity=3"}},
    {"properties an array", {"tx-1", "sub-1", "api_calls", 0, "[3]"}},
    {"properties a number", {"tx-1", "sub-1", "api_calls", 0, "3"}},
};

Test(lago_batch_json, builds_usage_events_shape)
{
    lago_event_t events[2] = {good, {"tx-2", "sub-1", "api_calls", 0, NULL}};
    char *text = lago_api_events_batch_json(events, 2);
    cr_assert_not_null(text);
    json_t *body = json_loads(text, 0, NULL);
    cr_assert_not_null(body);
    cr_assert_eq(json_object_size(body), 1);
    json_t *list = json_object_get(body, "events");
    cr_assert_eq(json_array_size(list), 2);

    json_t *first = json_array_get(list, 0);
    cr_assert_str_eq(json_string_value(json_object_get(first, "transaction_id")), "tx-1");
    cr_assert_str_eq(json_string_value(json_object_get(first, "external_subscription_id")), "sub-1");
    cr_assert_str_eq(json_string_value(json_object_get(first, "code")), "api_calls");
    cr_assert_eq(json_integer_value(json_object_get(first, "timestamp")), 1700000000);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(first, "properties"), "quantity")), 3);

    json_t *second = json_array_get(list, 1);
    cr_assert_null(json_object_get(second, "timestamp"), "timestamp 0 lets Lago stamp the event");
    cr_assert(json_is_object(json_object_get(second, "properties")));
    cr_assert_eq(json_object_size(json_object_get(second, "properties")), 0);
    json_decref(body);
    free(text);
}

Test(lago_batch_json, escapes_strings)
{
    lago_event_t event = {"tx \"quoted\"\n", "sub-1", "api_calls", 0, NULL};
    char *text = lago_api_events_batch_json(&event, 1);
    json_t *body = json_loads(text, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(body, "events"), 0), "transaction_id")),
                     "tx \"quoted\"\n");
    json_decref(body);
    free(text);
}

Test(lago_batch_json, refuses_bad_events)
{
    for (size_t i = 0; i < sizeof(bad_events) / sizeof(bad_events[0]); i++) {
        lago_event_t events[2] = {good, bad_events[i].event};
        char *text = lago_api_events_batch_json(events, 2);
        cr_expect_null(text, "%s", bad_events[i].name);
        free(text);
    }
}

Test(lago_batch_json, enforces_batch_size)
{
    lago_event_t events[LAGO_API_BATCH_MAX + 1];
    for (size_t i = 0; i < LAGO_API_BATCH_MAX + 1; i++)
        events[i] = good;
    cr_expect_null(lago_api_events_batch_json(events, 0), "an empty batch");
    cr_expect_null(lago_api_events_batch_json(events, LAGO_API_BATCH_MAX + 1), "101 events");
    char *text = lago_api_events_batch_json(events, LAGO_API_BATCH_MAX);
    cr_assert_not_null(text, "100 events");
    json_t *body = json_loads(text, 0, NULL);
    cr_expect_eq(json_array_size(json_object_get(body, "events")), LAGO_API_BATCH_MAX);
    json_decref(body);
    free(text);
}

/* ---- Lago's answers mapped to outcomes ---------------------------------------------------- */

typedef struct {
    long status;
    const char *body;
    ob_err_t want;
    const char *code; /* expected err.code */
    bool already_exists;
    const char *message; /* a substring of err.message, or NULL */
} mapping_t;

static const mapping_t mappings[] = {
    {0, NULL, OB_ERR_TRANSIENT, "", false, "no response"},
    {200, "{\"customer\":{}}", OB_OK, "", false, NULL},
    {201, "", OB_OK, "", false, NULL},
    {400, "{\"status\":400,\"error\":\"BadRequest: param is missing or the value is empty: plan\"}", OB_ERR_INVALID, "", false,
     "param is missing"},
    {401, "{\"status\":401,\"error\":\"Unauthorized\"}", OB_ERR_UPSTREAM, "", false, "Unauthorized"},
    {403, "{\"status\":403,\"error\":\"Forbidden\",\"code\":\"feature_unavailable\"}", OB_ERR_UPSTREAM, "feature_unavailable",
     false, NULL},
    {404, "{\"status\":404,\"error\":\"Not Found\",\"code\":\"plan_not_found\"}", OB_ERR_NOT_FOUND, "plan_not_found", false,
     "Not Found"},
    {405, "{\"status\":405,\"error\":\"Method Not Allowed\",\"code\":\"not_allowed\"}", OB_ERR_UPSTREAM, "not_allowed", false,
     NULL},
    {409, "", OB_ERR_CONFLICT, "", false, NULL},
    {418, "teapot", OB_ERR_UPSTREAM, "", false, NULL},
    {422,
     "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
     "\"error_details\":{\"amount_cents\":[\"value_is_invalid\"],\"interval\":[\"value_is_invalid\"]}}",
     OB_ERR_INVALID, "validation_errors", false, "amount_cents: value_is_invalid; interval: value_is_invalid"},
    {422,
     "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
     "\"error_details\":{\"code\":[\"value_already_exist\"]}}",
     OB_ERR_CONFLICT, "validation_errors", true, "code: value_already_exist"},
    {422,
     "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
     "\"error_details\":{\"0\":{\"transaction_id\":[\"value_already_exist\"]},\"3\":{\"code\":[\"value_is_mandatory\"]}}}",
     OB_ERR_CONFLICT, "validation_errors", true, "0.transaction_id: value_already_exist; 3.code: value_is_mandatory"},
    {422, "not json", OB_ERR_INVALID, "", false, NULL},
    {429, "{\"status\":429,\"error\":\"Too Many Requests\"}", OB_ERR_TRANSIENT, "", false, NULL},
    {500, "<html>oops</html>", OB_ERR_TRANSIENT, "", false, NULL},
    {502, NULL, OB_ERR_TRANSIENT, "", false, NULL},
    {503, "{\"status\":503,\"error\":\"Service Unavailable\"}", OB_ERR_TRANSIENT, "", false, NULL},
    {504, "", OB_ERR_TRANSIENT, "", false, NULL},
};

Test(lago_error_mapping, table)
{
    for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
        const mapping_t *m = &mappings[i];
        lago_api_error_t err;
        memset(&err, 0xAB, sizeof(err)); /* everything must be overwritten */
        ob_err_t got = lago_api_error_from_response(m->status, m->body, &err);
        cr_expect_eq(got, m->want, "status %ld: got %s, want %s", m->status, ob_err_name(got), ob_err_name(m->want));
        cr_expect_eq(err.status, m->status, "status %ld", m->status);
        cr_expect_str_eq(err.code, m->code, "status %ld", m->status);
        cr_expect_eq(err.already_exists, m->already_exists, "status %ld", m->status);
        cr_expect(memchr(err.message, '\0', sizeof(err.message)) != NULL, "status %ld: NUL-terminated", m->status);
        if (m->message)
            cr_expect(strstr(err.message, m->message) != NULL, "status %ld: message \"%s\" lacks \"%s\"", m->status, err.message,
                      m->message);
    }
}

Test(lago_error_mapping, long_details_are_truncated_safely)
{
    char body[4096];
    int n = snprintf(body, sizeof(body), "{\"status\":422,\"error\":\"Unprocessable Entity\",\"error_details\":{");
    for (int i = 0; i < 60; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, "%s\"field_%02d\":[\"value_is_invalid\"]", i ? "," : "", i);
    snprintf(body + n, sizeof(body) - (size_t)n, "}}");
    lago_api_error_t err;
    cr_assert_eq(lago_api_error_from_response(422, body, &err), OB_ERR_INVALID);
    cr_assert(strlen(err.message) < sizeof(err.message));
    cr_assert(strncmp(err.message, "Unprocessable Entity: field_00: value_is_invalid", 48) == 0, "%s", err.message);
}

Test(lago_api_new, refuses_missing_or_unsafe_settings)
{
    cr_assert_null(lago_api_new(NULL, "key"));
    cr_assert_null(lago_api_new("http://127.0.0.1:1", NULL));
    cr_assert_null(lago_api_new("", "key"));
    cr_assert_null(lago_api_new("http://127.0.0.1:1", ""));
    cr_assert_null(lago_api_new("http://127.0.0.1:1", "key\r\nX-Evil: 1"));
    lago_api_t *api = NULL;
    lago_api_destroy(&api);
    lago_api_destroy(NULL);
}

/* ---- round trips against a scripted server ------------------------------------------------ */

typedef struct {
    int status;
    const char *body;
} answer_t;

#define MAX_SEEN 8

typedef struct {
    int fd, port;
    const answer_t *answers;
    size_t nanswers;
    pthread_t thread;
    atomic_bool stop;
    atomic_int requests;
    char method[MAX_SEEN][16];
    char path[MAX_SEEN][128];
    char auth[MAX_SEEN][128];
    char body[MAX_SEEN][4096];
} stub_t;

static void
copy_header(const char *head, const char *name, char *out, size_t cap)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\r\n%s:", name);
    const char *p = strcasestr(head, needle);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(needle);
    p += strspn(p, " ");
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
}

/*  Reads one request (head plus Content-Length bytes), records it, answers
 *  the next scripted step (the last one repeats) and closes. */
static void
stub_serve(stub_t *s, int fd)
{
    static char buf[16384];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof(buf) - 1) {
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            return;
        buf[len += (size_t)r] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    char value[32];
    copy_header(buf, "Content-Length", value, sizeof(value));
    size_t want = (size_t)atol(value), head = (size_t)(end + 4 - buf);
    while (len - head < want && len < sizeof(buf) - 1) {
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            break;
        buf[len += (size_t)r] = '\0';
    }
    int i = atomic_load(&s->requests);
    if (i < MAX_SEEN) {
        sscanf(buf, "%15s %127s", s->method[i], s->path[i]);
        copy_header(buf, "Authorization", s->auth[i], sizeof(s->auth[i]));
        snprintf(s->body[i], sizeof(s->body[i]), "%.*s", (int)want, buf + head);
    }
    atomic_store(&s->requests, i + 1);
    const answer_t *a = &s->answers[(size_t)i < s->nanswers ? (size_t)i : s->nanswers - 1];
    char reply[8192];
    int n = snprintf(reply, sizeof(reply),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     a->status, strlen(a->body), a->body);
    send(fd, reply, (size_t)n, MSG_NOSIGNAL);
}

static void *
stub_run(void *arg)
{
    stub_t *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        stub_serve(s, fd);
        close(fd);
    }
    return NULL;
}

static stub_t stub;
static lago_api_t *api;
static lago_api_error_t err;

static void
start(const answer_t *answers, size_t n)
{
    memset(&stub, 0, sizeof(stub));
    stub.answers = answers;
    stub.nanswers = n;
    stub.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(bind(stub.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(listen(stub.fd, 16) == 0);
    socklen_t alen = sizeof(a);
    getsockname(stub.fd, (struct sockaddr *)&a, &alen);
    stub.port = ntohs(a.sin_port);
    cr_assert(pthread_create(&stub.thread, NULL, stub_run, &stub) == 0);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", stub.port); /* the trailing slash is dropped */
    api = lago_api_new(url, "lago-test-key");
    cr_assert_not_null(api);
    lago_api_set_retry(api, 2000, 2, 1);
}

static void
setup(void)
{
    cr_assert_eq(ob_http_global_init(), 0);
}

static void
teardown(void)
{
    lago_api_destroy(&api);
    cr_assert_null(api);
    atomic_store(&stub.stop, true);
    pthread_join(stub.thread, NULL);
    close(stub.fd);
}

#define START(answers) start(answers, sizeof(answers) / sizeof(answers[0]))

static json_t *
sent_json(int i)
{
    json_t *body = json_loads(stub.body[i], 0, NULL);
    cr_assert_not_null(body, "request %d body is JSON: %s", i, stub.body[i]);
    return body;
}

static const answer_t ok_events[] = {{200, "{\"events\":[]}"}};

Test(lago_round_trip, batch_posts_with_bearer_key, .init = setup, .fini = teardown)
{
    START(ok_events);
    lago_event_t events[2] = {good, {"tx-2", "sub-1", "api_calls", 0, NULL}};
    cr_assert_eq(lago_api_send_events_batch(api, events, 2, &err), OB_OK, "%s", err.message);
    cr_assert_eq(atomic_load(&stub.requests), 1);
    cr_assert_str_eq(stub.method[0], "POST");
    cr_assert_str_eq(stub.path[0], "/api/v1/events/batch");
    cr_assert_str_eq(stub.auth[0], "Bearer lago-test-key");
    json_t *body = sent_json(0);
    cr_assert_eq(json_array_size(json_object_get(body, "events")), 2);
    json_decref(body);
}

Test(lago_round_trip, oversized_batch_is_refused_locally, .init = setup, .fini = teardown)
{
    START(ok_events);
    lago_event_t events[LAGO_API_BATCH_MAX + 1];
    for (size_t i = 0; i < LAGO_API_BATCH_MAX + 1; i++)
        events[i] = good;
    cr_assert_eq(lago_api_send_events_batch(api, events, LAGO_API_BATCH_MAX + 1, &err), OB_ERR_INVALID);
    cr_assert_eq(err.status, 0);
    cr_assert_eq(atomic_load(&stub.requests), 0);
}

static const answer_t replayed_batch[] = {
    {422, "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
          "\"error_details\":{\"0\":{\"transaction_id\":[\"value_already_exist\"]},"
          "\"2\":{\"transaction_id\":[\"value_already_exist\"]}}}"},
    {200, "{\"events\":[]}"},
};

Test(lago_round_trip, replayed_batch_resends_only_new_events, .init = setup, .fini = teardown)
{
    START(replayed_batch);
    lago_event_t events[3] = {good, {"tx-2", "sub-1", "api_calls", 0, NULL}, {"tx-3", "sub-1", "api_calls", 0, NULL}};
    cr_assert_eq(lago_api_send_events_batch(api, events, 3, &err), OB_OK, "%s", err.message);
    cr_assert_eq(atomic_load(&stub.requests), 2);
    json_t *body = sent_json(1);
    json_t *list = json_object_get(body, "events");
    cr_assert_eq(json_array_size(list), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "transaction_id")), "tx-2");
    json_decref(body);
}

static const answer_t all_duplicates[] = {
    {422, "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
          "\"error_details\":{\"0\":{\"transaction_id\":[\"value_already_exist\"]}}}"},
};

Test(lago_round_trip, fully_replayed_batch_is_ok, .init = setup, .fini = teardown)
{
    START(all_duplicates);
    cr_assert_eq(lago_api_send_events_batch(api, &good, 1, &err), OB_OK, "%s", err.message);
    cr_assert_eq(atomic_load(&stub.requests), 1);
}

static const answer_t mixed_errors[] = {
    {422, "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
          "\"error_details\":{\"0\":{\"transaction_id\":[\"value_already_exist\"]},\"1\":{\"code\":[\"value_is_mandatory\"]}}}"},
};

Test(lago_round_trip, batch_with_real_errors_is_invalid, .init = setup, .fini = teardown)
{
    START(mixed_errors);
    lago_event_t events[2] = {good, good};
    cr_assert_eq(lago_api_send_events_batch(api, events, 2, &err), OB_ERR_INVALID);
    cr_assert_eq(err.status, 422);
    cr_assert_eq(atomic_load(&stub.requests), 1);
}

static const answer_t unavailable_then_ok[] = {{503, "{\"status\":503,\"error\":\"Service Unavailable\"}"}, {200, "{}"}};

Test(lago_round_trip, transient_answer_is_retried, .init = setup, .fini = teardown)
{
    START(unavailable_then_ok);
    cr_assert_eq(lago_api_upsert_customer(api, "cus-1", "a@example.com", "Ada", &err), OB_OK, "%s", err.message);
    cr_assert_eq(atomic_load(&stub.requests), 2);
    json_t *body = sent_json(1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(body, "customer"), "external_id")), "cus-1");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(body, "customer"), "email")), "a@example.com");
    json_decref(body);
}

static const answer_t always_unavailable[] = {{503, "{\"status\":503,\"error\":\"Service Unavailable\"}"}};

Test(lago_round_trip, persistent_outage_is_transient, .init = setup, .fini = teardown)
{
    START(always_unavailable);
    cr_assert_eq(lago_api_upsert_customer(api, "cus-1", NULL, NULL, &err), OB_ERR_TRANSIENT);
    cr_assert_eq(err.status, 503);
    cr_assert_eq(atomic_load(&stub.requests), 2, "max_attempts is 2");
}

static const answer_t unauthorized[] = {{401, "{\"status\":401,\"error\":\"Unauthorized\"}"}};

Test(lago_round_trip, bad_key_is_upstream_and_not_retried, .init = setup, .fini = teardown)
{
    START(unauthorized);
    cr_assert_eq(lago_api_upsert_customer(api, "cus-1", NULL, NULL, &err), OB_ERR_UPSTREAM);
    cr_assert_eq(err.status, 401);
    cr_assert_eq(atomic_load(&stub.requests), 1);
}

static const answer_t subscription_not_found[] = {
    {404, "{\"status\":404,\"error\":\"Not Found\",\"code\":\"subscription_not_found\"}"}};

Test(lago_round_trip, terminating_a_gone_subscription_is_ok, .init = setup, .fini = teardown)
{
    START(subscription_not_found);
    cr_assert_eq(lago_api_terminate_subscription(api, "sub/1 ü", &err), OB_OK);
    cr_assert_str_eq(stub.method[0], "DELETE");
    cr_assert_str_eq(stub.path[0], "/api/v1/subscriptions/sub%2F1%20%C3%BC");
}

static const answer_t subscription_created[] = {
    {200, "{\"subscription\":{\"lago_id\":\"s-uuid\",\"external_id\":\"sub-1\",\"plan_code\":\"pro\","
          "\"status\":\"active\",\"next_plan_code\":null}}"},
};

Test(lago_round_trip, create_subscription_sends_and_reads, .init = setup, .fini = teardown)
{
    START(subscription_created);
    lago_subscription_t sub;
    cr_assert_eq(lago_api_create_subscription(api, "cus-1", "sub-1", "pro", "anniversary", &sub, &err), OB_OK, "%s", err.message);
    json_t *body = sent_json(0);
    json_t *s = json_object_get(body, "subscription");
    cr_assert_str_eq(json_string_value(json_object_get(s, "external_customer_id")), "cus-1");
    cr_assert_str_eq(json_string_value(json_object_get(s, "external_id")), "sub-1");
    cr_assert_str_eq(json_string_value(json_object_get(s, "plan_code")), "pro");
    cr_assert_str_eq(json_string_value(json_object_get(s, "billing_time")), "anniversary");
    json_decref(body);
    cr_assert_str_eq(sub.lago_id, "s-uuid");
    cr_assert_str_eq(sub.status, "active");
    cr_assert_str_eq(sub.plan_code, "pro");
    cr_assert_str_eq(sub.next_plan_code, "");
}

static const answer_t metric_exists[] = {
    {422, "{\"status\":422,\"error\":\"Unprocessable Entity\",\"code\":\"validation_errors\","
          "\"error_details\":{\"code\":[\"value_already_exist\"]}}"},
};

Test(lago_round_trip, existing_metric_is_conflict, .init = setup, .fini = teardown)
{
    START(metric_exists);
    cr_assert_eq(lago_api_create_billable_metric(api, "api_calls", "API calls", LAGO_AGG_SUM, &err), OB_ERR_CONFLICT);
    cr_assert(err.already_exists);
    json_t *body = sent_json(0);
    json_t *m = json_object_get(body, "billable_metric");
    cr_assert_str_eq(json_string_value(json_object_get(m, "aggregation_type")), "sum_agg");
    cr_assert_str_eq(json_string_value(json_object_get(m, "field_name")), "quantity");
    json_decref(body);
}

static const answer_t metric_then_plan[] = {
    {200, "{\"billable_metric\":{\"lago_id\":\"bm-uuid\",\"code\":\"api_calls\",\"aggregation_type\":\"sum_agg\"}}"},
    {200, "{\"plan\":{\"lago_id\":\"p-uuid\"}}"},
};

Test(lago_round_trip, plan_charges_reference_metric_ids, .init = setup, .fini = teardown)
{
    START(metric_then_plan);
    lago_charge_t charge = {"api_calls", "0.002"};
    lago_plan_spec_t plan = {"pro", "Pro", "monthly", 2900, "EUR", true, &charge, 1};
    cr_assert_eq(lago_api_create_plan(api, &plan, &err), OB_OK, "%s", err.message);
    cr_assert_eq(atomic_load(&stub.requests), 2);
    cr_assert_str_eq(stub.method[0], "GET");
    cr_assert_str_eq(stub.path[0], "/api/v1/billable_metrics/api_calls");
    cr_assert_str_eq(stub.path[1], "/api/v1/plans");
    json_t *body = sent_json(1);
    json_t *p = json_object_get(body, "plan");
    cr_assert_str_eq(json_string_value(json_object_get(p, "code")), "pro");
    cr_assert_str_eq(json_string_value(json_object_get(p, "interval")), "monthly");
    cr_assert_eq(json_integer_value(json_object_get(p, "amount_cents")), 2900);
    cr_assert_str_eq(json_string_value(json_object_get(p, "amount_currency")), "EUR");
    cr_assert(json_is_true(json_object_get(p, "pay_in_advance")));
    json_t *c = json_array_get(json_object_get(p, "charges"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c, "billable_metric_id")), "bm-uuid");
    cr_assert_str_eq(json_string_value(json_object_get(c, "charge_model")), "standard");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "properties"), "amount")), "0.002");
    json_decref(body);
}

static const answer_t plan_found[] = {
    {200, "{\"plan\":{\"lago_id\":\"p-uuid\",\"code\":\"pro\",\"name\":\"Pro\",\"interval\":\"monthly\","
          "\"amount_cents\":2900,\"amount_currency\":\"EUR\",\"charges\":[{},{}]}}"},
};

Test(lago_round_trip, get_plan_reads_fields, .init = setup, .fini = teardown)
{
    START(plan_found);
    lago_plan_t plan;
    cr_assert_eq(lago_api_get_plan(api, "pro", &plan, &err), OB_OK, "%s", err.message);
    cr_assert_str_eq(plan.lago_id, "p-uuid");
    cr_assert_str_eq(plan.interval, "monthly");
    cr_assert_eq(plan.amount_cents, 2900);
    cr_assert_str_eq(plan.currency, "EUR");
    cr_assert_eq(plan.charges_count, 2);
}

static const answer_t not_json[] = {{200, "<html>proxy</html>"}};

Test(lago_round_trip, unreadable_success_is_upstream, .init = setup, .fini = teardown)
{
    START(not_json);
    lago_billable_metric_t metric;
    cr_assert_eq(lago_api_get_billable_metric(api, "api_calls", &metric, &err), OB_ERR_UPSTREAM);
}

Test(lago_round_trip, nobody_listening_is_transient, .init = setup, .fini = teardown)
{
    START(ok_events);
    lago_api_destroy(&api);
    api = lago_api_new("http://127.0.0.1:1", "k");
    lago_api_set_retry(api, 500, 1, 1);
    cr_assert_eq(lago_api_send_events_batch(api, &good, 1, &err), OB_ERR_TRANSIENT);
    cr_assert_eq(err.status, 0);
    cr_assert(strstr(err.message, "no response") != NULL, "%s", err.message);
}
