/*  billing_payment_methods - "payment_methods.list". */
#include "services/stripe-worker/billing_payment_methods.h"

#include <string.h>

#include "services/stripe-worker/billing_context.h"
#include "services/stripe-worker/stripe_state.h"

static json_t *
s_or_null(const json_t *value)
{
    return value ? json_deep_copy(value) : json_null();
}

json_t *
billing_payment_methods_json(const json_t *customer, const json_t *list)
{
    const json_t *setting = json_object_get(json_object_get(customer, "invoice_settings"), "default_payment_method");
    /* Stripe gives an id, or the object when expanded. */
    const char *default_id =
        json_is_string(setting) ? json_string_value(setting) : json_string_value(json_object_get(setting, "id"));
    json_t *cards = json_array();
    const json_t *pm;
    size_t i;
    json_array_foreach(json_object_get(list, "data"), i, pm)
    {
        const char *id = json_string_value(json_object_get(pm, "id"));
        const json_t *card = json_object_get(pm, "card");
        if (!id || !json_is_object(card))
            continue;
        json_array_append_new(
            cards, json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "id", id, "brand", s_or_null(json_object_get(card, "brand")),
                             "last4", s_or_null(json_object_get(card, "last4")), "exp_month",
                             s_or_null(json_object_get(card, "exp_month")), "exp_year",
                             s_or_null(json_object_get(card, "exp_year")), "default", default_id && strcmp(default_id, id) == 0));
    }
    return json_pack("{s:o, s:o}", "payment_methods", cards, "default_payment_method",
                     default_id ? json_string(default_id) : json_null());
}

void
billing_payment_methods_list(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, NULL);
    if (!ctx)
        return;
    const char *user_id = req.user_id;
    char customer_id[128];
    ob_err_t err = billing_customer_find(ctx, user_id, customer_id, sizeof customer_id);
    if (err == OB_ERR_NOT_FOUND) {
        ob_job_reply_json(job, 200, billing_payment_methods_json(NULL, NULL));
        return;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        return;
    }
    json_t *customer = NULL, *list = NULL;
    stripe_error_t serr;
    err = stripe_api_retrieve_customer(ctx->stripe, customer_id, &customer, &serr);
    if (err == OB_OK)
        err = stripe_api_list_payment_methods(ctx->stripe, customer_id, &list, &serr);
    if (err != OB_OK)
        billing_reply_stripe_error(job, "list payment methods", err, &serr);
    else
        ob_job_reply_json(job, 200, billing_payment_methods_json(customer, list));
    json_decref(customer);
    json_decref(list);
}
