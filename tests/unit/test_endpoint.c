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
