"""Helpers for the usage and Lago integration tests (test_usage.py, test_lago.py);
polling, queries and tokens are support.py's.

A usage stack is the gateway, the subscription-worker (it loads the plan
catalogue) and the lago-worker. Users get subscriptions by direct SQL, as the
subscription-worker would write them; the lago-worker reads the entitlement
from Postgres on a Redis miss, so deleting ob:ent:{user} is enough.
"""
import json
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from support import JWT_SECRET, SERVICE, query, wait_for


def start_usage_stack(stack, lago=False, **lago_env):
    """Starts gateway + subscription-worker + lago-worker; returns the Lago stand-in URL (or None)."""
    url = stack.standin("lago") if lago else None
    stack.env["AUTH_JWT_SECRET"] = JWT_SECRET
    stack.start("gateway")
    stack.start("subscription-worker")
    stack.start("lago-worker", **lago_env)
    # Not stack.wait_ready(): /ready wants every worker, and these tests run only these.
    wait_for(lambda: _served(stack), timeout=10, message="the gateway and the lago-worker")
    db = stack.db()
    wait_for(lambda: query(db, "SELECT count(*) FROM plans")[0][0] >= 4, timeout=10, message="the plan catalogue")
    # The lago service is served once the worker said READY to the broker.
    return url


def _served(stack):
    try:
        return stack.http("GET", "/api/v1/usage/nobody", headers=SERVICE, timeout=1.0)[0] == 200
    except OSError:
        return False


def subscribe(stack, user, plan, status="active", sub_id=None, started_at=None, period_start=None, period_end=None,
              notify=False):
    """Gives user a subscription (customers + subscriptions rows) and drops the
    Redis copy of their entitlement. Returns the subscription id."""
    now = datetime.now(timezone.utc)
    sub_id = sub_id or f"sub_{uuid.uuid4().hex[:16]}"
    started_at = started_at or now - timedelta(days=3)
    period_start = period_start or now - timedelta(days=3)
    period_end = period_end or period_start + timedelta(days=30)
    db = stack.db()
    query(db, "INSERT INTO customers (user_id, email) VALUES (%s, %s) ON CONFLICT (user_id) DO NOTHING",
          (user, f"{user}@example.test"))
    query(db, "INSERT INTO subscriptions (id, user_id, plan_id, interval, status, started_at, current_period_start,"
              " current_period_end, trial_end) VALUES (%s, %s, %s, 'month', %s, %s, %s, %s, %s)",
          (sub_id, user, plan, status, started_at, period_start, period_end,
           started_at + timedelta(days=7) if plan == "trial" else None))
    stack.redis().delete(f"ob:ent:{user}")
    if notify:
        query(db, "SELECT pg_notify('subscription_changed', %s)", (user,))
    return sub_id


def ledger(stack, user, count, code="api_calls", at=None, prefix="seed"):
    """Writes count committed ledger rows for user directly (usage from before the test)."""
    at = at or datetime.now(timezone.utc) - timedelta(hours=1)
    query(stack.db(), "INSERT INTO usage_events (transaction_id, user_id, code, quantity, occurred_at)"
                      " SELECT %s || '-' || g, %s, %s, 1, %s FROM generate_series(1, %s) g",
          (f"{prefix}-{user}", user, code, at, count))


def authorize(stack, user, tx=None, quantity=None, code="api_calls"):
    body = {"user_id": user, "code": code, "transaction_id": tx or uuid.uuid4().hex}
    if quantity is not None:
        body["quantity"] = quantity
    return stack.http("POST", "/api/v1/usage/authorize", json=body, headers=SERVICE)


def ingest(stack, events):
    return stack.http("POST", "/api/v1/usage/events", json={"events": events}, headers=SERVICE)


def event(user, tx=None, code="api_calls", quantity=None, timestamp=None):
    e = {"transaction_id": tx or uuid.uuid4().hex, "user_id": user, "code": code,
         "timestamp": timestamp if timestamp is not None else int(time.time())}
    if quantity is not None:
        e["properties"] = {"quantity": quantity}
    return e


def lago_control(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def lago_state(url):
    return lago_control(url, "GET", "/__control/state")
