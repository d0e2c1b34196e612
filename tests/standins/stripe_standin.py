#!/usr/bin/python3
"""stripe_standin - a local stand-in for the parts of Stripe's API we call.

Speaks Stripe's wire format: form-encoded requests with bracketed keys
(`metadata[user_id]=1`, `items[0][price]=price_x`, `lookup_keys[]=a`), JSON
responses with a `Request-Id` header, errors as
{"error": {"type", "code", "message", "param", "decline_code"}}, bearer (or
basic) authentication with one secret key, and idempotent POSTs: the same
Idempotency-Key replays the first response, as stored, without running
again (with `Idempotent-Replayed: true`); keys are the account's, not a
path's: reused on another endpoint or with other parameters it is a 400
idempotency_error. The `Date` header and every `created` are on the
stand-in's clock (the local one plus an offset tests may set).

Control endpoints for tests (no authentication, not recorded):
  GET  /__control/requests   every recorded request, oldest first
  GET  /__control/state      every stored object, by kind
  POST /__control/reset      forget objects, requests, failures, idempotency keys
  POST /__control/fail       {"path_prefix", "method"?, "status"?, "count"?: 1,
                              "delay_ms"?, "error"?: {...}, "headers"?: {...}}
                             (or a list of them): the next `count` matching
                             requests wait delay_ms, then (when status is set)
                             answer status with a Stripe-shaped error. Injected
                             failures happen "before execution": they are not
                             stored under the idempotency key.
  POST /__control/clock      {"offset_s": N}: Stripe's clock runs N s from ours
                             (Date headers, created times); reset sets it to 0
  POST /__control/seed       {"products": [...], "prices": [...], "customers": [...],
                              "payment_methods": [...], "subscriptions": [...]}
                             creates objects directly (fields override defaults);
                             returns them by kind.
  POST /__control/webhooks   {"hold": true|false}: while held, the webhooks a
                             checkout payment causes are queued; releasing sends
                             the queue. GET /__control/webhooks lists what was sent.
  POST /__control/checkout   {"backdate_days": N}: subscriptions that Checkout payments
                             create start N days ago (to test a period's usage history)

Hosted pages (what a browser sees; no authentication; Checkout Session URLs point here
with --checkout-base self):
  GET  /c/pay/{session}      the Checkout page of an open session: what is bought,
                             a "Pay" button and a link back to the cancel URL
  POST /c/pay/{session}      "pays": makes the customer's card, subscription and paid
                             invoice, sends the signed webhooks Stripe would
                             (checkout.session.completed, customer.subscription.created,
                             invoice.paid) to --webhook-url with --webhook-secret, then
                             redirects (303) to the success URL ({CHECKOUT_SESSION_ID}
                             filled in)
  GET  /i/{invoice}          the hosted invoice page

Run: /usr/bin/python3 tests/standins/stripe_standin.py --port N [--secret-key sk_test_x]
     [--webhook-url URL --webhook-secret whsec_x] [--checkout-base self]
It prints "ready" on stdout once listening. Python 3 standard library only.
"""
import argparse
import base64
import copy
import hashlib
import hmac
import html
import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlsplit

KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
LOCK = threading.RLock()
KINDS = ("customer", "payment_method", "checkout.session", "billing_portal.session", "subscription", "price", "product",
         "webhook_endpoint", "billing_portal.configuration", "invoice")
API_VERSION = "2024-06-20"
DEFAULT_ERRORS = {
    400: {"type": "invalid_request_error", "code": "parameter_invalid", "message": "Invalid request (injected)."},
    401: {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_****"},
    402: {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined."},
    404: {"type": "invalid_request_error", "code": "resource_missing", "message": "No such object (injected)."},
    409: {"type": "invalid_request_error", "code": "lock_timeout", "message": "This object cannot be accessed right now."},
    429: {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests hit the API too quickly."},
}

def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(8)}"

CLOCK = {"offset_s": 0}

def now():
    return int(time.time()) + CLOCK["offset_s"]

class StripeError(Exception):
    def __init__(self, status, message, type_="invalid_request_error", code=None, param=None, **extra):
        super().__init__(message)
        self.status = status
        fields = {"type": type_, "code": code, "message": message, "param": param, **extra}
        self.error = {k: v for k, v in fields.items() if v is not None}

def missing(kind, oid, param=None, status=400):
    return StripeError(status, f"No such {kind}: '{oid}'", code="resource_missing", param=param)

def parse_form(text):
    """Bracketed keys into nested dicts; dicts keyed 0..n (or by []) become lists."""
    root = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        m = KEY_RE.match(key)
        parts = [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2)) if m else [key]
        node = root
        for i, part in enumerate(parts):
            if not isinstance(node, dict):
                raise invalid(f"Invalid parameter: {key}", key)
            if part == "":
                part = str(len(node))
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return {k: listify(v) for k, v in root.items()}

def listify(value):
    if not isinstance(value, dict):
        return value
    value = {k: listify(v) for k, v in value.items()}
    if value and all(k.isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]
    return value

def invalid(message, param, code="parameter_invalid"):
    return StripeError(400, message, code=code, param=param)

def require(params, name):
    if not isinstance(params, dict) or params.get(name) in (None, ""):
        raise invalid(f"Missing required param: {name}.", name, "parameter_missing")
    return params[name]

def as_bool(value, param):
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", param)
    return value == "true"

def as_int(value, param):
    if not isinstance(value, (str, int)) or not re.fullmatch(r"-?\d+", str(value)):
        raise invalid(f"Invalid integer: {value}", param, "parameter_invalid_integer")
    return int(value)

def as_dict(params, name):
    value = params.get(name) or {}
    if not isinstance(value, dict):
        raise invalid("Invalid object", name)
    return value

def merge_metadata(obj, params):
    """Stripe merges metadata keys; an empty value deletes one."""
    for k, v in as_dict(params, "metadata").items():
        if v == "":
            obj["metadata"].pop(k, None)
        else:
            obj["metadata"][k] = v

def listing(url, data):
    return {"object": "list", "url": url, "has_more": False, "data": data}

class Store:
    def __init__(self):
        self.reset()

    def reset(self):
        self.objects, self.idempotency, self.requests, self.failures = {k: {} for k in KINDS}, {}, [], []
        CLOCK["offset_s"] = 0
        # What a Checkout Session was created with but Stripe does not show on the object.
        self.checkout_extras = {}
        self.webhooks_held, self.webhook_queue, self.webhooks_sent = False, [], []
        self.backdate_s = 0  # a paid Checkout's subscription starts this long ago (tests of usage history)

    def get(self, kind, oid, param=None, status=400):
        """An object by id; a missing one is a resource_missing error: 404 for path ids, 400 for params."""
        obj = self.objects[kind].get(oid)
        if obj is None:
            raise missing(kind.split(".")[-1].replace("_", " "), oid, param, status)
        return obj

    def put(self, obj):
        self.objects[obj["object"]][obj["id"]] = obj
        return obj

    # Constructors: Stripe-shaped defaults, then the caller's fields.
    def customer(self, **fields):
        obj = {"id": new_id("cus"), "object": "customer", "created": now(), "livemode": False, "email": None,
               "name": None, "metadata": {}, "invoice_settings": {"default_payment_method": None}}
        return self.put({**obj, **fields})

    def payment_method(self, **fields):
        card = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "funding": "credit", "country": "US"}
        card.update(fields.pop("card", {}))
        obj = {"id": new_id("pm"), "object": "payment_method", "type": "card", "created": now(), "livemode": False,
               "customer": None, "card": card, "billing_details": {"email": None, "name": None}, "metadata": {}}
        return self.put({**obj, **fields})

    def product(self, **fields):
        obj = {"id": new_id("prod"), "object": "product", "active": True, "created": now(), "livemode": False,
               "name": None, "description": None, "metadata": {}}
        return self.put({**obj, **fields})

    def price(self, **fields):
        if "product" not in fields:
            fields["product"] = self.product(name="Seeded product")["id"]
        recurring = fields.pop("recurring", None)
        if isinstance(recurring, dict):
            recurring = {"interval": "month", "interval_count": 1, "usage_type": "licensed", **recurring}
        amount = fields.get("unit_amount", 0)
        obj = {"id": new_id("price"), "object": "price", "active": True, "created": now(), "livemode": False,
               "currency": "usd", "unit_amount": amount, "unit_amount_decimal": str(amount), "lookup_key": None,
               "nickname": None, "metadata": {}, "recurring": recurring, "type": "recurring" if recurring else "one_time"}
        return self.put({**obj, **fields})

    def subscription_item(self, sub_id, price, quantity=1, item_id=None):
        return {"id": item_id or new_id("si"), "object": "subscription_item", "created": now(), "subscription": sub_id,
                "price": copy.deepcopy(price), "quantity": quantity, "metadata": {}}

    def subscription(self, items=(), **fields):
        sub_id = fields.pop("id", None) or new_id("sub")
        start = now()
        obj = {"id": sub_id, "object": "subscription", "created": start, "livemode": False, "customer": None,
               "status": "active", "cancel_at_period_end": False, "cancel_at": None, "canceled_at": None,
               "ended_at": None, "current_period_start": start, "current_period_end": start + 30 * 86400,
               "metadata": {}, "default_payment_method": None, "latest_invoice": None}
        obj.update(fields)
        data = []
        for item in items:
            price = item.get("price")
            price = self.get("price", price) if isinstance(price, str) else self.price(**(price or {}))
            data.append(self.subscription_item(sub_id, price, item.get("quantity", 1), item.get("id")))
        obj["items"] = listing(f"/v1/subscription_items?subscription={sub_id}", data)
        return self.put(obj)

