"""Bounds on what signed Stripe events carry (issue 19 item 1): an event whose
ids or times can never be stored is acknowledged, recorded as failed with its
reason before any effect is committed, and listed for operators; an event
that turns out unusable while processing fails at its first attempt."""
import json
import time

from stripe_events import (ADMIN_EVENTS_PATH, DAY, Sub, admin_headers, event, event_status, query, stripe_id,
                           wait_for, wait_settled)
from test_stripe_webhooks import deliver, start_billing


def failed_events(stack):
    status, _, body = stack.http("GET", ADMIN_EVENTS_PATH + "?status=failed", headers=admin_headers(stack))
    assert status == 200, body
    return {e["id"]: e for e in body["events"]}


def test_oversized_ids_and_extreme_times_are_failed_at_ingest_with_their_reason(stack):
    start_billing(stack)
    now = int(time.time())
    long_customer = Sub(user_id="user-b1", customer="cus_" + "c" * 4092)
    long_user = Sub(user_id="u" * 4096)
    far_trial = Sub(user_id="user-b3")
    cases = [
        (long_customer.event("customer.subscription.deleted", now, "canceled", now, now + 30 * DAY), "customer_id"),
        (long_user.event("customer.subscription.created", now, "active", now, now + 30 * DAY), "user_id"),
        (far_trial.event("customer.subscription.created", now, "trialing", now, now + 30 * DAY,
                         trial_end=10 ** 15), "trial_end"),
        (event("checkout.session.completed", {"id": stripe_id("cs"), "object": "checkout.session",
                                              "client_reference_id": "x" * 300, "customer": stripe_id("cus"),
                                              "subscription": stripe_id("sub")}, now), "user_id"),
        (event("customer.subscription.updated", far_trial.object("active", now, now + 30 * DAY), 10 ** 15),
         "event_created"),
    ]
    for evt, _ in cases:
        deliver(stack, evt)  # 200: acknowledged, so Stripe does not retry it for days
    failed = failed_events(stack)
    for evt, field in cases:
        row = query(stack, "SELECT status, attempts, last_error FROM stripe_events WHERE id = %s", (evt["id"],))
        assert row and row[0][0] == "failed" and row[0][1] == 0 and field in row[0][2], (field, row)
        assert evt["id"] in failed and field in failed[evt["id"]]["last_error"]
    # Nothing of them reached the subscription-worker, and it is healthy.
    ids = [evt["id"] for evt, _ in cases]
    assert query(stack, "SELECT count(*) FROM subscription_updates WHERE source_event_id = ANY(%s)", (ids,)) == [(0,)]
    ok = Sub(user_id="user-b4")
    good = ok.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    deliver(stack, good)
    wait_for(lambda: event_status(stack, good["id"]) == "processed", 15, "a good event after them was not processed")
    wait_settled(stack)
    logs = "".join(proc.log() for proc in stack.procs)
    assert "btree" not in logs and "out of range" not in logs


def test_an_event_unusable_when_processed_fails_at_its_first_attempt(stack):
    # Recorded pending (as an older version stored it), then found unusable: no retry, failed at once.
    start_billing(stack, STRIPE_EVENT_PROCESSING="false")
    now = int(time.time())
    sub = Sub(user_id="user-p1")
    evt = sub.event("customer.subscription.updated", now, "active", now, now + 30 * DAY)
    evt["data"]["object"]["status"] = "no-such-status"
    query(stack, "INSERT INTO stripe_events (id, type, created, payload) VALUES (%s, %s, %s, %s)",
          (evt["id"], evt["type"], now, json.dumps(evt)))
    stack.stop("stripe-worker")
    stack.start("stripe-worker", STRIPE_EVENT_RETRY_BASE_MS="100", STRIPE_EVENT_MAX_ATTEMPTS="8")
    wait_for(lambda: event_status(stack, evt["id"]) == "failed", 15, "never failed")
    attempts, error = query(stack, "SELECT attempts, last_error FROM stripe_events WHERE id = %s", (evt["id"],))[0]
    assert attempts == 1 and "status" in error
    assert failed_events(stack)[evt["id"]]["attempts"] == 1
