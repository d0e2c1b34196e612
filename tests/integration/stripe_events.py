"""stripe_events - realistic Stripe webhook payloads, and the helpers the webhook tests share.

The builders follow the shapes Stripe sends (event envelope, subscription, invoice,
checkout session), in both API generations the worker must read:

  * "2024-06-20": period dates on the subscription, invoice.subscription and
    invoice.subscription_details;
  * "2025-03-31.basil": period dates on the subscription items, the invoice's
    subscription under parent.subscription_details, line items with a parent.
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
        "livemode": False,
        "lookup_key": key,
        "metadata": {"plan_id": metadata_plan} if metadata_plan else {},
        "nickname": None,
        "product": stripe_id("prod"),
        "recurring": {"aggregate_usage": None, "interval": interval, "interval_count": 1, "meter": None,
                      "trial_period_days": None, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


class Sub:
    """One Stripe subscription whose snapshots the tests send as events."""

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

    def object(self, status, period_start, period_end, cancel_at_period_end=False, trial_end=None,
               canceled_at=None, price_obj=None):
        price_obj = price_obj or self.price
        item = {
            "id": self.item_id,
            "object": "subscription_item",
            "created": self.start,
            "discounts": [],
            "metadata": {},
            "price": price_obj,
            "quantity": 1,
            "subscription": self.id,
            "tax_rates": [],
        }
        sub = {
            "id": self.id,
            "object": "subscription",
            "application": None,
            "automatic_tax": {"enabled": False, "liability": None},
            "billing_cycle_anchor": period_start,
            "cancel_at": period_end if cancel_at_period_end else None,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": canceled_at,
            "collection_method": "charge_automatically",
            "created": self.start,
            "currency": "usd",
            "customer": self.customer,
            "default_payment_method": stripe_id("pm"),
            "discounts": [],
            "ended_at": canceled_at if status == "canceled" else None,
            "items": {"object": "list", "data": [item], "has_more": False, "total_count": 1,
                      "url": f"/v1/subscription_items?subscription={self.id}"},
            "latest_invoice": stripe_id("in"),
            "livemode": False,
            "metadata": {"user_id": self.user_id} if self.user_id else {},
            "start_date": self.start,
            "status": status,
            "trial_end": trial_end,
            "trial_start": self.start if trial_end else None,
        }
        if self.api_version == OLD_API:
            sub["current_period_start"] = period_start
            sub["current_period_end"] = period_end
            item["plan"] = {"id": price_obj["id"], "object": "plan", "interval": price_obj["recurring"]["interval"]}
        else:
            item["current_period_start"] = period_start
            item["current_period_end"] = period_end
        return sub

    def event(self, type_, created, status, period_start, period_end, **kw):
        return event(type_, self.object(status, period_start, period_end, **kw), created, self.api_version)

    def invoice(self, created, paid, period_start, period_end, billing_reason="subscription_cycle", amount=None):
        amount = self.price["unit_amount"] if amount is None else amount
        line = {
            "id": stripe_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": "usd",
            "description": f"1 × {self.plan} (at ${amount / 100:.2f} / {self.interval})",
            "discountable": True,
            "livemode": False,
            "metadata": {},
            "period": {"start": period_start, "end": period_end},
            "quantity": 1,
        }
        invoice = {
            "id": stripe_id("in"),
            "object": "invoice",
            "account_country": "US",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": created,
            "currency": "usd",
            "customer": self.customer,
            "customer_email": f"{self.user_id or 'someone'}@example.com",
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_test/test",
            "livemode": False,
            "next_payment_attempt": None if paid else created + 3 * DAY,
            "number": f"ABC-{next(_serial):04d}",
            # The invoice's own period is the previous one on renewals: the worker must use the line's.
            "period_start": period_start - (period_end - period_start),
            "period_end": period_start,
            "status": "paid" if paid else "open",
            "total": amount,
        }
        if self.api_version == OLD_API:
            invoice["subscription"] = self.id
            invoice["subscription_details"] = {"metadata": {"user_id": self.user_id} if self.user_id else {}}
            invoice["paid"] = paid
            line.update({"type": "subscription", "subscription": self.id, "subscription_item": self.item_id,
                         "price": self.price, "proration": False})
        else:
            invoice["parent"] = {"type": "subscription_details", "quote_details": None,
                                 "subscription_details": {
                                     "metadata": {"user_id": self.user_id} if self.user_id else {},
                                     "subscription": self.id}}
            line.update({"parent": {"type": "subscription_item_details", "invoice_item_details": None,
                                    "subscription_item_details": {"invoice_item": None, "proration": False,
                                                                  "proration_details": {"credited_items": None},
                                                                  "subscription": self.id,
                                                                  "subscription_item": self.item_id}},
                         "pricing": {"type": "price_details", "unit_amount_decimal": str(amount),
                                     "price_details": {"price": self.price["id"], "product": self.price["product"]}}})
        invoice["lines"] = {"object": "list", "data": [line], "has_more": False, "total_count": 1,
                            "url": f"/v1/invoices/{invoice['id']}/lines"}
        type_ = "invoice.paid" if paid else "invoice.payment_failed"
        return event(type_, invoice, created, self.api_version)

    def checkout_completed(self, created, user_id, via="client_reference_id"):
        session = {
            "id": stripe_id("cs_test"),
            "object": "checkout.session",
            "amount_subtotal": self.price["unit_amount"],
            "amount_total": self.price["unit_amount"],
            "cancel_url": "http://127.0.0.1/cancel",
            "client_reference_id": user_id if via == "client_reference_id" else None,
            "created": created - 60,
            "currency": "usd",
            "customer": self.customer,
            "customer_details": {"email": f"{user_id}@example.com", "name": "Test User", "tax_exempt": "none"},
            "customer_email": None,
            "expires_at": created + DAY,
            "livemode": False,
            "metadata": {"user_id": user_id, "plan_id": self.plan} if via == "metadata" else {},
            "mode": "subscription",
            "payment_status": "paid",
            "status": "complete",
            "subscription": self.id,
            "success_url": "http://127.0.0.1/success",
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
