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
#include "common/ob_metrics.h"
#include "common/ob_strset.h"
#include "services/lago-worker/quota_notify.h"
#include "services/lago-worker/quota_rules.h"
#include "services/lago-worker/usage_ledger.h"
#include "services/lago-worker/usage_state.h"

/*  Authorize rounds per batch: a miss, a team account's lock, a rebuild, then the answer. */
#define S_REUSED_MESSAGE "this transaction_id was used for another request (another user, code or quantity); use a new id"
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

#define DECISIONS_HELP "usage.authorize answers: allowed, denied (quota used up), degraded (allowed unchecked), unavailable (503)."
#define REBUILDS_HELP "Quota counters rebuilt in Redis from the usage ledger."

static void
s_count_decision(const char *decision)
{
    ob_metrics_count("ob_usage_authorize_total", DECISIONS_HELP, "decision", decision, 1);
}

void
usage_authorize_count_init(void)
{
    static const char *const decisions[] = {"allowed", "denied", "degraded", "unavailable", "rejected"};
    for (size_t i = 0; i < sizeof decisions / sizeof decisions[0]; i++)
        ob_metrics_count("ob_usage_authorize_total", DECISIONS_HELP, "decision", decisions[i], 0);
    ob_metrics_count("ob_quota_rebuilds_total", REBUILDS_HELP, NULL, NULL, 0);
}

static void
s_reply_answer(authz_t *a, const quota_answer_t *answer, bool duplicate)
{
    s_count_decision(answer->allowed ? "allowed" : "denied");
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
    s_count_decision(status >= 500 ? "unavailable" : "rejected");
    ob_job_reply_error(a->job, status, code, message);
    a->state = S_DONE;
}

static void
s_reply_degraded(authz_t *a, bool duplicate)
{
    s_count_decision("degraded");
    json_t *body = json_pack("{s:b,s:s,s:s,s:b,s:n,s:n,s:n,s:n}", "allowed", 1, "transaction_id", a->event.transaction_id, "code",
                             a->event.code, "degraded", 1, "used", "limit", "remaining", "resets_at");
    if (duplicate)
        json_object_set_new(body, "duplicate", json_true());
    ob_job_reply_json(a->job, 200, body);
    a->state = S_DONE;
}

/*  Refuses (409) the round's requests that reuse the transaction_id of
 *  another request: of a ledger row with another user, code or quantity
 *  (match[k] for round[k]), or, for ids new to the ledger, of an earlier
 *  request of the batch. A true repeat goes on (a duplicate). The round is
 *  the batch's pending requests in order (all, count). */
static void
s_refuse_reused(authz_t *all, authz_t **round, size_t m, const usage_ledger_match_t *match)
{
    for (size_t k = 0; k < m; k++) {
        authz_t *a = round[k];
        size_t i = (size_t)(a - all);
        bool reused = match[k] == USAGE_LEDGER_OTHER;
        for (size_t j = 0; match[k] == USAGE_LEDGER_ABSENT && j < i; j++) {
            const authz_t *b = &all[j];
            if (b->event.transaction_id && strcmp(b->event.transaction_id, a->event.transaction_id) == 0) {
                reused = !usage_events_same_request(&a->event, &b->event);
                break;
            }
        }
        if (reused)
            s_reply_error(a, 409, "transaction_id_reused", S_REUSED_MESSAGE);
    }
}

/*  Opens the round's transaction in one round trip: BEGIN, the shared locks
 *  of its users (usage_ledger.h) and, in the batch's first round, the
 *  reuse check of its transaction_ids (refused ones are answered 409 and
 *  leave the round). Returns the requests left in the round, or 0 with the
 *  transaction closed (every request answered 503 when Postgres failed). */
static size_t
s_open_round(usage_state_t *self, authz_t *all, authz_t **round, size_t m, const char *users_text, bool check_reused)
{
    usage_ledger_params_t lock_params, match_params;
    ob_pg_step_t steps[2];
    usage_ledger_rows_t rows = {0};
    usage_ledger_lock_step(users_text, &lock_params, &steps[0]);
    size_t nsteps = 1;
    ob_err_t err = users_text ? OB_OK : OB_ERR_INTERNAL;
    if (check_reused) {
        for (size_t k = 0; k < m; k++)
            usage_ledger_rows_add(&rows, &round[k]->event, NULL, NULL);
        if (usage_ledger_match_step(&rows, &match_params, &steps[nsteps++]) != 0)
            err = OB_ERR_INTERNAL;
    }
    usage_ledger_match_t *match = check_reused ? calloc(m, sizeof *match) : NULL;
    if (check_reused && !match)
        err = OB_ERR_INTERNAL;
    if (err == OB_OK)
        err = ob_pg_pipeline(self->pg, OB_PG_PIPE_BEGIN, steps, nsteps, NULL);
    else
        for (size_t i = 0; i < nsteps; i++)
            steps[i].result = NULL;
    if (err == OB_OK && check_reused) {
        usage_ledger_match_read(steps[1].result, m, match);
        s_refuse_reused(all, round, m, match);
    }
    for (size_t i = 0; i < nsteps; i++)
        PQclear(steps[i].result);
    usage_ledger_rows_release(&rows);
    free(match);
    size_t left = 0;
    for (size_t k = 0; k < m; k++) {
        if (err != OB_OK)
            s_reply_error(round[k], 503, "ledger_unavailable", "the usage ledger cannot be written now; retry");
        else if (round[k]->state == S_PENDING)
            round[left++] = round[k];
    }
    if ((err != OB_OK || left == 0) && ob_pg_in_transaction(self->pg))
        ob_pg_rollback(self->pg);
    return err == OB_OK ? left : 0;
}

