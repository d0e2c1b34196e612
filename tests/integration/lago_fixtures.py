"""Lago webhook bodies field for field as Lago's API reference documents them
(webhook envelope: webhook_type, object_type, organization_id, then the object
under its own key). Ids Lago generates are UUIDs; external ids are ours.
Objects: customer, subscription, invoice (with its customer), the payment
provider's invoice payment error, event and events errors."""
import uuid

ORGANIZATION_ID = "1a901a90-1a90-1a90-1a90-1a901a901a90"
CREATED = "2026-12-01T10:00:00Z"


def uid():
    return str(uuid.uuid4())


def customer(external_id, **fields):
    return {
        "lago_id": uid(), "external_id": external_id, "account_type": "customer", "name": "Ada Lovelace",
        "firstname": "Ada", "lastname": "Lovelace", "customer_type": "individual", "sequential_id": 1,
        "slug": "LAG-1A90-001", "created_at": CREATED, "updated_at": CREATED, "country": "GB",
        "address_line1": "12 St James's Square", "address_line2": None, "state": None, "zipcode": "SW1Y 4LB",
        "email": "ada@example.com", "city": "London", "url": None, "phone": None, "logo_url": None,
        "legal_name": None, "legal_number": None, "currency": "USD", "net_payment_term": None,
        "tax_identification_number": None, "timezone": None, "applicable_timezone": "UTC",
        "finalize_zero_amount_invoice": "inherit", "skip_invoice_custom_sections": False,
        "billing_configuration": {"invoice_grace_period": None, "payment_provider": None,
                                  "payment_provider_code": None, "provider_customer_id": None, "sync": False,
                                  "sync_with_provider": False, "document_locale": None,
                                  "provider_payment_methods": None},
        "shipping_address": {"address_line1": None, "address_line2": None, "city": None, "zipcode": None,
                             "state": None, "country": None},
        "metadata": [], **fields}


def subscription(external_id, external_customer_id, plan_code, status="active", **fields):
    return {
        "lago_id": uid(), "external_id": external_id, "lago_customer_id": uid(),
        "external_customer_id": external_customer_id, "billing_time": "calendar", "name": None,
        "plan_code": plan_code, "status": status, "created_at": CREATED, "canceled_at": None,
        "started_at": CREATED, "ending_at": None, "subscription_at": CREATED,
        "terminated_at": "2026-12-01T12:00:00Z" if status == "terminated" else None,
        "previous_plan_code": None, "next_plan_code": None, "downgrade_plan_date": None, "trial_ended_at": None,
        "current_billing_period_started_at": "2026-12-01T00:00:00Z",
        "current_billing_period_ending_at": "2026-12-31T23:59:59Z", **fields}


def invoice(external_customer_id, total_amount_cents=1900, currency="USD", **fields):
    return {
        "lago_id": uid(), "billing_entity_code": "ops-center", "sequential_id": 1, "number": "OPS-1A90-001-001",
        "issuing_date": "2026-12-01", "payment_dispute_lost_at": None, "payment_due_date": "2026-12-01",
        "payment_overdue": False, "net_payment_term": 0, "invoice_type": "subscription", "status": "finalized",
        "payment_status": "pending", "currency": currency, "fees_amount_cents": total_amount_cents,
        "taxes_amount_cents": 0, "progressive_billing_credit_amount_cents": 0, "coupons_amount_cents": 0,
        "credit_notes_amount_cents": 0, "sub_total_excluding_taxes_amount_cents": total_amount_cents,
        "sub_total_including_taxes_amount_cents": total_amount_cents, "total_amount_cents": total_amount_cents,
        "total_due_amount_cents": total_amount_cents, "prepaid_credit_amount_cents": 0, "file_url": None,
        "version_number": 4, "self_billed": False, "created_at": CREATED, "updated_at": CREATED,
        "customer": customer(external_customer_id), "metadata": [], "applied_taxes": [],
        "applied_usage_thresholds": [], **fields}


def envelope(webhook_type, object_type, obj):
    return {"webhook_type": webhook_type, "object_type": object_type, "organization_id": ORGANIZATION_ID,
            object_type: obj}


def invoice_created(external_customer_id, **fields):
    return envelope("invoice.created", "invoice", invoice(external_customer_id, **fields))


def invoice_payment_failure(external_customer_id, lago_invoice_id=None):
    return envelope("invoice.payment_failure", "payment_provider_invoice_payment_error", {
        "lago_invoice_id": lago_invoice_id or uid(), "lago_customer_id": uid(),
        "external_customer_id": external_customer_id, "provider_customer_id": "cus_OpsCenter1a90",
        "payment_provider": "stripe", "payment_provider_code": "stripe_prod",
        "provider_error": {"message": "Your card was declined.", "error_code": "card_declined"}})


def subscription_terminated(external_id, external_customer_id, plan_code):
    return envelope("subscription.terminated", "subscription",
                    subscription(external_id, external_customer_id, plan_code, status="terminated"))


def event_error(transaction_id, code="api_calls_typo", external_subscription_id="sub_x"):
    return envelope("event.error", "event_error", {
        "status": 422, "error": "Unprocessable entity", "message": "{\"code\":[\"does_not_match_an_existing_metric\"]}",
        "input_params": {"transaction_id": transaction_id, "external_subscription_id": external_subscription_id,
                         "code": code, "timestamp": 1764583200, "properties": {"quantity": 1}}})


def events_errors(invalid_code=(), missing_aggregation_property=(), missing_group_key=(), invalid_filter_values=()):
    return envelope("events.errors", "events_errors", {
        "invalid_code": list(invalid_code), "missing_aggregation_property": list(missing_aggregation_property),
        "missing_group_key": list(missing_group_key), "invalid_filter_values": list(invalid_filter_values)})


def customer_created(external_id):
    return envelope("customer.created", "customer", customer(external_id))
