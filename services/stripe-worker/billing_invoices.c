/*  billing_invoices - "invoices.list". */
#include "services/stripe-worker/billing_invoices.h"

#include <string.h>

#include "common/ob_json.h"
#include "services/stripe-worker/billing_context.h"
#include "services/stripe-worker/stripe_state.h"

static json_t *
s_copy(const json_t *invoice, const char *name)
{
    const json_t *value = json_object_get(invoice, name);
    return value ? json_deep_copy(value) : json_null();
}

/*  A Stripe time (Unix seconds) as ISO 8601, or null. */
static json_t *
s_time(const json_t *invoice, const char *name)
{
    const json_t *value = json_object_get(invoice, name);
    return json_is_integer(value) ? ob_json_time(json_integer_value(value)) : json_null();
}

/*  The period the invoice bills: its first line's (Stripe's invoice-level
 *  period is the previous one on renewals), else the invoice's own. */
static void
s_period(const json_t *invoice, json_t **start, json_t **end)
{
    const json_t *line = json_array_get(json_object_get(json_object_get(invoice, "lines"), "data"), 0);
    const json_t *period = json_object_get(line, "period");
    if (json_is_integer(json_object_get(period, "start")) && json_is_integer(json_object_get(period, "end"))) {
        *start = s_time(period, "start");
        *end = s_time(period, "end");
        return;
    }
    *start = s_time(invoice, "period_start");
    *end = s_time(invoice, "period_end");
}

json_t *
billing_invoices_json(const json_t *list)
{
    json_t *invoices = json_array();
    const json_t *invoice;
    size_t i;
    json_array_foreach(json_object_get(list, "data"), i, invoice)
    {
        const char *id = json_string_value(json_object_get(invoice, "id"));
        const char *status = json_string_value(json_object_get(invoice, "status"));
        if (!id || !status || strcmp(status, "draft") == 0)
            continue;
        json_t *start, *end;
        s_period(invoice, &start, &end);
        json_array_append_new(
            invoices, json_pack("{s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", id, "number",
                                s_copy(invoice, "number"), "status", status, "amount_due", s_copy(invoice, "amount_due"),
                                "amount_paid", s_copy(invoice, "amount_paid"), "total", s_copy(invoice, "total"), "currency",
                                s_copy(invoice, "currency"), "created", s_time(invoice, "created"), "period_start", start,
                                "period_end", end, "hosted_invoice_url", s_copy(invoice, "hosted_invoice_url"), "invoice_pdf",
                                s_copy(invoice, "invoice_pdf"), "billing_reason", s_copy(invoice, "billing_reason")));
    }
    return json_pack("{s:o,s:b}", "invoices", invoices, "has_more", json_is_true(json_object_get(list, "has_more")));
}

void
billing_invoices_list(void *state, ob_job_t *job)
{
    const stripe_state_t *worker = state;
    billing_request_t req;
    billing_context_t *ctx = billing_context_begin(worker->billing, job, &req, NULL);
    if (!ctx)
        return;
    char customer_id[128];
    ob_err_t err = billing_customer_find(ctx, req.user_id, customer_id, sizeof customer_id);
    if (err == OB_ERR_NOT_FOUND) {
        ob_job_reply_json(job, 200, billing_invoices_json(NULL));
        return;
    }
    if (err != OB_OK) {
        ob_job_reply_err(job, err, NULL, "billing data cannot be read now");
        return;
    }
    json_t *list = NULL;
    stripe_error_t serr;
    err = stripe_api_list_invoices(ctx->stripe, customer_id, BILLING_INVOICES_LIMIT, &list, &serr);
    if (err != OB_OK)
        billing_reply_stripe_error(job, "list invoices", err, &serr);
    else
        ob_job_reply_json(job, 200, billing_invoices_json(list));
    json_decref(list);
}