/*  Ends the round's transaction in one round trip: its ledger rows (ON
 *  CONFLICT DO NOTHING; every id actually inserted goes to inserted, the
 *  strings owned by *insert_result), the check that no skipped id names
 *  another request (a concurrent round committed it after the reuse check;
 *  the round then rolls back, and the caller's retry is refused 409), and
 *  COMMIT. *outcome_unknown: the connection broke before the COMMIT's
 *  answer (quota_rules_final). */
static ob_err_t
s_commit_round(usage_state_t *self, usage_ledger_rows_t *rows, ob_strset_t *inserted, PGresult **insert_result,
               bool *outcome_unknown)
{
    usage_ledger_params_t insert_params, same_params;
    ob_pg_step_t steps[2];
    size_t nsteps = 0;
    *insert_result = NULL;
    if (rows->count > 0) {
        if (usage_ledger_insert_step(rows, "authorize", &insert_params, &steps[0]) != 0 ||
            usage_ledger_assert_same_step(rows, &same_params, &steps[1]) != 0) {
            ob_pg_rollback(self->pg);
            return OB_ERR_INTERNAL;
        }
        nsteps = 2;
    }
    ob_err_t err = ob_pg_pipeline(self->pg, OB_PG_PIPE_COMMIT, steps, nsteps, outcome_unknown);
    if (nsteps > 0 && usage_ledger_is_reused(steps[1].result))
        err = OB_ERR_TRANSIENT;
    if (err == OB_OK && nsteps > 0)
        err = usage_ledger_inserted(steps[0].result, inserted);
    if (nsteps > 0) {
        *insert_result = steps[0].result;
        PQclear(steps[1].result);
    }
    return err;
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
            usage_state_mark_dirty(self);
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
            if (ob_strset_add(&done, a->result.counter_key) == 1) {
                err = usage_ledger_rebuild(self->pg, self->redis, self->quota,
                                           a->result.account[0] ? a->result.account : a->event.user_id, a->event.code,
                                           a->result.period_start, a->result.period_end, a->result.counter_key);
                if (err == OB_OK)
                    ob_metrics_count("ob_quota_rebuilds_total", REBUILDS_HELP, NULL, NULL, 1);
            }
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

/*  One round: BEGIN with the shared locks (one round trip), the scripts
 *  (one pipelined Redis round trip), the ledger rows of the allowed calls
 *  with COMMIT (one round trip), answers. Returns how many requests stayed
 *  in the round (round is compacted: those refused at its opening leave). */
static size_t
s_authorize_round(usage_state_t *self, authz_t *all, authz_t **round, size_t m, int64_t now, bool check_reused)
{
    json_t *users = json_array();
    ob_strset_t users_seen = {0}, inserted = {0}, rows_seen = {0}, claimed = {0};
    PGresult *result = NULL;
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
    m = s_open_round(self, all, round, m, users_text, check_reused);
    free(users_text);
    if (m == 0)
        goto done;

    /* Redis: one pipelined script call per request. */
    int64_t t1 = ob_clock_mono_us();
    self->dirty_mark_failed = false;
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
    ob_err_t err = self->dirty_mark_failed ? OB_ERR_TRANSIENT : OB_OK; /* uncounted rows never commit without their marker */
    if (err == OB_OK)
        err = s_notify_thresholds(self, round, m);
    /* A COMMIT that fails for lack of a connection may have happened (quota_rules_final). */
    bool outcome_unknown = false;
    int64_t t3 = ob_clock_mono_us();
    if (err == OB_OK)
        err = s_commit_round(self, &rows, &inserted, &result, &outcome_unknown);
    else
        ob_pg_rollback(self->pg);
    usage_ledger_rows_release(&rows);

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
    ob_log_debug(
        "usage.authorize round: %zu requests; begin+lock %.2f ms, redis %.2f ms, rows %.2f ms, insert+commit+reply %.2f ms", m,
        (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (ob_clock_mono_us() - t3) / 1e3);
done:
    PQclear(result);
    ob_strset_release(&users_seen);
    ob_strset_release(&inserted);
    ob_strset_release(&rows_seen);
    ob_strset_release(&claimed);
    return m;
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
        m = s_authorize_round(self, all, round, m, (int64_t)now, r == 0);
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
