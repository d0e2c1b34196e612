/*  lago_usage - ingest, authorize and usage reads. */
#include "services/lago-worker/lago_usage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ob_clock.h"
#include "common/ob_entitlements.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "services/lago-worker/lago_ledger.h"
#include "services/lago-worker/lago_strset.h"

/*  Authorize rounds per batch: a miss, then a rebuild, then the answer. */
#define S_ROUNDS 4

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
lago_usage_iso8601(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
lago_usage_init(lago_usage_t *self, ob_pg_t *pg, ob_redis_t *redis, const lago_metrics_t *metrics, bool fail_open)
{
    memset(self, 0, sizeof *self);
    self->pg = pg;
    self->redis = redis;
    self->metrics = *metrics;
    self->fail_open = fail_open;
    self->redis_warned_at = -100000;
    self->quota = lago_quota_new();
    lago_ledger_prepare(pg);
    ob_entitlements_prepare(pg);
    ob_pg_prepare(pg, "usage_used",
                  "SELECT m.code, m.quota, coalesce(sum(e.quantity), 0) FROM usage_metrics m"
                  " LEFT JOIN usage_events e ON e.code = m.code AND e.user_id = $1"
                  " AND e.occurred_at >= to_timestamp($2) AND ($3 = 0 OR e.occurred_at < to_timestamp($3))"
                  " GROUP BY m.code, m.quota ORDER BY m.code",
                  3);
    return self->quota ? 0 : -1;
}

void
lago_usage_release(lago_usage_t *self)
{
    lago_quota_destroy(&self->quota);
}

/*  One clear line when Redis cannot be used, at most every 10 s. */
static void
s_redis_down(lago_usage_t *self)
{
    int64_t now = ob_clock_mono_ms();
    if (now - self->redis_warned_at < 10000)
        return;
    self->redis_warned_at = now;
    ob_log_error("Redis at %s is unreachable: quota checks %s (AUTHORIZE_REDIS_FAILURE_POLICY=%s)", ob_redis_describe(self->redis),
                 self->fail_open ? "are skipped and calls allowed as degraded" : "fail with 503 quota_unavailable",
                 self->fail_open ? "open" : "closed");
}

/*  Before touching counters: if usage went into the ledger while Redis could
 *  not count it, invalidate every counter so they are rebuilt from the ledger. */
static void
s_settle_dirty(lago_usage_t *self)
{
    if (self->counters_dirty && lago_quota_bump_epoch(self->redis) == 0) {
        self->counters_dirty = false;
        ob_log_warn("quota counters invalidated: usage was recorded while Redis was unreachable");
    }
}

static char *
s_dump(json_t *value)
{
    char *text = ob_json_dump(value, NULL);
    json_decref(value);
    return text;
}

/* --- ingest ---------------------------------------------------------------- */

typedef struct {
    json_t *body;     /* owns the borrowed strings of its events */
    json_t *rejected; /* [{"index","code","message"}] */
    size_t valid;
    size_t accepted;
    size_t duplicates;
} ingest_job_t;

typedef struct {
    lago_usage_event_t event;
    size_t job;
    bool first; /* first time this transaction_id is seen in the batch */
    bool quota;
} ingest_event_t;

static int
s_by_user_code(const void *a, const void *b)
{
    const ingest_event_t *x = *(ingest_event_t *const *)a, *y = *(ingest_event_t *const *)b;
    int c = strcmp(x->event.user_id, y->event.user_id);
    return c ? c : strcmp(x->event.code, y->event.code);
}

typedef struct {
    lago_quota_result_t taken;
    int64_t added;
} ingest_count_t;

/*  Adds the inserted quota events to the live counters: one script call for
 *  the whole batch. Fills counts (for a give-back); returns how many. */
static size_t
s_count_ingested(lago_usage_t *self, ingest_event_t *events, size_t n, const lago_strset_t *inserted, ingest_count_t **counts_out)
{
    size_t cap = n ? n : 1;
    ingest_event_t **sorted = calloc(cap, sizeof *sorted);
    int64_t *occurred = calloc(cap, sizeof *occurred);
    int64_t *quantity = calloc(cap, sizeof *quantity);
    lago_quota_group_t *groups = calloc(cap, sizeof *groups);
    lago_quota_result_t *taken = calloc(cap, sizeof *taken);
    int64_t *added = calloc(cap, sizeof *added);
    ingest_count_t *counts = NULL;
    size_t m = 0, n_groups = 0;
    if (!sorted || !occurred || !quantity || !groups || !taken || !added) {
        self->counters_dirty = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (events[i].first && events[i].quota && lago_strset_has(inserted, events[i].event.transaction_id))
            sorted[m++] = &events[i];
    if (m == 0)
        goto done;
    qsort(sorted, m, sizeof *sorted, s_by_user_code);
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || s_by_user_code(&sorted[i - 1], &sorted[i]) != 0)
            groups[n_groups++] = (lago_quota_group_t){sorted[i]->event.user_id, sorted[i]->event.code, 0};
        groups[n_groups - 1].count++;
        occurred[i] = (int64_t)sorted[i]->event.occurred_at;
        quantity[i] = sorted[i]->event.quantity;
    }
    if (lago_quota_count_ingested(self->quota, self->redis, groups, n_groups, occurred, quantity, taken, added) != 0) {
        self->counters_dirty = true; /* Redis missed usage: invalidate counters when it is back */
        n_groups = 0;
        goto done;
    }
    counts = calloc(n_groups, sizeof *counts);
    if (!counts) {
        n_groups = 0;
        goto done;
    }
    for (size_t g = 0; g < n_groups; g++) {
        counts[g].taken = taken[g];
        counts[g].added = added[g];
    }
done:
    free(sorted);
    free(occurred);
    free(quantity);
    free(groups);
    free(taken);
    free(added);
    *counts_out = counts;
    return counts ? n_groups : 0;
}