STORE = Store()


# --- API routes: (method, path regex, handler(params, *groups)) ---------------------------------------------
def create_customer(p):
    cust = STORE.customer(email=p.get("email"), name=p.get("name"))
    merge_metadata(cust, p)
    return cust

def create_checkout_session(p, base_url="https://checkout.stripe.com"):
    mode = require(p, "mode")
    if mode not in ("payment", "setup", "subscription"):
        raise invalid(f"Invalid mode: {mode}", "mode")
    require(p, "success_url")
    if p.get("customer"):
        STORE.get("customer", p["customer"], "customer")
    items = p.get("line_items") or []
    if mode != "setup" and not items:
        raise invalid("Missing required param: line_items.", "line_items", "parameter_missing")
    if not isinstance(items, list):
        raise invalid("Invalid array", "line_items")
    prices = [STORE.get("price", require(it, "price"), f"line_items[{i}][price]") for i, it in enumerate(items)]
    if mode == "subscription" and not any(pr["recurring"] for pr in prices):
        raise StripeError(400, "You must provide at least one recurring price in `subscription` mode when using prices.",
                          param="line_items")
    sid = "cs_test_" + secrets.token_hex(16)
    session = {"id": sid, "object": "checkout.session", "created": now(), "expires_at": now() + 86400,
               "livemode": False, "mode": mode, "status": "open", "payment_status": "unpaid",
               "url": f"{base_url}/c/pay/{sid}", "customer": p.get("customer"),
               "client_reference_id": p.get("client_reference_id"), "success_url": p["success_url"],
               "cancel_url": p.get("cancel_url"), "metadata": {}, "subscription": None}
    merge_metadata(session, p)
    STORE.checkout_extras[sid] = {"prices": [pr["id"] for pr in prices],
                                  "subscription_metadata": dict(as_dict(as_dict(p, "subscription_data"), "metadata"))}
    return STORE.put(session)

def create_portal_session(p):
    STORE.get("customer", require(p, "customer"), "customer")
    return STORE.put({"id": new_id("bps"), "object": "billing_portal.session", "created": now(), "livemode": False,
                      "customer": p["customer"], "return_url": p.get("return_url"),
                      "url": f"https://billing.stripe.com/p/session/test_{secrets.token_hex(12)}"})

def list_payment_methods(p):
    if p.get("customer"):
        STORE.get("customer", p["customer"], "customer")
    data = [pm for pm in STORE.objects["payment_method"].values()
            if pm["customer"] == p.get("customer", pm["customer"]) and pm["type"] == p.get("type", pm["type"])]
    return listing("/v1/payment_methods", data)

SUBSCRIPTION_STATUSES = ("trialing", "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired",
                         "paused")

