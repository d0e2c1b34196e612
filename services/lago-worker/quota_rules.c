/*  quota_rules - the decisions of an authorize round. */
#include "services/lago-worker/quota_rules.h"

static quota_step_t
s_fail(int status, const char *code, const char *message)
{
    return (quota_step_t){.kind = QUOTA_STEP_FAIL, .status = status, .code = code, .message = message};
}

quota_step_t
quota_rules_step(quota_kind_t kind, bool allowed, bool metered, bool fail_open)
{
    switch (kind) {
    case QUOTA_REDIS_DOWN:
        if (!fail_open) {
            quota_step_t step = s_fail(503, "quota_unavailable", "quotas cannot be checked right now; retry");
            step.redis_down = true;
            return step;
        }
        return (quota_step_t){.kind = QUOTA_STEP_INSERT, .degraded = true, .redis_down = true, .counters_dirty = metered};
    case QUOTA_NOSCRIPT:
        return (quota_step_t){.kind = QUOTA_STEP_DEFER, .reload_scripts = true};
    case QUOTA_DUP:
        /* An allowed one is inserted again (ON CONFLICT: no-op) in case its
         * first round stored the answer in Redis but never committed the row. */
        if (allowed)
            return (quota_step_t){.kind = QUOTA_STEP_INSERT, .dup = true};
        return (quota_step_t){.kind = QUOTA_STEP_REFUSE, .dup = true, .answered_now = true};
    case QUOTA_MISS:
    case QUOTA_STALE:
    case QUOTA_REBUILD:
    case QUOTA_ACCOUNT:
        return (quota_step_t){.kind = QUOTA_STEP_DEFER};
    case QUOTA_NO_SUB:
        return s_fail(403, "no_live_subscription", "the user has no live subscription");
    case QUOTA_ANSWERED:
        return (quota_step_t){.kind = allowed ? QUOTA_STEP_INSERT : QUOTA_STEP_REFUSE};
    }
    return s_fail(503, "quota_unavailable", "the quota cannot be checked right now; retry");
}

quota_final_t
quota_rules_final(const quota_round_facts_t *f)
{
    if (!f->committed) {
        /* The quantity stays taken when the commit may have happened (never
         * over-grant); only the stored answer goes, so a retry meets the
         * ledger row if there is one. */
        quota_final_t final = {.kind = f->insert || f->answered_now ? QUOTA_FINAL_UNAVAILABLE : QUOTA_FINAL_NONE};
        if (f->insert && !f->degraded && !f->dup) {
            final.give_back = final.forget_answer = true;
            final.uncounted = f->outcome_unknown;
        }
        return final;
    }
    if (!f->insert)
        return (quota_final_t){.kind = QUOTA_FINAL_NONE};
    if (f->dup)
        return (quota_final_t){.kind = QUOTA_FINAL_ANSWER_DUP};
    if (f->fresh)
        return (quota_final_t){.kind = f->degraded ? QUOTA_FINAL_DEGRADED : QUOTA_FINAL_ANSWER};
    /* Already in the ledger (its stored answer expired or was flushed): a
     * repeat consumes nothing. */
    if (f->degraded)
        return (quota_final_t){.kind = QUOTA_FINAL_DEGRADED_DUP};
    return (quota_final_t){.kind = QUOTA_FINAL_ANSWER_DUP, .give_back = true, .uncount_used = true};
}
