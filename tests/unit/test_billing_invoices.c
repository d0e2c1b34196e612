/*  billing_invoices: the invoice list answer from Stripe's list object (pure). */
#include <criterion/criterion.h>
#include <string.h>

#include "services/stripe-worker/billing_invoices.h"

Test(billing_invoices, answer_from_stripes_list)
{
    json_t *list = json_loads(
        "{\"object\":\"list\",\"has_more\":true,\"data\":["
        "{\"id\":\"in_2\",\"object\":\"invoice\",\"status\":\"paid\",\"number\":\"A-2\",\"amount_due\":49000,"
        "\"amount_paid\":49000,\"total\":49000,\"currency\":\"usd\",\"created\":1764547200,\"period_start\":1700000000,"
        "\"period_end\":1700000000,\"hosted_invoice_url\":\"https://invoice.stripe.com/i/x\",\"invoice_pdf\":null,"
        "\"billing_reason\":\"subscription_create\",\"lines\":{\"data\":[{\"period\":{\"start\":1764547200,\"end\":1796083200}}]}},"
        "{\"id\":\"in_1\",\"object\":\"invoice\",\"status\":\"draft\",\"total\":100,\"currency\":\"usd\",\"created\":1},"
        "{\"id\":\"in_0\",\"object\":\"invoice\",\"status\":\"open\",\"total\":100,\"currency\":\"usd\",\"created\":86400,"
        "\"period_start\":0,\"period_end\":86400},"
        "{\"object\":\"invoice\",\"status\":\"paid\"}]}",
        0, NULL);
    cr_assert_not_null(list);
    json_t *answer = billing_invoices_json(list);
    json_t *invoices = json_object_get(answer, "invoices");
    cr_assert_eq(json_array_size(invoices), 2, "drafts and id-less entries are left out");
    json_t *first = json_array_get(invoices, 0);
    cr_expect_str_eq(json_string_value(json_object_get(first, "id")), "in_2");
    cr_expect_str_eq(json_string_value(json_object_get(first, "number")), "A-2");
    cr_expect_eq(json_integer_value(json_object_get(first, "total")), 49000);
    cr_expect_str_eq(json_string_value(json_object_get(first, "created")), "2025-12-01T00:00:00Z");
    cr_expect_str_eq(json_string_value(json_object_get(first, "period_start")), "2025-12-01T00:00:00Z", "the line's period");
    cr_expect_str_eq(json_string_value(json_object_get(first, "hosted_invoice_url")), "https://invoice.stripe.com/i/x");
    cr_expect(json_is_null(json_object_get(first, "invoice_pdf")));
    json_t *second = json_array_get(invoices, 1);
    cr_expect_str_eq(json_string_value(json_object_get(second, "status")), "open");
    cr_expect_str_eq(json_string_value(json_object_get(second, "period_end")), "1970-01-02T00:00:00Z", "the invoice's own period");
    cr_expect(json_is_null(json_object_get(second, "number")));
    cr_expect(json_is_true(json_object_get(answer, "has_more")));
    json_decref(answer);
    json_decref(list);

    answer = billing_invoices_json(NULL);
    cr_expect_eq(json_array_size(json_object_get(answer, "invoices")), 0);
    cr_expect(json_is_false(json_object_get(answer, "has_more")));
    json_decref(answer);
}
