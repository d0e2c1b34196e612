/*  usage_ingest - POST /api/v1/usage/events. */
#include "services/lago-worker/usage_ingest.h"

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
#include "services/lago-worker/usage_ledger.h"
#include "services/lago-worker/usage_state.h"

typedef struct {
    json_t *body;     /* owns the borrowed strings of its events */
    json_t *rejected; /* [{"index","code","message"}] */
    size_t valid;
    size_t accepted;
    size_t duplicates;
    json_t *reused; /* indexes of events whose transaction_id names another request, or NULL */
} ingest_job_t;

typedef struct {
    usage_event_t event;
    size_t job;
    size_t index; /* in its request's batch */
    bool first;   /* first time this transaction_id is seen in the batch (of requests not refused) */
    bool quota;
} ingest_event_t;

static int
s_by_user_code(const void *a, const void *b)
{
    const ingest_event_t *x = *(ingest_event_t *const *)a, *y = *(ingest_event_t *const *)b;
    int c = strcmp(x->event.user_id, y->event.user_id);
    return c ? c : strcmp(x->event.code, y->event.code);
}

/*  One user and quota metric of the batch's inserted events. */
typedef struct {
    const char *user_id;
    const char *code;
    size_t count;         /* events */
    int64_t quantity;     /* what they add (the threshold check) */
    quota_result_t taken; /* from the count script (valid when counted) */
    int64_t added;        /* what the counter got (a give-back) */
} ingest_group_t;

typedef struct {
    ingest_group_t *groups;
    size_t count;
    bool counted; /* Redis counted them: taken and added are valid */
} ingest_groups_t;

static void
s_groups_release(ingest_groups_t *self)
{
    free(self->groups);
    memset(self, 0, sizeof *self);
}

/*  Groups the inserted quota events by user and code and adds them to the
 *  live counters: one script call for the whole batch. When Redis cannot
 *  count them, the durable dirty marker is written (counted stays false).
 *  -1 on OOM (nothing counted). */
static int
s_count_ingested(usage_state_t *self, ingest_event_t *events, size_t n, const ob_strset_t *inserted, ingest_groups_t *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = n ? n : 1;
    ingest_event_t **sorted = calloc(cap, sizeof *sorted);
    int64_t *occurred = calloc(cap, sizeof *occurred);
    int64_t *quantity = calloc(cap, sizeof *quantity);
    int rc = -1;
    size_t m = 0, n_groups = 0;
    quota_group_t *qgroups = NULL;
    quota_result_t *taken = NULL;
    int64_t *added = NULL;
    if (!sorted || !occurred || !quantity)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (events[i].first && events[i].quota && ob_strset_has(inserted, events[i].event.transaction_id))
            sorted[m++] = &events[i];
    rc = 0;
    if (m == 0)
        goto done;
    qsort(sorted, m, sizeof *sorted, s_by_user_code);
    for (size_t i = 0; i < m; i++)
        if (i == 0 || s_by_user_code(&sorted[i - 1], &sorted[i]) != 0)
            n_groups++;
    out->groups = calloc(n_groups, sizeof *out->groups);
    qgroups = calloc(n_groups, sizeof *qgroups);
    taken = calloc(n_groups, sizeof *taken);
    added = calloc(n_groups, sizeof *added);
    if (!out->groups || !qgroups || !taken || !added) {
        rc = -1;
        goto done;
    }
    for (size_t i = 0, g = 0; i < m; i++) {
        if (i > 0 && s_by_user_code(&sorted[i - 1], &sorted[i]) != 0)
            g++;
        ingest_group_t *group = &out->groups[g];
        group->user_id = sorted[i]->event.user_id;
        group->code = sorted[i]->event.code;
        group->count++;
        group->quantity += sorted[i]->event.quantity;
        qgroups[g] = (quota_group_t){group->user_id, group->code, group->count};
        occurred[i] = (int64_t)sorted[i]->event.occurred_at;
        quantity[i] = sorted[i]->event.quantity;
    }
    out->count = n_groups;
    if (quota_count_ingested(self->quota, self->redis, qgroups, n_groups, occurred, quantity, taken, added) != 0) {
        usage_state_mark_dirty(self); /* Redis missed usage: invalidate counters when it is back */
        goto done;
    }
    out->counted = true;
    for (size_t g = 0; g < n_groups; g++) {
        out->groups[g].taken = taken[g];
        out->groups[g].added = added[g];
    }
done:
    if (rc != 0)
        s_groups_release(out);
    free(sorted);
    free(occurred);
    free(quantity);
    free(qgroups);
    free(taken);
    free(added);
    return rc;
}

