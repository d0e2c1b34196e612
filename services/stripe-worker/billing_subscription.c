/*  billing_subscription - "subscription.cancel" and "subscription.upgrade". */
#include "services/stripe-worker/billing_subscription.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/billing_prices.h"
#include "clients/ob_idempotency.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "services/stripe-worker/billing_context.h"
#include "services/stripe-worker/billing_sub_sync.h"
#include "services/stripe-worker/stripe_state.h"

json_t *
billing_subscription_status_json(const ob_entitlement_t *e)
{
    json_t *features = json_loads(e->features, 0, NULL);
    if (!json_is_array(features)) {
        json_decref(features);
        features = json_array();
    }
    return json_pack("{s:o, s:o, s:s, s:o, s:b, s:o, s:b, s:o, s:o}", "subscription_id",
                     e->subscription_id[0] ? json_string(e->subscription_id) : json_null(), "plan_id",
                     e->plan_id[0] ? json_string(e->plan_id) : json_null(), "status", e->status[0] ? e->status : "none", "interval",
                     e->interval[0] ? json_string(e->interval) : json_null(), "live", e->live, "current_period_end",
                     ob_json_time(e->current_period_end), "cancel_at_period_end", e->cancel_at_period_end, "trial_end",
                     ob_json_time(e->trial_end), "features", features);
}

/*  The key of one user action: the request id (the same on a redelivery of
 *  the message and on a client's retry with its X-Request-Id, new for every
 *  other request) plus what the action is, so no later action, whatever it
 *  asks, can meet an earlier action's stored answer at Stripe. */
static void
s_action_key(char *key, size_t cap, const char *kind, const ob_job_t *job, const char *a, const char *b, const char *c)
{
    char request_id[64];
    snprintf(request_id, sizeof request_id, "%.*s", (int)job->envelope.request_id.len,
             job->envelope.request_id.ptr ? job->envelope.request_id.ptr : "");
    ob_idempotency_key(key, cap, kind, 0, 0, request_id, a, b, c, (const char *)NULL);
}

/*  Replies with the status on record. */
static void
s_reply_on_record(billing_context_t *ctx, ob_job_t *job, const char *user_id)
{
    ob_entitlement_t e;
    ob_err_t err = ob_entitlements_load(ctx->pg, user_id, &e);
    if (err != OB_OK && err != OB_ERR_NOT_FOUND) {
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        return;
    }
    ob_job_reply_json(job, 200, billing_subscription_status_json(&e));
}

/*  Stores Stripe's answer and replies with the status now on record. The
 *  answer is versioned by Stripe's clock (its Date header), the clock its
 *  events' `created` is on. A replayed answer (Idempotent-Replayed: true:
 *  this action was done before, by an earlier delivery of the same request)
 *  changed nothing now and may describe a state Stripe has left since, so it
 *  is not stored: the reply is what is on record. So is an answer without a
 *  usable Date; the webhook records the change. */
static void
s_apply_and_reply(billing_context_t *ctx, ob_job_t *job, const char *user_id, const json_t *subscription)
{
    if (stripe_api_last_replayed(ctx->stripe)) {
        ob_log_info("billing: Stripe replayed an earlier answer to this request; nothing changed now");
        s_reply_on_record(ctx, job, user_id);
        return;
    }
    int64_t version = (int64_t)stripe_api_last_date(ctx->stripe);
    if (version <= 0) {
        ob_log_warn("billing: Stripe's answer has no Date; the webhook will record the change");
        s_reply_on_record(ctx, job, user_id);
        return;
    }
    /* Within one second of Stripe's clock the order rule compares ids: the
     * answer received later must sort later (request ids do not), so the id
     * leads with when it was received, in ms. Events ("evt_...") still sort
     * after every "api:" answer of their second. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char source[200];
    snprintf(source, sizeof source, "api:%013lld:%.*s", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
             (int)job->envelope.request_id.len, job->envelope.request_id.ptr ? job->envelope.request_id.ptr : "");
    ob_entitlement_t after;
    ob_err_t err =
        billing_sub_sync_apply(ctx->pg, ctx->redis, user_id, subscription, version, source, billing_context_wait_ms(job), &after);
    if (err != OB_OK) {
        /* Stripe has made the change; the webhook will record it. */
        ob_job_reply_error(job, 503, "stored_later",
                           "the change was made at Stripe but is not recorded yet; check the status shortly");
        return;
    }
    ob_job_reply_json(job, 200, billing_subscription_status_json(&after));
}

