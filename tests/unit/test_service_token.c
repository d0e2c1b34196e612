/*  ob_service_token: the token list check and the Bearer parser, table-driven. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "gateway/ob_service_token.h"
#include "tests/unit/test_params.h"

/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *csv;       /* configured SERVICE_TOKENS */
    const char *presented; /* NULL = no token */
    size_t len;            /* 0 = strlen(presented) */
    bool expected;
} check_case_t;

static const check_case_t s_check_cases[] = {
    {"single token matches", "s3cret-token-A", "s3cret-token-A", 0, true},
    {"second of two matches (rolling)", "old-token,new-token", "new-token", 0, true},
    {"first of two matches", "old-token,new-token", "old-token", 0, true},
    {"spaces around entries are ignored", " old-token , new-token ", "new-token", 0, true},
    {"a prefix does not match", "s3cret-token-A", "s3cret", 0, false},
    {"a longer token does not match", "s3cret-token-A", "s3cret-token-AB", 0, false},
    {"tokens are case-sensitive", "s3cret-token-A", "S3CRET-TOKEN-A", 0, false},
    {"an unknown token does not match", "old-token,new-token", "other-token", 0, false},
    {"the presented view is bounded by len", "s3cret", "s3cret-and-more", 6, true},
    {"empty presented token", "s3cret", "", 0, false},
    {"no presented token", "s3cret", NULL, 0, false},
    {"empty list", "", "s3cret", 0, false},
    {"no list", NULL, "s3cret", 0, false},
    {"empty entries never admit an empty token", "a,,b,", "", 0, false},
    {"a comma is not part of a token", "a,b", "a,b", 0, false},
};

ParameterizedTestParameters(service_token, check)
{
    OB_TEST_CASE_INDICES(s_check_cases);
}

ParameterizedTest(size_t *index, service_token, check)
{
    const check_case_t *c = &s_check_cases[*index];
    size_t len = c->len ? c->len : (c->presented ? strlen(c->presented) : 0);
    cr_assert_eq(ob_service_token_check(c->csv, c->presented, len), c->expected, "case: %s", c->name);
}

Test(service_token, oversized_presented_token_is_refused)
{
    static char big[OB_SERVICE_TOKEN_MAX_LEN + 2];
    memset(big, 'x', sizeof big - 1);
    cr_assert_not(ob_service_token_check(big, big, sizeof big - 1));
    cr_assert(ob_service_token_check(big + 1, big + 1, sizeof big - 2)); /* exactly the maximum still works */
}

/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *authz;
    size_t len;           /* 0 = strlen(authz) */
    const char *expected; /* NULL = not a Bearer credential */
} bearer_case_t;

static const bearer_case_t s_bearer_cases[] = {
    {"canonical", "Bearer abc.def-ghi", 0, "abc.def-ghi"},
    {"scheme is case-insensitive", "bearer abc", 0, "abc"},
    {"upper-case scheme, extra spaces", "BEARER    abc   ", 0, "abc"},
    {"leading whitespace", " \tBearer abc", 0, "abc"},
    {"tab separator", "Bearer\tabc", 0, "abc"},
    {"padding characters kept", "Bearer abc==", 0, "abc=="},
    {"bounded by len", "Bearer abcdef", 10, "abc"},
    {"another scheme", "Basic dXNlcjpwYXNz", 0, NULL},
    {"scheme only", "Bearer", 0, NULL},
    {"scheme and space only", "Bearer   ", 0, NULL},
    {"no separator", "Bearerabc", 0, NULL},
    {"inner space", "Bearer abc def", 0, NULL},
    {"control byte", "Bearer abc\x01", 0, NULL},
    {"non-ASCII", "Bearer abc\xc3\xa9", 0, NULL},
    {"empty", "", 0, NULL},
    {"truncated scheme", "Bear", 0, NULL},
};

ParameterizedTestParameters(service_token, parse_bearer)
{
    OB_TEST_CASE_INDICES(s_bearer_cases);
}

ParameterizedTest(size_t *index, service_token, parse_bearer)
{
    const bearer_case_t *c = &s_bearer_cases[*index];
    size_t len = c->len ? c->len : strlen(c->authz);
    const char *token = NULL;
    size_t token_len = 0;
    int rc = ob_service_token_parse_bearer(c->authz, len, &token, &token_len);
    if (!c->expected) {
        cr_assert_eq(rc, -1, "case: %s", c->name);
        cr_assert_null(token, "case: %s: outputs must stay untouched", c->name);
        return;
    }
    cr_assert_eq(rc, 0, "case: %s", c->name);
    cr_assert_eq(token_len, strlen(c->expected), "case: %s", c->name);
    cr_assert(memcmp(token, c->expected, token_len) == 0, "case: %s", c->name);
    cr_assert(token >= c->authz && token + token_len <= c->authz + len, "case: %s: a view into the input", c->name);
}

Test(service_token, parse_bearer_null_input)
{
    const char *token = NULL;
    size_t token_len = 0;
    cr_assert_eq(ob_service_token_parse_bearer(NULL, 10, &token, &token_len), -1);
}