def list_subscriptions(p):
    """GET /v1/subscriptions: newest first, cursor pagination (limit, starting_after); by default the
    subscriptions that are not canceled, status=all for every one."""
    status = p.get("status")
    if status is not None and status not in ("all", "ended") + SUBSCRIPTION_STATUSES:
        raise invalid("Invalid status", "status")
    limit = as_int(p.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", "limit")
    subs = sorted(STORE.objects["subscription"].values(), key=lambda s: (s["created"], s["id"]), reverse=True)
    subs = [s for s in subs if status == "all" or (status is None and s["status"] != "canceled")
            or s["status"] == status or (status == "ended" and s["status"] in ("canceled", "incomplete_expired"))]
    subs = [s for s in subs if p.get("customer") in (None, s["customer"])]
    if p.get("starting_after"):
        ids = [s["id"] for s in subs]
        if p["starting_after"] not in ids:
            raise missing("subscription", p["starting_after"], "starting_after")
        subs = subs[ids.index(p["starting_after"]) + 1:]
    page = listing("/v1/subscriptions", subs[:limit])
    page["has_more"] = len(subs) > limit
    return page

def update_subscription(p, sub_id):
    sub = STORE.get("subscription", sub_id, "id", 404)
    if sub["status"] == "canceled" and set(p) - {"metadata", "cancellation_details", "expand"}:
        raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
    behavior = p.get("proration_behavior", "create_prorations")
    if behavior not in ("create_prorations", "none", "always_invoice"):
        raise invalid(f"Invalid proration_behavior: {behavior}", "proration_behavior")
    if "trial_end" in p:
        # Stripe: a Unix time in the future (at most two years ahead) or "now"; on a
        # trialing subscription the current period ends with the trial.
        if p["trial_end"] == "now":
            sub.update(trial_end=now(), status="active" if sub["status"] == "trialing" else sub["status"])
        else:
            end = as_int(p["trial_end"], "trial_end")
            if end <= now() or end > now() + 730 * 86400:
                raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end")
            # An active subscription given a trial end is trialing until then (no charge).
            sub.update(trial_end=end, current_period_end=end,
                       status="trialing" if sub["status"] in ("active", "trialing") else sub["status"])
    if "cancel_at_period_end" in p:
        flag = as_bool(p["cancel_at_period_end"], "cancel_at_period_end")
        sub.update(cancel_at_period_end=flag, cancel_at=sub["current_period_end"] if flag else None,
                   canceled_at=now() if flag else None)
    for i, item in enumerate(p.get("items") or []):
        data = sub["items"]["data"]
        if not isinstance(item, dict):
            raise invalid("Invalid object", f"items[{i}]")
        target = next((it for it in data if it["id"] == item.get("id")), None)
        if item.get("id") and target is None:
            raise missing("subscription item", item["id"], f"items[{i}][id]")
        price = STORE.get("price", item["price"], f"items[{i}][price]") if item.get("price") else None
        if target is None:
            data.append(STORE.subscription_item(sub_id, price or require(item, "price")))
            continue
        if price:
            target["price"] = copy.deepcopy(price)
        if "quantity" in item:
            target["quantity"] = as_int(item["quantity"], f"items[{i}][quantity]")
    merge_metadata(sub, p)
    return sub

def cancel_subscription(p, sub_id):
    sub = STORE.get("subscription", sub_id, "id", 404)
    if sub["status"] != "canceled":
        sub.update(status="canceled", canceled_at=now(), ended_at=now(), cancel_at_period_end=False)
    return sub

def list_prices(p):
    keys = p.get("lookup_keys")
    keys = [keys] if isinstance(keys, str) else keys
    active = as_bool(p["active"], "active") if "active" in p else None
    data = [pr for pr in STORE.objects["price"].values()
            if (keys is None or pr["lookup_key"] in keys) and (active is None or pr["active"] == active)
            and pr["product"] == p.get("product", pr["product"])]
    return listing("/v1/prices", data[:as_int(p.get("limit", 10), "limit")])

def create_price(p):
    currency = require(p, "currency").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid(f"Invalid currency: {currency}", "currency")
    product = STORE.get("product", require(p, "product"), "product")["id"]
    amount = as_int(require(p, "unit_amount"), "unit_amount")
    recurring = as_dict(p, "recurring") or None
    if recurring:
        if recurring.get("interval") not in ("day", "week", "month", "year"):
            raise invalid("Invalid recurring[interval]", "recurring[interval]")
        recurring = {"interval": recurring["interval"], "usage_type": "licensed",
                     "interval_count": as_int(recurring.get("interval_count", 1), "recurring[interval_count]")}
    key = p.get("lookup_key") or None
    holder = next((pr for pr in STORE.objects["price"].values() if key and pr["lookup_key"] == key), None)
    if holder and p.get("transfer_lookup_key") != "true":
        raise StripeError(400, f"A price (`{holder['id']}`) already uses that lookup key.", param="lookup_key")
    if holder:
        holder["lookup_key"] = None
    price = STORE.price(product=product, currency=currency, unit_amount=amount, unit_amount_decimal=str(amount),
                        recurring=recurring, lookup_key=key, nickname=p.get("nickname"))
    merge_metadata(price, p)
    return price

def create_product(p):
    prod = STORE.product(name=require(p, "name"), description=p.get("description"))
    merge_metadata(prod, p)
    return prod

def list_products(p):
    active = as_bool(p["active"], "active") if "active" in p else None
    data = [pr for pr in STORE.objects["product"].values() if active is None or pr["active"] == active]
    return listing("/v1/products", data[:as_int(p.get("limit", 10), "limit")])

def list_invoices(p):
    for name, kind in (("customer", "customer"), ("subscription", "subscription")):
        if p.get(name):
            STORE.get(kind, p[name], name)
    status = p.get("status")
    if status is not None and status not in ("draft", "open", "paid", "uncollectible", "void"):
        raise invalid(f"Invalid status: {status}", "status")
    limit = as_int(p.get("limit", 10), "limit")
    if not 1 <= limit <= 100:
        raise invalid("This value must be between 1 and 100.", "limit")
    data = sorted((inv for inv in STORE.objects["invoice"].values()
                   if inv["customer"] == p.get("customer", inv["customer"])
                   and inv["subscription"] == p.get("subscription", inv["subscription"])
                   and inv["status"] == (status or inv["status"])),
                  key=lambda inv: (inv["created"], inv["id"]), reverse=True)
    if p.get("starting_after"):
        ids = [inv["id"] for inv in data]
        if p["starting_after"] not in ids:
            raise missing("invoice", p["starting_after"], "starting_after")
        data = data[ids.index(p["starting_after"]) + 1:]
    page = listing("/v1/invoices", data[:limit])
    page["has_more"] = len(data) > limit
    return page

def balance(_p):
    zero = [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]
    return {"object": "balance", "livemode": False, "available": zero, "pending": copy.deepcopy(zero)}

ROUTES = [
    ("POST", r"/v1/customers", create_customer),
    ("GET", r"/v1/customers/([^/]+)", lambda p, i: STORE.get("customer", i, "id", 404)),
    ("POST", r"/v1/checkout/sessions", create_checkout_session),
    ("POST", r"/v1/billing_portal/sessions", create_portal_session),
    ("GET", r"/v1/payment_methods", list_payment_methods),
    ("GET", r"/v1/subscriptions", list_subscriptions),
    ("GET", r"/v1/subscriptions/([^/]+)", lambda p, i: STORE.get("subscription", i, "id", 404)),
    ("POST", r"/v1/subscriptions/([^/]+)", update_subscription),
    ("DELETE", r"/v1/subscriptions/([^/]+)", cancel_subscription),
    ("GET", r"/v1/prices", list_prices),
    ("POST", r"/v1/prices", create_price),
    ("POST", r"/v1/products", create_product),
    ("GET", r"/v1/products", list_products),
    ("GET", r"/v1/products/([^/]+)", lambda p, i: STORE.get("product", i, "id", 404)),
    ("GET", r"/v1/balance", balance),
    ("GET", r"/v1/invoices", list_invoices),
    ("GET", r"/v1/invoices/([^/]+)", lambda p, i: STORE.get("invoice", i, "id", 404)),
]


# --- Setup objects: webhook endpoints, portal configurations, price updates (billing-admin setup) --------------
WEBHOOK_VERSIONS = ("2024-06-20", "2024-04-10", "2023-10-16", "2023-08-16", "2022-11-15", "2020-08-27")

def update_price(p, price_id):
    price = STORE.get("price", price_id, "id", 404)
    if "active" in p:
        price["active"] = as_bool(p["active"], "active")
    if "lookup_key" in p:
        key = p["lookup_key"] or None
        holder = next((pr for pr in STORE.objects["price"].values() if key and pr["lookup_key"] == key and pr is not price), None)
        if holder and p.get("transfer_lookup_key") != "true":
            raise StripeError(400, f"A price (`{holder['id']}`) already uses that lookup key.", param="lookup_key")
        if holder:
            holder["lookup_key"] = None
        price["lookup_key"] = key
    if "nickname" in p:
        price["nickname"] = p["nickname"] or None
    merge_metadata(price, p)
    return price

def webhook_events(p, required):
    events = p.get("enabled_events")
    events = [events] if isinstance(events, str) else events
    if events is None and not required:
        return None
    if not events:
        raise invalid("Missing required param: enabled_events.", "enabled_events", "parameter_missing")
    return list(events)

def create_webhook_endpoint(p):
    url = require(p, "url")
    if not re.match(r"https?://", url):
        raise invalid("Invalid URL: URL must be publicly accessible.", "url", "url_invalid")
    version = p.get("api_version")
    if version is not None and version not in WEBHOOK_VERSIONS:
        raise invalid(f"Invalid api_version: {version}", "api_version")
    obj = {"id": new_id("we"), "object": "webhook_endpoint", "api_version": version, "application": None,
           "created": now(), "description": p.get("description") or None, "enabled_events": webhook_events(p, True),
           "livemode": False, "metadata": {}, "status": "enabled", "url": url,
           "secret": "whsec_" + secrets.token_hex(16)}
    merge_metadata(obj, p)
    STORE.put(obj)
    return obj

def public_endpoint(obj):
    return {k: v for k, v in obj.items() if k != "secret"}  # Stripe shows the secret only on create

def update_webhook_endpoint(p, we_id):
    obj = STORE.get("webhook_endpoint", we_id, "id", 404)
    if "url" in p:
        obj["url"] = require(p, "url")
    events = webhook_events(p, False)
    if events is not None:
        obj["enabled_events"] = events
    if "disabled" in p:
        obj["status"] = "disabled" if as_bool(p["disabled"], "disabled") else "enabled"
    if "description" in p:
        obj["description"] = p["description"] or None
    merge_metadata(obj, p)
    return public_endpoint(obj)

def delete_webhook_endpoint(p, we_id):
    STORE.get("webhook_endpoint", we_id, "id", 404)
    del STORE.objects["webhook_endpoint"][we_id]
    return {"id": we_id, "object": "webhook_endpoint", "deleted": True}

def list_webhook_endpoints(p):
    data = [public_endpoint(o) for o in STORE.objects["webhook_endpoint"].values()]
    return listing("/v1/webhook_endpoints", data[:as_int(p.get("limit", 10), "limit")])

def portal_features(features, old=None):
    out = copy.deepcopy(old) if old else {
        "customer_update": {"allowed_updates": [], "enabled": False}, "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False},
        "subscription_cancel": {"cancellation_reason": {"enabled": False, "options": []}, "enabled": False,
                                "mode": "at_period_end", "proration_behavior": "none"},
        "subscription_update": {"default_allowed_updates": [], "enabled": False, "products": [],
                                "proration_behavior": "none"}}
    for name, value in (features or {}).items():
        if not isinstance(value, dict):
            raise invalid("Invalid object", f"features[{name}]")
        section = out[name]
        if "enabled" in value:
            section["enabled"] = as_bool(value["enabled"], f"features[{name}][enabled]")
        if name == "subscription_cancel" and "mode" in value:
            if value["mode"] not in ("immediately", "at_period_end"):
                raise invalid(f"Invalid features[subscription_cancel][mode]: {value['mode']}", "features[subscription_cancel][mode]")
            section["mode"] = value["mode"]
        if "proration_behavior" in value:
            if value["proration_behavior"] not in ("create_prorations", "none", "always_invoice"):
                raise invalid("Invalid proration_behavior", f"features[{name}][proration_behavior]")
            section["proration_behavior"] = value["proration_behavior"]
        if name == "subscription_update":
            if "default_allowed_updates" in value:
                allowed = value["default_allowed_updates"]
                section["default_allowed_updates"] = [] if allowed == "" else ([allowed] if isinstance(allowed, str) else allowed)
            if "products" in value:
                products = []
                for i, item in enumerate(value["products"] or []):
                    STORE.get("product", require(item, "product"), f"features[subscription_update][products][{i}][product]")
                    prices = item.get("prices")
                    prices = [prices] if isinstance(prices, str) else prices or []
                    for j, price in enumerate(prices):
                        STORE.get("price", price, f"features[subscription_update][products][{i}][prices][{j}]")
                    products.append({"product": item["product"], "prices": prices})
                section["products"] = products
    if out["subscription_update"]["enabled"] and not out["subscription_update"]["products"]:
        raise invalid("You must provide at least one product when enabling subscription updates.",
                      "features[subscription_update][products]")
    return out

def create_portal_configuration(p):
    obj = {"id": new_id("bpc"), "object": "billing_portal.configuration", "active": True, "application": None,
           "business_profile": {"headline": None, "privacy_policy_url": None, "terms_of_service_url": None},
           "created": now(), "default_return_url": p.get("default_return_url") or None,
           "features": portal_features(require(p, "features")), "is_default": False, "livemode": False,
           "login_page": {"enabled": False, "url": None}, "metadata": {}, "updated": now()}
    obj["business_profile"].update({k: v or None for k, v in as_dict(p, "business_profile").items()})
    merge_metadata(obj, p)
    return STORE.put(obj)

def update_portal_configuration(p, bpc_id):
    obj = STORE.get("billing_portal.configuration", bpc_id, "id", 404)
    if "features" in p:
        obj["features"] = portal_features(as_dict(p, "features"), obj["features"])
    if "default_return_url" in p:
        obj["default_return_url"] = p["default_return_url"] or None
    if "active" in p:
        obj["active"] = as_bool(p["active"], "active")
    obj["business_profile"].update({k: v or None for k, v in as_dict(p, "business_profile").items()})
    merge_metadata(obj, p)
    obj["updated"] = now()
    return obj

def list_portal_configurations(p):
    active = as_bool(p["active"], "active") if "active" in p else None
    default = as_bool(p["is_default"], "is_default") if "is_default" in p else None
    data = [o for o in STORE.objects["billing_portal.configuration"].values()
            if (active is None or o["active"] == active) and (default is None or o["is_default"] == default)]
    return listing("/v1/billing_portal/configurations", data[:as_int(p.get("limit", 10), "limit")])

ROUTES += [
    ("POST", r"/v1/prices/([^/]+)", update_price),
    ("GET", r"/v1/prices/([^/]+)", lambda p, i: STORE.get("price", i, "id", 404)),
    ("POST", r"/v1/webhook_endpoints", create_webhook_endpoint),
    ("GET", r"/v1/webhook_endpoints", list_webhook_endpoints),
    ("GET", r"/v1/webhook_endpoints/([^/]+)", lambda p, i: public_endpoint(STORE.get("webhook_endpoint", i, "id", 404))),
    ("POST", r"/v1/webhook_endpoints/([^/]+)", update_webhook_endpoint),
    ("DELETE", r"/v1/webhook_endpoints/([^/]+)", delete_webhook_endpoint),
    ("POST", r"/v1/billing_portal/configurations", create_portal_configuration),
    ("GET", r"/v1/billing_portal/configurations", list_portal_configurations),
    ("POST", r"/v1/billing_portal/configurations/([^/]+)", update_portal_configuration),
]


# --- Accepted parameters, per operation (from Stripe's API reference) ---------------------------------------
# A name maps to ANY (a scalar, or Stripe's free-form shape such as metadata), to a dict of the sub-parameters
# it accepts, or to [spec] for an array whose items follow spec. Stripe answers anything else with 400
# parameter_unknown "Received unknown parameter: <name>"; check_params does the same.
ANY = None
ADDRESS = {k: ANY for k in ("city", "country", "line1", "line2", "postal_code", "state")}
PAGING = {"limit": ANY, "starting_after": ANY, "ending_before": ANY, "expand": [ANY]}
CREATED = {"gt": ANY, "gte": ANY, "lt": ANY, "lte": ANY}
RECURRING = {"interval": ANY, "interval_count": ANY, "aggregate_usage": ANY, "meter": ANY, "trial_period_days": ANY,
             "usage_type": ANY}
PRODUCT_DATA = {"name": ANY, "active": ANY, "id": ANY, "metadata": ANY, "statement_descriptor": ANY, "tax_code": ANY,
                "unit_label": ANY}
PRICE_DATA = {"currency": ANY, "product": ANY, "product_data": PRODUCT_DATA, "recurring": {"interval": ANY,
              "interval_count": ANY}, "tax_behavior": ANY, "unit_amount": ANY, "unit_amount_decimal": ANY}
PORTAL_FEATURES = {
    "customer_update": {"enabled": ANY, "allowed_updates": [ANY]},
    "invoice_history": {"enabled": ANY},
    "payment_method_update": {"enabled": ANY, "payment_method_configuration": ANY},
    "subscription_cancel": {"enabled": ANY, "mode": ANY, "proration_behavior": ANY,
                            "cancellation_reason": {"enabled": ANY, "options": [ANY]}},
    "subscription_update": {"enabled": ANY, "default_allowed_updates": [ANY], "proration_behavior": ANY,
                            "products": [{"product": ANY, "prices": [ANY]}], "schedule_at_period_end": ANY},
}
PORTAL_PARAMS = {"business_profile": {"headline": ANY, "privacy_policy_url": ANY, "terms_of_service_url": ANY},
                 "default_return_url": ANY, "expand": [ANY], "features": PORTAL_FEATURES,
                 "login_page": {"enabled": ANY}, "metadata": ANY}
SUBSCRIPTION_ITEM = {"id": ANY, "price": ANY, "price_data": PRICE_DATA, "quantity": ANY, "metadata": ANY,
                     "deleted": ANY, "clear_usage": ANY, "discounts": ANY, "tax_rates": ANY,
                     "billing_thresholds": ANY}
PARAMS = {
    ("POST", r"/v1/customers"): {
        "address": ADDRESS, "balance": ANY, "cash_balance": ANY, "description": ANY, "email": ANY, "expand": [ANY],
        "invoice_prefix": ANY, "invoice_settings": ANY, "metadata": ANY, "name": ANY, "next_invoice_sequence": ANY,
        "payment_method": ANY, "phone": ANY, "preferred_locales": [ANY], "shipping": ANY, "source": ANY, "tax": ANY,
        "tax_exempt": ANY, "tax_id_data": ANY, "test_clock": ANY, "coupon": ANY, "promotion_code": ANY,
        "validate": ANY},
    ("GET", r"/v1/customers/([^/]+)"): {"expand": [ANY]},
    ("POST", r"/v1/checkout/sessions"): {
        "after_expiration": ANY, "allow_promotion_codes": ANY, "automatic_tax": ANY, "billing_address_collection": ANY,
        "cancel_url": ANY, "client_reference_id": ANY, "consent_collection": ANY, "currency": ANY,
        "custom_fields": ANY, "custom_text": ANY, "customer": ANY, "customer_creation": ANY, "customer_email": ANY,
        "customer_update": ANY, "discounts": ANY, "expand": [ANY], "expires_at": ANY, "invoice_creation": ANY,
        "line_items": [{"price": ANY, "price_data": PRICE_DATA, "quantity": ANY, "adjustable_quantity": ANY,
                        "dynamic_tax_rates": ANY, "tax_rates": ANY}],
        "locale": ANY, "metadata": ANY, "mode": ANY, "payment_intent_data": ANY, "payment_method_collection": ANY,
        "payment_method_configuration": ANY, "payment_method_options": ANY, "payment_method_types": [ANY],
        "phone_number_collection": ANY, "redirect_on_completion": ANY, "return_url": ANY, "saved_payment_method_options": ANY,
        "setup_intent_data": ANY, "shipping_address_collection": ANY, "shipping_options": ANY,
        "submit_type": ANY, "subscription_data": {
            "application_fee_percent": ANY, "billing_cycle_anchor": ANY, "default_tax_rates": ANY, "description": ANY,
            "invoice_settings": ANY, "metadata": ANY, "on_behalf_of": ANY, "proration_behavior": ANY,
            "transfer_data": ANY, "trial_end": ANY, "trial_period_days": ANY, "trial_settings": ANY},
        "success_url": ANY, "tax_id_collection": ANY, "ui_mode": ANY},
    ("POST", r"/v1/billing_portal/sessions"): {"customer": ANY, "configuration": ANY, "expand": [ANY], "flow_data": ANY,
                                              "locale": ANY, "on_behalf_of": ANY, "return_url": ANY},
    ("GET", r"/v1/payment_methods"): {**PAGING, "customer": ANY, "type": ANY},
    ("GET", r"/v1/subscriptions/([^/]+)"): {"expand": [ANY]},
    ("POST", r"/v1/subscriptions/([^/]+)"): {
        "add_invoice_items": ANY, "application_fee_percent": ANY, "automatic_tax": ANY, "billing_cycle_anchor": ANY,
        "billing_thresholds": ANY, "cancel_at": ANY, "cancel_at_period_end": ANY, "cancellation_details": ANY,
        "collection_method": ANY, "coupon": ANY, "days_until_due": ANY, "default_payment_method": ANY,
        "default_source": ANY, "default_tax_rates": ANY, "description": ANY, "discounts": ANY, "expand": [ANY],
        "invoice_settings": ANY, "items": [SUBSCRIPTION_ITEM], "metadata": ANY, "off_session": ANY,
        "on_behalf_of": ANY, "pause_collection": ANY, "payment_behavior": ANY, "payment_settings": ANY,
        "pending_invoice_item_interval": ANY, "promotion_code": ANY, "proration_behavior": ANY,
        "proration_date": ANY, "transfer_data": ANY, "trial_end": ANY, "trial_from_plan": ANY, "trial_settings": ANY},
    ("DELETE", r"/v1/subscriptions/([^/]+)"): {"cancellation_details": ANY, "expand": [ANY], "invoice_now": ANY,
                                              "prorate": ANY},
    ("GET", r"/v1/prices"): {**PAGING, "active": ANY, "created": CREATED, "currency": ANY, "lookup_keys": [ANY],
                             "product": ANY, "recurring": {"interval": ANY, "meter": ANY, "usage_type": ANY},
                             "type": ANY},
    ("POST", r"/v1/prices"): {
        "currency": ANY, "active": ANY, "billing_scheme": ANY, "currency_options": ANY, "custom_unit_amount": ANY,
        "expand": [ANY], "lookup_key": ANY, "metadata": ANY, "nickname": ANY, "product": ANY,
        "product_data": PRODUCT_DATA, "recurring": RECURRING, "tax_behavior": ANY, "tiers": ANY, "tiers_mode": ANY,
        "transfer_lookup_key": ANY, "transform_quantity": ANY, "unit_amount": ANY, "unit_amount_decimal": ANY},
    ("POST", r"/v1/prices/([^/]+)"): {"active": ANY, "currency_options": ANY, "expand": [ANY], "lookup_key": ANY,
                                     "metadata": ANY, "nickname": ANY, "tax_behavior": ANY,
                                     "transfer_lookup_key": ANY},
    ("GET", r"/v1/prices/([^/]+)"): {"expand": [ANY]},
    ("POST", r"/v1/products"): {
        "name": ANY, "active": ANY, "default_price_data": ANY, "description": ANY, "expand": [ANY], "id": ANY,
        "images": [ANY], "marketing_features": ANY, "metadata": ANY, "package_dimensions": ANY, "shippable": ANY,
        "statement_descriptor": ANY, "tax_code": ANY, "unit_label": ANY, "url": ANY},
    ("GET", r"/v1/products"): {**PAGING, "active": ANY, "created": CREATED, "ids": [ANY], "shippable": ANY, "url": ANY},
    ("GET", r"/v1/products/([^/]+)"): {"expand": [ANY]},
    ("GET", r"/v1/balance"): {"expand": [ANY]},
    ("POST", r"/v1/webhook_endpoints"): {"enabled_events": [ANY], "url": ANY, "api_version": ANY, "connect": ANY,
                                         "description": ANY, "expand": [ANY], "metadata": ANY},
    ("GET", r"/v1/webhook_endpoints"): dict(PAGING),
    ("GET", r"/v1/webhook_endpoints/([^/]+)"): {"expand": [ANY]},
    ("DELETE", r"/v1/webhook_endpoints/([^/]+)"): {},
    ("POST", r"/v1/webhook_endpoints/([^/]+)"): {"description": ANY, "disabled": ANY, "enabled_events": [ANY],
                                                "expand": [ANY], "metadata": ANY, "url": ANY},
    ("POST", r"/v1/billing_portal/configurations"): PORTAL_PARAMS,
    ("GET", r"/v1/billing_portal/configurations"): {**PAGING, "active": ANY, "is_default": ANY},
    ("POST", r"/v1/billing_portal/configurations/([^/]+)"): {**PORTAL_PARAMS, "active": ANY},
}

def check_params(params, spec, prefix=""):
    """Raises Stripe's parameter_unknown error for the first parameter spec does not accept."""
    if spec is ANY:
        return
    if isinstance(spec, list):
        for i, item in enumerate(params if isinstance(params, list) else [params]):
            check_params(item, spec[0], f"{prefix}[{i}]")
        return
    if not isinstance(params, dict):
        if params == "" and prefix:
            return  # "" unsets an object
        raise invalid(f"Invalid object", prefix)
    for name, value in params.items():
        path = f"{prefix}[{name}]" if prefix else name
        if name not in spec:
            raise StripeError(400, f"Received unknown parameter: {path}", code="parameter_unknown", param=path)
        check_params(value, spec[name], path)

def checked(method, pattern, handler):
    spec = PARAMS.get((method, pattern))
    if spec is None:
        return handler
    def run(params, *groups, **extra):
        check_params(params, spec)
        return handler(params, *groups, **extra)
    run.handler = handler  # the dispatcher recognises the operation behind the check
    return run

ROUTES = [(method, pattern, checked(method, pattern, handler)) for method, pattern, handler in ROUTES]

def seed(spec):
    out = {}
    for kind, make in (("products", STORE.product), ("prices", STORE.price), ("customers", None),
                       ("payment_methods", STORE.payment_method), ("subscriptions", STORE.subscription)):
        for fields in spec.get(kind, []):
            fields = dict(fields)
            if kind == "customers":
                pms = fields.pop("payment_methods", [])
                obj = STORE.customer(**fields)
                for pm in pms:
                    pm = dict(pm)
                    default = pm.pop("default", False)
                    made = STORE.payment_method(customer=obj["id"], **pm)
                    if default:
                        obj["invoice_settings"]["default_payment_method"] = made["id"]
            else:
                obj = make(**fields)
            out.setdefault(kind, []).append(obj)
    return out

# --- hosted pages: Checkout and invoices, and the webhooks a payment sends ---------------------------------
WEBHOOK = {"url": None, "secret": None, "checkout_base": "https://checkout.stripe.com"}
PAGE_STYLE = ("body{font-family:system-ui,sans-serif;margin:0;background:#f6f9fc;color:#1a1f36}"
              "main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;"
              "box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem}.amount{font-size:2rem;font-weight:700}"
              "button{background:#635bff;color:#fff;border:0;border-radius:8px;padding:.8rem 1.4rem;font-size:1rem;"
              "font-weight:600;cursor:pointer;width:100%}button:focus-visible,a:focus-visible{outline:3px solid #c2410c;"
              "outline-offset:2px}a{color:#4b45c6}p.test{background:#fff4e5;padding:.5rem;border-radius:6px}")

def page(title, body):
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            f"content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title><style>{PAGE_STYLE}"
            f"</style></head><body><main>{body}</main></body></html>").encode()

