/*  query strings: decoding, absence, overflow. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/ob_query.h"

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
