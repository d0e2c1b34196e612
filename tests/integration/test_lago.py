"""Lago (issue #5): usage forwarding, subscription sync, Lago's webhooks and
billing-admin setup-lago, against the Lago stand-in (tests/standins/lago_standin.py)."""
import subprocess
import time
import uuid

import pytest

from support import query, wait_for
from usage_support import event, ingest, lago_control, lago_state, start_usage_stack, subscribe

FAST = {"LAGO_FORWARD_MAX_BACKOFF_S": "1", "LAGO_SYNC_INTERVAL_MS": "200"}


def setup_lago(stack):
    result = stack.admin("setup-lago")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def forwarded(stack):
    return query(stack.db(), "SELECT count(*) FROM usage_events WHERE forwarded_at IS NOT NULL")[0][0]


# --- setup ----------------------------------------------------------------------------------------

def test_setup_lago_creates_the_metric_and_four_plans_idempotently(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    first = setup_lago(stack)
    assert "metric   api_calls        created" in first
    for plan in ("trial", "starter", "professional", "enterprise"):
        assert f"plan     {plan:<16} created" in first
    second = setup_lago(stack)
    assert "created" not in second and second.count("exists") == 5
    state = lago_state(url)
    assert list(state["billable_metrics"]) == ["api_calls"]
    assert state["billable_metrics"]["api_calls"]["aggregation_type"] == "sum_agg"
    plans = state["plans"]
    assert sorted(plans) == ["enterprise", "professional", "starter", "trial"]
    assert plans["starter"]["amount_cents"] == 1900 and plans["starter"]["interval"] == "monthly"
    assert plans["trial"]["interval"] == "weekly" and plans["trial"]["amount_currency"] == "USD"
    assert all(p["charges"][0]["billable_metric_code"] == "api_calls" for p in plans.values())


# --- forwarding -------------------------------------------------------------------------------------

def test_events_are_forwarded_with_the_subscription_and_marked(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    setup_lago(stack)
    sub = subscribe(stack, "u-fwd", "starter")
    events = [event("u-fwd", tx=f"fwd-{i}", quantity=2) for i in range(150)]
    assert ingest(stack, events[:100])[0] == 202 and ingest(stack, events[100:])[0] == 202
    wait_for(lambda: forwarded(stack) == 150, timeout=20, message="150 forwarded events")
    state = lago_state(url)
    assert state["events_stored"] == 150 and state["events_received"] == 150
    stored = state["events"]["fwd-7"]["event"]
    assert stored["external_subscription_id"] == sub and stored["code"] == "api_calls"
    assert stored["properties"]["quantity"] == 2
    batches = [r for r in lago_control(url, "GET", "/__control/requests")["requests"]
               if r["path"] == "/api/v1/events/batch"]
    assert all(len(r["json"]["events"]) <= 100 for r in batches)


def test_lago_down_for_a_while_then_back_forwards_every_event_once(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    subscribe(stack, "u-down", "professional")
    lago_control(url, "POST", "/__control/down", {"down": True, "mode": "close"})
    for chunk in range(3):
        assert ingest(stack, [event("u-down", tx=f"d-{chunk}-{i}") for i in range(100)])[0] == 202
    wait_for(lambda: query(stack.db(), "SELECT count(*) FROM usage_events WHERE forward_attempts > 0")[0][0] > 0,
             timeout=10, message="forwarding attempts while Lago is down")
    lago_control(url, "POST", "/__control/down", {"down": True, "mode": "503"})   # then answering 503
    time.sleep(1.5)
    assert forwarded(stack) == 0
    errors = query(stack.db(), "SELECT count(*) FROM usage_events WHERE last_error IS NOT NULL")[0][0]
    assert errors > 0
    lago_control(url, "POST", "/__control/down", {"down": False})
    wait_for(lambda: forwarded(stack) == 300, timeout=30, message="the backlog to drain")
    state = lago_state(url)
    assert state["events_stored"] == 300
    assert all(e["receive_count"] == 1 for e in state["events"].values())   # none sent as new twice


def test_lago_errors_on_some_calls_are_retried_without_skipping(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    subscribe(stack, "u-flaky", "starter")
    lago_control(url, "POST", "/__control/fail", {"path_prefix": "/api/v1/events", "status": 500, "count": 3})
    assert ingest(stack, [event("u-flaky", tx=f"f-{i}") for i in range(40)])[0] == 202
    wait_for(lambda: forwarded(stack) == 40, timeout=20, message="40 forwarded")
    assert lago_state(url)["events_stored"] == 40


def test_events_of_a_user_without_subscription_wait_for_one(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    setup_lago(stack)
    assert ingest(stack, [event("u-later", tx="early-1")])[0] == 202
    wait_for(lambda: query(stack.db(), "SELECT last_error FROM usage_events")[0][0] == "no_subscription",
             timeout=10, message="the event to wait for a subscription")
    sub = subscribe(stack, "u-later", "starter", notify=True)
    wait_for(lambda: forwarded(stack) == 1, timeout=15, message="the waiting event forwarded")
    assert lago_state(url)["events"]["early-1"]["event"]["external_subscription_id"] == sub


# --- subscription sync ---------------------------------------------------------------------------

def test_subscription_start_plan_change_and_end_reach_lago(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    setup_lago(stack)
    sub = subscribe(stack, "u-sync", "starter", notify=True)

    def lago_sub():
        return lago_state(url)["subscriptions"].get(sub)

    created = wait_for(lambda: lago_sub(), timeout=10, message="the Lago subscription")
    assert created["plan_code"] == "starter" and created["external_customer_id"] == "u-sync"
    assert created["status"] == "active"
    assert lago_state(url)["customers"]["u-sync"]["email"] == "u-sync@example.test"

    db = stack.db()
    query(db, "UPDATE subscriptions SET plan_id = 'professional', updated_at = now() WHERE id = %s", (sub,))
    query(db, "SELECT pg_notify('subscription_changed', 'u-sync')")
    changed = wait_for(lambda: (lago_sub() or {}).get("plan_code") == "professional" and lago_sub(), timeout=10,
                       message="the plan change in Lago")
    assert changed["previous_plan_code"] == "starter"
    wait_for(lambda: query(db, "SELECT synced_plan_id, synced_status FROM lago_subscription_sync")
             == [("professional", "active")], timeout=10, message="the sync row")

    # Without a NOTIFY the reconcile scan finds the end.
    query(db, "UPDATE subscriptions SET status = 'canceled', updated_at = now() WHERE id = %s", (sub,))
    wait_for(lambda: lago_sub()["status"] == "terminated", timeout=10, message="the termination in Lago")
    wait_for(lambda: query(db, "SELECT synced_status FROM lago_subscription_sync") == [("terminated",)],
             timeout=10, message="the sync row")
    kinds = [h["kind"] for h in lago_control(url, "GET", "/__control/state")["subscriptions"][sub]["history"]]
    assert kinds == ["create", "upgrade", "terminate"]


def test_sync_retries_until_lago_has_the_plan(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    sub = subscribe(stack, "u-early", "starter", notify=True)       # Lago has no plans yet: plan_not_found
    wait_for(lambda: query(stack.db(), "SELECT attempts FROM lago_subscription_sync")
             and query(stack.db(), "SELECT attempts FROM lago_subscription_sync")[0][0] > 0,
             timeout=10, message="a failed sync attempt")
    setup_lago(stack)
    wait_for(lambda: sub in lago_state(url)["subscriptions"], timeout=15, message="the retried sync")


# --- Lago's webhooks ---------------------------------------------------------------------------------

def rsa_keypair(tmp_path):
    key = tmp_path / "lago.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout"], check=True, capture_output=True,
                            text=True).stdout
    return key.read_text(), public


INVOICE = {"webhook_type": "invoice.created", "object_type": "invoice",
           "invoice": {"lago_id": "inv-1", "number": "OPS-001", "total_amount_cents": 1900, "currency": "USD",
                       "customer": {"external_id": "u-wh"}}}
PAYMENT_FAILURE = {"webhook_type": "invoice.payment_failure", "object_type": "payment_provider_invoice_payment_error",
                   "payment_provider_invoice_payment_error": {"lago_invoice_id": "inv-1",
                                                              "external_customer_id": "u-wh"}}


@pytest.mark.parametrize("algorithm", ["hmac", "jwt"])
def test_lago_webhooks_signed_both_ways_are_recorded_once_and_tampered_ones_refused(stack, tmp_path, algorithm):
    private_pem, public_pem = rsa_keypair(tmp_path)
    stack.env["LAGO_WEBHOOK_PUBLIC_KEY"] = public_pem
    url = start_usage_stack(stack, lago=True, **FAST)
    target = stack.url("/api/v1/webhooks/lago")
    spec = {"url": target, "algorithm": algorithm, "hmac_key": stack.env["LAGO_WEBHOOK_HMAC_KEY"],
            "private_key_pem": private_pem}

    key = f"wh-{uuid.uuid4().hex}"
    sent = lago_control(url, "POST", "/__control/send_webhook", {**spec, "payload": INVOICE, "unique_key": key})
    assert sent["status"] == 200 and '"received": true' in sent["body"].replace('":true', '": true')
    again = lago_control(url, "POST", "/__control/send_webhook", {**spec, "payload": INVOICE, "unique_key": key})
    assert again["status"] == 200 and "duplicate" in again["body"]
    sent = lago_control(url, "POST", "/__control/send_webhook",
                        {**spec, "payload": PAYMENT_FAILURE, "unique_key": f"pf-{uuid.uuid4().hex}"})
    assert sent["status"] == 200

    # Tampered: a valid signature of another body, or a forged signature.
    good = lago_control(url, "POST", "/__control/send_webhook",
                        {**spec, "payload": {"webhook_type": "customer.created"}, "unique_key": "x1",
                         "url": "http://127.0.0.1:1/"})
    tampered = lago_control(url, "POST", "/__control/send_webhook",
                            {**spec, "payload": INVOICE, "unique_key": "tampered-1",
                             "signature": good["headers"]["X-Lago-Signature"]})
    assert tampered["status"] == 400
    forged = lago_control(url, "POST", "/__control/send_webhook",
                          {**spec, "payload": INVOICE, "unique_key": "tampered-2", "signature": "Zm9yZ2Vk"})
    assert forged["status"] == 400

    db = stack.db()
    rows = query(db, "SELECT unique_key, webhook_type FROM lago_webhooks ORDER BY webhook_type")
    assert [r[1] for r in rows] == ["invoice.created", "invoice.payment_failure"]
    wait_for(lambda: query(db, "SELECT count(*) FROM lago_webhooks WHERE status = 'processed'")[0][0] == 2,
             timeout=10, message="webhook processing")
    notes = query(db, "SELECT kind, user_id FROM notifications ORDER BY kind")
    assert notes == [("invoice_created", "u-wh"), ("payment_failed", "u-wh")]


def test_other_lago_webhooks_are_recorded_and_mapped(stack):
    url = start_usage_stack(stack, lago=True, **FAST)
    spec = {"url": stack.url("/api/v1/webhooks/lago"), "algorithm": "hmac",
            "hmac_key": stack.env["LAGO_WEBHOOK_HMAC_KEY"]}
    payloads = [
        {"webhook_type": "subscription.terminated", "subscription": {"external_id": "sub_x",
                                                                     "external_customer_id": "u-t"}},
        {"webhook_type": "event.error", "event_error": {"status": 422, "error": "invalid code",
                                                        "event": {"transaction_id": "tx-1"}}},
        {"webhook_type": "events.errors", "events_errors": {"invalid_code": ["tx-2"]}},
        {"webhook_type": "customer.created", "customer": {"external_id": "u-t"}},
    ]
    for payload in payloads:
        assert lago_control(url, "POST", "/__control/send_webhook", {**spec, "payload": payload})["status"] == 200
    db = stack.db()
    wait_for(lambda: query(db, "SELECT count(*) FROM lago_webhooks WHERE status <> 'pending'")[0][0] == 4,
             timeout=10, message="webhook processing")
    assert query(db, "SELECT webhook_type, status FROM lago_webhooks ORDER BY webhook_type") == [
        ("customer.created", "ignored"), ("event.error", "processed"), ("events.errors", "processed"),
        ("subscription.terminated", "processed")]
    assert query(db, "SELECT kind, user_id FROM notifications ORDER BY kind, user_id") == [
        ("subscription_terminated", "u-t"), ("usage_event_error", None), ("usage_event_error", None)]
    # Stripe owns subscription state: a Lago termination changes nothing here.
    assert query(db, "SELECT count(*) FROM subscriptions") == [(0,)]
    status, _, body = stack.http("POST", "/api/v1/webhooks/lago", body="{}",
                                 headers={"X-Lago-Signature-Algorithm": "hmac", "X-Lago-Signature": "bad",
                                          "X-Lago-Unique-Key": "k"})
    assert status == 400