def amount_text(cents, currency):
    return f"{cents / 100:,.2f} {currency.upper()}"

def checkout_page(session):
    extras = STORE.checkout_extras.get(session["id"], {})
    price = STORE.get("price", extras["prices"][0]) if extras.get("prices") else None
    what = html.escape((STORE.objects["product"].get(price["product"]) or {}).get("name") or "Subscription") if price else ""
    every = f" per {price['recurring']['interval']}" if price and price.get("recurring") else ""
    cancel = (f'<p><a href="{html.escape(session["cancel_url"])}">Cancel and go back</a></p>'
              if session.get("cancel_url") else "")
    return page("Checkout", f"""<h1>Pay Ops Center</h1><p class="test">Test mode: the Stripe stand-in.</p>
<p>{what}</p><p class="amount">{amount_text(price["unit_amount"], price["currency"]) if price else ""}{every}</p>
<form method="post" action="/c/pay/{session["id"]}"><p><label for="email">E-mail</label><br>
<input id="email" name="email" type="email" value="{html.escape(str((STORE.objects["customer"].get(session["customer"]) or {}).get("email") or ""))}"></p>
<p><label for="card">Card number</label><br><input id="card" name="card" inputmode="numeric" value="4242 4242 4242 4242"></p>
<button type="submit">Pay</button></form>{cancel}""")

