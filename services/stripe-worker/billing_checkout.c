/*  billing_checkout - "checkout.create". */
#include "services/stripe-worker/billing_checkout.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clients/billing_prices.h"
#include "clients/ob_idempotency.h"
#include "common/ob_json.h"
#include "common/ob_log.h"
#include "services/stripe-worker/billing_context.h"
#include "services/stripe-worker/stripe_state.h"

#define CHECKOUT_WINDOW_S 600

/*  The user's Stripe customer: the recorded one, else a new one, recorded. */
static ob_err_t
s_customer(billing_context_t *ctx, ob_job_t *job, const char *user_id, const char *email, char *customer_id, size_t cap)
{
    ob_err_t err = billing_customer_find(ctx, user_id, customer_id, cap);
    if (err != OB_ERR_NOT_FOUND) {
        if (err != OB_OK)
            ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        return err;
    }
    char key[96];
    /* No time window: the same user and email always mean the same customer. */
    ob_idempotency_key(key, sizeof key, "customer", 0, 0, user_id, email, (const char *)NULL);
    json_t *customer = NULL;
    stripe_error_t serr;
    err = stripe_api_create_customer(ctx->stripe, key, email[0] ? email : NULL, user_id, &customer, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "create customer", err, &serr);
        return err;
    }
    const char *created = json_string_value(json_object_get(customer, "id"));
    err = created ? billing_customer_link(ctx, user_id, email, created, billing_context_wait_ms(job), customer_id, cap)
                  : OB_ERR_UPSTREAM;
    json_decref(customer);
    if (err != OB_OK)
        ob_job_reply_err(job, err, NULL, "the customer record cannot be stored now");
    return err;
}

void
billing_checkout_create(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    json_t *body;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, &body);
    if (!ctx)
        return;
    const char *user_id = req.user_id, *email = req.email;
    const char *plan_id, *interval;
    if (!billing_plan_request(job, body, &plan_id, &interval))
        goto done;
    if (!ctx->success_url) {
        ob_log_error("billing: STRIPE_SUCCESS_URL is not set; checkout refused");
        ob_job_reply_error(job, 503, "checkout_not_configured", "checkout is not configured on this server");
        goto done;
    }

    billing_live_subscription_t live;
    ob_err_t err = billing_live_subscription(ctx, user_id, &live);
    if (err == OB_OK) {
        ob_job_reply_error(job, 409, "already_subscribed",
                           "you already have a subscription; change plans with /api/v1/billing/subscription/upgrade");
        goto done;
    }
    if (err != OB_ERR_NOT_FOUND) {
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        goto done;
    }

    billing_price_spec_t spec;
    if (!billing_plan_spec(ctx, job, plan_id, interval, &spec))
        goto done;
    char price_id[128];
    stripe_error_t serr;
    err = billing_price_resolve(ctx->pg, ctx->stripe, &spec, price_id, sizeof price_id, &serr);
    if (err == OB_ERR_NOT_FOUND) {
        ob_job_reply_error(job, 503, "price_not_configured", "that plan cannot be bought yet; the operator must finish setup");
        goto done;
    }
    if (err != OB_OK) {
        if (serr.http_status || serr.message[0] || err == OB_ERR_TRANSIENT)
            billing_reply_stripe_error(job, "find price", err, &serr);
        else
            ob_job_reply_err(job, err, NULL, "the price cannot be read now");
        goto done;
    }

    char customer_id[128];
    if (s_customer(ctx, job, user_id, email, customer_id, sizeof customer_id) != OB_OK)
        goto done;

    char key[96];
    ob_idempotency_key(key, sizeof key, "checkout", (int64_t)time(NULL), CHECKOUT_WINDOW_S, user_id, spec.plan_id, spec.interval,
                       customer_id, price_id, ctx->success_url, ctx->cancel_url ? ctx->cancel_url : "", (const char *)NULL);
    stripe_checkout_params_t params = {
        .customer = customer_id,
        .price_id = price_id,
        .client_reference_id = user_id,
        .success_url = ctx->success_url,
        .cancel_url = ctx->cancel_url,
        .user_id = user_id,
        .plan_id = spec.plan_id,
    };
    json_t *session = NULL;
    err = stripe_api_create_checkout_session(ctx->stripe, key, &params, &session, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "create checkout session", err, &serr);
        goto done;
    }
    const char *id = json_string_value(json_object_get(session, "id"));
    const char *url = json_string_value(json_object_get(session, "url"));
    if (!id || !url)
        ob_job_reply_error(job, 502, "stripe_error", "Stripe's answer has no session id or url");
    else
        ob_job_reply_json(job, 200, json_pack("{s:s, s:s}", "id", id, "url", url));
    json_decref(session);
done:
    json_decref(body);
}
