"""Stripe webhooks, end to end: gateway (signature) -> stripe-worker (durable inbox, processing)
-> subscription_updates -> subscription-worker (order-proof state) -> Postgres and Redis."""
import json
import subprocess
import time

import pytest

from stripe_events import (ADMIN_EVENTS_PATH, DAY, NEW_API, OLD_API, WEBHOOK_PATH, Sub, admin_headers, body_of,
                           entitlements, event, event_status, notifications, pg_start, pg_stop, post_event, stripe_id,
                           subscription, wait_settled)
from support import query, sign_stripe, wait_for

FAST = {"STRIPE_EVENT_RETRY_BASE_MS": "100", "STRIPE_EVENT_RETRY_MAX_MS": "500"}


def start_billing(stack, stripe_workers=1, **env):
    """The gateway, stripe-worker(s) and the subscription-worker, once the stripe service answers."""
    env = {**FAST, **env}
    stack.start("gateway", **env)
    for _ in range(stripe_workers):
        stack.start("stripe-worker", **env)
    stack.start("subscription-worker", **env)
    wait_for(lambda: stack.http("GET", ADMIN_EVENTS_PATH, headers=admin_headers(stack))[0] == 200, 15,
             "the stripe service never answered")
    wait_for_catalogue(stack)


def wait_for_catalogue(stack):
    """The subscription-worker loads the plans at start; until then a snapshot's plan is unknown (and retried)."""
    wait_for(lambda: stack.http("GET", "/api/v1/subscriptions/plans")[0] == 200, 15, "the catalogue never loaded")


def deliver(stack, *events):
    for evt in events:
        status, body = post_event(stack, evt)
        assert (status, body) == (200, {"received": True}), (evt["type"], status, body)


def assert_json_error(body, code=None):
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


def stored_event_count(stack):
    return query(stack, "SELECT count(*) FROM stripe_events")[0][0]


# -- receiving ------------------------------------------------------------------------------------


def test_bad_signature_through_the_gateway_gets_400_json_and_stores_nothing(stack):
    start_billing(stack)
    evt = event("invoice.paid", {"id": "in_1", "object": "invoice"}, int(time.time()))
    raw = body_of(evt)
    cases = {
        "wrong secret": sign_stripe(raw, "whsec_wrong"),
        "stale timestamp": sign_stripe(raw, stack.env["STRIPE_WEBHOOK_SECRET"], time.time() - 3600),
        "garbage header": "nonsense",
    }
    for name, header in cases.items():
        status, _, body = stack.http("POST", WEBHOOK_PATH, body=raw, headers={"Stripe-Signature": header})
        assert status == 400, name
        assert_json_error(body)
    status, _, body = stack.http("POST", WEBHOOK_PATH, body=raw)
    assert status == 400
    assert_json_error(body)
    # Tampered body: signed, then changed.
    header = sign_stripe(raw, stack.env["STRIPE_WEBHOOK_SECRET"])
    status, _, body = stack.http("POST", WEBHOOK_PATH, body=raw.replace("invoice.paid", "invoice.pais"),
                                 headers={"Stripe-Signature": header})
    assert status == 400
    assert_json_error(body)
    assert stored_event_count(stack) == 0


@pytest.mark.parametrize("raw", ["not json", "[1,2]", '{"type":"invoice.paid","created":1}',
                                 '{"id":"evt_x","created":1}', '{"id":"evt_x","type":"invoice.paid"}'])
def test_signed_but_unusable_body_gets_400_json(stack, raw):
    start_billing(stack)
    status, body = post_event(stack, raw)
    assert status == 400
    assert_json_error(body, "invalid_event")
    assert stored_event_count(stack) == 0


def test_repeat_of_a_known_event_gets_200_and_is_stored_and_applied_once(stack):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-dup")
    created = sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    deliver(stack, created, created)
    wait_settled(stack)
    deliver(stack, created)
    wait_settled(stack)
    assert query(stack, "SELECT count(*), min(attempts) FROM stripe_events WHERE id = %s", (created["id"],)) == [(1, 1)]
    assert query(stack, "SELECT count(*) FROM subscription_updates WHERE source_event_id = %s",
                 (created["id"],)) == [(1,)]
    assert subscription(stack, sub.id)["status"] == "active"


