"""stripe_events - Stripe webhook payloads, and the helpers the webhook tests share.

The builders give every handled event type (clients/stripe_api.c, stripe_handled_events) in the
shape of the API version the webhook endpoint is registered with by `billing-admin setup`
(STRIPE_API_VERSION, "2024-06-20"): the Event envelope and each object (Subscription with its
items, Price and legacy Plan, Invoice with its line items, Checkout Session) carry every attribute
Stripe's API reference lists for that version, written field for field from the reference (not
copied from Stripe's SDKs or fixtures). The period dates are on the subscription, the invoice
names its subscription (invoice.subscription, invoice.subscription_details).

"2025-03-31.basil" is derived from that by the version's documented changes (period dates on the
subscription items, the invoice's subscription under parent.subscription_details, line items with
a parent), for the tests that check the worker reads both generations.
"""
import itertools
import json
import secrets
import time

from support import query, sign_stripe, wait_for

WEBHOOK_PATH = "/api/v1/billing/webhooks/stripe"
ADMIN_EVENTS_PATH = "/api/v1/admin/webhook-events"
OLD_API = "2024-06-20"
NEW_API = "2025-03-31.basil"
DAY = 86400

_serial = itertools.count(1)


def stripe_id(prefix):
    return f"{prefix}_{secrets.token_hex(12)}"


def event(type_, obj, created, api_version=OLD_API, previous_attributes=None, event_id=None):
    data = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id or stripe_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": stripe_id("req"), "idempotency_key": secrets.token_hex(16)},
        "type": type_,
    }