static void
s_reject(ingest_job_t *job, size_t index, const lago_events_problem_t *problem)
{
    json_array_append_new(
        job->rejected, json_pack("{s:I,s:s,s:s}", "index", (json_int_t)index, "code", problem->code, "message", problem->message));
}

void
lago_usage_ingest(void *state, ob_job_t **jobs, size_t count)
{
    lago_usage_t *self = state;
    double now = s_now();
    int64_t t0 = ob_clock_mono_us();
    ingest_job_t *per = calloc(count, sizeof *per);
    ingest_event_t *events = calloc(count * LAGO_EVENTS_BATCH_MAX, sizeof *events);
    lago_strset_t seen = {0}, inserted = {0}, users_seen = {0};
    lago_ledger_rows_t rows = {0};
    json_t *users = json_array();
    if (!per || !events || !users || lago_strset_init(&seen, count * LAGO_EVENTS_BATCH_MAX) != 0 ||
        lago_strset_init(&inserted, count * LAGO_EVENTS_BATCH_MAX) != 0 || lago_strset_init(&users_seen, 64) != 0) {
        for (size_t i = 0; i < count; i++)
            ob_job_reply_error(jobs[i], 503, "overloaded", "out of memory; retry");
        goto cleanup;
    }
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        ob_call_t call;
        if (ob_job_call(jobs[i], &call) != 0)
            continue;
        json_t *body = ob_job_body_object(jobs[i], &call);
        if (!body)
            continue;
        lago_events_problem_t problem;
        const json_t *batch = lago_events_batch(body, &problem);
        if (!batch) {
            ob_job_reply_error(jobs[i], 400, problem.code, problem.message);
            json_decref(body);
            continue;
        }
        per[i].body = body;
        per[i].rejected = json_array();
        size_t index;
        const json_t *event;
        json_array_foreach(batch, index, event)
        {
            ingest_event_t *e = &events[n];
            if (lago_events_check(event, &self->metrics, now, &e->event, &problem) != 0) {
                s_reject(&per[i], index, &problem);
                continue;
            }
            e->job = i;
            e->first = lago_strset_add(&seen, e->event.transaction_id) == 1;
            lago_metrics_find(&self->metrics, e->event.code, &e->quota);
            per[i].valid++;
            if (e->first) {
                lago_ledger_rows_add(&rows, &e->event, NULL);
                if (e->quota && lago_strset_add(&users_seen, e->event.user_id) == 1)
                    json_array_append_new(users, json_string(e->event.user_id));
            }
            n++;
        }
    }

    ob_err_t err = OB_OK;
    PGresult *result = NULL;
    ingest_count_t *counts = NULL;
    size_t groups = 0;
    int64_t t1 = ob_clock_mono_us(), t2 = t1, t3 = t1;
    if (rows.count > 0) {
        char *users_text = ob_json_dump(users, NULL);
        err = users_text ? ob_pg_begin(self->pg) : OB_ERR_INTERNAL;
        if (err == OB_OK && json_array_size(users) > 0)
            err = lago_ledger_lock_users(self->pg, users_text);
        if (err == OB_OK)
            err = lago_ledger_insert(self->pg, &rows, "ingest", &inserted, &result);
        t2 = ob_clock_mono_us();
        if (err == OB_OK && json_array_size(users) > 0) {
            s_settle_dirty(self);
            groups = s_count_ingested(self, events, n, &inserted, &counts);
        }
        t3 = ob_clock_mono_us();
        bool outcome_unknown = false;
        if (err == OB_OK) {
            err = ob_pg_commit(self->pg);
            outcome_unknown = err == OB_ERR_TRANSIENT; /* the rows may be in: keep them counted */
        } else if (ob_pg_in_transaction(self->pg)) {
            ob_pg_rollback(self->pg);
        }
        if (err != OB_OK && !outcome_unknown) {
            for (size_t g = 0; g < groups; g++)
                lago_quota_give_back(self->quota, self->redis, &counts[g].taken, counts[g].added, NULL, false);
        }
        if (err != OB_OK) {
            ob_log_warn("usage ingest: the ledger commit failed (%s)", ob_err_name(err));
        }
        free(users_text);
    }
    int64_t t4 = ob_clock_mono_us();
    for (size_t k = 0; k < n; k++) {
        ingest_job_t *job = &per[events[k].job];
        if (events[k].first && lago_strset_has(&inserted, events[k].event.transaction_id))
            job->accepted++;
        else
            job->duplicates++;
    }
    for (size_t i = 0; i < count; i++) {
        if (!per[i].body)
            continue;
        if (per[i].valid > 0 && err != OB_OK) {
            ob_job_reply_error(jobs[i], ob_err_http_status(err == OB_ERR_INVALID ? OB_ERR_INTERNAL : OB_ERR_TRANSIENT),
                               "ledger_unavailable", "the events could not be recorded; retry the same batch");
        } else if (per[i].valid == 0) {
            ob_job_reply_json(jobs[i], 400,
                              json_pack("{s:{s:s,s:s},s:O}", "error", "code", "invalid_events", "message",
                                        "no event of the batch is valid", "rejected", per[i].rejected));
        } else {
            ob_job_reply_json(jobs[i], 202,
                              json_pack("{s:I,s:I,s:I,s:O}", "accepted", (json_int_t)per[i].accepted, "duplicates",
                                        (json_int_t)per[i].duplicates, "rejected_count",
                                        (json_int_t)json_array_size(per[i].rejected), "rejected", per[i].rejected));
        }
    }
    ob_log_debug("usage.ingest: %zu requests, %zu events; parse %.2f ms, insert %.2f ms, redis %.2f ms, commit %.2f ms, "
                 "reply %.2f ms",
                 count, n, (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (t4 - t3) / 1e3, (ob_clock_mono_us() - t4) / 1e3);
    PQclear(result);
    free(counts);
cleanup:
    for (size_t i = 0; per && i < count; i++) {
        json_decref(per[i].rejected);
        json_decref(per[i].body);
    }
    lago_strset_release(&seen);
    lago_strset_release(&inserted);
    lago_strset_release(&users_seen);
    lago_ledger_rows_release(&rows);
    json_decref(users);
    free(events);
    free(per);
}

