/*  subs_order: which event's state wins (the order-proof rule). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "services/subscription-worker/subs_order.h"

typedef struct {
    int64_t created;
    const char *status, *id;
    int64_t stored_created;
    const char *stored_status, *stored_id;
    bool supersedes;
} order_case_t;

Test(subs_order, table)
{
    static const order_case_t cases[] = {
        {101, "active", "evt_b", 100, "past_due", "evt_a", true},   /* later wins */
        {99, "canceled", "evt_b", 100, "active", "evt_a", false},   /* older never rolls back */
        {100, "active", "evt_a", 100, "incomplete", "evt_z", true}, /* same second: later status */
        {100, "incomplete", "evt_z", 100, "active", "evt_a", false},
        {100, "active", "evt_a", 100, "trialing", "evt_b", true},
        {100, "past_due", "evt_a", 100, "active", "evt_b", true},
        {100, "active", "evt_b", 100, "active", "evt_a", true}, /* same status: greater id, total order */
        {100, "active", "evt_a", 100, "active", "evt_b", false},
        {100, "active", "evt_a", 100, "active", "evt_a", false},   /* the same event again */
        {200, "active", "evt_b", 100, "canceled", "evt_a", false}, /* terminal */
        {200, "active", "evt_b", 100, "incomplete_expired", "evt_a", false},
        {5, "incomplete", "evt_a", -1, "incomplete", "", true}, /* nothing applied yet */
        /* same second, same status: our API's change beats Stripe's events; two of ours by time */
        {100, "active", "api:1700000000123:r1", 100, "active", "evt_z", true},
        {100, "active", "evt_z", 100, "active", "api:1700000000123:r1", false},
        {100, "active", "api:1700000000456:r0", 100, "active", "api:1700000000123:r9", true},
        {100, "active", "api:1700000000123:r9", 100, "active", "api:1700000000456:r0", false},
        {101, "active", "evt_a", 100, "active", "api:1700000000456:r0", true}, /* a later second still wins */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const order_case_t *c = &cases[i];
        cr_expect_eq(subs_order_supersedes(c->created, c->status, c->id, c->stored_created, c->stored_status, c->stored_id),
                     c->supersedes, "case %zu", i);
    }
    cr_expect_lt(subs_order_rank("incomplete"), subs_order_rank("active"));
    cr_expect_lt(subs_order_rank("unpaid"), subs_order_rank("canceled"));
    cr_expect_eq(subs_order_rank("nonsense"), -1);
}