def event(type_, obj):
    return {"id": new_id("evt"), "object": "event", "api_version": API_VERSION, "created": now(),
            "data": {"object": copy.deepcopy(obj)}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": new_id("req"), "idempotency_key": None}, "type": type_}

def pay(session):
    """What Stripe does when the customer pays an open subscription Checkout Session."""
    extras = STORE.checkout_extras.get(session["id"], {})
    customer = STORE.get("customer", session["customer"]) if session.get("customer") else STORE.customer()
    card = STORE.payment_method(customer=customer["id"])
    customer["invoice_settings"]["default_payment_method"] = card["id"]
    price = STORE.get("price", extras["prices"][0])
    start = now() - STORE.backdate_s
    length = {"day": 1, "week": 7, "month": 30, "year": 365}[price["recurring"]["interval"]] * 86400
    sub = STORE.subscription(items=[{"price": price["id"]}], customer=customer["id"], status="active",
                             current_period_start=start, current_period_end=start + length,
                             default_payment_method=card["id"], metadata=dict(extras.get("subscription_metadata", {})))
    invoice = make_invoice(sub, price, "subscription_create")
    sub["latest_invoice"] = invoice["id"]
    session.update(status="complete", payment_status="paid", customer=customer["id"], subscription=sub["id"])
    return [event("checkout.session.completed", session), event("customer.subscription.created", sub),
            event("invoice.paid", invoice)]

def make_invoice(sub, price, reason, amount=None):
    amount = price["unit_amount"] if amount is None else amount
    inv_id = new_id("in")
    line = {"id": new_id("il"), "object": "line_item", "amount": amount, "currency": price["currency"],
            "description": f"1 × {price.get('nickname') or price['id']}", "livemode": False, "metadata": {},
            "period": {"start": sub["current_period_start"], "end": sub["current_period_end"]}, "quantity": 1,
            "type": "subscription", "subscription": sub["id"], "price": copy.deepcopy(price), "proration": False}
    number = f"STANDIN-{len(STORE.objects['invoice']) + 1:04d}"
    return STORE.put({
        "id": inv_id, "object": "invoice", "account_country": "US", "amount_due": amount, "amount_paid": amount,
        "amount_remaining": 0, "attempt_count": 1, "attempted": True, "billing_reason": reason,
        "collection_method": "charge_automatically", "created": now(), "currency": price["currency"],
        "customer": sub["customer"], "hosted_invoice_url": f"{WEBHOOK.get('base') or ''}/i/{inv_id}",
        "invoice_pdf": f"{WEBHOOK.get('base') or ''}/i/{inv_id}/pdf", "livemode": False, "number": number,
        "paid": True, "period_start": sub["current_period_start"], "period_end": sub["current_period_start"],
        "status": "paid", "status_transitions": {"finalized_at": now(), "paid_at": now()},
        "subscription": sub["id"], "subscription_details": {"metadata": dict(sub["metadata"])},
        "subtotal": amount, "total": amount,
        "lines": {"object": "list", "data": [line], "has_more": False, "total_count": 1,
                  "url": f"/v1/invoices/{inv_id}/lines"}})

def sign(body, secret):
    stamp = str(now())
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"

def deliver(evt):
    """POSTs one event as Stripe does; retries a few times on failure (Stripe retries for days)."""
    body = json.dumps(evt).encode()
    status = None
    for attempt in range(5):
        request = urllib.request.Request(WEBHOOK["url"], data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(body, WEBHOOK["secret"])})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        if status is not None and 200 <= status < 300:
            break
        time.sleep(0.2 * (attempt + 1))
    with LOCK:
        STORE.webhooks_sent.append({"id": evt["id"], "type": evt["type"], "status": status})