/* --- authorize ----------------------------------------------------------------- */

typedef enum { S_PENDING, S_DEFERRED, S_DONE } authz_state_t;

typedef struct {
    ob_job_t *job;
    json_t *body;
    lago_usage_event_t event;
    bool quota;
    authz_state_t state;
    bool allow_ended;
    bool insert;       /* allowed: its ledger row goes into this round's transaction */
    bool degraded;     /* allowed without a quota check (Redis down, policy open) */
    bool answered_now; /* replied 2xx in this round: depends on the commit */
    bool dup;          /* answered before: an allowed one is inserted again (ON CONFLICT: no-op) in case
                        * its first round stored the answer in Redis but never committed the row */
    lago_quota_result_t result;
} authz_t;

static void
s_reply_answer(authz_t *a, const lago_quota_answer_t *answer, bool duplicate)
{
    json_t *body =
        json_pack("{s:b,s:s,s:s}", "allowed", answer->allowed, "transaction_id", a->event.transaction_id, "code", a->event.code);
    bool limited = a->quota && answer->limit >= 0;
    json_object_set_new(body, "used", a->quota ? json_integer(answer->used) : json_null());
    json_object_set_new(body, "limit", limited ? json_integer(answer->limit) : json_null());
    int64_t remaining = answer->limit - answer->used;
    json_object_set_new(body, "remaining", limited ? json_integer(remaining > 0 ? remaining : 0) : json_null());
    char when[32];
    lago_usage_iso8601(answer->resets_at, when, sizeof when);
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
s_read_round(lago_usage_t *self, authz_t **round, size_t m, size_t appended)
{
    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        if (i < appended)
            lago_quota_read_authorize(self->redis, a->event.user_id, a->event.code, &a->result);
        else
            a->result.kind = LAGO_QUOTA_REDIS_DOWN;
        switch (a->result.kind) {
        case LAGO_QUOTA_REDIS_DOWN:
            s_redis_down(self);
            if (self->fail_open) {
                a->insert = a->degraded = true;
                if (a->quota)
                    self->counters_dirty = true;
            } else {
                s_reply_error(a, 503, "quota_unavailable", "quotas cannot be checked right now; retry");
            }
            break;
        case LAGO_QUOTA_NOSCRIPT:
            self->scripts_loaded = false;
            a->state = S_DEFERRED;
            break;
        case LAGO_QUOTA_DUP:
            a->dup = true;
            if (a->result.answer.allowed) {
                a->insert = true;
            } else {
                s_reply_answer(a, &a->result.answer, true);
                a->answered_now = true;
            }
            break;
        case LAGO_QUOTA_MISS:
        case LAGO_QUOTA_STALE:
        case LAGO_QUOTA_REBUILD:
            a->state = S_DEFERRED;
            break;
        case LAGO_QUOTA_NO_SUB:
            s_reply_error(a, 403, "no_live_subscription", "the user has no live subscription");
            break;
        case LAGO_QUOTA_ANSWERED:
            if (a->result.answer.allowed)
                a->insert = true;
            else
                s_reply_answer(a, &a->result.answer, false);
            break;
        }
    }
}