# -- every event type -----------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", [OLD_API, NEW_API])
def test_checkout_and_subscription_created_give_the_user_entitlements(stack, api_version):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id=None, plan="professional", api_version=api_version)  # no metadata: the checkout links
    deliver(stack, sub.checkout_completed(now, "user-pro"),
            sub.event("customer.subscription.created", now + 1, "active", now, now + 30 * DAY))
    wait_settled(stack)
    state = subscription(stack, sub.id)
    assert state["user_id"] == "user-pro" and state["customer"] == sub.customer
    assert state["plan_id"] == "professional" and state["interval"] == "month" and state["status"] == "active"
    assert (state["period_start"], state["period_end"]) == (now, now + 30 * DAY)
    assert state["cancel_at_period_end"] is False and state["last_event_created"] == now + 1
    assert query(stack, "SELECT user_id, email FROM customers WHERE stripe_customer_id = %s",
                 (sub.customer,)) == [("user-pro", "user-pro@example.com")]
    ent = entitlements(stack, "user-pro")
    assert ent["live"] == "1" and ent["plan"] == "professional" and ent["status"] == "active"
    assert ent["limit"] == "10000" and ent["period"] == "month" and ent["subscription"] == sub.id
    assert int(ent["period_start"]) == now and int(ent["period_end"]) == now + 30 * DAY
    assert "litellm" in json.loads(ent["features"])


def test_subscription_before_checkout_waits_unresolved_then_links(stack):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id=None, plan="starter", interval="year", lookup_key=False, metadata_plan="starter")
    deliver(stack, sub.event("customer.subscription.created", now, "active", now, now + 365 * DAY))
    wait_settled(stack)
    state = subscription(stack, sub.id)
    assert state["user_id"] is None and state["plan_id"] == "starter" and state["interval"] == "year"
    deliver(stack, sub.checkout_completed(now + 2, "user-late", via="metadata"))
    wait_settled(stack)
    assert subscription(stack, sub.id)["user_id"] == "user-late"
    ent = wait_for(lambda: entitlements(stack, "user-late"), 5, "no entitlements published")
    assert ent["plan"] == "starter" and ent["interval"] == "year" and ent["live"] == "1"
    # A yearly plan with a monthly quota: the usage window is one month from the period start.
    assert int(ent["period_start"]) == now and int(ent["period_end"]) < now + 32 * DAY


@pytest.mark.parametrize("api_version", [OLD_API, NEW_API])
def test_subscription_updated_changes_plan_status_and_cancel_at_period_end(stack, api_version):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-upd", plan="starter", api_version=api_version)
    trial_end = now + 7 * DAY
    deliver(stack, sub.event("customer.subscription.created", now, "trialing", now, trial_end, trial_end=trial_end))
    wait_settled(stack)
    assert entitlements(stack, "user-upd")["status"] == "trialing"
    assert subscription(stack, sub.id)["trial_end"] == trial_end
    from stripe_events import price
    enterprise = price("enterprise", "year")
    deliver(stack, sub.event("customer.subscription.updated", now + 10, "active", now + 10, now + 10 + 365 * DAY,
                             cancel_at_period_end=True, price_obj=enterprise))
    wait_settled(stack)
    state = subscription(stack, sub.id)
    assert state["plan_id"] == "enterprise" and state["interval"] == "year" and state["status"] == "active"
    assert state["cancel_at_period_end"] is True and state["period_end"] == now + 10 + 365 * DAY
    ent = entitlements(stack, "user-upd")
    assert ent["plan"] == "enterprise" and ent["limit"] == "-1" and ent["cancel_at_period_end"] == "1"