/*  At most this many missing counters are rebuilt after one batch (the
 *  rest after the next ones). */
#define S_WARM_MAX 512

/*  After the commit: the counters the batch found missing are rebuilt from
 *  the ledger (they would be at the users' next authorize), so the next
 *  batches have a live counter to check thresholds against instead of
 *  summing the ledger. A failure costs nothing but that. */
static void
s_warm_counters(usage_state_t *self, const ingest_groups_t *groups)
{
    if (!groups->counted)
        return;
    usage_ledger_counter_t *missing = calloc(groups->count ? groups->count : 1, sizeof *missing);
    size_t m = 0;
    for (size_t g = 0; missing && g < groups->count && m < S_WARM_MAX; g++) {
        const quota_result_t *t = &groups->groups[g].taken;
        if (t->counter_key[0] && !t->generation[0] && t->period_start >= 0)
            missing[m++] = (usage_ledger_counter_t){groups->groups[g].user_id, groups->groups[g].code, t->counter_key,
                                                    t->period_start, t->period_end};
    }
    ob_err_t err = m > 0 ? usage_ledger_rebuild_many(self->pg, self->redis, self->quota, missing, m) : OB_OK;
    if (err != OB_OK)
        ob_log_debug("usage ingest: rebuilding %zu counters failed (%s)", m, ob_err_name(err));
    free(missing);
}

#define S_REUSED_MESSAGE "a transaction_id of the batch was used for another request (another user, code or quantity)"

static int
s_by_transaction(const void *a, const void *b)
{
    const ingest_event_t *x = *(ingest_event_t *const *)a, *y = *(ingest_event_t *const *)b;
    int c = strcmp(x->event.transaction_id, y->event.transaction_id);
    return c ? c : (x < y ? -1 : x > y); /* the earlier event first */
}

static void
s_mark_reused(ingest_job_t *per, const ingest_event_t *e)
{
    ingest_job_t *job = &per[e->job];
    if (!job->reused)
        job->reused = json_array();
    json_array_append_new(job->reused, json_integer((json_int_t)e->index));
}

/*  A transaction_id names one request for good: marks the requests with an
 *  event that reuses one for another user, code or quantity, against the
 *  ledger and, for ids new to it, against the batch's first use (sorted,
 *  n log n). The whole request is refused (409), so nothing of it is
 *  recorded. A true repeat stays a duplicate. Fails only when the ledger
 *  cannot be read. */
static ob_err_t
s_find_reused(usage_state_t *self, ingest_job_t *per, ingest_event_t *events, size_t n)
{
    usage_ledger_rows_t rows = {0};
    for (size_t i = 0; i < n; i++)
        usage_ledger_rows_add(&rows, &events[i].event, NULL, NULL);
    usage_ledger_match_t *match = calloc(n ? n : 1, sizeof *match);
    ingest_event_t **fresh = calloc(n ? n : 1, sizeof *fresh);
    ob_err_t err = match && fresh ? usage_ledger_match(self->pg, &rows, match) : OB_ERR_INTERNAL;
    usage_ledger_rows_release(&rows);
    size_t m = 0;
    for (size_t i = 0; err == OB_OK && i < n; i++) {
        if (match[i] == USAGE_LEDGER_OTHER)
            s_mark_reused(per, &events[i]);
        else if (match[i] == USAGE_LEDGER_ABSENT)
            fresh[m++] = &events[i];
    }
    qsort(fresh, m, sizeof *fresh, s_by_transaction);
    for (size_t i = 1, run = 0; i < m; i++) {
        if (strcmp(fresh[i]->event.transaction_id, fresh[run]->event.transaction_id) != 0)
            run = i;
        else if (!usage_events_same_request(&fresh[i]->event, &fresh[run]->event))
            s_mark_reused(per, fresh[i]);
    }
    free(match);
    free(fresh);
    return err;
}

