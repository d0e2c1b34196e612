/*  csrf: which cookie-authenticated requests may change state. */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/ob_csrf.h"
#include "tests/unit/test_params.h"

struct csrf_case {
    const char *name;
    const char *method, *origin, *host, *content_type, *public_base_url;
    const char *expected; /* NULL: allowed */
};

static const struct csrf_case s_cases[] = {
    {"GET passes whatever the origin", "GET", "https://evil.example", "billing.example", NULL, NULL, NULL},
    {"HEAD passes", "HEAD", NULL, "billing.example", NULL, NULL, NULL},
    {"OPTIONS passes", "OPTIONS", NULL, NULL, NULL, NULL, NULL},
    {"same host over http, JSON", "POST", "http://billing.example:8084", "billing.example:8084", "application/json", NULL, NULL},
    {"same host over https, JSON with charset", "POST", "https://billing.example", "billing.example",
     "application/json; charset=utf-8", NULL, NULL},
    {"media type is case-insensitive", "POST", "http://a.example", "a.example", "Application/JSON", NULL, NULL},
    {"foreign origin", "POST", "https://evil.example", "billing.example", "application/json", NULL, "cross_origin"},
    {"origin on another port", "POST", "http://billing.example:9999", "billing.example:8084", "application/json", NULL,
     "cross_origin"},
    {"origin that only starts like ours", "POST", "http://billing.example.evil.example", "billing.example", "application/json",
     NULL, "cross_origin"},
    {"no origin", "POST", NULL, "billing.example", "application/json", NULL, "cross_origin"},
    {"opaque origin", "POST", "null", "billing.example", "application/json", NULL, "cross_origin"},
    {"a form post", "POST", "http://billing.example", "billing.example", "application/x-www-form-urlencoded", NULL,
     "json_required"},
    {"text/plain (a simple CORS request)", "POST", "http://billing.example", "billing.example", "text/plain", NULL,
     "json_required"},
    {"no content type", "POST", "http://billing.example", "billing.example", NULL, NULL, "json_required"},
    {"JSON-like type", "POST", "http://billing.example", "billing.example", "application/json-patch+json", NULL, "json_required"},
    {"PUBLIC_BASE_URL wins over Host", "POST", "https://billing.example", "10.0.0.5:8084", "application/json",
     "https://billing.example/app", NULL},
    {"PUBLIC_BASE_URL set, Host-only origin refused", "POST", "http://10.0.0.5:8084", "10.0.0.5:8084", "application/json",
     "https://billing.example", "cross_origin"},
    {"PUBLIC_BASE_URL scheme must match", "POST", "http://billing.example", "billing.example", "application/json",
     "https://billing.example", "cross_origin"},
    {"DELETE is a change too", "DELETE", "https://evil.example", "billing.example", "application/json", NULL, "cross_origin"},
};

static ob_bytes_t
s_view(const char *text)
{
    return text ? (ob_bytes_t){text, strlen(text)} : (ob_bytes_t){NULL, 0};
}

ParameterizedTestParameters(csrf, table)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, csrf, table)
{
    const struct csrf_case *c = &s_cases[*index];
    ob_csrf_request_t request = {s_view(c->method), s_view(c->origin), s_view(c->host), s_view(c->content_type),
                                 c->public_base_url};
    const char *got = ob_csrf_check(&request);
    if (c->expected)
        cr_expect(got && strcmp(got, c->expected) == 0, "%s: got %s", c->name, got ? got : "allowed");
    else
        cr_expect_null(got, "%s: got %s", c->name, got);
}