def test_subscription_deleted_cancels_and_drops_entitlements(stack):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-del")
    deliver(stack, sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY))
    wait_settled(stack)
    assert entitlements(stack, "user-del")["live"] == "1"
    deliver(stack, sub.event("customer.subscription.deleted", now + 5, "canceled", now, now + 30 * DAY,
                             canceled_at=now + 5))
    wait_settled(stack)
    assert subscription(stack, sub.id)["status"] == "canceled"
    ent = entitlements(stack, "user-del")
    assert ent["live"] == "0" and ent["status"] == "canceled"
    # Terminal: a later "active" snapshot (a replayed stale state) does not revive it.
    deliver(stack, sub.event("customer.subscription.updated", now + 9, "active", now, now + 30 * DAY))
    wait_settled(stack)
    assert subscription(stack, sub.id)["status"] == "canceled"


def test_trial_will_end_requests_a_notification(stack):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-trial", plan="trial")
    evt = sub.event("customer.subscription.trial_will_end", now, "trialing", now, now + 7 * DAY,
                    trial_end=now + 7 * DAY)
    deliver(stack, evt)
    wait_settled(stack)
    assert event_status(stack, evt["id"]) == "processed"
    found = notifications(stack, evt["id"])
    assert len(found) == 1 and found[0]["kind"] == "trial_will_end" and found[0]["user_id"] == "user-trial"
    assert found[0]["payload"]["trial_end"] == now + 7 * DAY and found[0]["payload"]["subscription_id"] == sub.id


@pytest.mark.parametrize("api_version", [OLD_API, NEW_API])
def test_invoice_paid_renews_the_period_resets_usage_and_sends_a_receipt(stack, api_version):
    start_billing(stack)
    start = int(time.time()) - 31 * DAY
    sub = Sub(user_id="user-paid", plan="starter", api_version=api_version, start=start)
    deliver(stack, sub.event("customer.subscription.created", start, "active", start, start + 30 * DAY))
    wait_settled(stack)
    assert int(entitlements(stack, "user-paid")["period_start"]) == start
    renewal = sub.invoice(start + 30 * DAY + 5, True, start + 30 * DAY, start + 60 * DAY)
    deliver(stack, renewal)
    wait_settled(stack)
    state = subscription(stack, sub.id)
    assert (state["period_start"], state["period_end"]) == (start + 30 * DAY, start + 60 * DAY)
    ent = entitlements(stack, "user-paid")
    assert int(ent["period_start"]) == start + 30 * DAY and int(ent["period_end"]) == start + 60 * DAY
    receipt = notifications(stack, renewal["id"])
    assert [n["kind"] for n in receipt] == ["receipt"] and receipt[0]["user_id"] == "user-paid"
    assert receipt[0]["payload"]["amount"] == 1900 and receipt[0]["payload"]["invoice_id"] == renewal["data"]["object"]["id"]


@pytest.mark.parametrize("api_version", [OLD_API, NEW_API])
def test_invoice_payment_failed_marks_past_due_and_notifies(stack, api_version):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-fail", api_version=api_version)
    deliver(stack, sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY))
    wait_settled(stack)
    failed = sub.invoice(now + 60, False, now + 30 * DAY, now + 60 * DAY)
    deliver(stack, failed)
    wait_settled(stack)
    state = subscription(stack, sub.id)
    assert state["status"] == "past_due" and state["period_end"] == now + 30 * DAY
    ent = entitlements(stack, "user-fail")
    assert ent["status"] == "past_due" and ent["live"] == "1"  # Stripe's grace while it retries
    found = notifications(stack, failed["id"])
    assert [n["kind"] for n in found] == ["payment_failed"] and found[0]["payload"]["attempt_count"] == 1
    # The retry succeeds: active again, period renewed.
    deliver(stack, sub.invoice(now + 120, True, now + 30 * DAY, now + 60 * DAY))
    wait_settled(stack)
    state = subscription(stack, sub.id)
    assert state["status"] == "active" and state["period_end"] == now + 60 * DAY