/*  The user's live subscription, or an answer (409 or a database error). */
static bool
s_live(billing_context_t *ctx, ob_job_t *job, const char *user_id, billing_live_subscription_t *live)
{
    ob_err_t err = billing_live_subscription(ctx, user_id, live);
    if (err == OB_ERR_NOT_FOUND)
        ob_job_reply_error(job, 409, "no_subscription", "you have no active subscription");
    else if (err != OB_OK)
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
    return err == OB_OK;
}

void
billing_subscription_cancel(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    json_t *body;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, &body);
    if (!ctx)
        return;
    const char *user_id = req.user_id;
    const json_t *flag = json_object_get(body, "at_period_end");
    if (flag && !json_is_boolean(flag) && !json_is_null(flag)) {
        ob_job_reply_error(job, 400, "invalid_at_period_end", "at_period_end must be true or false");
        json_decref(body);
        return;
    }
    bool at_period_end = !json_is_false(flag);
    json_decref(body);

    billing_live_subscription_t live;
    if (!s_live(ctx, job, user_id, &live))
        return;
    json_t *subscription = NULL;
    stripe_error_t serr;
    ob_err_t err;
    if (at_period_end) {
        char key[96];
        s_action_key(key, sizeof key, "cancel", job, live.id, "at_period_end", NULL);
        err = stripe_api_update_subscription_cancel_at_period_end(ctx->stripe, key, live.id, true, &subscription, &serr);
    } else {
        err = stripe_api_cancel_subscription_now(ctx->stripe, live.id, &subscription, &serr);
    }
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "cancel subscription", err, &serr);
        return;
    }
    ob_log_info("billing: subscription %s canceled %s", live.id, at_period_end ? "at period end" : "now");
    s_apply_and_reply(ctx, job, user_id, subscription);
    json_decref(subscription);
}

void
billing_subscription_resume(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, NULL);
    if (!ctx)
        return;
    billing_live_subscription_t live;
    if (!s_live(ctx, job, req.user_id, &live))
        return;
    char key[96];
    s_action_key(key, sizeof key, "resume", job, live.id, "resume", NULL);
    json_t *subscription = NULL;
    stripe_error_t serr;
    ob_err_t err = stripe_api_update_subscription_cancel_at_period_end(ctx->stripe, key, live.id, false, &subscription, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "resume subscription", err, &serr);
        return;
    }
    ob_log_info("billing: subscription %s resumed", live.id);
    s_apply_and_reply(ctx, job, req.user_id, subscription);
    json_decref(subscription);
}

/*  The item of the subscription and the price it is on now. */
static bool
s_first_item(const json_t *subscription, const char **item_id, const char **price_id)
{
    const json_t *item = json_array_get(json_object_get(json_object_get(subscription, "items"), "data"), 0);
    *item_id = json_string_value(json_object_get(item, "id"));
    *price_id = json_string_value(json_object_get(json_object_get(item, "price"), "id"));
    return *item_id != NULL;
}

void
billing_subscription_upgrade(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    json_t *body;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, &body);
    if (!ctx)
        return;
    const char *user_id = req.user_id;
    json_t *current = NULL, *updated = NULL;
    const char *plan_id, *interval;
    if (!billing_plan_request(job, body, &plan_id, &interval))
        goto done;
    billing_live_subscription_t live;
    if (!s_live(ctx, job, user_id, &live))
        goto done;

    billing_price_spec_t spec;
    if (!billing_plan_spec(ctx, job, plan_id, interval, &spec))
        goto done;
    if (spec.trial) {
        ob_job_reply_error(job, 400, "trial_not_allowed", "the trial cannot be switched to; choose a paid plan");
        goto done;
    }
    if (strcmp(live.plan_id, spec.plan_id) == 0 && strcmp(live.interval, spec.interval) == 0) {
        ob_job_reply_error(job, 400, "same_plan", "you are already on that plan and interval");
        goto done;
    }
    char price_id[128];
    stripe_error_t serr;
    ob_err_t err = billing_price_resolve(ctx->pg, ctx->stripe, &spec, price_id, sizeof price_id, &serr);
    if (err == OB_ERR_NOT_FOUND) {
        ob_job_reply_error(job, 503, "price_not_configured", "that plan cannot be bought yet; the operator must finish setup");
        goto done;
    }
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "find price", err, &serr);
        goto done;
    }

    err = stripe_api_retrieve_subscription(ctx->stripe, live.id, &current, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "retrieve subscription", err, &serr);
        goto done;
    }
    const char *item_id, *current_price;
    if (!s_first_item(current, &item_id, &current_price)) {
        ob_job_reply_error(job, 502, "stripe_error", "the subscription at Stripe has no item");
        goto done;
    }
    if (current_price && strcmp(current_price, price_id) == 0) {
        ob_job_reply_error(job, 400, "same_plan", "you are already on that plan and interval");
        goto done;
    }
    char key[96];
    s_action_key(key, sizeof key, "upgrade", job, live.id, item_id, price_id);
    err = stripe_api_update_subscription_price(ctx->stripe, key, live.id, item_id, price_id, &updated, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "change subscription price", err, &serr);
        goto done;
    }
    ob_log_info("billing: subscription %s moved to %s", live.id, spec.lookup_key);
    s_apply_and_reply(ctx, job, user_id, updated);
