/*  ob_idempotency: the Idempotency-Key shape. */
#include <criterion/criterion.h>
#include <string.h>

#include "clients/ob_idempotency.h"

Test(ob_idempotency, idempotency_keys_are_stable_short_and_windowed)
{
    char a[96], b[96], c[96], d[96];
    ob_idempotency_key(a, sizeof a, "checkout", 1000, 600, "user", "starter", (const char *)NULL);
    ob_idempotency_key(b, sizeof b, "checkout", 1100, 600, "user", "starter", (const char *)NULL);
    ob_idempotency_key(c, sizeof c, "checkout", 1300, 600, "user", "starter", (const char *)NULL);
    ob_idempotency_key(d, sizeof d, "checkout", 1000, 600, "users", "tarter", (const char *)NULL);
    cr_expect_str_eq(a, b);
    cr_expect_str_neq(a, c);
    cr_expect_str_neq(a, d);
    cr_expect_eq(strlen(a), strlen("checkout:") + 32);
}
