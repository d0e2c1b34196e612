/*  bounds: ids and keys from outside are short, valid UTF-8 text; times fit Postgres. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "common/ob_bounds.h"
#include "tests/unit/test_params.h"

struct text_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen */
    size_t max;
    ob_bound_verdict_t expected;
};

static const struct text_case s_text[] = {
    {"plain id", "evt_1NqXyZ2eZvKYlo2C", 0, 255, OB_BOUND_OK},
    {"utf-8 name", "J\xc3\xbcrgen-\xe2\x82\xac-\xf0\x9f\x98\x80", 0, 255, OB_BOUND_OK},
    {"exactly the bound", "abcd", 0, 4, OB_BOUND_OK},
    {"one over the bound", "abcde", 0, 4, OB_BOUND_TOO_LONG},
    {"empty", "", 0, 255, OB_BOUND_EMPTY},
    {"NUL inside", "ab\0cd", 5, 255, OB_BOUND_CONTROL},
    {"newline", "ab\ncd", 0, 255, OB_BOUND_CONTROL},
    {"DEL", "ab\x7f", 0, 255, OB_BOUND_CONTROL},
    {"lone 0xff", "a\xff", 0, 255, OB_BOUND_NOT_UTF8},
    {"lone continuation", "\x80", 0, 255, OB_BOUND_NOT_UTF8},
    {"overlong slash", "\xc0\xaf", 0, 255, OB_BOUND_NOT_UTF8},
    {"overlong 3-byte", "\xe0\x80\xaf", 0, 255, OB_BOUND_NOT_UTF8},
    {"surrogate", "\xed\xa0\x80", 0, 255, OB_BOUND_NOT_UTF8},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 0, 255, OB_BOUND_NOT_UTF8},
    {"truncated sequence", "ab\xe2\x82", 0, 255, OB_BOUND_NOT_UTF8},
};

ParameterizedTestParameters(bounds, text)
{
    OB_TEST_CASE_INDICES(s_text);
}

ParameterizedTest(size_t *index, bounds, text)
{
    const struct text_case *c = &s_text[*index];
    size_t len = c->len ? c->len : strlen(c->text);
    ob_bound_verdict_t got = ob_bounds_check_text(c->text, len, c->max);
    cr_expect_eq(got, c->expected, "%s: got %d (%s)", c->name, got, ob_bounds_reason(got));
}

Test(bounds, a_4_KiB_id_is_too_long)
{
    static char id[4096];
    memset(id, 'c', sizeof id);
    cr_expect_eq(ob_bounds_check_text(id, sizeof id, OB_BOUND_ID_MAX), OB_BOUND_TOO_LONG);
    cr_expect_eq(ob_bounds_check_text(id, OB_BOUND_ID_MAX, OB_BOUND_ID_MAX), OB_BOUND_OK);
}

Test(bounds, times)
{
    cr_expect(ob_bounds_time_ok(0));
    cr_expect(ob_bounds_time_ok(1767225600));
    cr_expect(ob_bounds_time_ok(OB_BOUND_TIME_MAX));
    cr_expect(!ob_bounds_time_ok(OB_BOUND_TIME_MAX + 1));
    cr_expect(!ob_bounds_time_ok(-1));
    cr_expect(!ob_bounds_time_ok(INT64_MAX));
}