def test_other_event_types_are_recorded_and_ignored(stack):
    start_billing(stack)
    evt = event("charge.succeeded", {"id": stripe_id("ch"), "object": "charge", "amount": 1900}, int(time.time()))
    deliver(stack, evt)
    wait_for(lambda: event_status(stack, evt["id"]) == "ignored", 10, "not marked ignored")
    assert query(stack, "SELECT count(*) FROM subscription_updates")[0][0] == 0
    assert notifications(stack, evt["id"]) == []


# -- order-proof ----------------------------------------------------------------------------------


def lifecycle(user_id, t, api_version=OLD_API):
    """A subscription's life as Stripe sends it: checkout, trial, trial ending, paid, renewal
    failing then paid, a plan change, cancellation at period end, deletion. Several events share
    a second, as they do at Stripe."""
    sub = Sub(user_id=user_id, plan="starter", api_version=api_version, start=t)
    p1, p2, p3 = (t, t + 7 * DAY), (t + 7 * DAY, t + 37 * DAY), (t + 37 * DAY, t + 67 * DAY)
    from stripe_events import price
    pro = price("professional")
    return sub, [
        sub.event("customer.subscription.created", t, "trialing", *p1, trial_end=p1[1]),
        sub.checkout_completed(t, user_id),
        sub.invoice(t, True, *p1, billing_reason="subscription_create", amount=0),
        sub.event("customer.subscription.trial_will_end", t + 4 * DAY, "trialing", *p1, trial_end=p1[1]),
        sub.event("customer.subscription.updated", p2[0], "active", *p2, trial_end=p1[1]),
        sub.invoice(p2[0], True, *p2),
        sub.invoice(p3[0], False, *p3),
        sub.event("customer.subscription.updated", p3[0], "past_due", *p3, trial_end=p1[1]),
        sub.invoice(p3[0] + DAY, True, *p3),
        sub.event("customer.subscription.updated", p3[0] + DAY, "active", *p3, trial_end=p1[1]),
        sub.event("customer.subscription.updated", p3[0] + 2 * DAY, "active", *p3, trial_end=p1[1], price_obj=pro),
        sub.event("customer.subscription.updated", p3[0] + 3 * DAY, "active", *p3, trial_end=p1[1], price_obj=pro,
                  cancel_at_period_end=True),
    ]


def comparable(stack, sub, user_id):
    state = subscription(stack, sub.id)
    ent = entitlements(stack, user_id)
    for key in ("last_event_id",):
        state.pop(key)
    state["customer"] = state["customer"] == sub.customer
    ent.pop("subscription", None)
    return state, ent


def test_same_sequence_in_order_twice_and_reversed_ends_in_the_same_state(stack):
    start_billing(stack)
    runs = {}
    t = int(time.time()) - 100 * DAY
    for name in ("in_order", "twice", "reversed", "new_api_reversed"):
        user = f"user-{name}"
        sub, events = lifecycle(user, t, NEW_API if name.startswith("new_api") else OLD_API)
        if name == "twice":
            events = events + events
        if "reversed" in name:
            events = list(reversed(events))
        deliver(stack, *events)
        runs[name] = (sub, user)
    wait_settled(stack)
    results = {name: comparable(stack, sub, user) for name, (sub, user) in runs.items()}
    expected_state, expected_ent = results["in_order"]
    assert expected_state["status"] == "active" and expected_state["plan_id"] == "professional"
    assert expected_state["cancel_at_period_end"] is True and expected_ent["plan"] == "professional"
    for name, (state, ent) in results.items():
        assert {k: v for k, v in state.items() if k != "user_id"} == \
            {k: v for k, v in expected_state.items() if k != "user_id"}, name
        assert state["user_id"] == f"user-{name}"
        assert ent == expected_ent, name
    # Each event's notifications exactly once, even when delivered twice.
    assert query(stack, "SELECT count(*), count(DISTINCT dedupe_key) FROM notifications"
                        " WHERE user_id = 'user-twice' AND dedupe_key LIKE 'stripe:%%'")[0] == (5, 5)
    # Then the deletion, delivered before a stale update: still canceled.
    sub, user = runs["reversed"]
    t = subscription(stack, sub.id)["last_event_created"]
    stale = sub.event("customer.subscription.updated", t - DAY, "active", t, t + 30 * DAY)
    deleted = sub.event("customer.subscription.deleted", t + DAY, "canceled", t, t + 30 * DAY, canceled_at=t + DAY)
    deliver(stack, deleted, stale)
    wait_settled(stack)
    assert subscription(stack, sub.id)["status"] == "canceled"
    assert entitlements(stack, user)["live"] == "0"


