/*  usage_authorize - POST /api/v1/usage/authorize. */
#include "services/lago-worker/usage_authorize.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_clock.h"
#include "common/ob_entitlements.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_strset.h"
#include "services/lago-worker/quota_notify.h"
#include "services/lago-worker/quota_rules.h"
#include "services/lago-worker/usage_ledger.h"
#include "services/lago-worker/usage_state.h"

/*  Authorize rounds per batch: a miss, a team account's lock, a rebuild, then the answer. */
#define S_ROUNDS 6

typedef enum { S_PENDING, S_DEFERRED, S_DONE } authz_state_t;

typedef struct {
    ob_job_t *job;
    json_t *body;
    usage_event_t event;
    bool quota;
    authz_state_t state;
    bool allow_ended;
    bool insert;       /* allowed: its ledger row goes into this round's transaction */
    bool degraded;     /* allowed without a quota check (Redis down, policy open) */
    bool answered_now; /* replied 2xx in this round: depends on the commit */
    bool dup;          /* answered before: an allowed one is inserted again (ON CONFLICT: no-op) in case
                        * its first round stored the answer in Redis but never committed the row */
    quota_result_t result;
    char account[256]; /* the team account whose shared lock the next rounds take ("" none) */
} authz_t;

static void
s_reply_answer(authz_t *a, const quota_answer_t *answer, bool duplicate)
{
    json_t *body =
        json_pack("{s:b,s:s,s:s}", "allowed", answer->allowed, "transaction_id", a->event.transaction_id, "code", a->event.code);
    bool limited = a->quota && answer->limit >= 0;
    json_object_set_new(body, "used", a->quota ? json_integer(answer->used) : json_null());
    json_object_set_new(body, "limit", limited ? json_integer(answer->limit) : json_null());
    int64_t remaining = answer->limit - answer->used;
    json_object_set_new(body, "remaining", limited ? json_integer(remaining > 0 ? remaining : 0) : json_null());
    char when[32];
    usage_iso8601(answer->resets_at, when, sizeof when);
    json_object_set_new(body, "resets_at", answer->resets_at > 0 ? json_string(when) : json_null());
    if (duplicate)
        json_object_set_new(body, "duplicate", json_true());
    if (!answer->allowed)
        json_object_set_new(
            body, "error",
            json_pack("{s:s,s:s}", "code", "quota_exceeded", "message", "the plan's quota for this period is used up"));
    ob_job_reply_json(a->job, answer->allowed ? 200 : 429, body);
    a->state = S_DONE;
}

static void
s_reply_error(authz_t *a, int status, const char *code, const char *message)
{
    ob_job_reply_error(a->job, status, code, message);
    a->state = S_DONE;
}

static void
s_reply_degraded(authz_t *a, bool duplicate)
{
    json_t *body = json_pack("{s:b,s:s,s:s,s:b,s:n,s:n,s:n,s:n}", "allowed", 1, "transaction_id", a->event.transaction_id, "code",
                             a->event.code, "degraded", 1, "used", "limit", "remaining", "resets_at");
    if (duplicate)
        json_object_set_new(body, "duplicate", json_true());
    ob_job_reply_json(a->job, 200, body);
    a->state = S_DONE;
}

/*  Reads the Redis answers of a round (the scripts were appended in order). */
static void
s_read_round(usage_state_t *self, authz_t **round, size_t m, size_t appended)
{
    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        if (i < appended)
            quota_read_authorize(self->redis, a->event.user_id, a->event.code, &a->result);
        else
            a->result.kind = QUOTA_REDIS_DOWN;
        quota_step_t step = quota_rules_step(a->result.kind, a->result.answer.allowed, a->quota, self->fail_open);
        if (step.redis_down)
            usage_state_redis_down(self);
        if (step.counters_dirty)
            self->counters_dirty = true;
        if (step.reload_scripts)
            self->scripts_loaded = false;
        a->dup = step.dup;
        switch (step.kind) {
        case QUOTA_STEP_INSERT:
            a->insert = true;
            a->degraded = step.degraded;
            break;
        case QUOTA_STEP_REFUSE:
            s_reply_answer(a, &a->result.answer, step.dup);
            a->answered_now = step.answered_now;
            break;
        case QUOTA_STEP_DEFER:
            a->state = S_DEFERRED;
            break;
        case QUOTA_STEP_FAIL:
            s_reply_error(a, step.status, step.code, step.message);
            break;
        }
    }
}

/*  The work a round deferred, done outside any transaction: load or refresh
 *  the entitlement copy, rebuild a counter from the ledger. */
