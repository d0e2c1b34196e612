/*  lago_inbox: what each Lago webhook becomes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "services/lago-worker/lago_inbox.h"

typedef struct {
    const char *json;
    const char *kind;
    const char *user;
} webhook_case_t;

Test(lago_inbox, lago_webhook_decisions)
{
    static const webhook_case_t cases[] = {
        {"{\"webhook_type\":\"invoice.created\",\"object_type\":\"invoice\",\"invoice\":{\"lago_id\":\"i1\","
         "\"customer\":{\"external_id\":\"user-1\"},\"total_amount_cents\":1900,\"currency\":\"USD\"}}",
         "invoice_created", "user-1"},
        {"{\"webhook_type\":\"invoice.payment_failure\",\"object_type\":\"payment_provider_invoice_payment_error\","
         "\"payment_provider_invoice_payment_error\":{\"lago_invoice_id\":\"i1\",\"external_customer_id\":\"user-2\"}}",
         "payment_failed", "user-2"},
        {"{\"webhook_type\":\"subscription.terminated\",\"subscription\":{\"external_id\":\"sub_1\","
         "\"external_customer_id\":\"user-3\",\"plan_code\":\"starter\"}}",
         "subscription_terminated", "user-3"},
        {"{\"webhook_type\":\"event.error\",\"event_error\":{\"status\":422,\"error\":\"Unprocessable entity\"}}",
         "usage_event_error", NULL},
        {"{\"webhook_type\":\"events.errors\",\"events_errors\":{\"invalid_code\":[\"tx1\"]}}", "usage_event_error", NULL},
        {"{\"webhook_type\":\"customer.created\",\"customer\":{}}", "", NULL},
        {"{\"no_type\":true}", "", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *webhook = json_loads(cases[i].json, 0, NULL);
        cr_assert(webhook, "case %zu", i);
        lago_inbox_action_t action;
        lago_inbox_decide(webhook, &action);
        cr_expect(strcmp(action.kind, cases[i].kind) == 0, "case %zu: %s", i, action.kind);
        if (cases[i].user)
            cr_expect(action.user_id && strcmp(action.user_id, cases[i].user) == 0, "case %zu", i);
        else
            cr_expect(action.user_id == NULL, "case %zu", i);
        json_decref(action.payload);
        json_decref(webhook);
    }
}
