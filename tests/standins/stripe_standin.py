#!/usr/bin/python3
"""stripe_standin - a local stand-in for the parts of Stripe's API we call.

Speaks Stripe's wire format: form-encoded requests with bracketed keys
(`metadata[user_id]=1`, `items[0][price]=price_x`, `lookup_keys[]=a`), JSON
responses with a `Request-Id` header, errors as
{"error": {"type", "code", "message", "param", "decline_code"}}, bearer (or
basic) authentication with one secret key, and idempotent POSTs: the same
Idempotency-Key on the same path replays the first response (with
`Idempotent-Replayed: true`); reused with other parameters it is a 400
idempotency_error.

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
         "invoice")
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

def now():
    return int(time.time())

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

def update_subscription(p, sub_id):
    sub = STORE.get("subscription", sub_id, "id", 404)
    if sub["status"] == "canceled" and set(p) - {"metadata", "cancellation_details", "expand"}:
        raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
    behavior = p.get("proration_behavior", "create_prorations")
    if behavior not in ("create_prorations", "none", "always_invoice"):
        raise invalid(f"Invalid proration_behavior: {behavior}", "proration_behavior")
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
        slot = (idem, path) if idem and self.command == "POST" else None
        if slot in STORE.idempotency:
            first_raw, status, obj = STORE.idempotency[slot]
            if first_raw != raw:
                raise StripeError(400, "Keys for idempotent requests can only be used with the same parameters they "
                                  f"were first used with. Try using a key other than '{idem}' if you meant to execute "
                                  "a different request.", type_="idempotency_error")
            return status, copy.deepcopy(obj), True
        for method, pattern, handler in ROUTES:
            m = re.fullmatch(pattern, path)
            if m and method == self.command:
                try:
                    extra = {"base_url": self.checkout_base()} if handler is create_checkout_session else {}
                    status, obj = 200, copy.deepcopy(handler(params, *m.groups(), **extra))
                except StripeError as e:
                    status, obj = e.status, {"error": e.error}
                break
        else:
            raise StripeError(404, f"Unrecognized request URL ({self.command}: {path}).")
        if slot:
            STORE.idempotency[slot] = (raw, status, obj)
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