static void
s_settle_deferred(usage_state_t *self, authz_t **round, size_t m)
{
    ob_strset_t done;
    if (ob_strset_init(&done, m) != 0)
        return;
    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        if (a->state != S_DEFERRED)
            continue;
        a->state = S_PENDING;
        ob_err_t err = OB_OK;
        ob_entitlement_t entitlement;
        switch (a->result.kind) {
        case QUOTA_MISS:
            if (ob_strset_add(&done, a->event.user_id) == 1) {
                err = ob_entitlements_get(self->redis, self->pg, a->event.user_id, &entitlement);
                if (err == OB_ERR_NOT_FOUND)
                    err = OB_OK;
            }
            break;
        case QUOTA_STALE:
            if (ob_strset_add(&done, a->event.user_id) == 1)
                err = ob_entitlements_refresh(self->redis, self->pg, a->event.user_id);
            a->allow_ended = true; /* if Postgres has nothing newer, the last window still counts */
            break;
        case QUOTA_ACCOUNT:
            snprintf(a->account, sizeof a->account, "%s", a->result.account);
            break;
        case QUOTA_REBUILD:
            if (ob_strset_add(&done, a->result.counter_key) == 1)
                err = usage_ledger_rebuild(self->pg, self->redis, self->quota,
                                           a->result.account[0] ? a->result.account : a->event.user_id, a->event.code,
                                           a->result.period_start, a->result.period_end, a->result.counter_key);
            break;
        default:
            break;
        }
        if (err != OB_OK)
            s_reply_error(a, 503, "quota_unavailable", "the quota cannot be checked right now; retry");
    }
    ob_strset_release(&done);
}

/*  The quota_threshold requests of a round, in its transaction: a call this
 *  round counted that took the usage across 80% or 100%, or one it refused
 *  for the quota (quota_notify.h). */
static ob_err_t
s_notify_thresholds(usage_state_t *self, authz_t **round, size_t m)
{
    ob_err_t err = OB_OK;
    for (size_t i = 0; i < m && err == OB_OK; i++) {
        const authz_t *a = round[i];
        const quota_answer_t *answer = &a->result.answer;
        bool counted = a->insert && !a->degraded && !a->dup && a->result.counted;
        bool refused = a->answered_now && !a->dup && !answer->allowed;
        if (a->quota && (counted || refused))
            err = quota_notify_add(self->pg, a->event.user_id, a->event.code, answer->used - (counted ? a->event.quantity : 0),
                                   answer->used, answer->limit, refused, answer->resets_at);
    }
    return err;
}

/*  One round: shared locks, the scripts, the ledger rows of the allowed calls,
 *  commit, answers. */
