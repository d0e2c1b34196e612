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
} ingest_job_t;

typedef struct {
    usage_event_t event;
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
    quota_result_t taken;
    int64_t added;
} ingest_count_t;

/*  Adds the inserted quota events to the live counters: one script call for
 *  the whole batch. Fills counts (for a give-back); returns how many. */
static size_t
s_count_ingested(usage_state_t *self, ingest_event_t *events, size_t n, const ob_strset_t *inserted, ingest_count_t **counts_out)
{
    size_t cap = n ? n : 1;
    ingest_event_t **sorted = calloc(cap, sizeof *sorted);
    int64_t *occurred = calloc(cap, sizeof *occurred);
    int64_t *quantity = calloc(cap, sizeof *quantity);
    quota_group_t *groups = calloc(cap, sizeof *groups);
    quota_result_t *taken = calloc(cap, sizeof *taken);
    int64_t *added = calloc(cap, sizeof *added);
    ingest_count_t *counts = NULL;
    size_t m = 0, n_groups = 0;
    if (!sorted || !occurred || !quantity || !groups || !taken || !added) {
        self->counters_dirty = true;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (events[i].first && events[i].quota && ob_strset_has(inserted, events[i].event.transaction_id))
            sorted[m++] = &events[i];
    if (m == 0)
        goto done;
    qsort(sorted, m, sizeof *sorted, s_by_user_code);
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || s_by_user_code(&sorted[i - 1], &sorted[i]) != 0)
            groups[n_groups++] = (quota_group_t){sorted[i]->event.user_id, sorted[i]->event.code, 0};
        groups[n_groups - 1].count++;
        occurred[i] = (int64_t)sorted[i]->event.occurred_at;
        quantity[i] = sorted[i]->event.quantity;
    }
    if (quota_count_ingested(self->quota, self->redis, groups, n_groups, occurred, quantity, taken, added) != 0) {
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

/*  The quota_threshold requests the batch's inserted quota events may have
 *  caused, in its transaction (quota_notify_ingested). */
static ob_err_t
s_notify_thresholds(usage_state_t *self, const ingest_event_t *events, size_t n, const ob_strset_t *inserted)
{
    json_t *groups = json_array();
    for (size_t i = 0; groups && i < n; i++)
        if (events[i].first && events[i].quota && ob_strset_has(inserted, events[i].event.transaction_id))
            json_array_append_new(groups, json_pack("{s:s,s:s,s:I}", "user_id", events[i].event.user_id, "code",
                                                    events[i].event.code, "added", (json_int_t)events[i].event.quantity));
    char *text = groups && json_array_size(groups) ? ob_json_dump(groups, NULL) : NULL;
    ob_err_t err = text ? quota_notify_ingested(self->pg, text) : OB_OK;
    free(text);
    json_decref(groups);
    return err;
}

static void
s_reject(ingest_job_t *job, size_t index, const usage_events_problem_t *problem)
{
    json_array_append_new(
        job->rejected, json_pack("{s:I,s:s,s:s}", "index", (json_int_t)index, "code", problem->code, "message", problem->message));
}

void
usage_ingest(void *state, ob_job_t **jobs, size_t count)
{
    usage_state_t *self = state;
    double now = usage_now_s();
    int64_t t0 = ob_clock_mono_us();
    ingest_job_t *per = calloc(count, sizeof *per);
    ingest_event_t *events = calloc(count * USAGE_EVENTS_BATCH_MAX, sizeof *events);
    ob_strset_t seen = {0}, inserted = {0}, users_seen = {0};
    usage_ledger_rows_t rows = {0};
    json_t *users = json_array();
    if (!per || !events || !users || ob_strset_init(&seen, count * USAGE_EVENTS_BATCH_MAX) != 0 ||
        ob_strset_init(&inserted, count * USAGE_EVENTS_BATCH_MAX) != 0 || ob_strset_init(&users_seen, 64) != 0) {
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
            e->first = ob_strset_add(&seen, e->event.transaction_id) == 1;
            usage_metrics_find(&self->metrics, e->event.code, &e->quota);
            per[i].valid++;
            if (e->first) {
                usage_ledger_rows_add(&rows, &e->event, NULL, NULL);
                if (e->quota && ob_strset_add(&users_seen, e->event.user_id) == 1)
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
            err = usage_ledger_lock_users(self->pg, users_text);
        if (err == OB_OK)
            err = usage_ledger_insert(self->pg, &rows, "ingest", &inserted, &result);
        t2 = ob_clock_mono_us();
        if (err == OB_OK && json_array_size(users) > 0) {
            usage_state_settle_dirty(self);
            groups = s_count_ingested(self, events, n, &inserted, &counts);
            err = s_notify_thresholds(self, events, n, &inserted);
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
                quota_give_back(self->quota, self->redis, &counts[g].taken, counts[g].added, NULL, false);
        }
        if (err != OB_OK) {
            ob_log_warn("usage ingest: the ledger commit failed (%s)", ob_err_name(err));
        }
        free(users_text);
    }
    int64_t t4 = ob_clock_mono_us();
    for (size_t k = 0; k < n; k++) {
        ingest_job_t *job = &per[events[k].job];
        if (events[k].first && ob_strset_has(&inserted, events[k].event.transaction_id))
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
    ob_strset_release(&seen);
    ob_strset_release(&inserted);
    ob_strset_release(&users_seen);
    usage_ledger_rows_release(&rows);
    json_decref(users);
    free(events);
    free(per);
}