/*  After the INSERT: true when a row it skipped as already there belongs to
 *  another request (committed by a concurrent batch after s_find_reused);
 *  the batch then rolls back and its retry is refused by s_find_reused. */
static bool
s_reused_meanwhile(usage_state_t *self, const ingest_event_t *events, size_t n, const ob_strset_t *inserted)
{
    usage_ledger_rows_t rows = {0};
    for (size_t i = 0; i < n; i++)
        if (events[i].first && !ob_strset_has(inserted, events[i].event.transaction_id))
            usage_ledger_rows_add(&rows, &events[i].event, NULL, NULL);
    if (rows.count == 0)
        return false;
    usage_ledger_match_t *match = calloc(rows.count, sizeof *match);
    bool reused = !match || usage_ledger_match(self->pg, &rows, match) != OB_OK;
    for (size_t i = 0; !reused && i < rows.count; i++)
        reused = match[i] == USAGE_LEDGER_OTHER;
    free(match);
    usage_ledger_rows_release(&rows);
    return reused;
}

/*  The quota_threshold requests the batch's inserted quota events may have
 *  caused, in its transaction (quota_notify_ingested): one entry per group,
 *  with the live counter as a hint when Redis counted the batch. */
static ob_err_t
s_notify_thresholds(usage_state_t *self, const ingest_groups_t *groups)
{
    if (groups->count == 0)
        return OB_OK;
    ob_pgarray_text_t users = {0}, codes = {0}, added = {0}, hints = {0};
    for (size_t g = 0; g < groups->count; g++) {
        const ingest_group_t *group = &groups->groups[g];
        char quantity[24], hint[24];
        snprintf(quantity, sizeof quantity, "%" PRId64, group->quantity);
        snprintf(hint, sizeof hint, "%" PRId64, group->taken.answer.used);
        ob_pgarray_text_add(&users, group->user_id);
        ob_pgarray_text_add(&codes, group->code);
        ob_pgarray_text_add(&added, quantity);
        ob_pgarray_text_add(&hints, groups->counted && group->taken.answer.used >= 0 ? hint : NULL);
    }
    const char *u = ob_pgarray_text_value(&users), *c = ob_pgarray_text_value(&codes), *a = ob_pgarray_text_value(&added),
               *h = ob_pgarray_text_value(&hints);
    ob_err_t err = u && c && a && h ? quota_notify_ingested(self->pg, u, c, a, h) : OB_ERR_INTERNAL;
    ob_pgarray_text_release(&users);
    ob_pgarray_text_release(&codes);
    ob_pgarray_text_release(&added);
    ob_pgarray_text_release(&hints);
    return err;
}

static void
s_reject(ingest_job_t *job, size_t index, const usage_events_problem_t *problem)
{
    json_array_append_new(
        job->rejected, json_pack("{s:I,s:s,s:s}", "index", (json_int_t)index, "code", problem->code, "message", problem->message));
}

/*  The optimistic round's check, in memory only: true when two uses of a
 *  transaction_id in the batch name different requests (which of them is
 *  the reuse depends on the ledger: the round is done checked). The ledger
 *  is asked only about the rows the INSERT skipped (s_reused_meanwhile):
 *  when one of them names another request the round is rolled back and done
 *  again checked (s_find_reused decides against the ledger first). -1 on OOM. */
static int
s_find_reused_in_batch(ingest_event_t *events, size_t n)
{
    int found = 0;
    ob_strset_t ids = {0};
    if (ob_strset_init(&ids, n ? n : 1) != 0)
        return -1;
    bool repeated = false; /* the common case: every id once, nothing to sort */
    for (size_t i = 0; i < n && !repeated; i++)
        repeated = ob_strset_add(&ids, events[i].event.transaction_id) == 0;
    ob_strset_release(&ids);
    if (!repeated)
        return 0;
    ingest_event_t **sorted = calloc(n, sizeof *sorted);
    if (!sorted)
        return -1;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &events[i];
    qsort(sorted, n, sizeof *sorted, s_by_transaction);
    for (size_t i = 1, run = 0; i < n; i++) {
        if (strcmp(sorted[i]->event.transaction_id, sorted[run]->event.transaction_id) != 0)
            run = i;
        else if (!usage_events_same_request(&sorted[i]->event, &sorted[run]->event))
            found = 1;
    }
    free(sorted);
    return found;
}

