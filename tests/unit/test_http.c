/*  ob_http: retries, idempotency keys, timeouts and limits, against a tiny
 *  scripted HTTP server on 127.0.0.1 that runs in a thread of the test. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_http.h"

/*  One scripted answer; the last one repeats. */
typedef struct {
    int status;
    const char *headers; /* extra "Name: value\r\n" lines, or NULL */
    const char *body;    /* NULL = "{}" */
    size_t big;          /* when > 0, a body of this many bytes instead */
    int delay_ms;        /* wait before answering */
} step_t;

#define MAX_SEEN 8

typedef struct {
    int fd, port;
    const step_t *steps;
    size_t nsteps;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
    int requests;
    char method[MAX_SEEN][16];
    char idem[MAX_SEEN][128];
    char body[MAX_SEEN][256];
} stub_t;

static long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  Sleeps up to ms, waking early when the test is over. */
static void
stub_wait(stub_t *s, int ms)
{
    for (long until = now_ms() + ms; now_ms() < until && !atomic_load(&s->stop);)
        usleep(5000);
}

static void
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void
header_value(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    char needle[64];
    snprintf(needle, sizeof needle, "\r\n%s:", name);
    const char *p = strcasestr(head, needle);
    if (!p)
        return;
    p += strlen(needle);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

static void
stub_serve_one(stub_t *s, int fd)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof buf - 1 && !(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        buf[len] = '\0';
    }
    if (!end)
        return;
    *end = '\0';
    char value[128];
    header_value(buf, "Content-Length", value, sizeof value);
    size_t want = (size_t)atol(value), have = len - (size_t)(end + 4 - buf);
    while (have < want && len < sizeof buf - 1) {
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        have += (size_t)r;
    }
    buf[len] = '\0';

    pthread_mutex_lock(&s->lock);
    int i = s->requests++;
    if (i < MAX_SEEN) {
        snprintf(s->method[i], sizeof s->method[i], "%.*s", (int)strcspn(buf, " "), buf);
        header_value(buf, "Idempotency-Key", s->idem[i], sizeof s->idem[i]);
        snprintf(s->body[i], sizeof s->body[i], "%.*s", (int)(want < 255 ? want : 255), end + 4);
    }
    pthread_mutex_unlock(&s->lock);

    const step_t *st = &s->steps[(size_t)i < s->nsteps ? (size_t)i : s->nsteps - 1];
    stub_wait(s, st->delay_ms);
    if (atomic_load(&s->stop))
        return;
    const char *body = st->body ? st->body : "{}";
    size_t body_len = st->big ? st->big : strlen(body);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     st->status, st->headers ? st->headers : "", body_len);
    send_all(fd, head, (size_t)n);
    if (st->big) {
        char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (size_t sent = 0; sent < st->big && !atomic_load(&s->stop); sent += sizeof chunk)
            send_all(fd, chunk, st->big - sent < sizeof chunk ? st->big - sent : sizeof chunk);
    } else {
        send_all(fd, body, body_len);
    }
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
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        stub_serve_one(s, fd);
        close(fd);
    }
    return NULL;
}

/*  A listening socket on an ephemeral loopback port; returns the fd. */
static int
listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    cr_assert(listen(fd, 16) == 0);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    *port = ntohs(a.sin_port);
    return fd;
}

static void
stub_start(stub_t *s, const step_t *steps, size_t nsteps)
{
    memset(s, 0, sizeof *s);
    s->steps = steps;
    s->nsteps = nsteps;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = listen_loopback(&s->port);
    cr_assert(pthread_create(&s->thread, NULL, stub_run, s) == 0);
}

static void
stub_stop(stub_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
}

static ob_http_t *client;
static ob_http_response_t resp;

static void
setup(void)
{
    cr_assert(ob_http_global_init() == 0);
    client = ob_http_new();
    cr_assert(client);
}

static void
teardown(void)
{
    ob_http_response_reset(&resp);
    ob_http_destroy(&client);
    curl_global_cleanup();
}