def deliver_all(events):
    for evt in events:
        deliver(evt)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-standin/1"
    secret_key = "sk_test_standin"

    def log_message(self, fmt, *args):
        pass  # quiet: tests read /__control/requests instead

    def date_time_string(self, timestamp=None):
        return super().date_time_string(time.time() + CLOCK["offset_s"] if timestamp is None else timestamp)

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(7))
            for name, value in (headers or {}).items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)

    def do_GET(self):
        self.handle_any()

    do_POST = do_DELETE = do_GET

    def handle_any(self):
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path.startswith("/__control/"):
            return self.control(url.path, raw)
        if url.path.startswith(("/c/pay/", "/i/")):
            return self.hosted(url.path, raw)
        text = raw.decode("utf-8", "replace") if self.command == "POST" else url.query
        idem = self.headers.get("Idempotency-Key")
        entry = {"method": self.command, "path": url.path, "query": url.query, "body": raw.decode("utf-8", "replace"),
                 "headers": {k.lower(): v for k, v in self.headers.items()}, "idempotency_key": idem, "form": None}
        with LOCK:
            STORE.requests.append(entry)
        try:
            self.authenticate()
            entry["form"] = params = parse_form(text)
            failure = self.take_failure(url.path)
            if failure:
                time.sleep(failure.get("delay_ms", 0) / 1000)
                if failure.get("status"):
                    status = failure["status"]
                    error = {**DEFAULT_ERRORS.get(status, {"type": "api_error", "message": "An unknown error occurred."}),
                             **failure.get("error", {})}
                    entry["status"] = status
                    return self.send_json(status, {"error": error}, failure.get("headers"))
            with LOCK:
                status, obj, replayed = self.dispatch(url.path, params, raw, idem)
        except StripeError as e:
            status, obj, replayed = e.status, {"error": e.error}, False
        except Exception as e:  # a bug here, or input shaped unlike Stripe's: answer like Stripe's 500
            status, obj, replayed = 500, {"error": {"type": "api_error", "message": f"stand-in: {e!r}"}}, False
        entry["status"] = status
        self.send_json(status, obj, {"Idempotent-Replayed": "true"} if replayed else None)

    def authenticate(self):
        auth = self.headers.get("Authorization", "")
        if not auth:
            raise StripeError(401, "You did not provide an API key. Provide it in the Authorization header (Bearer auth).")
        if auth.startswith("Basic "):  # curl -u sk_test_...:
            auth = "Bearer " + base64.b64decode(auth[6:]).decode(errors="replace").split(":")[0]
        if auth != f"Bearer {self.secret_key}":
            key = auth[7:] if auth.startswith("Bearer ") else ""
            raise StripeError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}")

    def take_failure(self, path):
        with LOCK:
            for f in STORE.failures:
                if f["count"] > 0 and path.startswith(f.get("path_prefix", "")) and f.get("method", self.command) == self.command:
                    f["count"] -= 1
                    return f
        return None

    def dispatch(self, path, params, raw, idem):
        slot = idem if idem and self.command == "POST" else None
        if slot in STORE.idempotency:
            first_path, first_raw, status, obj = STORE.idempotency[slot]
            if first_path != path:
                raise StripeError(400, "Keys for idempotent requests can only be used for the same endpoint they were "
                                  f"first used for ('POST {first_path}'). Try using a key other than '{idem}' if you "
                                  "meant to execute a different request.", type_="idempotency_error")
            if first_raw != raw:
                raise StripeError(400, "Keys for idempotent requests can only be used with the same parameters they "
                                  f"were first used with. Try using a key other than '{idem}' if you meant to execute "
                                  "a different request.", type_="idempotency_error")
            return status, copy.deepcopy(obj), True
        for method, pattern, handler in ROUTES:
            m = re.fullmatch(pattern, path)
            if m and method == self.command:
                try:
                    operation = getattr(handler, "handler", handler)
                    extra = {"base_url": self.checkout_base()} if operation is create_checkout_session else {}
                    status, obj = 200, copy.deepcopy(handler(params, *m.groups(), **extra))
                except StripeError as e:
                    status, obj = e.status, {"error": e.error}
                break
        else:
            raise StripeError(404, f"Unrecognized request URL ({self.command}: {path}).")
        if slot:
            STORE.idempotency[slot] = (path, raw, status, copy.deepcopy(obj))
        return status, obj, False

    def checkout_base(self):
        """Where Checkout Session URLs point: Stripe's own host (unreachable from tests), or with
        --checkout-base self this stand-in, whose /c/pay/ page a browser can use."""
        return f"http://{self.headers.get('Host')}" if WEBHOOK["checkout_base"] == "self" else WEBHOOK["checkout_base"]

    def send_page(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def hosted(self, path, raw):
        """Checkout and hosted-invoice pages, as a browser sees them."""
        with LOCK:
            WEBHOOK["base"] = f"http://{self.headers.get('Host')}"
            m = re.fullmatch(r"/c/pay/([^/]+)", path)
            session = STORE.objects["checkout.session"].get(m.group(1)) if m else None
            if m and session is None:
                return self.send_page(404, page("Not found", "<h1>This checkout link is not valid.</h1>"))
            if m and self.command == "GET":
                if session["status"] != "open":
                    return self.send_page(200, page("Checkout", "<h1>This checkout is already complete.</h1>"))
                return self.send_page(200, checkout_page(session))
            if m and self.command == "POST":
                if session["status"] != "open":
                    return self.send_page(409, page("Checkout", "<h1>This checkout is already complete.</h1>"))
                events = pay(session)
                if STORE.webhooks_held:
                    STORE.webhook_queue += events
                    events = []
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
            inv = re.fullmatch(r"/i/([^/]+)(/pdf)?", path)
            if inv and self.command == "GET":
                invoice = STORE.objects["invoice"].get(inv.group(1))
                if invoice is None:
                    return self.send_page(404, page("Not found", "<h1>No such invoice.</h1>"))
                return self.send_page(200, page(f"Invoice {invoice['number']}",
                                                f"<h1>Invoice {html.escape(invoice['number'])}</h1><p class=\"amount\">"
                                                f"{amount_text(invoice['total'], invoice['currency'])}</p>"
                                                f"<p>Status: {html.escape(invoice['status'])}</p>"))
            if not (m and self.command == "POST"):
                return self.send_page(404, page("Not found", "<h1>Not found</h1>"))
        # Outside the lock: the gateway's answer may need this stand-in (it does not, but never hold the lock on I/O).
        if events and WEBHOOK["url"]:
            deliver_all(events)
        self.send_page(303, b"", {"Location": target})

    def control(self, path, raw):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.send_json(400, {"error": "body is not JSON"})
        route = (self.command, path)
        with LOCK:
            if route == ("GET", "/__control/requests"):
                return self.send_json(200, STORE.requests)
            if route == ("GET", "/__control/state"):
                return self.send_json(200, STORE.objects)
            if route == ("POST", "/__control/reset"):
                STORE.reset()
                return self.send_json(200, {"ok": True})
            if route == ("POST", "/__control/fail"):
                STORE.failures += [{**f, "count": int(f.get("count", 1))} for f in (body if isinstance(body, list) else [body])]
                return self.send_json(200, {"ok": True, "failures": STORE.failures})
            if route == ("POST", "/__control/clock"):
                CLOCK["offset_s"] = int(body.get("offset_s", 0))
                return self.send_json(200, {"ok": True, "offset_s": CLOCK["offset_s"]})
            if route == ("POST", "/__control/webhooks"):
                STORE.webhooks_held = bool(body.get("hold"))
                released = []
                if not STORE.webhooks_held:
                    released, STORE.webhook_queue = STORE.webhook_queue, []
                    threading.Thread(target=deliver_all, args=(released,), daemon=True).start()
                return self.send_json(200, {"ok": True, "held": STORE.webhooks_held, "released": len(released)})
            if route == ("POST", "/__control/checkout"):
                STORE.backdate_s = int(body.get("backdate_days", 0)) * 86400
                return self.send_json(200, {"ok": True, "backdate_s": STORE.backdate_s})
            if route == ("GET", "/__control/webhooks"):
                return self.send_json(200, STORE.webhooks_sent)
            if route == ("POST", "/__control/seed"):
                try:
                    return self.send_json(200, seed(body))
                except (StripeError, TypeError, AttributeError, KeyError) as e:
                    return self.send_json(400, {"error": str(e)})
        self.send_json(404, {"error": f"no control endpoint {self.command} {path}"})

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--secret-key", default=Handler.secret_key)
    ap.add_argument("--webhook-url", help="where a Checkout payment's webhooks go (the gateway's Stripe webhook URL)")
    ap.add_argument("--webhook-secret", help="the whsec_ secret they are signed with")
    ap.add_argument("--checkout-base", default="https://checkout.stripe.com",
                    help="base of Checkout Session URLs; 'self' for this stand-in's own /c/pay/ page")
    args = ap.parse_args()
    Handler.secret_key = args.secret_key
    WEBHOOK.update(url=args.webhook_url, secret=args.webhook_secret, checkout_base=args.checkout_base)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass

if __name__ == "__main__":
    sys.exit(main())
