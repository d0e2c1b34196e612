/*  quota: the stored answer codec. */
#include <criterion/criterion.h>
#include <string.h>

#include "services/lago-worker/quota.h"

Test(quota, quota_answer_codec)
{
    quota_answer_t a;
    cr_expect(quota_answer_parse("1|10|1000|1767225600", &a) == 0);
    cr_expect(a.allowed && a.used == 10 && a.limit == 1000 && a.resets_at == 1767225600);
    cr_expect(quota_answer_parse("0|700|700|0", &a) == 0 && !a.allowed && a.resets_at == 0);
    cr_expect(quota_answer_parse("1|0|-1|0", &a) == 0 && a.limit == -1);
    cr_expect(quota_answer_parse("2|0|0|0", &a) == -1);
    cr_expect(quota_answer_parse("1|0|0", &a) == -1);
    cr_expect(quota_answer_parse("1|0|0|0x", &a) == -1);
    cr_expect(quota_answer_parse(NULL, &a) == -1);
}
