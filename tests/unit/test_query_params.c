/*  query parameters: one rule, absent is absent and unusable is INVALID. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "common/ob_query.h"
#include "tests/unit/test_params.h"

struct long_case {
    const char *query;
    ob_query_result_t expected;
    long value; /* when FOUND */
};

static const struct long_case s_longs[] = {
    {"limit=10", OB_QUERY_FOUND, 10},
    {"limit=1000", OB_QUERY_FOUND, 1000},
    {"limit=1", OB_QUERY_FOUND, 1},
    {"other=5", OB_QUERY_ABSENT, 0},
    {"", OB_QUERY_ABSENT, 0},
    {"limit=0", OB_QUERY_INVALID, 0},
    {"limit=1001", OB_QUERY_INVALID, 0},
    {"limit=4294967296", OB_QUERY_INVALID, 0},
    {"limit=9223372036854775807", OB_QUERY_INVALID, 0},
    {"limit=9223372036854775808", OB_QUERY_INVALID, 0},
    {"limit=18446744073709551616", OB_QUERY_INVALID, 0},
    {"limit=123456789012345678901234567890", OB_QUERY_INVALID, 0},
    {"limit=", OB_QUERY_INVALID, 0},
    {"limit", OB_QUERY_INVALID, 0},
    {"limit=-5", OB_QUERY_INVALID, 0},
    {"limit=+5", OB_QUERY_INVALID, 0},
    {"limit=%205", OB_QUERY_INVALID, 0},
    {"limit=10abc", OB_QUERY_INVALID, 0},
    {"limit=1%00", OB_QUERY_INVALID, 0},
    {"limit=0x10", OB_QUERY_INVALID, 0},
};

ParameterizedTestParameters(query_params, long_values)
{
    OB_TEST_CASE_INDICES(s_longs);
}

ParameterizedTest(size_t *index, query_params, long_values)
{
    const struct long_case *c = &s_longs[*index];
    long value = -42;
    ob_query_result_t got = ob_query_long(ob_bytes(c->query), "limit", 1, 1000, &value);
    cr_expect_eq(got, c->expected, "%s", c->query);
    cr_expect_eq(value, got == OB_QUERY_FOUND ? c->value : -42, "%s: value", c->query);
}

Test(query_params, text_too_long_or_with_a_nul_is_invalid_not_absent)
{
    char out[32] = "unchanged";
    char q[128];
    snprintf(q, sizeof q, "status=%s", "f0123456789012345678901234567890123");
    cr_expect_eq(ob_query_text(ob_bytes(q), "status", out, sizeof out), OB_QUERY_INVALID);
    cr_expect_eq(ob_query_text(ob_bytes("status=failed%00x"), "status", out, sizeof out), OB_QUERY_INVALID);
    cr_expect_str_eq(out, "unchanged");
    cr_expect_eq(ob_query_text(ob_bytes("a=1"), "status", out, sizeof out), OB_QUERY_ABSENT);
    cr_expect_eq(ob_query_text(ob_bytes("status=fail%65d"), "status", out, sizeof out), OB_QUERY_FOUND);
    cr_expect_str_eq(out, "failed");
    /* exactly cap - 1 bytes fit */
    cr_expect_eq(ob_query_text(ob_bytes("status=abc"), "status", out, 4), OB_QUERY_FOUND);
    cr_expect_eq(ob_query_text(ob_bytes("status=abcd"), "status", out, 4), OB_QUERY_INVALID);
}
