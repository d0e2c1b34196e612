/*  billing_portal - "portal.create". */
#include "services/stripe-worker/billing_portal.h"

#include <string.h>
#include <time.h>

#include "clients/ob_idempotency.h"
#include "common/ob_json.h"
#include "services/stripe-worker/billing_context.h"
#include "services/stripe-worker/stripe_state.h"

#define PORTAL_WINDOW_S 60
#define RETURN_URL_MAX 2048

static bool
s_is_web_url(const char *url)
{
    size_t len = strlen(url);
    if (len > RETURN_URL_MAX || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return strlen(strstr(url, "://") + 3) > 0;
}

void
billing_portal_create(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    json_t *body;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, &body);
    if (!ctx)
        return;
    const char *user_id = req.user_id;
    const json_t *value = json_object_get(body, "return_url");
    const char *return_url = json_string_value(value);
    if ((value && !json_is_null(value) && !return_url) || (return_url && !s_is_web_url(return_url))) {
        ob_job_reply_error(job, 400, "invalid_return_url", "return_url must be an http(s) URL");
        goto done;
    }
    if (!return_url)
        return_url = ctx->portal_return_url;

    char customer_id[128];
    ob_err_t err = billing_customer_find(ctx, user_id, customer_id, sizeof customer_id);
    if (err == OB_ERR_NOT_FOUND) {
        ob_job_reply_error(job, 404, "no_customer", "you have no billing account yet; subscribe to a plan first");
        goto done;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        goto done;
    }
    char key[96];
    ob_idempotency_key(key, sizeof key, "portal", (int64_t)time(NULL), PORTAL_WINDOW_S, user_id, customer_id,
                       return_url ? return_url : "", (const char *)NULL);
    json_t *session = NULL;
    stripe_error_t serr;
    err = stripe_api_create_portal_session(ctx->stripe, key, customer_id, return_url, &session, &serr);
    if (err != OB_OK) {
        billing_reply_stripe_error(job, "create portal session", err, &serr);
        goto done;
    }
    const char *url = json_string_value(json_object_get(session, "url"));
    if (!url)
        ob_job_reply_error(job, 502, "stripe_error", "Stripe's answer has no url");
    else
        ob_job_reply_json(job, 200, json_pack("{s:s}", "url", url));
    json_decref(session);
done:
    json_decref(body);
}