/*  The work a round deferred, done outside any transaction: load or refresh
 *  the entitlement copy, rebuild a counter from the ledger. */
static void
s_settle_deferred(lago_usage_t *self, authz_t **round, size_t m)
{
    lago_strset_t done;
    if (lago_strset_init(&done, m) != 0)
        return;
    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        if (a->state != S_DEFERRED)
            continue;
        a->state = S_PENDING;
        ob_err_t err = OB_OK;
        ob_entitlement_t entitlement;
        switch (a->result.kind) {
        case LAGO_QUOTA_MISS:
            if (lago_strset_add(&done, a->event.user_id) == 1) {
                err = ob_entitlements_get(self->redis, self->pg, a->event.user_id, &entitlement);
                if (err == OB_ERR_NOT_FOUND)
                    err = OB_OK;
            }
            break;
        case LAGO_QUOTA_STALE:
            if (lago_strset_add(&done, a->event.user_id) == 1)
                err = ob_entitlements_refresh(self->redis, self->pg, a->event.user_id);
            a->allow_ended = true; /* if Postgres has nothing newer, the last window still counts */
            break;
        case LAGO_QUOTA_REBUILD:
            if (lago_strset_add(&done, a->result.counter_key) == 1)
                err = lago_ledger_rebuild(self->pg, self->redis, self->quota, a->event.user_id, a->event.code,
                                          a->result.period_start, a->result.period_end, a->result.counter_key);
            break;
        default:
            break;
        }
        if (err != OB_OK)
            s_reply_error(a, 503, "quota_unavailable", "the quota cannot be checked right now; retry");
    }
    lago_strset_release(&done);
}

/*  One round: shared locks, the scripts, the ledger rows of the allowed calls,
 *  commit, answers. */