static void
s_authorize_round(usage_state_t *self, authz_t **round, size_t m, int64_t now)
{
    json_t *users = json_array();
    ob_strset_t users_seen = {0}, inserted = {0}, rows_seen = {0}, claimed = {0};
    if (ob_strset_init(&users_seen, 2 * m) != 0 || ob_strset_init(&inserted, m) != 0 || ob_strset_init(&rows_seen, m) != 0 ||
        ob_strset_init(&claimed, m) != 0) {
        for (size_t i = 0; i < m; i++)
            s_reply_error(round[i], 503, "overloaded", "out of memory; retry");
        json_decref(users);
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        if (ob_strset_add(&users_seen, round[i]->event.user_id) == 1)
            json_array_append_new(users, json_string(round[i]->event.user_id));
        if (round[i]->account[0] && ob_strset_add(&users_seen, round[i]->account) == 1)
            json_array_append_new(users, json_string(round[i]->account));
    }
    char *users_text = usage_json_take_text(users);
    int64_t t0 = ob_clock_mono_us();
    ob_err_t err = users_text ? ob_pg_begin(self->pg) : OB_ERR_INTERNAL;
    if (err == OB_OK)
        err = usage_ledger_lock_users(self->pg, users_text);
    free(users_text);
    if (err != OB_OK) {
        if (ob_pg_in_transaction(self->pg))
            ob_pg_rollback(self->pg);
        for (size_t i = 0; i < m; i++)
            s_reply_error(round[i], 503, "ledger_unavailable", "the usage ledger cannot be written now; retry");
        goto done;
    }

    /* Redis: one pipelined script call per request. */
    int64_t t1 = ob_clock_mono_us();
    usage_state_settle_dirty(self);
    if (!self->scripts_loaded)
        self->scripts_loaded = quota_load_scripts(self->quota, self->redis) == 0;
    size_t appended = 0;
    while (appended < m && self->scripts_loaded &&
           quota_append_authorize(self->quota, self->redis, round[appended]->event.user_id, round[appended]->event.code,
                                  round[appended]->event.transaction_id, round[appended]->event.quantity, now,
                                  round[appended]->quota, round[appended]->allow_ended, round[appended]->account) == 0)
        appended++;
    s_read_round(self, round, m, appended);
    int64_t t2 = ob_clock_mono_us();

    /* The ledger rows of every allowed call, in the same transaction. */
    usage_ledger_rows_t rows = {0};
    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        if (a->insert && ob_strset_add(&rows_seen, a->event.transaction_id) == 1)
            usage_ledger_rows_add(&rows, &a->event, a->degraded ? NULL : a->result.subscription,
                                  a->degraded ? NULL : a->result.account);
    }
    PGresult *result = NULL;
    if (rows.count > 0)
        err = usage_ledger_insert(self->pg, &rows, "authorize", &inserted, &result);
    usage_ledger_rows_release(&rows);
    if (err == OB_OK)
        err = s_notify_thresholds(self, round, m);
    /* A COMMIT that fails for lack of a connection may have happened (quota_rules_final). */
    bool outcome_unknown = false;
    int64_t t3 = ob_clock_mono_us();
    if (err == OB_OK) {
        err = ob_pg_commit(self->pg);
        outcome_unknown = err == OB_ERR_TRANSIENT;
    } else {
        ob_pg_rollback(self->pg);
    }

    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        /* Only the first request of the batch with this id counts as the one that inserted it. */
        quota_round_facts_t facts = {
            .committed = err == OB_OK,
            .outcome_unknown = outcome_unknown,
            .insert = a->insert,
            .degraded = a->degraded,
            .dup = a->dup,
            .answered_now = a->answered_now,
            .fresh = err == OB_OK && a->insert && !a->dup && ob_strset_has(&inserted, a->event.transaction_id) &&
                     ob_strset_add(&claimed, a->event.transaction_id) == 1,
        };
        quota_final_t final = quota_rules_final(&facts);
        if (final.give_back) {
            quota_result_t taken = a->result;
            if (final.uncounted)
                taken.counted = false;
            quota_give_back(self->quota, self->redis, &taken, a->event.quantity,
                            final.forget_answer ? a->event.transaction_id : NULL, final.forget_answer);
        }
        if (final.uncount_used)
            a->result.answer.used -= a->result.counted ? a->event.quantity : 0;
        switch (final.kind) {
        case QUOTA_FINAL_NONE:
            break;
        case QUOTA_FINAL_ANSWER:
        case QUOTA_FINAL_ANSWER_DUP:
            s_reply_answer(a, &a->result.answer, final.kind == QUOTA_FINAL_ANSWER_DUP);
            break;
        case QUOTA_FINAL_DEGRADED:
        case QUOTA_FINAL_DEGRADED_DUP:
            s_reply_degraded(a, final.kind == QUOTA_FINAL_DEGRADED_DUP);
            break;
        case QUOTA_FINAL_UNAVAILABLE:
            s_reply_error(a, 503, "ledger_unavailable", "the usage could not be recorded; retry");
            break;
        }
    }
    if (err != OB_OK)
        ob_log_warn("usage authorize: the ledger commit failed (%s)", ob_err_name(err));
    ob_log_debug("usage.authorize round: %zu requests; begin+lock %.2f ms, redis %.2f ms, insert %.2f ms, commit+reply %.2f ms", m,
                 (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (ob_clock_mono_us() - t3) / 1e3);
    PQclear(result);
done:
    ob_strset_release(&users_seen);
    ob_strset_release(&inserted);
    ob_strset_release(&rows_seen);
    ob_strset_release(&claimed);
}

void
usage_authorize(void *state, ob_job_t **jobs, size_t count)
{
    usage_state_t *self = state;
    double now = usage_now_s();
    authz_t *all = calloc(count, sizeof *all);
    authz_t **round = calloc(count, sizeof *round);
    if (!all || !round) {
        for (size_t i = 0; i < count; i++)
            ob_job_reply_error(jobs[i], 503, "overloaded", "out of memory; retry");
        free(all);
        free(round);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        authz_t *a = &all[i];
        a->job = jobs[i];
        a->state = S_DONE;
        ob_call_t call;
        if (ob_job_call(jobs[i], &call) != 0)
            continue;
        a->body = ob_job_body_object(jobs[i], &call);
        if (!a->body)
            continue;
        usage_events_problem_t problem;
        if (usage_events_check_authorize(a->body, &self->metrics, now, &a->event, &problem) != 0) {
            ob_job_reply_error(jobs[i], 400, problem.code, problem.message);
            continue;
        }
        usage_metrics_find(&self->metrics, a->event.code, &a->quota);
        a->state = S_PENDING;
    }
    for (int r = 0; r < S_ROUNDS; r++) {
        size_t m = 0;
        for (size_t i = 0; i < count; i++)
            if (all[i].state == S_PENDING) {
                all[i].insert = all[i].degraded = all[i].answered_now = all[i].dup = false;
                round[m++] = &all[i];
            }
        if (m == 0)
            break;
        s_authorize_round(self, round, m, (int64_t)now);
        s_settle_deferred(self, round, m);
    }
    for (size_t i = 0; i < count; i++) {
        if (all[i].state != S_DONE)
            s_reply_error(&all[i], 503, "quota_unavailable", "the quota cannot be checked right now; retry");
        json_decref(all[i].body);
    }
    free(all);
    free(round);
}