/*  What one round (one transaction) leaves for the answers. */
typedef struct {
    ob_strset_t seen, inserted;
    PGresult *result; /* owns the strings of inserted */
    ingest_groups_t groups;
    bool conflict; /* optimistic round: a skipped row names another request; do it again checked */
} ingest_round_t;

static int
s_round_init(ingest_round_t *self, size_t n)
{
    memset(self, 0, sizeof *self);
    return ob_strset_init(&self->seen, n) == 0 && ob_strset_init(&self->inserted, n) == 0 ? 0 : -1;
}

static void
s_round_release(ingest_round_t *self)
{
    ob_strset_release(&self->seen);
    ob_strset_release(&self->inserted);
    PQclear(self->result);
    s_groups_release(&self->groups);
    memset(self, 0, sizeof *self);
}

/*  One transaction for every event of the requests not refused: the rows
 *  (each transaction_id once), the live counters, the threshold requests,
 *  COMMIT. checked: decide reuses against the ledger before (else in
 *  memory, and a conflict found after the INSERT sets round->conflict). */
static ob_err_t
s_round(usage_state_t *self, ingest_job_t *per, size_t count, ingest_event_t *events, size_t n, bool checked, ingest_round_t *round,
        int64_t *timings)
{
    for (size_t i = 0; i < count; i++) {
        json_decref(per[i].reused);
        per[i].reused = NULL;
    }
    ob_err_t err = OB_OK;
    if (checked)
        err = n > 0 && s_find_reused(self, per, events, n) != OB_OK ? OB_ERR_TRANSIENT : OB_OK;
    else {
        int found = s_find_reused_in_batch(events, n);
        err = found < 0 ? OB_ERR_INTERNAL : OB_OK;
        if (found > 0) {
            round->conflict = true;
            return OB_ERR_TRANSIENT;
        }
    }
    if (err != OB_OK)
        return err;
    usage_ledger_rows_t rows = {0};
    ob_strset_t users_seen = {0};
    json_t *users = json_array();
    if (!users || ob_strset_init(&users_seen, 64) != 0) {
        json_decref(users);
        return OB_ERR_INTERNAL;
    }
    for (size_t k = 0; k < n; k++) {
        ingest_event_t *e = &events[k];
        e->first = false;
        if (per[e->job].reused)
            continue;
        e->first = ob_strset_add(&round->seen, e->event.transaction_id) == 1;
        if (e->first) {
            usage_ledger_rows_add(&rows, &e->event, NULL, NULL);
            if (e->quota && ob_strset_add(&users_seen, e->event.user_id) == 1)
                json_array_append_new(users, json_string(e->event.user_id));
        }
    }
    timings[1] = timings[2] = timings[3] = ob_clock_mono_us();
    if (rows.count > 0) {
        char *users_text = ob_json_dump(users, NULL);
        err = users_text ? ob_pg_begin(self->pg) : OB_ERR_INTERNAL;
        if (err == OB_OK && json_array_size(users) > 0)
            err = usage_ledger_lock_users(self->pg, users_text);
        if (err == OB_OK)
            err = usage_ledger_insert(self->pg, &rows, "ingest", &round->inserted, &round->result);
        if (err == OB_OK && s_reused_meanwhile(self, events, n, &round->inserted)) {
            err = OB_ERR_TRANSIENT;
            round->conflict = !checked;
        }
        timings[2] = ob_clock_mono_us();
        self->dirty_mark_failed = false;
        if (err == OB_OK && json_array_size(users) > 0) {
            usage_state_settle_dirty(self);
            if (s_count_ingested(self, events, n, &round->inserted, &round->groups) != 0)
                err = OB_ERR_INTERNAL;
            if (err == OB_OK)
                err = s_notify_thresholds(self, &round->groups);
        }
        timings[3] = ob_clock_mono_us();
        bool outcome_unknown = false;
        if (err == OB_OK && self->dirty_mark_failed) {
            ob_pg_rollback(self->pg); /* uncounted rows never commit without their marker */
            err = OB_ERR_TRANSIENT;
        } else if (err == OB_OK) {
            err = ob_pg_commit(self->pg);
            outcome_unknown = err == OB_ERR_TRANSIENT; /* the rows may be in: keep them counted */
        } else if (ob_pg_in_transaction(self->pg)) {
            ob_pg_rollback(self->pg);
        }
        if (err != OB_OK && !outcome_unknown && round->groups.counted) {
            for (size_t g = 0; g < round->groups.count; g++) {
                ingest_group_t *group = &round->groups.groups[g];
                quota_give_back(self->quota, self->redis, &group->taken, group->added, NULL, false);
            }
        }
        if (err != OB_OK && !round->conflict)
            ob_log_warn("usage ingest: the ledger commit failed (%s)", ob_err_name(err));
        free(users_text);
    }
    usage_ledger_rows_release(&rows);
    ob_strset_release(&users_seen);
    json_decref(users);
    return err;
}