static void
s_authorize_round(lago_usage_t *self, authz_t **round, size_t m, int64_t now)
{
    json_t *users = json_array();
    lago_strset_t users_seen = {0}, inserted = {0}, rows_seen = {0}, claimed = {0};
    if (lago_strset_init(&users_seen, m) != 0 || lago_strset_init(&inserted, m) != 0 || lago_strset_init(&rows_seen, m) != 0 ||
        lago_strset_init(&claimed, m) != 0) {
        for (size_t i = 0; i < m; i++)
            s_reply_error(round[i], 503, "overloaded", "out of memory; retry");
        json_decref(users);
        goto done;
    }
    for (size_t i = 0; i < m; i++)
        if (lago_strset_add(&users_seen, round[i]->event.user_id) == 1)
            json_array_append_new(users, json_string(round[i]->event.user_id));
    char *users_text = s_dump(users);
    int64_t t0 = ob_clock_mono_us();
    ob_err_t err = users_text ? ob_pg_begin(self->pg) : OB_ERR_INTERNAL;
    if (err == OB_OK)
        err = lago_ledger_lock_users(self->pg, users_text);
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
    s_settle_dirty(self);
    if (!self->scripts_loaded)
        self->scripts_loaded = lago_quota_load_scripts(self->quota, self->redis) == 0;
    size_t appended = 0;
    while (appended < m && self->scripts_loaded &&
           lago_quota_append_authorize(self->quota, self->redis, round[appended]->event.user_id, round[appended]->event.code,
                                       round[appended]->event.transaction_id, round[appended]->event.quantity, now,
                                       round[appended]->quota, round[appended]->allow_ended) == 0)
        appended++;
    s_read_round(self, round, m, appended);
    int64_t t2 = ob_clock_mono_us();

    /* The ledger rows of every allowed call, in the same transaction. */
    lago_ledger_rows_t rows = {0};
    for (size_t i = 0; i < m; i++) {
        authz_t *a = round[i];
        if (a->insert && lago_strset_add(&rows_seen, a->event.transaction_id) == 1)
            lago_ledger_rows_add(&rows, &a->event, a->degraded ? NULL : a->result.subscription);
    }
    PGresult *result = NULL;
    if (rows.count > 0)
        err = lago_ledger_insert(self->pg, &rows, "authorize", &inserted, &result);
    lago_ledger_rows_release(&rows);
    /* A COMMIT that fails for lack of a connection may have happened: then the
     * quantity stays taken (never over-grant) and only the stored answer goes,
     * so a retry meets the ledger row if there is one. */
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
        if (err != OB_OK) {
            if (a->insert && !a->degraded && !a->dup) {
                lago_quota_result_t taken = a->result;
                if (outcome_unknown)
                    taken.counted = false;
                lago_quota_give_back(self->quota, self->redis, &taken, a->event.quantity, a->event.transaction_id, true);
            }
            if (a->insert || a->answered_now)
                s_reply_error(a, 503, "ledger_unavailable", "the usage could not be recorded; retry");
            continue;
        }
        if (!a->insert)
            continue;
        if (a->dup) {
            s_reply_answer(a, &a->result.answer, true);
            continue;
        }
        /* Only the first request of the batch with this id counts as the one that inserted it. */
        bool fresh = lago_strset_has(&inserted, a->event.transaction_id) && lago_strset_add(&claimed, a->event.transaction_id) == 1;
        if (fresh) {
            if (a->degraded)
                s_reply_degraded(a, false);
            else
                s_reply_answer(a, &a->result.answer, false);
        } else {
            /* Already in the ledger (its stored answer expired or was flushed):
             * a repeat consumes nothing. */
            if (!a->degraded) {
                lago_quota_give_back(self->quota, self->redis, &a->result, a->event.quantity, NULL, false);
                a->result.answer.used -= a->result.counted ? a->event.quantity : 0;
                s_reply_answer(a, &a->result.answer, true);
            } else {
                s_reply_degraded(a, true);
            }
        }
    }
    if (err != OB_OK)
        ob_log_warn("usage authorize: the ledger commit failed (%s)", ob_err_name(err));
    ob_log_debug("usage.authorize round: %zu requests; begin+lock %.2f ms, redis %.2f ms, insert %.2f ms, commit+reply %.2f ms", m,
                 (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (ob_clock_mono_us() - t3) / 1e3);
    PQclear(result);
done:
    lago_strset_release(&users_seen);
    lago_strset_release(&inserted);
    lago_strset_release(&rows_seen);
    lago_strset_release(&claimed);
}