def price(plan_id, interval="month", lookup_key=True, metadata_plan=None):
    """A Price (2024-06-20: every attribute of docs.stripe.com/api/prices/object; currency_options and
    tiers are includable only, so absent)."""
    amounts = {"trial": 100, "starter": 1900, "professional": 4900, "enterprise": 9900}
    amount = amounts.get(plan_id, 1000) * (10 if interval == "year" else 1)
    key = f"{plan_id}_{'monthly' if interval == 'month' else 'yearly'}" if lookup_key else None
    return {
        "id": stripe_id("price"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1700000000,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": key,
        "metadata": {"plan_id": metadata_plan} if metadata_plan else {},
        "nickname": None,
        "product": stripe_id("prod"),
        "recurring": {"aggregate_usage": None, "interval": interval, "interval_count": 1, "meter": None,
                      "trial_period_days": None, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


def plan_of(price_obj):
    """The legacy Plan Stripe still shows beside each recurring Price (docs.stripe.com/api/plans/object)."""
    recurring = price_obj["recurring"]
    return {
        "id": price_obj["id"],
        "object": "plan",
        "active": price_obj["active"],
        "aggregate_usage": recurring["aggregate_usage"],
        "amount": price_obj["unit_amount"],
        "amount_decimal": price_obj["unit_amount_decimal"],
        "billing_scheme": price_obj["billing_scheme"],
        "created": price_obj["created"],
        "currency": price_obj["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": price_obj["livemode"],
        "metadata": price_obj["metadata"],
        "meter": recurring["meter"],
        "nickname": price_obj["nickname"],
        "product": price_obj["product"],
        "tiers_mode": price_obj["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": recurring["trial_period_days"],
        "usage_type": recurring["usage_type"],
    }


class Sub:
    """One Stripe subscription whose snapshots the tests send as events.

    The objects are in the shape of the API version billing-admin setup registers the webhook endpoint
    with (STRIPE_API_VERSION, "2024-06-20"; Stripe formats events by the endpoint's version): every
    attribute the API reference lists for that version (docs.stripe.com/api/<resource>/object
    ?api-version=2024-06-20), written field for field, nullable ones null where this project's
    account would have them null. NEW_API ("2025-03-31.basil") is derived from it by that version's
    documented changes, for the tests that check the worker reads both generations.
    """

    def __init__(self, user_id=None, plan="starter", interval="month", api_version=OLD_API, start=None,
                 customer=None, lookup_key=True, metadata_plan=None):
        self.id = stripe_id("sub")
        self.customer = customer or stripe_id("cus")
        self.user_id = user_id
        self.api_version = api_version
        self.start = start or (int(time.time()) - 3600) // 60 * 60
        self.item_id = stripe_id("si")
        self.price = price(plan, interval, lookup_key=lookup_key, metadata_plan=metadata_plan)
        self.interval = interval
        self.plan = plan
        self.payment_method = stripe_id("pm")

    def _metadata(self):
        return {"user_id": self.user_id} if self.user_id else {}

    def object(self, status, period_start, period_end, cancel_at_period_end=False, trial_end=None,
               canceled_at=None, price_obj=None):
        """A Subscription (docs.stripe.com/api/subscriptions/object) with its one Subscription Item."""
        price_obj = price_obj or self.price
        item = {
            "id": self.item_id,
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": self.start,
            "discounts": [],
            "metadata": {},
            "plan": plan_of(price_obj),
            "price": price_obj,
            "quantity": 1,
            "subscription": self.id,
            "tax_rates": [],
        }
        ended = canceled_at if status in ("canceled", "incomplete_expired") else None
        sub = {
            "id": self.id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False, "liability": None},
            "billing_cycle_anchor": period_start,
            "billing_cycle_anchor_config": None,
            "billing_thresholds": None,
            "cancel_at": period_end if cancel_at_period_end else None,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": canceled_at,
            "cancellation_details": {"comment": None, "feedback": None,
                                     "reason": "cancellation_requested" if canceled_at or cancel_at_period_end
                                     else None},
            "collection_method": "charge_automatically",
            "created": self.start,
            "currency": price_obj["currency"],
            "current_period_end": period_end,
            "current_period_start": period_start,
            "customer": self.customer,
            "days_until_due": None,
            "default_payment_method": self.payment_method,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discount": None,
            "discounts": [],
            "ended_at": ended,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {"object": "list", "data": [item], "has_more": False, "total_count": 1,
                      "url": f"/v1/subscription_items?subscription={self.id}"},
            "latest_invoice": stripe_id("in"),
            "livemode": False,
            "metadata": self._metadata(),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                                 "save_default_payment_method": "off"},
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "plan": plan_of(price_obj),
            "quantity": 1,
            "schedule": None,
            "start_date": self.start,
            "status": status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": self.start if trial_end else None,
        }
        if self.api_version != OLD_API:
            # basil: the period moved to the items; the deprecated single discount went.
            for field in ("current_period_start", "current_period_end", "discount"):
                sub.pop(field)
            item["current_period_start"] = period_start
            item["current_period_end"] = period_end
            del item["plan"]
        return sub

    def event(self, type_, created, status, period_start, period_end, **kw):
        return event(type_, self.object(status, period_start, period_end, **kw), created, self.api_version)

    def invoice(self, created, paid, period_start, period_end, billing_reason="subscription_cycle", amount=None):
        """invoice.paid / invoice.payment_failed: an Invoice (docs.stripe.com/api/invoices/object) with
        its one Invoice Line Item (docs.stripe.com/api/invoice-line-item/object)."""
        amount = self.price["unit_amount"] if amount is None else amount
        invoice_id = stripe_id("in")
        line = {
            "id": stripe_id("il"),
            "object": "line_item",
            "amount": amount,
            "amount_excluding_tax": amount,
            "currency": "usd",
            "description": f"1 × {self.plan} (at ${amount / 100:.2f} / {self.interval})",
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "period": {"start": period_start, "end": period_end},
            "plan": plan_of(self.price),
            "price": self.price,
            "proration": False,
            "proration_details": {"credited_items": None},
            "quantity": 1,
            "subscription": self.id,
            "subscription_item": self.item_id,
            "tax_amounts": [],
            "tax_rates": [],
            "type": "subscription",
            "unit_amount_excluding_tax": str(amount),
        }
        number = f"ABC-{next(_serial):04d}"
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Ops Center",
            "account_tax_ids": None,
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "amount_shipping": 0,
            "application": None,
            "application_fee_amount": None,
            "attempt_count": 1,
            "attempted": True,
            "auto_advance": not paid,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "automatically_finalizes_at": None,
            "billing_reason": billing_reason,
            "charge": stripe_id("ch") if paid else None,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": "usd",
            "custom_fields": None,
            "customer": self.customer,
            "customer_address": None,
            "customer_email": f"{self.user_id or 'someone'}@example.com",
            "customer_name": None,
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discount": None,
            "discounts": [],
            "due_date": None,
            "effective_at": created,
            "ending_balance": 0,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_test/test",
            "invoice_pdf": "https://pay.stripe.com/invoice/acct_test/test/pdf",
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {"object": "list", "data": [line], "has_more": False, "total_count": 1,
                      "url": f"/v1/invoices/{invoice_id}/lines"},
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None if paid else created + 3 * DAY,
            "number": number,
            "on_behalf_of": None,
            "paid": paid,
            "paid_out_of_band": False,
            "payment_intent": stripe_id("pi"),
            "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
            # The invoice's own period is the previous one on renewals: the worker must use the line's.
            "period_end": period_start,
            "period_start": period_start - (period_end - period_start),
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "quote": None,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "paid" if paid else "open",
            "status_transitions": {"finalized_at": created, "marked_uncollectible_at": None,
                                   "paid_at": created if paid else None, "voided_at": None},
            "subscription": self.id,
            "subscription_details": {"metadata": self._metadata()},
            "subtotal": amount,
            "subtotal_excluding_tax": amount,
            "tax": None,
            "test_clock": None,
            "total": amount,
            "total_discount_amounts": [],
            "total_excluding_tax": amount,
            "total_tax_amounts": [],
            "transfer_data": None,
            "webhooks_delivered_at": created,
        }
        if self.api_version != OLD_API:
            # basil: the subscription moved under parent, payments left the invoice, lines got a parent.
            for field in ("subscription", "subscription_details", "paid", "paid_out_of_band", "charge",
                          "payment_intent", "tax", "discount", "quote"):
                invoice.pop(field)
            invoice["amount_overpaid"] = 0
            invoice["parent"] = {"type": "subscription_details", "quote_details": None,
                                 "subscription_details": {"metadata": self._metadata(), "subscription": self.id}}
            for field in ("plan", "price", "proration", "proration_details", "subscription", "subscription_item",
                          "type", "unit_amount_excluding_tax", "tax_amounts", "tax_rates", "amount_excluding_tax"):
                line.pop(field)
            line.update({"parent": {"type": "subscription_item_details", "invoice_item_details": None,
                                    "subscription_item_details": {"invoice_item": None, "proration": False,
                                                                  "proration_details": {"credited_items": None},
                                                                  "subscription": self.id,
                                                                  "subscription_item": self.item_id}},
                         "pricing": {"type": "price_details", "unit_amount_decimal": str(amount),
                                     "price_details": {"price": self.price["id"], "product": self.price["product"]}}})
        type_ = "invoice.paid" if paid else "invoice.payment_failed"
        return event(type_, invoice, created, self.api_version)

    def checkout_completed(self, created, user_id, via="client_reference_id"):
        """checkout.session.completed: a Checkout Session (docs.stripe.com/api/checkout/sessions/object)
        in subscription mode, hosted, paid."""
        session_id = stripe_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": self.price["unit_amount"],
            "amount_total": self.price["unit_amount"],
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": "http://127.0.0.1/cancel",
            "client_reference_id": user_id if via == "client_reference_id" else None,
            "client_secret": None,
            "consent": None,
            "consent_collection": None,
            "created": created - 60,
            "currency": "usd",
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                            "terms_of_service_acceptance": None},
            "customer": self.customer,
            "customer_creation": "always",
            "customer_details": {"address": {"city": None, "country": "US", "line1": None, "line2": None,
                                             "postal_code": "94103", "state": None},
                                 "email": f"{user_id}@example.com", "name": "Test User", "phone": None,
                                 "tax_exempt": "none", "tax_ids": []},
            "customer_email": None,
            "expires_at": created + DAY,
            "invoice": stripe_id("in"),
            "invoice_creation": None,
            "livemode": False,
            "locale": None,
            "metadata": {"user_id": user_id, "plan_id": self.plan} if via == "metadata" else {},
            "mode": "subscription",
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "always",
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "payment_status": "paid",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": {"allow_redisplay_filters": ["always"], "payment_method_save": None},
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_details": None,
            "shipping_options": [],
            "status": "complete",
            "submit_type": None,
            "subscription": self.id,
            "success_url": "http://127.0.0.1/success",
            "tax_id_collection": {"enabled": False},
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": None,
        }
        return event("checkout.session.completed", session, created, self.api_version)