#define STEPS(...) (const step_t[]){__VA_ARGS__}, sizeof((const step_t[]){__VA_ARGS__}) / sizeof(step_t)

static ob_err_t
post(stub_t *s, int max_attempts, long timeout_ms)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/things", s->port);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    ob_http_request_t req = {.method = "POST",
                             .url = url,
                             .headers = headers,
                             .body = "a=1&b=two",
                             .body_len = 9,
                             .idempotency_key = "op:user-1:plan-2",
                             .timeout_ms = timeout_ms,
                             .max_attempts = max_attempts,
                             .backoff_base_ms = 1};
    return ob_http_send(client, &req, &resp);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 20);

Test(http, retries_500_then_succeeds_with_the_same_idempotency_key)
{
    stub_t s;
    stub_start(&s, STEPS({500}, {500}, {200, "Request-Id: req_abc123\r\n", "{\"ok\":true}"}));
    ob_err_t err = post(&s, 3, 2000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 200);
    cr_assert_eq(resp.attempts, 3);
    cr_assert_str_eq(resp.body, "{\"ok\":true}");
    cr_assert_eq(resp.body_len, 11);
    cr_assert_str_eq(resp.request_id, "req_abc123");
    cr_assert_eq(s.requests, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(s.method[i], "POST");
        cr_assert_str_eq(s.idem[i], "op:user-1:plan-2");
        cr_assert_str_eq(s.body[i], "a=1&b=two");
    }
}

Test(http, does_not_retry_a_400)
{
    stub_t s;
    stub_start(&s, STEPS({400, NULL, "{\"error\":{\"type\":\"invalid_request_error\"}}"}, {200}));
    ob_err_t err = post(&s, 3, 2000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 400);
    cr_assert_eq(resp.attempts, 1);
    cr_assert_eq(s.requests, 1);
    cr_assert(strstr(resp.body, "invalid_request_error"));
}

Test(http, stripe_should_retry_false_stops_retries_on_a_5xx)
{
    stub_t s;
    stub_start(&s, STEPS({503, "Stripe-Should-Retry: false\r\n"}, {200}));
    ob_err_t err = post(&s, 3, 2000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 503);
    cr_assert_eq(resp.attempts, 1);
    cr_assert_eq(s.requests, 1);
}

Test(http, stripe_should_retry_true_retries_a_4xx)
{
    stub_t s;
    stub_start(&s, STEPS({400, "stripe-should-retry: true\r\n"}, {200}));
    ob_err_t err = post(&s, 3, 2000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 200);
    cr_assert_eq(resp.attempts, 2);
}

Test(http, retries_409_and_429)
{
    stub_t s;
    stub_start(&s, STEPS({409}, {429}, {201}));
    ob_err_t err = post(&s, 3, 2000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 201);
    cr_assert_eq(resp.attempts, 3);
}

Test(http, honours_retry_after)
{
    stub_t s;
    stub_start(&s, STEPS({429, "Retry-After: 1\r\n"}, {200}));
    long t0 = now_ms();
    ob_err_t err = post(&s, 2, 2000);
    long elapsed = now_ms() - t0;
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 200);
    cr_assert_eq(resp.attempts, 2);
    cr_assert_geq(elapsed, 950, "waited only %ld ms", elapsed);
}

Test(http, returns_the_last_response_when_retries_run_out)
{
    stub_t s;
    stub_start(&s, STEPS({502, "Request-Id: req_last\r\n", "bad gateway"}));
    ob_err_t err = post(&s, 2, 2000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.status, 502);
    cr_assert_eq(resp.attempts, 2);
    cr_assert_str_eq(resp.body, "bad gateway");
    cr_assert_str_eq(resp.request_id, "req_last");
}