def test_same_second_ties_follow_the_status_precedence(stack):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-tie")
    incomplete = sub.event("customer.subscription.created", now, "incomplete", now, now + 30 * DAY)
    active = sub.event("customer.subscription.updated", now, "active", now, now + 30 * DAY)
    deliver(stack, active, incomplete)  # the later status arrives first, in the same second
    wait_settled(stack)
    assert subscription(stack, sub.id)["status"] == "active"


# -- crash safety ---------------------------------------------------------------------------------


def test_kill_9_after_the_acknowledgement_processes_the_event_exactly_once(stack):
    stack.start("gateway", **FAST)
    stack.start("subscription-worker", **FAST)
    # A worker that acknowledges but has not processed yet (processing held back).
    worker = stack.start("stripe-worker", STRIPE_EVENT_PROCESSING="false", **FAST)
    wait_for(lambda: stack.http("GET", ADMIN_EVENTS_PATH, headers=admin_headers(stack))[0] == 200, 15, "no stripe")
    wait_for_catalogue(stack)
    now = int(time.time())
    sub = Sub(user_id="user-crash")
    paid = sub.invoice(now + 1, True, now, now + 30 * DAY, billing_reason="subscription_create")
    deliver(stack, sub.event("customer.subscription.created", now, "incomplete", now, now + 30 * DAY), paid)
    assert event_status(stack, paid["id"]) == "pending"
    stack.kill(worker)
    worker.popen.wait(5)
    stack.start("stripe-worker", **FAST)
    wait_settled(stack)
    assert event_status(stack, paid["id"]) == "processed"
    assert query(stack, "SELECT count(*) FROM subscription_updates WHERE source_event_id = %s", (paid["id"],)) == [(1,)]
    assert len(notifications(stack, paid["id"])) == 1
    assert subscription(stack, sub.id)["status"] == "active"
    assert entitlements(stack, "user-crash")["live"] == "1"


def test_a_dead_workers_claim_is_taken_again_after_its_lease(stack):
    start_billing(stack, STRIPE_EVENT_PROCESSING="false")
    now = int(time.time())
    sub = Sub(user_id="user-lease")
    evt = sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    deliver(stack, evt)
    # As if a worker claimed it and died: attempt counted, lease running.
    query(stack, "UPDATE stripe_events SET attempts = 1, locked_until = now() + interval '5 seconds' WHERE id = %s",
          (evt["id"],))
    stack.start("stripe-worker", **FAST)
    time.sleep(0.5)
    assert event_status(stack, evt["id"]) == "pending"  # still leased to the dead worker
    wait_settled(stack)
    assert query(stack, "SELECT status, attempts FROM stripe_events WHERE id = %s", (evt["id"],)) == [("processed", 2)]
    assert subscription(stack, sub.id)["status"] == "active"


def test_200_is_never_returned_without_the_row_postgres_down_gives_503_then_retry_succeeds(stack, postgres):
    start_billing(stack)
    now = int(time.time())
    sub = Sub(user_id="user-pgdown")
    evt = sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    pg_stop(postgres)
    try:
        status, body = post_event(stack, evt)
        assert status == 503, (status, body)
        assert_json_error(body)
    finally:
        pg_start(postgres)
    # Stripe retries until it gets a 2xx.
    wait_for(lambda: post_event(stack, evt)[0] == 200, 30, "the retry never succeeded")
    wait_settled(stack, 30)
    assert query(stack, "SELECT count(*) FROM stripe_events WHERE id = %s", (evt["id"],)) == [(1,)]
    assert subscription(stack, sub.id)["status"] == "active"


