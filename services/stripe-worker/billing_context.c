/*  billing_context - state and helpers shared by the billing methods. */
#include "services/stripe-worker/billing_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "clients/billing_prices.h"
#include "common/ob_config.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "common/ob_query.h"
#include "services/stripe-worker/billing_owner.h"
#include "services/stripe-worker/billing_sub_sync.h"

static char *
s_dup(const char *value)
{
    return value && *value ? strdup(value) : NULL;
}

billing_context_t *
billing_context_new(ob_pg_t *pg, ob_redis_t *redis, const char *stripe_base, const char *stripe_key, const char *success_url,
                    const char *cancel_url, const char *portal_return_url)
{
    if (!pg || !redis)
        return NULL;
    billing_context_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg = pg;
    self->redis = redis;
    if (stripe_key)
        self->stripe = stripe_api_new(stripe_base ? stripe_base : "https://api.stripe.com", stripe_key);
    self->success_url = s_dup(success_url);
    self->cancel_url = s_dup(cancel_url);
    self->portal_return_url = s_dup(portal_return_url);
    if (!self->stripe)
        ob_log_warn("billing: no usable STRIPE_SECRET_KEY / STRIPE_API_BASE; billing methods answer 503");
    /* Written by billing-admin setup when the portal configuration it made is not the account's default. */
    if (self->stripe && stripe_api_set_portal_configuration(self->stripe, ob_config_get("STRIPE_PORTAL_CONFIGURATION")) != 0)
        ob_log_warn("billing: STRIPE_PORTAL_CONFIGURATION is not a configuration id; portal sessions use the default");
    billing_prices_prepare(self->pg);
    billing_sub_sync_prepare(self->pg);
    ob_pg_prepare(self->pg, "billing_customer_find",
                  "SELECT stripe_customer_id FROM customers WHERE user_id = $1 AND stripe_customer_id IS NOT NULL", 1);
    ob_pg_prepare(self->pg, "billing_live_subscription",
                  "SELECT id, coalesce(plan_id, ''), coalesce(interval, ''), status, coalesce(stripe_customer_id, '')"
                  " FROM subscriptions WHERE user_id = $1 AND status IN ('trialing', 'active', 'past_due')"
                  " ORDER BY updated_at DESC LIMIT 1",
                  1);
    /* Teams are the subscription-worker's rows; the billing API only reads who owns one. */
    ob_pg_prepare(self->pg, "billing_team_owner", "SELECT owner_user_id FROM teams WHERE id = $1", 1);
    /* Where a trial ends now (its next charge: for the weekly trial plan the
     * period's end), and whether the subscription is a trial at all. */
    ob_pg_prepare(self->pg, "billing_trial_end",
                  "SELECT coalesce(floor(extract(epoch FROM greatest(s.trial_end, s.current_period_end)))::bigint, 0),"
                  " s.status = 'trialing' OR coalesce((SELECT p.trial_days > 0 FROM plans p WHERE p.id = s.plan_id), false)"
                  " FROM subscriptions s WHERE s.id = $1",
                  1);
    /* The audit of an operator's trial extension (migration 054). */
    ob_pg_prepare(self->pg, "billing_trial_extension",
                  "INSERT INTO trial_extensions (user_id, subscription_id, from_trial_end, to_trial_end, reason, granted_by)"
                  " VALUES ($1, $2, CASE WHEN $3::bigint > 0 THEN to_timestamp($3::bigint) END, to_timestamp($4::bigint), $5, $6)"
                  " RETURNING id",
                  6);
    return self;
}

void
billing_context_destroy(billing_context_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    billing_context_t *self = *self_p;
    stripe_api_destroy(&self->stripe);
    free(self->success_url);
    free(self->cancel_url);
    free(self->portal_return_url);
    free(self);
    *self_p = NULL;
}

static void
s_copy_view(char *dst, size_t cap, ob_bytes_t view)
{
    size_t n = view.len < cap - 1 ? view.len : cap - 1;
    memcpy(dst, view.ptr ? view.ptr : "", n);
    dst[n] = '\0';
}

/*  A team's owner manages the team's billing with "team_id" (in the body, or
 *  the query of a read): from here on the team is the customer, and the
 *  owner's e-mail its billing address. false after answering the job. */
static bool
s_acting_for_team(billing_context_t *self, ob_job_t *job, billing_request_t *req, const json_t *body)
{
    char from_query[256] = "";
    const json_t *value = body ? json_object_get(body, "team_id") : NULL;
    const char *team = json_string_value(value);
    if (!body && req->call.query.len && ob_query_get(req->call.query, "team_id", from_query, sizeof from_query) == 0)
        team = from_query;
    if (!team && (!value || json_is_null(value)))
        return true;
    if (!team || !*team || strlen(team) >= sizeof req->user_id) {
        ob_job_reply_error(job, 400, "invalid_team_id", "team_id must be a team's id");
        return false;
    }
    const char *values[] = {team};
    PGresult *r = NULL;
    ob_err_t err = ob_pg_run(self->pg, "billing_team_owner", 1, values, &r);
    bool found = err == OB_OK && PQntuples(r) == 1;
    bool owner = found && strcmp(PQgetvalue(r, 0, 0), req->user_id) == 0;
    PQclear(r);
    if (err != OB_OK)
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
    else if (!found)
        ob_job_reply_error(job, 404, "team_not_found", "no such team");
    else if (!owner)
        ob_job_reply_error(job, 403, "not_the_owner", "only the team's owner manages its billing");
    if (!owner)
        return false;
    snprintf(req->user_id, sizeof req->user_id, "%s", team);
    req->team = true;
    return true;
}

