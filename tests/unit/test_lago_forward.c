/*  lago_forward: the forwarding back-off. */
#include <criterion/criterion.h>

#include "services/lago-worker/lago_forward.h"

Test(lago_forward, forward_backoff)
{
    cr_expect(lago_forward_backoff_s(1, 60) == 1);
    cr_expect(lago_forward_backoff_s(2, 60) == 2);
    cr_expect(lago_forward_backoff_s(5, 60) == 16);
    cr_expect(lago_forward_backoff_s(7, 60) == 60);
    cr_expect(lago_forward_backoff_s(1000, 60) == 60);
    cr_expect(lago_forward_backoff_s(3, 2) == 2);
}
