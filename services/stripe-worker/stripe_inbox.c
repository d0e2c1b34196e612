/*  stripe_inbox - group-committed webhook ingest. */
#include "services/stripe-worker/stripe_inbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_pgarray.h"
#include "services/stripe-worker/stripe_event_map.h"

#define S_RECEIVED "{\"received\":true}"
#define S_COLUMNS 7

void
stripe_inbox_prepare(ob_pg_t *pg)
{
    /* An event that can never apply (ids or times past their bounds, an
     * unusable object) is recorded as failed with its reason: acknowledged,
     * visible to operators, never retried. One of a type the processor never
     * acts on is recorded as ignored, done: the processor's fast path decided
     * here, so it costs no claim, no second write and no second commit. */
    ob_pg_prepare(pg, "inbox_insert",
                  "INSERT INTO stripe_events (id, type, created, livemode, payload, status, last_error, processed_at)"
                  " SELECT id, type, created, livemode, payload, status, nullif(problem, ''),"
                  "        CASE WHEN status = 'ignored' THEN now() END"
                  " FROM unnest($1::text[], $2::text[], $3::int8[], $4::bool[], $5::text[], $6::text[], $7::text[])"
                  "      AS e(id, type, created, livemode, payload, problem, status)"
                  " ON CONFLICT (id) DO NOTHING",
                  7);
}

static void
s_reply_received(ob_job_t *job)
{
    char *body = strdup(S_RECEIVED);
    if (!body) {
        ob_job_reply_error(job, 503, "unavailable", "out of memory; retry");
        return;
    }
    free(job->body);
    job->status = 200;
    job->body = body;
    job->body_len = sizeof S_RECEIVED - 1;
}

/*  Why an event of a handled type can never apply ("" when it can): the
 *  same mapping the processor runs, so it is decided before the commit. */
static void
s_problem(const json_t *event, const stripe_event_head_t *head, char *problem, size_t cap)
{
    problem[0] = '\0';
    if (!stripe_event_is_handled(head->type))
        return;
    stripe_effect_t effect;
    if (stripe_event_map(event, &effect, problem, cap) == OB_OK) {
        stripe_effect_clear(&effect);
        problem[0] = '\0';
    } else if (!problem[0]) {
        snprintf(problem, cap, "the event cannot be applied");
    }
}

/*  Parses one webhook and appends it to the arrays. Answers 400 itself and
 *  returns -1 when the body is not a usable event. */
static int
s_add(const stripe_state_t *state, ob_job_t *job, ob_pgarray_t arrays[S_COLUMNS], size_t *pending)
{
    ob_stripe_webhook_t webhook;
    ob_proto_err_t perr = ob_stripe_webhook_unpack(&webhook, job->envelope.payload.ptr, job->envelope.payload.len);
    if (perr != OB_PROTO_OK) {
        ob_job_reply_error(job, 400, "bad_message", ob_proto_strerror(perr));
        return -1;
    }
    const char *reason;
    json_t *event = ob_json_parse_object(webhook.body.ptr, webhook.body.len, &reason);
    stripe_event_head_t head;
    if (!event || stripe_event_head(event, &head, &reason) != 0) {
        json_decref(event);
        ob_job_reply_error(job, 400, "invalid_event", reason);
        return -1;
    }
    if (!stripe_mode_matches(state->mode, head.livemode)) {
        ob_log_warn("webhook inbox: event %s has livemode %s but the Stripe key is a %s key; refused", head.id,
                    head.livemode ? "true" : "false", state->mode == STRIPE_MODE_LIVE ? "live" : "test");
        ob_job_reply_error(job, 400, "livemode_mismatch",
                           head.livemode ? "a live-mode event was sent to a service running with a test key"
                                         : "a test-mode event was sent to a service running with a live key");
        json_decref(event);
        return -1;
    }
    ob_pgarray_add(&arrays[0], head.id, strlen(head.id));
    ob_pgarray_add(&arrays[1], head.type, strlen(head.type));
    ob_pgarray_add_int8(&arrays[2], head.created);
    ob_pgarray_add_bool(&arrays[3], head.livemode);
    ob_pgarray_add(&arrays[4], webhook.body.ptr, webhook.body.len);
    char problem[256];
    s_problem(event, &head, problem, sizeof problem);
    if (problem[0])
        ob_log_warn("stripe event %s recorded as failed: %s", head.id, problem);
    ob_pgarray_add(&arrays[5], problem, strlen(problem));
    const char *status = problem[0]                                                       ? "failed"
                         : state->ignore_at_ingest && !stripe_event_is_handled(head.type) ? "ignored"
                                                                                          : "pending";
    ob_pgarray_add(&arrays[6], status, strlen(status));
    if (strcmp(status, "pending") == 0)
        (*pending)++;
    json_decref(event);
    return 0;
}

void
stripe_inbox_ingest(void *state_arg, ob_job_t **jobs, size_t count)
{
    stripe_state_t *state = state_arg;
    ob_pgarray_t arrays[S_COLUMNS];
    static const uint32_t oids[S_COLUMNS] = {OB_PG_OID_TEXT, OB_PG_OID_TEXT, OB_PG_OID_INT8, OB_PG_OID_BOOL,
                                             OB_PG_OID_TEXT, OB_PG_OID_TEXT, OB_PG_OID_TEXT};
    for (int i = 0; i < S_COLUMNS; i++)
        ob_pgarray_init(&arrays[i], oids[i]);
    size_t valid = 0, pending = 0;
    for (size_t i = 0; i < count; i++)
        if (s_add(state, jobs[i], arrays, &pending) == 0)
            jobs[valid++] = jobs[i]; /* the runtime answers from its own list: reordering ours is fine */

    ob_err_t err = OB_OK;
    long inserted = 0;
    if (valid > 0) {
        const char *values[S_COLUMNS];
        int lengths[S_COLUMNS];
        const int formats[S_COLUMNS] = {1, 1, 1, 1, 1, 1, 1};
        for (int i = 0; i < S_COLUMNS; i++)
            if (!(values[i] = ob_pgarray_finish(&arrays[i], &lengths[i])))
                err = OB_ERR_INTERNAL;
        if (err == OB_OK) {
            /* One statement in autocommit: one transaction, one commit for the whole batch. */
            PGresult *r = ob_pg_exec(state->pg, "inbox_insert", S_COLUMNS, values, lengths, formats);
            err = ob_pg_classify(state->pg, r);
            if (err == OB_OK)
                inserted = strtol(PQcmdTuples(r), NULL, 10);
            PQclear(r);
        }
    }
    for (int i = 0; i < S_COLUMNS; i++)
        ob_pgarray_release(&arrays[i]);
    if (valid == 0)
        return;
    if (err != OB_OK) {
        ob_log_warn("webhook inbox: could not record %zu events (%s); answering 503", valid, ob_err_name(err));
        for (size_t i = 0; i < valid; i++)
            ob_job_reply_error(jobs[i], 503, "unavailable", "the event could not be recorded; retry later");
        return;
    }
    for (size_t i = 0; i < valid; i++)
        s_reply_received(jobs[i]);
    if (inserted > 0 && pending > 0 && state->wake)
        state->wake(state->wake_arg);
}
