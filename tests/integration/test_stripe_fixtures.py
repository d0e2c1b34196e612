"""Stripe event fixtures (issue 16): every event type the stripe-worker handles has a fixture in the
shape of the API version `billing-admin setup` registers the webhook endpoint with, and each is
processed end to end. The field tables below are the attributes Stripe's API reference lists for
each object at that version (docs.stripe.com/api/<resource>/object?api-version=2024-06-20)."""
import re
import time
from pathlib import Path

from stripe_events import DAY, OLD_API, Sub, event_status, notifications, subscription, wait_settled
from support import query
from test_stripe_webhooks import deliver, start_billing

REPO = Path(__file__).resolve().parents[2]

EVENT = {"id", "object", "api_version", "created", "data", "livemode", "pending_webhooks", "request", "type"}
PRICE = {"id", "object", "active", "billing_scheme", "created", "currency", "custom_unit_amount", "livemode",
         "lookup_key", "metadata", "nickname", "product", "recurring", "tax_behavior", "tiers_mode",
         "transform_quantity", "type", "unit_amount", "unit_amount_decimal"}
RECURRING = {"aggregate_usage", "interval", "interval_count", "meter", "trial_period_days", "usage_type"}
PLAN = {"id", "object", "active", "aggregate_usage", "amount", "amount_decimal", "billing_scheme", "created",
        "currency", "interval", "interval_count", "livemode", "metadata", "meter", "nickname", "product",
        "tiers_mode", "transform_usage", "trial_period_days", "usage_type"}
SUBSCRIPTION_ITEM = {"id", "object", "billing_thresholds", "created", "discounts", "metadata", "plan", "price",
                     "quantity", "subscription", "tax_rates"}
SUBSCRIPTION = {
    "id", "object", "application", "application_fee_percent", "automatic_tax", "billing_cycle_anchor",
    "billing_cycle_anchor_config", "billing_thresholds", "cancel_at", "cancel_at_period_end", "canceled_at",
    "cancellation_details", "collection_method", "created", "currency", "current_period_end",
    "current_period_start", "customer", "days_until_due", "default_payment_method", "default_source",
    "default_tax_rates", "description", "discount", "discounts", "ended_at", "invoice_settings", "items",
    "latest_invoice", "livemode", "metadata", "next_pending_invoice_item_invoice", "on_behalf_of",
    "pause_collection", "payment_settings", "pending_invoice_item_interval", "pending_setup_intent",
    "pending_update", "plan", "quantity", "schedule", "start_date", "status", "test_clock", "transfer_data",
    "trial_end", "trial_settings", "trial_start"}
LINE_ITEM = {
    "id", "object", "amount", "amount_excluding_tax", "currency", "description", "discount_amounts",
    "discountable", "discounts", "invoice", "livemode", "metadata", "period", "plan", "price", "proration",
    "proration_details", "quantity", "subscription", "subscription_item", "tax_amounts", "tax_rates", "type",
    "unit_amount_excluding_tax"}
INVOICE = {
    "id", "object", "account_country", "account_name", "account_tax_ids", "amount_due", "amount_paid",
    "amount_remaining", "amount_shipping", "application", "application_fee_amount", "attempt_count", "attempted",
    "auto_advance", "automatic_tax", "automatically_finalizes_at", "billing_reason", "charge", "collection_method",
    "created", "currency", "custom_fields", "customer", "customer_address", "customer_email", "customer_name",
    "customer_phone", "customer_shipping", "customer_tax_exempt", "customer_tax_ids", "default_payment_method",
    "default_source", "default_tax_rates", "description", "discount", "discounts", "due_date", "effective_at",
    "ending_balance", "footer", "from_invoice", "hosted_invoice_url", "invoice_pdf", "issuer",
    "last_finalization_error", "latest_revision", "lines", "livemode", "metadata", "next_payment_attempt",
    "number", "on_behalf_of", "paid", "paid_out_of_band", "payment_intent", "payment_settings", "period_end",
    "period_start", "post_payment_credit_notes_amount", "pre_payment_credit_notes_amount", "quote",
    "receipt_number", "rendering", "shipping_cost", "shipping_details", "starting_balance",
    "statement_descriptor", "status", "status_transitions", "subscription", "subscription_details", "subtotal",
    "subtotal_excluding_tax", "tax", "test_clock", "total", "total_discount_amounts", "total_excluding_tax",
    "total_tax_amounts", "transfer_data", "webhooks_delivered_at"}
