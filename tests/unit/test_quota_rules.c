/*  quota_rules: what each Redis answer and each round outcome of
 *  usage.authorize leads to, without Redis or Postgres. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

#include "services/lago-worker/quota_rules.h"
#include "tests/unit/test_params.h"

typedef struct {
    const char *name;
    quota_kind_t kind;
    bool allowed, metered, fail_open;
    quota_step_kind_t step;
    bool degraded, dup, answered_now, redis_down, counters_dirty, reload_scripts;
    int status;
    const char *code;
} step_case_t;

static const step_case_t s_steps[] = {
    {"fresh allowed answer is inserted", QUOTA_ANSWERED, true, true, false, QUOTA_STEP_INSERT},
    {"fresh refusal is answered now, nothing written", QUOTA_ANSWERED, false, true, false, QUOTA_STEP_REFUSE},
    {"allowed repeat is inserted again (no-op if committed)", QUOTA_DUP, true, true, false, QUOTA_STEP_INSERT, false, true},
    {"refused repeat is answered now and hangs on the commit", QUOTA_DUP, false, true, false, QUOTA_STEP_REFUSE, false, true, true},
    {"no entitlement copy: settle, then retry", QUOTA_MISS, false, true, false, QUOTA_STEP_DEFER},
    {"ended window: refresh, then retry", QUOTA_STALE, false, true, false, QUOTA_STEP_DEFER},
    {"no counter: rebuild, then retry", QUOTA_REBUILD, false, true, false, QUOTA_STEP_DEFER},
    {"a team account's lock not held: take it, then retry", QUOTA_ACCOUNT, false, true, false, QUOTA_STEP_DEFER},
    {"lost script: reload, then retry", QUOTA_NOSCRIPT, false, true, false, QUOTA_STEP_DEFER, false, false, false, false, false,
     true},
    {"no live subscription is 403", QUOTA_NO_SUB, false, true, false, QUOTA_STEP_FAIL, false, false, false, false, false, false,
     403, "no_live_subscription"},
    {"Redis down, policy closed: 503", QUOTA_REDIS_DOWN, false, true, false, QUOTA_STEP_FAIL, false, false, false, true, false,
     false, 503, "quota_unavailable"},
    {"Redis down, policy open, metered: degraded insert, counters dirty", QUOTA_REDIS_DOWN, false, true, true, QUOTA_STEP_INSERT,
     true, false, false, true, true},
    {"Redis down, policy open, unmetered: degraded insert, counters clean", QUOTA_REDIS_DOWN, false, false, true, QUOTA_STEP_INSERT,
     true, false, false, true, false},
};

ParameterizedTestParameters(quota_rules, step)
{
    OB_TEST_CASE_INDICES(s_steps);
}

ParameterizedTest(size_t *index, quota_rules, step)
{
    const step_case_t *c = &s_steps[*index];
    /* Given the Redis answer of the case, when the round decides */
    quota_step_t step = quota_rules_step(c->kind, c->allowed, c->metered, c->fail_open);
    /* then the request takes the expected step */
    cr_assert_eq(step.kind, c->step, "%s", c->name);
    cr_assert_eq(step.degraded, c->degraded, "%s: degraded", c->name);
    cr_assert_eq(step.dup, c->dup, "%s: dup", c->name);
    cr_assert_eq(step.answered_now, c->answered_now, "%s: answered_now", c->name);
    cr_assert_eq(step.redis_down, c->redis_down, "%s: redis_down", c->name);
    cr_assert_eq(step.counters_dirty, c->counters_dirty, "%s: counters_dirty", c->name);
    cr_assert_eq(step.reload_scripts, c->reload_scripts, "%s: reload_scripts", c->name);
    if (c->step == QUOTA_STEP_FAIL) {
        cr_assert_eq(step.status, c->status, "%s: status", c->name);
        cr_assert_str_eq(step.code, c->code, "%s: code", c->name);
        cr_assert(step.message && step.message[0], "%s: message", c->name);
    }
}

typedef struct {
    const char *name;
    quota_round_facts_t facts;
    quota_final_kind_t final;
    bool give_back, uncounted, forget_answer, uncount_used;
} final_case_t;

static const final_case_t s_finals[] = {
    {"committed fresh row: the answer", {true, false, true, false, false, false, true}, QUOTA_FINAL_ANSWER},
    {"committed fresh degraded row: degraded", {true, false, true, true, false, false, true}, QUOTA_FINAL_DEGRADED},
    {"committed repeat of an allowed one: duplicate answer",
     {true, false, true, false, true, false, false},
     QUOTA_FINAL_ANSWER_DUP},
    {"committed, row was already in the ledger: give back, duplicate",
     {true, false, true, false, false, false, false},
     QUOTA_FINAL_ANSWER_DUP,
     true,
     false,
     false,
     true},
    {"committed, degraded row was already there: degraded duplicate",
     {true, false, true, true, false, false, false},
     QUOTA_FINAL_DEGRADED_DUP},
    {"committed, nothing inserted (refused or failed): nothing more",
     {true, false, false, false, false, false, false},
     QUOTA_FINAL_NONE},
    {"rolled back: give back, forget the answer, 503",
     {false, false, true, false, false, false, false},
     QUOTA_FINAL_UNAVAILABLE,
     true,
     false,
     true},
    {"commit outcome unknown: only a known take goes back",
     {false, true, true, false, false, false, false},
     QUOTA_FINAL_UNAVAILABLE,
     true,
     true,
     true},
    {"rolled back degraded row: 503, no counter to touch",
     {false, false, true, true, false, false, false},
     QUOTA_FINAL_UNAVAILABLE},
    {"rolled back repeat: 503, its first take stays", {false, false, true, false, true, false, false}, QUOTA_FINAL_UNAVAILABLE},
    {"rolled back refused repeat answered now: 503", {false, false, false, false, true, true, false}, QUOTA_FINAL_UNAVAILABLE},
    {"rolled back, fresh refusal: stays answered", {false, false, false, false, false, false, false}, QUOTA_FINAL_NONE},
};

ParameterizedTestParameters(quota_rules, final)
{
    OB_TEST_CASE_INDICES(s_finals);
}

ParameterizedTest(size_t *index, quota_rules, final)
{
    const final_case_t *c = &s_finals[*index];
    /* Given how the round's transaction ended for the request, when it is answered */
    quota_final_t final = quota_rules_final(&c->facts);
    /* then the answer and the counter's give-back are the expected ones */
    cr_assert_eq(final.kind, c->final, "%s", c->name);
    cr_assert_eq(final.give_back, c->give_back, "%s: give_back", c->name);
    cr_assert_eq(final.uncounted, c->uncounted, "%s: uncounted", c->name);
    cr_assert_eq(final.forget_answer, c->forget_answer, "%s: forget_answer", c->name);
    cr_assert_eq(final.uncount_used, c->uncount_used, "%s: uncount_used", c->name);
}
