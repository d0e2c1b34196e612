/*  ob_strset: the in-batch duplicate set. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/ob_strset.h"

Test(ob_strset, strset)
{
    ob_strset_t set;
    cr_assert(ob_strset_init(&set, 2) == 0);
    char keys[100][8];
    for (int i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        cr_expect(ob_strset_add(&set, keys[i]) == 1);
    }
    for (int i = 0; i < 100; i++)
        cr_expect(ob_strset_add(&set, keys[i]) == 0 && ob_strset_has(&set, keys[i]));
    cr_expect(!ob_strset_has(&set, "k100"));
    ob_strset_release(&set);
}