# -- talking to the stack --------------------------------------------------------------------------


def body_of(evt):
    return json.dumps(evt, separators=(",", ":"))


def post_event(stack, evt, secret=None, timeout=10.0):
    """POSTs a signed event (a dict or raw text) through the gateway; returns (status, body)."""
    raw = evt if isinstance(evt, (str, bytes)) else body_of(evt)
    signature = sign_stripe(raw, secret or stack.env["STRIPE_WEBHOOK_SECRET"])
    status, _, body = stack.http("POST", WEBHOOK_PATH, body=raw,
                                 headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
                                 timeout=timeout)
    return status, body


def admin_headers(stack):
    return {"Authorization": f"Bearer {stack.env['ADMIN_TOKEN']}"}


def event_status(stack, event_id):
    rows = query(stack, "SELECT status FROM stripe_events WHERE id = %s", (event_id,))
    return rows[0][0] if rows else None


def settled(stack):
    """True when no webhook event and no subscription update is left to do."""
    rows = query(stack, "SELECT (SELECT count(*) FROM stripe_events WHERE status = 'pending'),"
                        " (SELECT count(*) FROM subscription_updates WHERE status = 'pending'"
                        "   AND last_error IS NULL)")
    return rows[0] == (0, 0)


def published(stack):
    """True when Redis holds every user's entitlements as Postgres has them (the subscription-worker
    publishes right after its commit, so there is a moment when the database is ahead)."""
    rows = query(stack, "SELECT user_id, plan_id, status, last_event_created,"
                        " coalesce(extract(epoch FROM current_period_end)::bigint, 0), cancel_at_period_end"
                        " FROM user_entitlements WHERE user_id IS NOT NULL")
    for user_id, plan, status, version, period_end, cancel in rows:
        ent = entitlements(stack, user_id)
        if (ent.get("plan"), ent.get("status"), ent.get("version"), ent.get("current_period_end"),
                ent.get("cancel_at_period_end")) != (plan, status, str(version), str(period_end), "1" if cancel else "0"):
            return False
    return True