# -- failures and operators -----------------------------------------------------------------------


def test_failing_event_is_retried_then_failed_listed_and_replayed(stack):
    start_billing(stack, STRIPE_EVENT_MAX_ATTEMPTS="3")
    now = int(time.time())
    sub = Sub(user_id="user-ops", plan="platinum")  # a plan the catalogue does not know (yet)
    evt = sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    deliver(stack, evt)
    wait_for(lambda: event_status(stack, evt["id"]) == "failed", 20, "never marked failed")
    attempts, error = query(stack, "SELECT attempts, last_error FROM stripe_events WHERE id = %s", (evt["id"],))[0]
    assert attempts == 3 and "plan" in error
    assert subscription(stack, sub.id) is None

    # Operators: behind the admin token.
    status, _, body = stack.http("GET", ADMIN_EVENTS_PATH + "?status=failed")
    assert status == 401
    assert_json_error(body)
    status, _, body = stack.http("GET", ADMIN_EVENTS_PATH + "?status=failed", headers=admin_headers(stack))
    assert status == 200 and [e["id"] for e in body["events"]] == [evt["id"]]
    listed = body["events"][0]
    assert listed["status"] == "failed" and listed["attempts"] == 3 and "plan" in listed["last_error"]
    assert listed["type"] == "customer.subscription.created" and listed["received_at"] and listed["processed_at"] is None
    status, _, body = stack.http("GET", ADMIN_EVENTS_PATH + "?status=bogus", headers=admin_headers(stack))
    assert status == 400
    assert_json_error(body)
    status, _, body = stack.http("POST", ADMIN_EVENTS_PATH + "/evt_unknown/replay", headers=admin_headers(stack))
    assert status == 404
    assert_json_error(body, "not_found")

    # The catalogue catches up; the operator replays; it is processed.
    query(stack, "INSERT INTO plans (id, name, price_monthly_cents, api_calls_period) VALUES ('platinum', 'Platinum', 1, 'month')")
    status, _, body = stack.http("POST", f"{ADMIN_EVENTS_PATH}/{evt['id']}/replay", headers=admin_headers(stack))
    assert status == 200 and body == {"id": evt["id"], "status": "pending"}
    wait_for(lambda: event_status(stack, evt["id"]) == "processed", 15, "replay not processed")
    wait_settled(stack)
    assert subscription(stack, sub.id)["plan_id"] == "platinum"
    status, _, body = stack.http("GET", ADMIN_EVENTS_PATH + "?status=processed&limit=5", headers=admin_headers(stack))
    assert status == 200 and [e["id"] for e in body["events"]] == [evt["id"]]


def test_billing_admin_lists_and_replays_webhook_events(stack):
    start_billing(stack, STRIPE_EVENT_MAX_ATTEMPTS="1")
    now = int(time.time())
    sub = Sub(user_id="user-cli", plan="platinum")
    evt = sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    deliver(stack, evt)
    wait_for(lambda: event_status(stack, evt["id"]) == "failed", 20, "never marked failed")
    listed = stack.admin("webhook-events", "list", "--status", "failed")
    assert listed.returncode == 0, listed.stderr
    assert evt["id"] in listed.stdout and "failed" in listed.stdout
    assert stack.admin("webhook-events", "list", "--status", "bogus").returncode == 2
    assert stack.admin("webhook-events", "replay", "evt_nope").returncode == 1
    query(stack, "INSERT INTO plans (id, name, price_monthly_cents, api_calls_period) VALUES ('platinum', 'Platinum', 1, 'month')")
    replayed = stack.admin("webhook-events", "replay", evt["id"])
    assert replayed.returncode == 0, replayed.stderr
    wait_for(lambda: event_status(stack, evt["id"]) == "processed", 15, "replay not processed")
    assert subprocess.run  # (billing-admin talks to Postgres directly; no gateway needed)