void
lago_usage_authorize(void *state, ob_job_t **jobs, size_t count)
{
    lago_usage_t *self = state;
    double now = s_now();
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
        lago_events_problem_t problem;
        if (lago_events_check_authorize(a->body, &self->metrics, now, &a->event, &problem) != 0) {
            ob_job_reply_error(jobs[i], 400, problem.code, problem.message);
            continue;
        }
        lago_metrics_find(&self->metrics, a->event.code, &a->quota);
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

/* --- usage so far ---------------------------------------------------------------- */

void
lago_usage_get(void *state, ob_job_t *job)
{
    lago_usage_t *self = state;
    ob_call_t call;
    if (ob_job_call(job, &call) != 0)
        return;
    char user_id[LAGO_EVENTS_ID_MAX + 1];
    ob_bytes_t who = {NULL, 0};
    if (ob_bytes_eq(call.role, "user"))
        who = call.principal;
    else if (ob_bytes_eq(call.role, "service"))
        who = call.path_param;
    if (!who.ptr || who.len == 0 || who.len > LAGO_EVENTS_ID_MAX || memchr(who.ptr, '\0', who.len)) {
        ob_job_reply_error(job, ob_bytes_eq(call.role, "user") || ob_bytes_eq(call.role, "service") ? 400 : 403, "invalid_user_id",
                           "no valid user id for this request");
        return;
    }
    memcpy(user_id, who.ptr, who.len);
    user_id[who.len] = '\0';

    ob_entitlement_t e;
    ob_err_t err = ob_entitlements_get(self->redis, self->pg, user_id, &e);
    if (err == OB_ERR_NOT_FOUND || (err == OB_OK && !e.plan_id[0])) {
        ob_job_reply_json(job, 200,
                          json_pack("{s:s,s:n,s:b,s:n,s:[]}", "user_id", user_id, "plan", "live", 0, "period", "metrics"));
        return;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, "usage_unavailable", "usage cannot be read right now");
        return;
    }
    char start[24], end[24], when[32];
    snprintf(start, sizeof start, "%" PRId64, e.period_start);
    snprintf(end, sizeof end, "%" PRId64, e.period_end);
    const char *values[] = {user_id, start, end};
    PGresult *result = ob_pg_exec(self->pg, "usage_used", 3, values, NULL, NULL);
    err = ob_pg_classify(self->pg, result);
    if (err != OB_OK) {
        PQclear(result);
        ob_job_reply_err(job, err, "usage_unavailable", "usage cannot be read right now");
        return;
    }
    json_t *metrics = json_array();
    json_t *resets = json_null();
    if (e.period_end > 0) {
        lago_usage_iso8601(e.period_end, when, sizeof when);
        json_decref(resets);
        resets = json_string(when);
    }
    for (int i = 0; i < PQntuples(result); i++) {
        bool quota = PQgetvalue(result, i, 1)[0] == 't';
        int64_t used = strtoll(PQgetvalue(result, i, 2), NULL, 10);
        bool limited = quota && e.limit >= 0;
        int64_t remaining = e.limit - used;
        json_array_append_new(metrics,
                              json_pack("{s:s,s:I,s:o,s:o,s:O}", "code", PQgetvalue(result, i, 0), "used", (json_int_t)used,
                                        "limit", limited ? json_integer(e.limit) : json_null(), "remaining",
                                        limited ? json_integer(remaining > 0 ? remaining : 0) : json_null(), "resets_at", resets));
    }
    PQclear(result);
    lago_usage_iso8601(e.period_start, when, sizeof when);
    json_t *period = json_pack("{s:s,s:s,s:O}", "kind", e.period, "start", when, "end", resets);
    json_decref(resets);
    ob_job_reply_json(job, 200,
                      json_pack("{s:s,s:s,s:s,s:b,s:s,s:o,s:o}", "user_id", user_id, "plan", e.plan_id, "status", e.status, "live",
                                e.live, "subscription_id", e.subscription_id, "period", period, "metrics", metrics));
}