Test(http, a_timeout_is_transient)
{
    stub_t s;
    stub_start(&s, STEPS({200, NULL, NULL, 0, 3000}));
    long t0 = now_ms();
    ob_err_t err = post(&s, 2, 200);
    long elapsed = now_ms() - t0;
    stub_stop(&s);

    cr_assert_eq(err, OB_ERR_TRANSIENT);
    cr_assert_eq(resp.status, 0);
    cr_assert_null(resp.body);
    cr_assert_eq(resp.attempts, 2);
    cr_assert_neq(resp.error[0], '\0');
    cr_assert_lt(elapsed, 2000, "took %ld ms", elapsed);
}

Test(http, a_refused_connection_is_transient)
{
    int port;
    close(listen_loopback(&port));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    ob_http_request_t req = {.method = "GET", .url = url, .max_attempts = 2, .backoff_base_ms = 1};
    cr_assert_eq(ob_http_send(client, &req, &resp), OB_ERR_TRANSIENT);
    cr_assert_eq(resp.status, 0);
    cr_assert_eq(resp.attempts, 2);
}

Test(http, a_body_over_8_mib_is_an_upstream_error)
{
    stub_t s;
    stub_start(&s, STEPS({200, NULL, NULL, 8u * 1024 * 1024 + 1}));
    ob_err_t err = post(&s, 3, 5000);
    stub_stop(&s);

    cr_assert_eq(err, OB_ERR_UPSTREAM);
    cr_assert_eq(resp.status, 200);
    cr_assert_null(resp.body);
    cr_assert_eq(resp.attempts, 1);
}

Test(http, a_body_of_exactly_8_mib_is_accepted)
{
    stub_t s;
    stub_start(&s, STEPS({200, NULL, NULL, 8u * 1024 * 1024}));
    ob_err_t err = post(&s, 1, 5000);
    stub_stop(&s);

    cr_assert_eq(err, OB_OK);
    cr_assert_eq(resp.body_len, 8u * 1024 * 1024);
    cr_assert_eq(resp.body[resp.body_len], '\0');
}

Test(http, sends_other_methods_and_reuses_the_client)
{
    stub_t s;
    stub_start(&s, STEPS({200, NULL, "{\"deleted\":true}"}, {200, NULL, "{\"id\":1}"}));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/subscriptions/sub_1", s.port);
    ob_http_request_t del = {.method = "DELETE", .url = url};
    cr_assert_eq(ob_http_send(client, &del, &resp), OB_OK);
    cr_assert_str_eq(resp.body, "{\"deleted\":true}");
    ob_http_request_t get = {.method = "GET", .url = url};
    cr_assert_eq(ob_http_send(client, &get, &resp), OB_OK);
    cr_assert_str_eq(resp.body, "{\"id\":1}");
    stub_stop(&s);

    cr_assert_str_eq(s.method[0], "DELETE");
    cr_assert_str_eq(s.method[1], "GET");
    cr_assert_str_eq(s.idem[1], "", "no Idempotency-Key leaks from the DELETE into the GET");
}

Test(http, rejects_unusable_requests_without_sending)
{
    const char *injected[] = {"X-A: b\r\nX-B: c", NULL};
    const char *no_colon[] = {"Broken", NULL};
    const struct {
        ob_http_request_t req;
        const char *why;
    } cases[] = {
        {{.method = "GET", .url = NULL}, "no url"},
        {{.method = NULL, .url = "http://127.0.0.1:1/"}, "no method"},
        {{.method = "GET", .url = "http://127.0.0.1:1/", .headers = injected}, "CRLF in a header"},
        {{.method = "GET", .url = "http://127.0.0.1:1/", .headers = no_colon}, "header without colon"},
        {{.method = "POST", .url = "http://127.0.0.1:1/", .idempotency_key = "k\r\nX: y"}, "CRLF in the key"},
        {{.method = "GET", .url = "ftp://127.0.0.1:1/"}, "unsupported scheme"},
        {{.method = "POST", .url = "http://127.0.0.1:1/", .body_len = 3}, "length without body"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(ob_http_send(client, &cases[i].req, &resp), OB_ERR_INVALID, "%s", cases[i].why);
        cr_expect_leq(resp.attempts, 1, "%s", cases[i].why);
    }
}