billing_context_t *
billing_context_begin(billing_context_t *self, ob_job_t *job, billing_request_t *req, json_t **body)
{
    ob_call_t *call = &req->call;
    if (ob_job_call(job, call) != 0)
        return NULL;
    if (!ob_bytes_eq(call->role, "user") || call->principal.len == 0 || call->principal.len >= sizeof req->user_id ||
        memchr(call->principal.ptr, '\0', call->principal.len)) {
        ob_job_reply_error(job, 401, "not_a_user", "this endpoint needs a signed-in user");
        return NULL;
    }
    s_copy_view(req->user_id, sizeof req->user_id, call->principal);
    if (call->email.len < sizeof req->email && !memchr(call->email.ptr ? call->email.ptr : "", '\0', call->email.len))
        s_copy_view(req->email, sizeof req->email, call->email);
    else
        req->email[0] = '\0';
    if (!self) {
        ob_job_reply_error(job, 503, "unavailable", "billing is not available right now");
        return NULL;
    }
    if (!self->stripe) {
        ob_job_reply_error(job, 503, "stripe_not_configured", "payments are not configured on this server");
        return NULL;
    }
    billing_context_limit_to_deadline(self, job);
    if (body && !(*body = ob_job_body_object(job, call)))
        return NULL;
    if (!s_acting_for_team(self, job, req, body ? *body : NULL)) {
        if (body) {
            json_decref(*body);
            *body = NULL;
        }
        return NULL;
    }
    return self;
}

billing_context_t *
billing_context_begin_operator(billing_context_t *self, ob_job_t *job, billing_request_t *req, json_t **body)
{
    ob_call_t *call = &req->call;
    if (ob_job_call(job, call) != 0)
        return NULL;
    if (!ob_bytes_eq(call->role, "admin")) {
        ob_job_reply_error(job, 403, "not_an_operator", "this endpoint needs the admin token");
        return NULL;
    }
    ob_bytes_t who = call->path_param;
    if (!who.ptr || who.len == 0 || who.len >= sizeof req->user_id || memchr(who.ptr, '\0', who.len)) {
        ob_job_reply_error(job, 400, "invalid_user_id", "no valid user id for this request");
        return NULL;
    }
    s_copy_view(req->user_id, sizeof req->user_id, who);
    req->email[0] = '\0';
    req->team = strncmp(req->user_id, "org_", 4) == 0;
    if (!self || !self->stripe) {
        ob_job_reply_error(job, 503, self ? "stripe_not_configured" : "unavailable", "payments are not configured on this server");
        return NULL;
    }
    billing_context_limit_to_deadline(self, job);
    if (body && !(*body = ob_job_body_object(job, call)))
        return NULL;
    return self;
}

bool
billing_plan_request(ob_job_t *job, const json_t *body, const char **plan_id, const char **interval)
{
    *plan_id = ob_json_str(body, "plan_id");
    const json_t *interval_value = json_object_get(body, "interval");
    *interval = json_string_value(interval_value);
    if (!*plan_id || !**plan_id) {
        ob_job_reply_error(job, 400, "plan_id_required", "plan_id is required");
        return false;
    }
    if (interval_value && !json_is_string(interval_value) && !json_is_null(interval_value)) {
        ob_job_reply_error(job, 400, "invalid_interval", "interval must be \"month\" or \"year\"");
        return false;
    }
    return true;
}

bool
billing_plan_spec(billing_context_t *self, ob_job_t *job, const char *plan_id, const char *interval, billing_price_spec_t *spec)
{
    const char *why = NULL;
    ob_err_t err = billing_price_spec(self->pg, plan_id, interval, spec, &why);
    if (err == OB_ERR_INVALID) {
        ob_job_reply_error(job, 400, why,
                           strcmp(why, "unknown_plan") == 0           ? "no active plan has that id"
                           : strcmp(why, "interval_not_offered") == 0 ? "that plan has no yearly price"
                                                                      : "interval must be \"month\" or \"year\"");
        return false;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "the plan catalogue cannot be read now");
        return false;
    }
    return true;
}

void
billing_context_limit_to_deadline(billing_context_t *self, const ob_job_t *job)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    int64_t left = job->envelope.deadline_ms > 0 ? job->envelope.deadline_ms - now_ms : 10000;
    /* Most methods make two Stripe calls; each gets up to three attempts. */
    long per_attempt = (long)(left / 7);
    if (per_attempt > 10000)
        per_attempt = 10000;
    if (per_attempt < 250)
        per_attempt = 250;
    stripe_api_set_limits(self->stripe, per_attempt, 3, 100);
}