def wait_settled(stack, timeout=20.0):
    wait_for(lambda: settled(stack) and published(stack), timeout, "events and updates were not all processed")


def subscription(stack, sub_id):
    rows = query(stack, "SELECT user_id, stripe_customer_id, plan_id, interval, status,"
                        " extract(epoch FROM current_period_start)::bigint, extract(epoch FROM current_period_end)::bigint,"
                        " cancel_at_period_end, extract(epoch FROM trial_end)::bigint, last_event_created, last_event_id"
                        " FROM subscriptions WHERE id = %s", (sub_id,))
    if not rows:
        return None
    keys = ("user_id", "customer", "plan_id", "interval", "status", "period_start", "period_end",
            "cancel_at_period_end", "trial_end", "last_event_created", "last_event_id")
    return dict(zip(keys, rows[0]))


def entitlements(stack, user_id):
    client = getattr(stack, "_webhook_redis", None)
    if client is None:
        client = stack._webhook_redis = stack.redis()
    return client.hgetall(f"ob:ent:{user_id}")


def notifications(stack, event_id=None, kind=None):
    rows = query(stack, "SELECT dedupe_key, kind, user_id, payload FROM notifications"
                        " WHERE (%s::text IS NULL OR dedupe_key LIKE 'stripe:' || %s || ':%%')"
                        " AND (%s::text IS NULL OR kind = %s) ORDER BY id",
                 (event_id, event_id, kind, kind))
    return [dict(zip(("dedupe_key", "kind", "user_id", "payload"), row)) for row in rows]


def pg_stop(postgres):
    """Stops the session's Postgres, keeping its data (the harness only stops it for good)."""
    postgres.pause()


def pg_start(postgres):
    postgres.resume()