done:
    json_decref(current);
    json_decref(updated);
    json_decref(body);
}

/*  Stripe takes a trial end up to two years ahead. */
#define S_TRIAL_MAX_AHEAD_S (730LL * 86400)

/*  The new trial end the body asks for ("trial_end" or "extend_days" past
 *  the current end), or NULL with *end set; else the problem. */
static const char *
s_trial_request(const json_t *body, int64_t current, int64_t now, int64_t *end, const char **reason)
{
    const json_t *at = json_object_get(body, "trial_end"), *days = json_object_get(body, "extend_days");
    if ((at != NULL) == (days != NULL))
        return "give exactly one of trial_end (2027-01-31T00:00:00Z) or extend_days";
    if (at)
        *end = ob_json_utc(at);
    else
        *end = json_is_integer(days) && json_integer_value(days) >= 1 && json_integer_value(days) <= 730
                   ? (current > now ? current : now) + json_integer_value(days) * 86400
                   : -1;
    if (*end <= now || *end > now + S_TRIAL_MAX_AHEAD_S)
        return "the new trial end must be in the future, within two years (extend_days from 1 to 730)";
    if (current > 0 && *end <= current)
        return "the new trial end must be later than the current one";
    *reason = ob_json_reason(body);
    return *reason ? NULL : "reason must be 1 to 500 characters (it is audited)";
}

void
billing_subscription_extend_trial(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    json_t *body, *updated = NULL;
    billing_context_t *ctx = billing_context_begin_operator(worker->billing, job, &req, &body);
    if (!ctx)
        return;
    billing_live_subscription_t live;
    if (!s_live(ctx, job, req.user_id, &live))
        goto done;
    const char *id[] = {live.id};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(ctx->pg, "billing_trial_end", 1, id, &r);
    bool found = err == OB_OK && PQntuples(r) == 1;
    int64_t current = found ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    bool trial = found && PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        goto done;
    }
    if (!trial) {
        ob_job_reply_error(job, 409, "not_on_trial",
                           "only a trial (the trial plan, or a subscription in its trial) can be extended");
        goto done;
    }
    int64_t end = 0;
    const char *reason = NULL;
    const char *problem = s_trial_request(body, current, (int64_t)time(NULL), &end, &reason);
    if (problem) {
        ob_job_reply_error(job, 400, "invalid_trial_extension", problem);
        goto done;
    }
    char key[96], end_text[24], current_text[24], by[64];
    snprintf(end_text, sizeof end_text, "%lld", (long long)end);
    snprintf(current_text, sizeof current_text, "%lld", (long long)current);
    snprintf(by, sizeof by, "%.*s", (int)(req.call.principal.len < 63 ? req.call.principal.len : 63),
             req.call.principal.ptr ? req.call.principal.ptr : "");
    s_action_key(key, sizeof key, "trial", job, live.id, end_text, NULL);
    stripe_error_t serr;
    err = stripe_api_update_subscription_trial_end(ctx->stripe, key, live.id, end, &updated, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "extend trial", err, &serr);
        goto done;
    }
    /* Audited once Stripe has it; a failed audit write is logged, the change stands. */
    const char *audit[] = {req.user_id, live.id, current_text, end_text, reason, by};
    if (!stripe_api_last_replayed(ctx->stripe) && ob_pg_run(ctx->pg, "billing_trial_extension", 6, audit, NULL) != OB_OK)
        ob_log_error("billing: the trial extension of %s is made at Stripe but its audit row is not written", live.id);
    ob_log_info("billing: trial of %s extended to %lld by %s", live.id, (long long)end, by);
    s_apply_and_reply(ctx, job, req.user_id, updated);
done:
    json_decref(updated);
    json_decref(body);
}
