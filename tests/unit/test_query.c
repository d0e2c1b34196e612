/*  query strings: decoding, absence, overflow. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "common/ob_query.h"
#include "tests/unit/test_params.h"

Test(query, table)
{
    static const struct {
        const char *query, *name;
        int rc;
        const char *value;
    } cases[] = {
        {"status=failed&limit=10", "status", 0, "failed"},
        {"status=failed&limit=10", "limit", 0, "10"},
        {"a=x%20y+z", "a", 0, "x y z"},
        {"a=%zz", "a", 0, "%zz"},
        {"flag&b=2", "flag", 0, ""},
        {"ab=1", "a", -1, NULL},
        {"", "a", -1, NULL},
        {"a=0123456789abcdef", "a", -1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16] = "unchanged";
        int rc = ob_query_get(ob_bytes(cases[i].query), cases[i].name, out, sizeof out);
        cr_expect_eq(rc, cases[i].rc, "%s / %s", cases[i].query, cases[i].name);
        if (rc == 0)
            cr_expect_str_eq(out, cases[i].value);
    }
    char out[4];
    cr_expect_eq(ob_query_get((ob_bytes_t){NULL, 0}, "a", out, sizeof out), -1);
}

/*  The admin events list reads status and limit this way (it had its own copy). */
Test(query, admin_events_params)
{
    static const char q[] = "limit=10&status=fail%65d&empty=&flag&plus=a+b";
    const ob_bytes_t query = {q, sizeof q - 1};
    char out[32];
    cr_expect_eq(ob_query_get(query, "status", out, sizeof out), 0);
    cr_expect_str_eq(out, "failed");
    cr_expect_eq(ob_query_get(query, "limit", out, sizeof out), 0);
    cr_expect_str_eq(out, "10");
    cr_expect_eq(ob_query_get(query, "empty", out, sizeof out), 0);
    cr_expect_str_eq(out, "");
    cr_expect_eq(ob_query_get(query, "plus", out, sizeof out), 0);
    cr_expect_str_eq(out, "a b");
    cr_expect_eq(ob_query_get(query, "flag", out, sizeof out), 0);
    cr_expect_eq(ob_query_get(query, "stat", out, sizeof out), -1);
    cr_expect_eq(ob_query_get(query, "status", out, 3), -1); /* too long for the buffer */
    cr_expect_eq(ob_query_get((ob_bytes_t){NULL, 0}, "status", out, sizeof out), -1);
    cr_expect_eq(ob_query_get(query, "empty", out, 0), -1); /* no room even for the NUL */
}

/* ------------------------------------------------------------------------ */
/*  ob_query_text / ob_query_long: one rule, absent is absent and unusable is INVALID. */

struct query_long_case {
    const char *query;
    ob_query_result_t expected;
    long value; /* when FOUND */
};

static const struct query_long_case s_long_cases[] = {
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
    OB_TEST_CASE_INDICES(s_long_cases);
}

ParameterizedTest(size_t *index, query_params, long_values)
{
    const struct query_long_case *c = &s_long_cases[*index];
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
