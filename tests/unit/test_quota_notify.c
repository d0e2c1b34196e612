/*  quota_notify_crossed: which thresholds a counted call crosses. */
#include <criterion/criterion.h>

#include "services/lago-worker/quota_notify.h"

Test(quota_notify, crossed)
{
    static const struct {
        long long before, after, limit;
        bool refused;
        int expected[3]; /* 0 terminated */
    } cases[] = {
        {0, 1, 1000, false, {0}},
        {798, 799, 1000, false, {0}},
        {799, 800, 1000, false, {80, 0}},
        {800, 801, 1000, false, {0}},
        {700, 1000, 1000, false, {80, 100, 0}},
        {999, 1000, 1000, false, {100, 0}},
        {1000, 1000, 1000, true, {100, 0}},
        {10, 10, 1000, true, {100, 0}},
        {559, 560, 700, false, {80, 0}}, /* the trial: 700 in total */
        {0, 1, 1, false, {100, 0}},      /* 80% of 1 is the limit itself */
        {3, 4, 5, false, {80, 0}},
        {0, 5, -1, false, {0}}, /* unlimited */
        {0, 5, 0, true, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int out[2] = {0, 0};
        size_t n = quota_notify_crossed(cases[i].before, cases[i].after, cases[i].limit, cases[i].refused, out);
        size_t expected = 0;
        while (cases[i].expected[expected])
            expected++;
        cr_expect_eq(n, expected, "case %zu: %zu thresholds", i, n);
        for (size_t k = 0; k < n && k < expected; k++)
            cr_expect_eq(out[k], cases[i].expected[k], "case %zu", i);
    }
}
