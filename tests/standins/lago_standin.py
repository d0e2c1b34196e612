#!/usr/bin/python3
"""A local stand-in for Lago's API, for tests (stdlib only, plus python3-jwt for RS256 webhooks).

    /usr/bin/python3 tests/standins/lago_standin.py --port N [--api-key KEY] [--issuer URL]

Prints "ready" once listening. Speaks Lago's wire format: resources wrapped in a root key,
errors as {"status":422,"error":"Unprocessable Entity","code":"validation_errors",
"error_details":{"field":["value_already_exist"]}} or {"status":404,"error":"Not Found",
"code":"plan_not_found"}. Without --api-key any non-empty Bearer token is accepted.

API:  POST /api/v1/events/batch, GET /api/v1/events (page, per_page, external_subscription_id, code,
      timestamp_from, timestamp_to), GET /api/v1/events/:transaction_id, POST /api/v1/customers, POST|GET /api/v1/subscriptions,
      GET|DELETE /api/v1/subscriptions/:external_id, POST /api/v1/billable_metrics,
      GET /api/v1/billable_metrics/:code, POST /api/v1/plans, GET|PUT /api/v1/plans/:code,
      GET|POST /api/v1/webhook_endpoints, PUT /api/v1/webhook_endpoints/:lago_id,
      GET /api/v1/webhooks/json_public_key (the stand-in's own RSA key; send_webhook signs with it
      when no private_key_pem is given). Unknown body fields: 422 validation_errors (see PARAMS).
Control (no auth, not recorded):
  GET  /__control/requests   every API call: method, path, json, status, authorized
  GET  /__control/state      customers, subscriptions, events, metrics, plans, counters
  POST /__control/reset      forget everything (state, requests, failures, down)
  POST /__control/fail       {"path_prefix":"/api/v1/events","status":500,"count":N,"method":"POST"?}
                             the next N matching calls answer that status with Lago's error JSON
  POST /__control/lose_events {"transaction_ids":[...]}: Lago forgets those stored events
  POST /__control/down       {"down":true,"mode":"close"|"503"}: every API call has its connection
                             closed without an answer (default) or gets a 503, until down is false
  POST /__control/send_webhook  {"url","algorithm":"hmac"|"jwt","hmac_key","private_key_pem",
                             "payload":{...},"unique_key"?,"issuer"?,"signature"?}
                             POSTs the payload like Lago, answers {"status","body","headers"}
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BATCH_MAX = 100
AGGREGATIONS = {"count_agg", "sum_agg", "max_agg", "unique_count_agg", "latest_agg", "weighted_sum_agg", "custom_agg"}
INTERVALS = {"weekly", "monthly", "quarterly", "semiannual", "yearly"}
CHARGE_MODELS = {"standard", "graduated", "package", "percentage", "volume", "graduated_percentage", "dynamic"}
REASONS = {400: "BadRequest", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class LagoError(Exception):
    def __init__(self, status, code=None, details=None, error=None):
        super().__init__(status)
        self.body = {"status": status, "error": error or REASONS.get(status, "Error")}
        if code:
            self.body["code"] = code
        if details is not None:
            self.body["error_details"] = details


def invalid(details):
    return LagoError(422, "validation_errors", details)


def not_found(resource):
    return LagoError(404, f"{resource}_not_found")


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def to_iso(timestamp):
    return datetime.fromtimestamp(float(timestamp), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Lago:
    """The in-memory state; every method runs under self.lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.customers, self.subscriptions, self.events = {}, {}, {}
        self.metrics, self.plans = {}, {}
        self.webhook_endpoints = {}
        self.events_received = 0
        self.requests, self.failures = [], []
        self.down, self.down_mode = False, "close"

    def state(self):
        return {"customers": self.customers, "subscriptions": self.subscriptions, "events": self.events,
                "events_stored": len(self.events), "events_received": self.events_received,
                "billable_metrics": self.metrics, "plans": self.plans, "webhook_endpoints": self.webhook_endpoints,
                "webhook_public_key": public_key_b64()}

    # --- events -------------------------------------------------------------------------------
    def events_batch(self, body):
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise invalid({"events": ["no_events"]})
        if len(events) > BATCH_MAX:
            raise invalid({"events": ["too_many_events"]})
        errors = {}
        for index, event in enumerate(events):
            problems = {}
            if not isinstance(event, dict):
                errors[str(index)] = {"event": ["invalid_format"]}
                continue
            for field in ("transaction_id", "code", "external_subscription_id"):
                if not isinstance(event.get(field), str) or not event[field]:
                    problems[field] = ["value_is_mandatory"]
            try:
                float(event.get("timestamp", 0))
            except (TypeError, ValueError):
                problems["timestamp"] = ["invalid_format"]
            if "properties" in event and not isinstance(event["properties"], dict):
                problems["properties"] = ["invalid_format"]
            if problems:
                errors[str(index)] = problems
        if errors:
            raise invalid(errors)
        out = []
        for event in events:
            # Lago's idempotency: a transaction_id already seen is accepted but stored once.
            self.events_received += 1
            stored = self.events.get(event["transaction_id"])
            if stored:
                stored["receive_count"] += 1
            else:
                sub = self.subscriptions.get(event["external_subscription_id"]) or {}
                customer = self.customers.get(sub.get("external_customer_id")) or {}
                stored = self.events[event["transaction_id"]] = {  # Lago's event object
                    "event": {"lago_id": str(uuid.uuid4()), "transaction_id": event["transaction_id"],
                              "lago_customer_id": customer.get("lago_id"), "code": event["code"],
                              "timestamp": to_iso(event.get("timestamp", time.time())),
                              "precise_total_amount_cents": event.get("precise_total_amount_cents"),
                              "properties": event.get("properties", {}), "lago_subscription_id": sub.get("lago_id"),
                              "external_subscription_id": event["external_subscription_id"], "created_at": now_iso()},
                    "receive_count": 1}
            out.append(stored["event"])
        return {"events": out}

    def list_events(self, query):
        """GET /api/v1/events: Lago's paginated list of the events it stored, newest first (page,
        per_page up to 100, external_subscription_id, code, timestamp_from / timestamp_to: ISO 8601,
        both bounds inclusive); meta as every Lago list."""
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", ["20"])[0])
        except ValueError:
            raise invalid({"page": ["value_is_invalid"]})
        if page < 1 or not 1 <= per_page <= 100:
            raise invalid({"per_page": ["value_is_invalid"]})
        bounds = {}
        for name in ("timestamp_from", "timestamp_to"):
            if name in query:
                try:
                    bounds[name] = from_iso(query[name][0])
                except ValueError:
                    raise invalid({name: ["invalid_date"]})
        subscription = query.get("external_subscription_id", [None])[0]
        code = query.get("code", [None])[0]
        events = [e["event"] for e in self.events.values()
                  if subscription in (None, e["event"]["external_subscription_id"]) and code in (None, e["event"]["code"])
                  and bounds.get("timestamp_from", float("-inf")) <= from_iso(e["event"]["timestamp"])
                  <= bounds.get("timestamp_to", float("inf"))]
        events.sort(key=lambda e: (e["timestamp"], e["transaction_id"]), reverse=True)
        total_pages = max(1, -(-len(events) // per_page))
        return {"events": events[(page - 1) * per_page:page * per_page],
                "meta": {"current_page": page, "next_page": page + 1 if page < total_pages else None,
                         "prev_page": page - 1 if page > 1 else None, "total_pages": total_pages,
                         "total_count": len(events)}}

    def get_event(self, transaction_id):
        stored = self.events.get(transaction_id)
        if not stored:
            raise not_found("event")
        return {"event": stored["event"]}

    # --- customers and subscriptions ----------------------------------------------------------
    def upsert_customer(self, body):
        params = require(body, "customer")
        if not params.get("external_id"):
            raise invalid({"external_id": ["value_is_mandatory"]})
        customer = self.customers.setdefault(params["external_id"], {
            "lago_id": str(uuid.uuid4()), "external_id": params["external_id"], "name": None, "email": None,
            "currency": None, "created_at": now_iso()})
        for field in ("name", "email", "currency"):
            if field in params:
                customer[field] = params[field]
        return {"customer": customer}

    def create_subscription(self, body):
        params = require(body, "subscription")
        for field in ("external_customer_id", "external_id"):
            if not params.get(field):
                raise invalid({field: ["value_is_mandatory"]})
        billing_time = params.get("billing_time", "calendar")
        if billing_time not in ("calendar", "anniversary"):
            raise invalid({"billing_time": ["value_is_invalid"]})
        plan = self.plans.get(params.get("plan_code"))
        if not plan:
            raise not_found("plan")
        self.upsert_customer({"customer": {"external_id": params["external_customer_id"]}})
        current = self.subscriptions.get(params["external_id"])
        if current and current["status"] == "active":
            if current["external_customer_id"] != params["external_customer_id"]:
                raise invalid({"external_id": ["value_already_exist"]})
            if current["plan_code"] != plan["code"]:
                # Lago upgrades at once and downgrades at the period end; here both apply at once,
                # and the history says which one it was.
                old = self.plans.get(current["plan_code"], {"amount_cents": 0})
                kind = "upgrade" if plan["amount_cents"] >= old["amount_cents"] else "downgrade"
                current["history"].append({"at": now_iso(), "kind": kind, "from": current["plan_code"],
                                           "to": plan["code"]})
                current.update(previous_plan_code=current["plan_code"], plan_code=plan["code"],
                               lago_id=str(uuid.uuid4()))
            return {"subscription": public(current)}
        history = current["history"] if current else []
        history.append({"at": now_iso(), "kind": "create", "from": None, "to": plan["code"]})
        sub = self.subscriptions[params["external_id"]] = {
            "lago_id": str(uuid.uuid4()), "external_id": params["external_id"],
            "external_customer_id": params["external_customer_id"], "plan_code": plan["code"],
            "name": params.get("name"), "status": "active", "billing_time": billing_time,
            "previous_plan_code": None, "next_plan_code": None, "created_at": now_iso(),
            "started_at": now_iso(), "terminated_at": None, "history": history}
        return {"subscription": public(sub)}

    def get_subscription(self, external_id):
        sub = self.subscriptions.get(external_id)
        if not sub:
            raise not_found("subscription")
        return {"subscription": public(sub)}

    def list_subscriptions(self, query):
        """GET /api/v1/subscriptions: Lago's paginated list (page, per_page, external_customer_id,
        status[]: active by default), oldest first."""
        try:
            page = int(query.get("page", ["1"])[0])
            per_page = int(query.get("per_page", ["20"])[0])
        except ValueError:
            raise invalid({"page": ["value_is_invalid"]})
        if page < 1 or not 1 <= per_page <= 100:
            raise invalid({"per_page": ["value_is_invalid"]})
        statuses = query.get("status[]", ["active"])
        customer = query.get("external_customer_id", [None])[0]
        subs = [public(s) for s in self.subscriptions.values()
                if s["status"] in statuses and customer in (None, s["external_customer_id"])]
        total_pages = max(1, -(-len(subs) // per_page))
        return {"subscriptions": subs[(page - 1) * per_page:page * per_page],
                "meta": {"current_page": page, "next_page": page + 1 if page < total_pages else None,
                         "prev_page": page - 1 if page > 1 else None, "total_pages": total_pages,
                         "total_count": len(subs)}}

    def terminate_subscription(self, external_id):
        sub = self.subscriptions.get(external_id)
        if not sub or sub["status"] != "active":
            raise not_found("subscription")
        sub.update(status="terminated", terminated_at=now_iso())
        sub["history"].append({"at": now_iso(), "kind": "terminate", "from": sub["plan_code"], "to": None})
        return {"subscription": public(sub)}

    # --- catalogue ----------------------------------------------------------------------------
    def create_metric(self, body):
        params = require(body, "billable_metric")
        errors = {f: ["value_is_mandatory"] for f in ("name", "code") if not params.get(f)}
        aggregation = params.get("aggregation_type")
        if aggregation not in AGGREGATIONS:
            errors["aggregation_type"] = ["value_is_invalid"]
        elif aggregation != "count_agg" and not params.get("field_name"):
            errors["field_name"] = ["value_is_mandatory"]
        if params.get("code") in self.metrics:
            errors["code"] = ["value_already_exist"]
        if errors:
            raise invalid(errors)
        metric = self.metrics[params["code"]] = {
            "lago_id": str(uuid.uuid4()), "name": params["name"], "code": params["code"],
            "description": params.get("description"), "aggregation_type": aggregation,
            "field_name": params.get("field_name"), "recurring": bool(params.get("recurring", False)),
            "filters": [], "created_at": now_iso()}
        return {"billable_metric": metric}

    def get_metric(self, code):
        if code not in self.metrics:
            raise not_found("billable_metric")
        return {"billable_metric": self.metrics[code]}

    def create_plan(self, body):
        params = require(body, "plan")
        errors = {f: ["value_is_mandatory"] for f in ("name", "code") if not params.get(f)}
        if params.get("interval") not in INTERVALS:
            errors["interval"] = ["value_is_invalid"]
        amount = params.get("amount_cents")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            errors["amount_cents"] = ["value_is_invalid"]
        if not re.fullmatch(r"[A-Z]{3}", str(params.get("amount_currency", ""))):
            errors["amount_currency"] = ["value_is_invalid"]
        if params.get("code") in self.plans:
            errors["code"] = ["value_already_exist"]
        charges = params.get("charges") or []
        if not isinstance(charges, list) or any(not isinstance(c, dict) for c in charges):
            errors["charges"] = ["invalid_format"]
        elif any(c.get("charge_model") not in CHARGE_MODELS for c in charges):
            errors["charge_model"] = ["value_is_invalid"]
        if errors:
            raise invalid(errors)
        by_id = {m["lago_id"]: m for m in self.metrics.values()}
        if any(c.get("billable_metric_id") not in by_id for c in charges):
            raise not_found("billable_metric")
        plan = self.plans[params["code"]] = {
            "lago_id": str(uuid.uuid4()), "name": params["name"], "code": params["code"],
            "interval": params["interval"], "amount_cents": amount, "amount_currency": params["amount_currency"],
            "pay_in_advance": bool(params.get("pay_in_advance", False)), "created_at": now_iso(),
            "charges": [{"lago_id": str(uuid.uuid4()), "lago_billable_metric_id": c["billable_metric_id"],
                         "billable_metric_code": by_id[c["billable_metric_id"]]["code"],
                         "charge_model": c["charge_model"], "pay_in_advance": bool(c.get("pay_in_advance", False)),
                         "properties": c.get("properties", {})} for c in charges]}
        return {"plan": plan}

    def get_plan(self, code):
        if code not in self.plans:
            raise not_found("plan")
        return {"plan": self.plans[code]}


def require(body, root):
    """Rails' params.require(root): a 400 when the root key is missing."""
    if not isinstance(body.get(root), dict) or not body[root]:
        raise LagoError(400, error=f"BadRequest: param is missing or the value is empty: {root}")
    return body[root]


def public(sub):
    return {k: v for k, v in sub.items() if k != "history"}


ROUTES = [  # method, path pattern, handler(lago, body, *groups)
    ("POST", r"/api/v1/events/batch", lambda lago, body: lago.events_batch(body)),
    ("GET", r"/api/v1/events", lambda lago, body: lago.list_events(lago.query)),
    ("GET", r"/api/v1/events/([^/]+)", lambda lago, body, i: lago.get_event(i)),
    ("POST", r"/api/v1/customers", lambda lago, body: lago.upsert_customer(body)),
    ("POST", r"/api/v1/subscriptions", lambda lago, body: lago.create_subscription(body)),
    ("GET", r"/api/v1/subscriptions", lambda lago, body: lago.list_subscriptions(lago.query)),
    ("GET", r"/api/v1/subscriptions/([^/]+)", lambda lago, body, i: lago.get_subscription(i)),
    ("DELETE", r"/api/v1/subscriptions/([^/]+)", lambda lago, body, i: lago.terminate_subscription(i)),
    ("POST", r"/api/v1/billable_metrics", lambda lago, body: lago.create_metric(body)),
    ("GET", r"/api/v1/billable_metrics/([^/]+)", lambda lago, body, code: lago.get_metric(code)),
    ("POST", r"/api/v1/plans", lambda lago, body: lago.create_plan(body)),
    ("GET", r"/api/v1/plans/([^/]+)", lambda lago, body, code: lago.get_plan(code)),
]


# --- Setup: plan updates, webhook endpoints, the JWT public key (billing-admin setup-lago) --------------------
_KEYPAIR = {}

def keypair():
    """The organisation's RSA key pair Lago signs JWT webhooks with (made once per stand-in)."""
    if not _KEYPAIR:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEYPAIR["private"] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode()
        _KEYPAIR["public"] = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return _KEYPAIR


def public_key_b64():
    return base64.b64encode(keypair()["public"].encode()).decode() if _KEYPAIR else None


def update_plan(lago, body, code):
    if code not in lago.plans:
        raise not_found("plan")
    params = require(body, "plan")
    old = lago.plans.pop(code)
    charges = [{"billable_metric_id": c["lago_billable_metric_id"], "charge_model": c["charge_model"],
                "pay_in_advance": c["pay_in_advance"], "properties": c["properties"]} for c in old["charges"]]
    try:
        made = lago.create_plan({"plan": {**{k: old[k] for k in ("name", "interval", "amount_cents", "amount_currency",
                                                                  "pay_in_advance")}, "charges": charges, **params,
                                          "code": code}})
    except LagoError:
        lago.plans[code] = old
        raise
    made["plan"].update(lago_id=old["lago_id"], created_at=old["created_at"])
    return made


def webhook_endpoint(params, lago_id=None, created_at=None):
    errors = {}
    url = params.get("webhook_url")
    if not isinstance(url, str) or not re.match(r"https?://", url):
        errors["webhook_url"] = ["url_is_invalid"]
    algo = params.get("signature_algo", "jwt")
    if algo not in ("jwt", "hmac"):
        errors["signature_algo"] = ["value_is_invalid"]
    if errors:
        raise invalid(errors)
    return {"lago_id": lago_id or str(uuid.uuid4()), "lago_organization_id": ORGANIZATION_ID, "webhook_url": url,
            "signature_algo": algo, "created_at": created_at or now_iso()}


ORGANIZATION_ID = str(uuid.uuid4())


def create_webhook_endpoint(lago, body):
    params = require(body, "webhook_endpoint")
    if any(e["webhook_url"] == params.get("webhook_url") for e in lago.webhook_endpoints.values()):
        raise invalid({"webhook_url": ["value_already_exist"]})
    endpoint = webhook_endpoint(params)
    lago.webhook_endpoints[endpoint["lago_id"]] = endpoint
    return {"webhook_endpoint": endpoint}


def update_webhook_endpoint(lago, body, lago_id):
    old = lago.webhook_endpoints.get(lago_id)
    if old is None:
        raise not_found("webhook_endpoint")
    endpoint = webhook_endpoint({**old, **require(body, "webhook_endpoint")}, lago_id, old["created_at"])
    lago.webhook_endpoints[lago_id] = endpoint
    return {"webhook_endpoint": endpoint}


def list_webhook_endpoints(lago, body):
    data = list(lago.webhook_endpoints.values())
    return {"webhook_endpoints": data, "meta": {"current_page": 1, "next_page": None, "prev_page": None,
                                                "total_pages": 1, "total_count": len(data)}}


ROUTES += [
    ("PUT", r"/api/v1/plans/([^/]+)", update_plan),
    ("POST", r"/api/v1/webhook_endpoints", create_webhook_endpoint),
    ("GET", r"/api/v1/webhook_endpoints", list_webhook_endpoints),
    ("PUT", r"/api/v1/webhook_endpoints/([^/]+)", update_webhook_endpoint),
    ("GET", r"/api/v1/webhooks/json_public_key", lambda lago, body: {"webhook": {"public_key": keypair() and public_key_b64()}}),
]


# --- Accepted parameters, per operation (from Lago's API reference) -----------------------------------------
# The body's root key maps to the fields Lago's endpoint documents; a dict spec nests, [spec] is an array of
# such items, ANY is a scalar or a free-form object. Real Lago (Rails strong parameters) drops what it does
# not permit; the stand-in refuses it in Lago's validation error shape so a drift fails a test:
# 422 {"status":422,"error":"Unprocessable Entity","code":"validation_errors","error_details":{"<field>":["unknown_parameter"]}}
ANY = None
CHARGE = {k: ANY for k in ("id", "billable_metric_id", "charge_model", "pay_in_advance", "invoiceable", "regroup_paid_fees",
                           "invoice_display_name", "min_amount_cents", "prorated", "properties", "filters", "tax_codes",
                           "applied_pricing_unit")}
PLAN = {"plan": {**{k: ANY for k in ("name", "invoice_display_name", "code", "interval", "description", "amount_cents",
                                     "amount_currency", "trial_period", "pay_in_advance", "bill_charges_monthly",
                                     "tax_codes", "minimum_commitment", "usage_thresholds", "cascade_updates",
                                     "metadata")}, "charges": [CHARGE]}}
PARAMS = {
    ("POST", r"/api/v1/events/batch"): {"events": [{k: ANY for k in (
        "transaction_id", "external_subscription_id", "external_customer_id", "code", "timestamp", "properties",
        "precise_total_amount_cents")}]},
    ("POST", r"/api/v1/customers"): {"customer": {k: ANY for k in (
        "external_id", "name", "firstname", "lastname", "customer_type", "account_type", "email", "address_line1",
        "address_line2", "city", "country", "state", "zipcode", "phone", "url", "legal_name", "legal_number",
        "logo_url", "tax_identification_number", "timezone", "currency", "net_payment_term",
        "external_salesforce_id", "billing_configuration", "shipping_address", "metadata", "integration_customers",
        "tax_codes", "finalize_zero_amount_invoice", "skip_invoice_custom_sections",
        "invoice_custom_section_codes")}},
    ("POST", r"/api/v1/subscriptions"): {"subscription": {k: ANY for k in (
        "external_customer_id", "plan_code", "name", "external_id", "billing_time", "ending_at", "subscription_at",
        "plan_overrides")}},
    ("DELETE", r"/api/v1/subscriptions/([^/]+)"): {},
    ("POST", r"/api/v1/billable_metrics"): {"billable_metric": {k: ANY for k in (
        "name", "code", "description", "aggregation_type", "field_name", "recurring", "expression",
        "weighted_interval", "filters", "rounding_function", "rounding_precision")}},
    ("POST", r"/api/v1/plans"): PLAN,
    ("PUT", r"/api/v1/plans/([^/]+)"): PLAN,
    ("POST", r"/api/v1/webhook_endpoints"): {"webhook_endpoint": {"webhook_url": ANY, "signature_algo": ANY}},
    ("PUT", r"/api/v1/webhook_endpoints/([^/]+)"): {"webhook_endpoint": {"webhook_url": ANY, "signature_algo": ANY}},
}


def check_params(params, spec, prefix=""):
    """Raises Lago's validation error for the first field spec does not accept."""
    if spec is ANY:
        return
    if isinstance(spec, list):
        for item in params if isinstance(params, list) else [params]:
            check_params(item, spec[0], prefix)
        return
    if not isinstance(params, dict):
        raise invalid({prefix or "body": ["invalid_format"]})
    for name, value in params.items():
        if name not in spec:
            raise invalid({name: ["unknown_parameter"]})
        check_params(value, spec[name], name)


def checked(method, pattern, handler):
    spec = PARAMS.get((method, pattern))
    if spec is None:
        return handler
    def run(lago, body, *groups):
        check_params(body, spec)
        return handler(lago, body, *groups)
    return run


ROUTES = [(method, pattern, checked(method, pattern, handler)) for method, pattern, handler in ROUTES]


def send_webhook(spec, default_issuer):
    """Signs and POSTs a webhook as Lago does: the raw body is the payload's JSON text."""
    raw = spec["raw_body"] if "raw_body" in spec else json.dumps(spec["payload"], separators=(",", ":"))
    algorithm = spec.get("algorithm", "hmac")
    if "signature" in spec:  # a forged or stale signature, for negative tests
        signature = spec["signature"]
    elif algorithm == "hmac":
        digest = hmac.new(spec["hmac_key"].encode(), raw.encode(), hashlib.sha256).digest()
        signature = base64.b64encode(digest).decode()
    else:
        import jwt  # python3-jwt, only needed for RS256
        signature = jwt.encode({"data": raw, "iss": spec.get("issuer", default_issuer)},
                               spec.get("private_key_pem") or keypair()["private"], algorithm="RS256")
    headers = {"Content-Type": "application/json", "X-Lago-Signature-Algorithm": algorithm,
               "X-Lago-Signature": signature, "X-Lago-Unique-Key": spec.get("unique_key") or str(uuid.uuid4())}
    request = urllib.request.Request(spec["url"], data=raw.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=spec.get("timeout", 10)) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        status, body = 0, str(e).encode()
    return {"status": status, "body": body.decode(errors="replace"), "headers": headers, "raw_body": raw}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ob_http reuses connections
    lago = None     # set in main()
    api_key = None
    issuer = None

    def log_message(self, fmt, *args):  # quiet: tests read /__control/requests instead
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as e:
            body = e
        if path.startswith("/__control/"):
            return self.control(method, path, body)
        lago = self.lago
        with lago.lock:
            lago.query = urllib.parse.parse_qs(query)
            record = {"method": method, "path": path, "json": None if isinstance(body, Exception) else body,
                      "status": 0, "authorized": False, "at": time.time()}
            lago.requests.append(record)
            status, reply = self.api(lago, method, path, body, record)
            record["status"] = status
        if status == 0:  # down: drop the connection without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.reply(status, reply)

    def api(self, lago, method, path, body, record):
        if lago.down:
            return (0, None) if lago.down_mode == "close" else (503, LagoError(503).body)
        token = self.headers.get("Authorization", "")
        record["authorized"] = token.startswith("Bearer ") and len(token) > 7 and (
            self.api_key is None or hmac.compare_digest(token[7:], self.api_key))
        if not record["authorized"]:
            return 401, {"status": 401, "error": "Unauthorized"}
        for rule in lago.failures:
            if rule["count"] > 0 and path.startswith(rule["path_prefix"]) and rule.get("method", method) == method:
                rule["count"] -= 1
                return rule["status"], rule.get("body") or LagoError(rule["status"]).body
        if isinstance(body, Exception):
            return 400, {"status": 400, "error": f"BadRequest: {body}"}
        if not isinstance(body, dict):
            return 400, {"status": 400, "error": "BadRequest: the body is not a JSON object"}
        for route_method, pattern, handler in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                try:
                    args = [urllib.parse.unquote(g) for g in match.groups()]
                    return 200, handler(lago, body, *args)
                except LagoError as e:
                    return e.body["status"], e.body
        return 404, {"status": 404, "error": "Not Found"}

    def control(self, method, path, body):
        lago = self.lago
        if isinstance(body, Exception) or not isinstance(body, dict):
            return self.reply(400, {"error": "the body must be a JSON object"})
        if (method, path) == ("POST", "/__control/send_webhook"):
            try:  # outside the lock: the target may call back into this stand-in
                return self.reply(200, send_webhook(body, self.issuer))
            except (KeyError, ValueError, TypeError) as e:
                return self.reply(400, {"error": f"bad webhook spec: {e!r}"})
        with lago.lock:
            if (method, path) == ("GET", "/__control/requests"):
                return self.reply(200, {"requests": lago.requests})
            if (method, path) == ("GET", "/__control/state"):
                return self.reply(200, lago.state())
            if (method, path) == ("POST", "/__control/reset"):
                lago.reset()
                return self.reply(200, {"ok": True})
            if (method, path) == ("POST", "/__control/fail"):
                rule = {"path_prefix": body.get("path_prefix", "/"), "status": int(body.get("status", 500)),
                        "count": int(body.get("count", 1)), "body": body.get("body")}
                if body.get("method"):
                    rule["method"] = body["method"]
                lago.failures.append(rule)
                return self.reply(200, {"ok": True, "rule": rule})
            if (method, path) == ("POST", "/__control/lose_events"):
                # Lago "loses" events it acknowledged (a restore from an old backup, a purge): what
                # reconcile's usage check must notice.
                lost = [t for t in body.get("transaction_ids", []) if lago.events.pop(t, None)]
                return self.reply(200, {"ok": True, "lost": lost})
            if (method, path) == ("POST", "/__control/down"):
                lago.down = bool(body.get("down", True))
                lago.down_mode = body.get("mode", "close")
                return self.reply(200, {"ok": True, "down": lago.down, "mode": lago.down_mode})
        return self.reply(404, {"error": "unknown control endpoint"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--issuer", default=None, help="iss of JWT webhooks (Lago uses its LAGO_API_URL)")
    args = parser.parse_args()
    Handler.lago, Handler.api_key = Lago(), args.api_key
    Handler.issuer = args.issuer or f"http://{args.host}:{args.port}"
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