CHECKOUT_SESSION = {
    "id", "object", "after_expiration", "allow_promotion_codes", "amount_subtotal", "amount_total",
    "automatic_tax", "billing_address_collection", "cancel_url", "client_reference_id", "client_secret",
    "consent", "consent_collection", "created", "currency", "currency_conversion", "custom_fields",
    "custom_text", "customer", "customer_creation", "customer_details", "customer_email", "expires_at",
    "invoice", "invoice_creation", "livemode", "locale", "metadata", "mode", "payment_intent", "payment_link",
    "payment_method_collection", "payment_method_configuration_details", "payment_method_options",
    "payment_method_types", "payment_status", "phone_number_collection", "recovered_from",
    "saved_payment_method_options", "setup_intent", "shipping_address_collection", "shipping_cost",
    "shipping_details", "shipping_options", "status", "submit_type", "subscription", "success_url",
    "tax_id_collection", "total_details", "ui_mode", "url"}


def fixtures(sub, now):
    """One fixture per handled event type, in the order a subscription's life sends them."""
    trial_end = now + 7 * DAY
    return {
        "checkout.session.completed": sub.checkout_completed(now, "user-fx"),
        "customer.subscription.created": sub.event("customer.subscription.created", now + 1, "trialing", now,
                                                   trial_end, trial_end=trial_end),
        "customer.subscription.trial_will_end": sub.event("customer.subscription.trial_will_end", now + 2,
                                                          "trialing", now, trial_end, trial_end=trial_end),
        "customer.subscription.updated": sub.event("customer.subscription.updated", now + 3, "active", trial_end,
                                                   trial_end + 30 * DAY),
        "invoice.payment_failed": sub.invoice(now + 4, False, trial_end, trial_end + 30 * DAY),
        "invoice.paid": sub.invoice(now + 5, True, trial_end, trial_end + 30 * DAY),
        "customer.subscription.deleted": sub.event("customer.subscription.deleted", now + 6, "canceled", trial_end,
                                                   trial_end + 30 * DAY, canceled_at=now + 6),
    }


def handled_types():
    source = (REPO / "clients" / "stripe_api.c").read_text()
    table = re.search(r"stripe_handled_events\[\]\s*=\s*\{(.*?)NULL\}", source, re.S).group(1)
    return set(re.findall(r'"([a-z_.]+)"', table))


def registered_version():
    header = (REPO / "clients" / "stripe_api.h").read_text()
    return re.search(r'#define STRIPE_API_VERSION "([^"]+)"', header).group(1)


def test_every_handled_type_has_a_fixture_of_the_registered_version_with_every_field():
    assert OLD_API == registered_version()
    sub = Sub(user_id="user-fx")
    events = fixtures(sub, int(time.time()))
    assert set(events) == handled_types()
    for type_, evt in events.items():
        assert set(evt) == EVENT and evt["type"] == type_ and evt["api_version"] == OLD_API, type_
        assert set(evt["request"]) == {"id", "idempotency_key"}
        obj = evt["data"]["object"]
        if type_.startswith("customer.subscription."):
            assert set(obj) == SUBSCRIPTION, type_
            item = obj["items"]["data"][0]
            assert set(item) == SUBSCRIPTION_ITEM and set(item["plan"]) == PLAN and set(obj["plan"]) == PLAN
            prices = [item["price"]]
        elif type_.startswith("invoice."):
            assert set(obj) == INVOICE, type_
            line = obj["lines"]["data"][0]
            assert set(line) == LINE_ITEM and set(line["plan"]) == PLAN
            prices = [line["price"]]
        else:
            assert set(obj) == CHECKOUT_SESSION, type_
            prices = []
        for price in prices:
            assert set(price) == PRICE and set(price["recurring"]) == RECURRING


def test_each_handled_types_fixture_is_processed(stack):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id=None, plan="starter")   # the checkout names the user
    events = fixtures(sub, now)
    for type_, evt in events.items():
        deliver(stack, evt)
        wait_settled(stack)
        assert event_status(stack, evt["id"]) == "processed", type_
        state = subscription(stack, sub.id)
        if type_ == "checkout.session.completed":
            assert query(stack, "SELECT user_id FROM customers WHERE stripe_customer_id = %s",
                         (sub.customer,)) == [("user-fx",)]
        elif type_ == "customer.subscription.created":
            assert (state["user_id"], state["plan_id"], state["status"]) == ("user-fx", "starter", "trialing")
        elif type_ == "customer.subscription.trial_will_end":
            assert [n["kind"] for n in notifications(stack, evt["id"])] == ["trial_will_end"]
        elif type_ == "customer.subscription.updated":
            assert state["status"] == "active" and state["period_end"] == now + 37 * DAY
        elif type_ == "invoice.payment_failed":
            assert state["status"] == "past_due"
            assert [n["kind"] for n in notifications(stack, evt["id"])] == ["payment_failed"]
        elif type_ == "invoice.paid":
            assert state["status"] == "active"
            assert [n["kind"] for n in notifications(stack, evt["id"])] == ["receipt"]
        elif type_ == "customer.subscription.deleted":
            assert state["status"] == "canceled"
    assert query(stack, "SELECT count(*) FROM stripe_events WHERE status <> 'processed'") == [(0,)]
