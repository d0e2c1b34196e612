"""Operators' views (issue 13): the Lago forwarding failures (list, retry one, retry all) and a
user's whole billing picture (GET /api/v1/admin/users/{id})."""
import json
import time

from stripe_events import admin_headers, post_event, stripe_id
from stripe_events import event as stripe_event
from support import query, wait_for
from usage_support import authorize, event, ingest, lago_state, start_usage_stack, subscribe

FAST = {"LAGO_FORWARD_MAX_BACKOFF_S": "1", "LAGO_SYNC_INTERVAL_MS": "200"}
FORWARDING = "/api/v1/admin/usage-forwarding"


def row(stack, tx):
    rows = query(stack.db(), "SELECT forwarded_at IS NOT NULL, last_error, forward_attempts,"
                             " next_forward_at > now() + interval '60 seconds' FROM usage_events WHERE transaction_id = %s",
                 (tx,))
    return rows[0] if rows else None


def test_forwarding_failures_are_listed_and_retried(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    assert stack.admin("setup-lago").returncode == 0
    # Events of users without a subscription wait 5 minutes between attempts: a failure an operator sees.
    assert ingest(stack, [event("u-orphan", tx="orph-1"), event("u-orphan-2", tx="orph-2")])[0] == 202
    wait_for(lambda: all((row(stack, tx) or (0, None))[1] == "no_subscription" for tx in ("orph-1", "orph-2")),
               message="both events to fail with no_subscription")

    assert stack.http("GET", FORWARDING)[0] == 401
    status, _, body = stack.http("GET", FORWARDING + "?state=bogus", headers=admin_headers(stack))
    assert status == 400 and body["error"]["code"] == "invalid_query"
    status, _, body = stack.http("GET", FORWARDING, headers=admin_headers(stack))
    assert status == 200, body
    assert body["backlog"] == 2 and body["failing"] == 2
    assert [e["transaction_id"] for e in body["events"]] == ["orph-1", "orph-2"]
    assert body["events"][0]["last_error"] == "no_subscription" and body["events"][0]["forward_attempts"] >= 1
    status, _, body = stack.http("GET", FORWARDING + "?limit=1", headers=admin_headers(stack))
    assert status == 200 and len(body["events"]) == 1

    # One retry: the user has a subscription now; without the retry the event would wait minutes.
    sub = subscribe(stack, "u-orphan", "starter")
    assert row(stack, "orph-1")[3], "the event should be waiting for minutes before the retry"
    status, _, body = stack.http("POST", FORWARDING + "/nope/retry", headers=admin_headers(stack))
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _, body = stack.http("POST", FORWARDING + "/orph-1/retry", headers=admin_headers(stack))
    assert status == 200 and body == {"transaction_id": "orph-1", "retried": True}
    wait_for(lambda: row(stack, "orph-1")[0], timeout=15, message="the retried event forwarded")
    assert lago_state(url)["events"]["orph-1"]["event"]["external_subscription_id"] == sub
    status, _, body = stack.http("POST", FORWARDING + "/orph-1/retry", headers=admin_headers(stack))
    assert status == 409 and body["error"]["code"] == "already_forwarded"

    # Retry all: the remaining failing event is taken again at once (and fails again: still no subscription).
    attempts = row(stack, "orph-2")[2]
    status, _, body = stack.http("POST", FORWARDING + "/retry", headers=admin_headers(stack))
    assert status == 200 and body == {"retried": 1}
    wait_for(lambda: row(stack, "orph-2")[2] > attempts, timeout=15, message="the failing event attempted again")
    status, _, body = stack.http("GET", FORWARDING, headers=admin_headers(stack))
    assert body["backlog"] == 1 and [e["transaction_id"] for e in body["events"]] == ["orph-2"]


# --- a user's whole billing picture ----------------------------------------------------------------

def test_admin_user_view_composes_every_owner_part(stack):
    stack.env["AUTH_JWT_SECRET"] = "admin-user-test-jwt-secret-0123456789"
    stack.start("gateway")
    stack.start("stripe-worker", STRIPE_EVENT_PROCESSING="false")   # events stay as recorded
    for name in ("subscription-worker", "lago-worker", "notifier"):
        stack.start(name)
    stack.wait_ready(timeout=20)
    db = stack.db()
    wait_for(lambda: query(db, "SELECT count(*) FROM plans")[0][0] >= 4, message="the plan catalogue")

    sub = subscribe(stack, "u-support", "professional")
    query(db, "UPDATE customers SET stripe_customer_id = 'cus_support' WHERE user_id = 'u-support'")
    query(db, "UPDATE subscriptions SET stripe_customer_id = 'cus_support' WHERE id = %s", (sub,))
    for _ in range(2):
        assert authorize(stack, "u-support")[0] == 200
    mine = stripe_event("invoice.paid", {"id": stripe_id("in"), "object": "invoice", "customer": "cus_support"},
                 int(time.time()))
    other = stripe_event("invoice.paid", {"id": stripe_id("in"), "object": "invoice", "customer": "cus_other"},
                  int(time.time()))
    assert post_event(stack, mine)[0] == 200 and post_event(stack, other)[0] == 200
    query(db, "INSERT INTO notifications (dedupe_key, kind, user_id, payload, status, attempts, last_error)"
              " VALUES ('support-1', 'payment_failed', 'u-support', '{\"secret_link\": \"https://x/y\"}', 'failed', 8,"
              " 'smtp refused'), ('support-2', 'receipt', 'u-support', '{}', 'sent', 1, NULL),"
              " ('other-1', 'receipt', 'u-other', '{}', 'sent', 1, NULL)")

    path = "/api/v1/admin/users/u-support"
    assert stack.http("GET", path)[0] == 401
    status, _, body = stack.http("GET", "/api/v1/admin/users/u-nobody", headers=admin_headers(stack))
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _, body = stack.http("GET", path, headers=admin_headers(stack))
    assert status == 200, body
    assert body["user_id"] == "u-support"
    assert body["customer"]["stripe_customer_id"] == "cus_support"
    assert [s["id"] for s in body["subscriptions"]] == [sub] and body["subscriptions"][0]["plan_id"] == "professional"
    assert body["entitlements"]["plan_id"] == "professional" and body["entitlements"]["live"] is True
    assert "usage" not in body["entitlements"]
    assert body["usage"]["api_calls"]["used"] == 2 and body["usage"]["api_calls"]["limit"] == 10000
    assert len(body["recent_usage"]) == 2 and {u["source"] for u in body["recent_usage"]} == {"authorize"}
    assert [e["id"] for e in body["recent_events"]] == [mine["id"]]
    assert body["recent_events"][0]["status"] == "pending" and body["recent_events"][0]["type"] == "invoice.paid"
    assert sorted(n["kind"] for n in body["notifications"]) == ["payment_failed", "receipt"]
    assert all("payload" not in n for n in body["notifications"])
    assert "secret_link" not in json.dumps(body)


# --- failed notifications --------------------------------------------------------------------------

def test_failed_notifications_are_listed_and_replayed(stack):
    stack.start("gateway")
    stack.start("notifier")
    db = stack.db()
    ids = {kind: query(db, "INSERT INTO notifications (dedupe_key, kind, user_id, status, attempts, last_error)"
                           " VALUES (%s, %s, 'u-n', %s, %s, %s) RETURNING id",
                       (f"replay-{kind}", kind, status, attempts, error))[0][0]
           for kind, status, attempts, error in (("payment_failed", "failed", 8, "smtp refused"),
                                                 ("receipt", "sent", 1, None))}
    admin = admin_headers(stack)

    def failed():
        try:
            status, _, body = stack.http("GET", "/api/v1/admin/notifications?status=failed", headers=admin)
        except OSError:
            return None
        return body if status == 200 else None

    body = wait_for(failed, message="the notifier serving")
    assert [n["id"] for n in body["notifications"]] == [ids["payment_failed"]]

    replay = "/api/v1/admin/notifications/{}/replay"
    assert stack.http("POST", replay.format(ids["payment_failed"]))[0] == 401
    status, _, body = stack.http("POST", replay.format("abc"), headers=admin)
    assert status == 400 and body["error"]["code"] == "invalid_id"
    status, _, body = stack.http("POST", replay.format(999999), headers=admin)
    assert status == 404
    status, _, body = stack.http("POST", replay.format(ids["receipt"]), headers=admin)
    assert status == 409 and body["error"]["code"] == "not_failed"
    status, _, body = stack.http("POST", replay.format(ids["payment_failed"]), headers=admin)
    assert status == 200 and body == {"id": ids["payment_failed"], "status": "pending"}
    # Back in the outbox: the delivery thread takes it again (here it stays pending or is skipped: no SMTP, no address).
    status, attempts = query(db, "SELECT status, attempts FROM notifications WHERE id = %s", (ids["payment_failed"],))[0]
    assert status in ("pending", "sending", "skipped") and attempts <= 1
    assert failed()["notifications"] == []
    status, _, body = stack.http("POST", replay.format(ids["payment_failed"]), headers=admin)
    assert status == 409   # pending now: a second replay changes nothing
