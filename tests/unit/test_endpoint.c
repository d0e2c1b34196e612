/*  endpoint: exactly one ZeroMQ endpoint, or a reason naming what is wrong. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "common/ob_endpoint.h"
#include "tests/unit/test_params.h"

struct endpoint_case {
    const char *endpoint;
    bool ok;
};

static const struct endpoint_case s_cases[] = {
    {"tcp://127.0.0.1:5555", true},
    {"tcp://*:5555", true},
    {"tcp://gateway:5555", true},
    {"tcp://billing-gateway.internal:65535", true},
    {"tcp://[::1]:5555", true},
    {"ipc:///run/ob/broker.sock", true},
    {"inproc://ob-broker", true},
    {"tcp://127.0.0.1:5555,tcp://127.0.0.1:5599", false},
    {"tcp://127.0.0.1:5555 tcp://127.0.0.1:5599", false},
    {"tcp://127.0.0.1", false},
    {"tcp://:5555", false},
    {"tcp://127.0.0.1:", false},
    {"tcp://127.0.0.1:0", false},
    {"tcp://127.0.0.1:65536", false},
    {"tcp://127.0.0.1:99999", false},
    {"tcp://127.0.0.1:055555", false},
    {"tcp://127.0.0.1:55a5", false},
    {"tcp://127.0.0.1:-1", false},
    {"tcp://127.0.0.1:5555 ", false},
    {"tcp://127.0.0.1:5555/x", false},
    {"tcp://exa mple:5555", false},
    {"tcp://[::1:5555", false},
    {"tcp://[zz]:5555", false},
    {"http://127.0.0.1:5555", false},
    {"broker-host:5555", false},
    {"ipc://", false},
    {"ipc://a\nb", false},
    {"inproc://", false},
    {"", false},
};

ParameterizedTestParameters(endpoint, table)
{
    OB_TEST_CASE_INDICES(s_cases);
}

ParameterizedTest(size_t *index, endpoint, table)
{
    const struct endpoint_case *c = &s_cases[*index];
    const char *problem = ob_endpoint_problem(c->endpoint);
    if (c->ok)
        cr_expect_null(problem, "%s: %s", c->endpoint, problem);
    else
        cr_expect(problem && *problem, "%s accepted", c->endpoint);
}

/*  BROKER_ENDPOINT: one endpoint per gateway, comma-separated. */
static const struct endpoint_case s_list_cases[] = {
    {"tcp://127.0.0.1:5555", true},
    {"tcp://127.0.0.1:5555,tcp://127.0.0.1:5599", true},
    {"tcp://gw1:5555,tcp://gw2:5555,ipc:///run/ob/broker.sock", true},
    {"tcp://[::1]:5555,tcp://127.0.0.1:5555", true},
    {"tcp://a:1,tcp://b:2,tcp://c:3,tcp://d:4,tcp://e:5,tcp://f:6,tcp://g:7,tcp://h:8,"
     "tcp://i:9,tcp://j:10,tcp://k:11,tcp://l:12,tcp://m:13,tcp://n:14,tcp://o:15,tcp://p:16",
     true},
    {"tcp://a:1,tcp://b:2,tcp://c:3,tcp://d:4,tcp://e:5,tcp://f:6,tcp://g:7,tcp://h:8,"
     "tcp://i:9,tcp://j:10,tcp://k:11,tcp://l:12,tcp://m:13,tcp://n:14,tcp://o:15,tcp://p:16,tcp://q:17",
     false},
    {"tcp://127.0.0.1:5555,tcp://127.0.0.1:5555", false},
    {"tcp://127.0.0.1:5555,", false},
    {",tcp://127.0.0.1:5555", false},
    {"tcp://127.0.0.1:5555,,tcp://127.0.0.1:5599", false},
    {"tcp://127.0.0.1:5555, tcp://127.0.0.1:5599", false},
    {"tcp://127.0.0.1:5555;tcp://127.0.0.1:5599", false},
    {"tcp://127.0.0.1:5555,tcp://127.0.0.1", false},
    {"tcp://127.0.0.1:5555,http://127.0.0.1:5599", false},
    {"tcp://127.0.0.1:5555 tcp://127.0.0.1:5599", false},
    {",", false},
    {"", false},
};

ParameterizedTestParameters(endpoint, list)
{
    OB_TEST_CASE_INDICES(s_list_cases);
}

ParameterizedTest(size_t *index, endpoint, list)
{
    const struct endpoint_case *c = &s_list_cases[*index];
    const char *problem = ob_endpoint_list_problem(c->endpoint);
    if (c->ok)
        cr_expect_null(problem, "%s: %s", c->endpoint, problem);
    else
        cr_expect(problem && *problem, "%s accepted", c->endpoint);
}

Test(endpoint, list_item_too_long)
{
    char list[700] = "tcp://127.0.0.1:5555,tcp://";
    size_t len = strlen(list);
    memset(list + len, 'a', 600);
    strcpy(list + len + 600, ":5555");
    cr_expect_not_null(ob_endpoint_list_problem(list));
}

/*  Without CURVE the broker may bind only what this machine alone reaches. */
static const struct endpoint_case s_loopback_cases[] = {
    {"tcp://127.0.0.1:5555", true},
    {"tcp://127.1.2.3:5555", true},
    {"tcp://localhost:5555", true},
    {"tcp://[::1]:5555", true},
    {"tcp://lo:5555", true},
    {"ipc:///run/ob/broker.sock", true},
    {"inproc://ob-broker", true},
    {"tcp://*:5555", false},
    {"tcp://0.0.0.0:5555", false},
    {"tcp://10.0.0.5:5555", false},
    {"tcp://[::]:5555", false},
    {"tcp://eth0:5555", false},
    {"tcp://127.0.0:5555", false},
    {"tcp://127.0.0.1.5:5555", false},
    {"tcp://127..0.1:5555", false},
    {"tcp://127.0.0.1.evil.example:5555", false},
    {"tcp://localhost.example:5555", false},
};

ParameterizedTestParameters(endpoint, loopback)
{
    OB_TEST_CASE_INDICES(s_loopback_cases);
}

ParameterizedTest(size_t *index, endpoint, loopback)
{
    const struct endpoint_case *c = &s_loopback_cases[*index];
    cr_expect_eq(ob_endpoint_is_loopback(c->endpoint), c->ok, "%s", c->endpoint);
}