void
billing_reply_stripe_error(ob_job_t *job, const char *operation, ob_err_t err, const stripe_error_t *error)
{
    const char *request_id = error && error->request_id[0] ? error->request_id : "-";
    const char *message = error && error->message[0] ? error->message : NULL;
    ob_log(err == OB_ERR_PAYMENT || err == OB_ERR_INVALID ? OB_LOG_INFO : OB_LOG_WARN, NULL,
           "billing %s: Stripe call failed: %s http=%ld stripe_request_id=%s", operation, ob_err_name(err),
           error ? error->http_status : 0L, request_id);
    switch (err) {
    case OB_ERR_PAYMENT:
        ob_job_reply_error(job, 402, error && error->code[0] ? error->code : "card_error",
                           message ? message : "the card was declined");
        break;
    case OB_ERR_INVALID:
        ob_job_reply_error(job, 400, "stripe_invalid_request", message ? message : "Stripe rejected the request");
        break;
    case OB_ERR_NOT_FOUND:
        ob_job_reply_error(job, 404, "stripe_resource_missing", message ? message : "Stripe does not know that object");
        break;
    case OB_ERR_CONFLICT:
        ob_job_reply_error(job, 409, "stripe_idempotency_conflict",
                           "a request with other parameters is still being handled; retry in a few minutes");
        break;
    case OB_ERR_TRANSIENT:
        ob_job_reply_error(job, 503, "stripe_unavailable", "Stripe cannot be reached right now; retry shortly");
        break;
    case OB_ERR_TIMEOUT:
        ob_job_reply_error(job, 504, "stripe_timeout", "Stripe did not answer in time; retry shortly");
        break;
    case OB_ERR_UPSTREAM:
        ob_job_reply_error(job, 502, "stripe_error", "Stripe answered with an error");
        break;
    default:
        ob_job_reply_error(job, 500, "internal", "the payment request failed");
        break;
    }
}

ob_err_t
billing_customer_find(billing_context_t *self, const char *user_id, char *customer_id, size_t cap)
{
    const char *values[] = {user_id};
    PGresult *r = ob_pg_exec(self->pg, "billing_customer_find", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(self->pg, r);
    if (err == OB_OK && PQntuples(r) == 0)
        err = OB_ERR_NOT_FOUND;
    if (err == OB_OK)
        snprintf(customer_id, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return err;
}

ob_err_t
billing_customer_link(billing_context_t *self, const char *user_id, const char *email, const char *customer_id, int wait_ms,
                      char *stored, size_t cap)
{
    char source[200];
    snprintf(source, sizeof source, "checkout-customer:%s", customer_id);
    json_t *payload = json_pack("{s:s,s:s,s:s}", "user_id", user_id, "email", email ? email : "", "customer_id", customer_id);
    json_t *outcome = NULL;
    ob_err_t err =
        payload ? billing_owner_request(self->pg, source, "customer.add", NULL, payload, wait_ms, &outcome) : OB_ERR_INTERNAL;
    json_decref(payload);
    const char *on_record = json_string_value(json_object_get(outcome, "stripe_customer_id"));
    if (err == OB_OK && on_record)
        snprintf(stored, cap, "%s", on_record);
    else if (err == OB_OK)
        err = OB_ERR_INTERNAL;
    json_decref(outcome);
    return err;
}

int
billing_context_wait_ms(const ob_job_t *job)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    /* Leave the gateway time to carry a 503 back before its own 504. */
    int64_t left = job->envelope.deadline_ms > 0 ? job->envelope.deadline_ms - now_ms - 500 : BILLING_OWNER_WAIT_MS;
    if (left > BILLING_OWNER_WAIT_MS)
        left = BILLING_OWNER_WAIT_MS;
    return left > 0 ? (int)left : 0;
}

ob_err_t
billing_live_subscription(billing_context_t *self, const char *user_id, billing_live_subscription_t *out)
{
    memset(out, 0, sizeof *out);
    const char *values[] = {user_id};
    PGresult *r = ob_pg_exec(self->pg, "billing_live_subscription", 1, values, NULL, NULL);
    ob_err_t err = ob_pg_classify(self->pg, r);
    if (err == OB_OK && PQntuples(r) == 0)
        err = OB_ERR_NOT_FOUND;
    if (err == OB_OK) {
        snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
        snprintf(out->plan_id, sizeof out->plan_id, "%s", PQgetvalue(r, 0, 1));
        snprintf(out->interval, sizeof out->interval, "%s", PQgetvalue(r, 0, 2));
        snprintf(out->status, sizeof out->status, "%s", PQgetvalue(r, 0, 3));
        snprintf(out->customer_id, sizeof out->customer_id, "%s", PQgetvalue(r, 0, 4));
    }
    PQclear(r);
    return err;
}