void
usage_ingest(void *state, ob_job_t **jobs, size_t count)
{
    usage_state_t *self = state;
    double now = usage_now_s();
    int64_t t[5] = {ob_clock_mono_us()};
    ingest_job_t *per = calloc(count, sizeof *per);
    ingest_event_t *events = calloc(count * USAGE_EVENTS_BATCH_MAX, sizeof *events);
    ingest_round_t round = {0};
    if (!per || !events || s_round_init(&round, count * USAGE_EVENTS_BATCH_MAX) != 0) {
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
        usage_events_problem_t problem;
        const json_t *batch = usage_events_batch(body, &problem);
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
            if (usage_events_check(event, &self->metrics, now, &e->event, &problem) != 0) {
                s_reject(&per[i], index, &problem);
                continue;
            }
            e->job = i;
            e->index = index;
            usage_metrics_find(&self->metrics, e->event.code, &e->quota);
            per[i].valid++;
            n++;
        }
    }
    ob_err_t err = s_round(self, per, count, events, n, false, &round, t);
    if (round.conflict) {
        /* A transaction_id the ledger holds for another request: decide against the ledger first. */
        s_round_release(&round);
        err = s_round_init(&round, count * USAGE_EVENTS_BATCH_MAX) == 0 ? s_round(self, per, count, events, n, true, &round, t)
                                                                        : OB_ERR_INTERNAL;
    }
    if (err == OB_OK)
        s_warm_counters(self, &round.groups);
    t[4] = ob_clock_mono_us();
    for (size_t k = 0; k < n; k++) {
        ingest_job_t *job = &per[events[k].job];
        if (job->reused)
            continue;
        if (events[k].first && ob_strset_has(&round.inserted, events[k].event.transaction_id))
            job->accepted++;
        else
            job->duplicates++;
    }
    for (size_t i = 0; i < count; i++) {
        if (!per[i].body)
            continue;
        if (per[i].reused && err == OB_OK) {
            ob_job_reply_json(jobs[i], 409,
                              json_pack("{s:{s:s,s:s},s:O}", "error", "code", "transaction_id_reused", "message",
                                        S_REUSED_MESSAGE "; nothing of the batch was recorded", "reused", per[i].reused));
        } else if (per[i].valid > 0 && err != OB_OK) {
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
                 count, n, (t[1] - t[0]) / 1e3, (t[2] - t[1]) / 1e3, (t[3] - t[2]) / 1e3, (t[4] - t[3]) / 1e3,
                 (ob_clock_mono_us() - t[4]) / 1e3);
cleanup:
    s_round_release(&round);
    for (size_t i = 0; per && i < count; i++) {
        json_decref(per[i].rejected);
        json_decref(per[i].reused);
        json_decref(per[i].body);
    }
    free(events);
    free(per);
}
