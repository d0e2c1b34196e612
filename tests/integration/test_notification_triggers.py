"""The triggers: each cause inserts its notification request inside its own
transaction (subscription-worker: activated, plan changed, canceled; lago-worker:
quota thresholds), and the notifier delivers it as mail and a signed webhook."""
import time

import support

from notify_support import (Receiver, SmtpSink, bodies, create_endpoint, notification_rows, start_notifier, verified,
                            wait_for)
from stripe_events import DAY, Sub, post_event, price, wait_settled
from test_stripe_webhooks import start_billing
from usage_support import authorize, event, ingest, start_usage_stack, subscribe


def deliver(stack, *events):
    for evt in events:
        status, body = post_event(stack, evt)
        assert (status, body) == (200, {"received": True}), (evt["type"], status, body)


def by_type(receiver, name, secret):
    found = {}
    for headers, body in verified(receiver, name, secret):
        found.setdefault(body["type"], []).append(body)
    return found


def test_checkout_then_active_subscription_sends_one_welcome_and_subscription_activated(stack):
    sink, receiver = SmtpSink(stack), Receiver(stack)
    start_billing(stack)
    start_notifier(stack, sink)
    endpoint = create_endpoint(stack, receiver.url("life"))
    now = int(time.time())
    sub = Sub(user_id=None, plan="professional")  # no metadata: the checkout names the user
    created = sub.event("customer.subscription.created", now + 1, "active", now, now + 30 * DAY)
    deliver(stack, sub.checkout_completed(now, "user-welcome"), created)
    deliver(stack, created)  # a repeat changes nothing
    wait_settled(stack)
    mail = wait_for(lambda: sink.to("user-welcome@example.com"), 20, "the welcome mail")[0]
    assert mail["subject"] == "Welcome to Ops Center: your professional plan is active"
    text, _ = bodies(mail)
    assert "professional" in text and mail["list-unsubscribe"]
    hooks = wait_for(lambda: by_type(receiver, "life", endpoint["secret"]).get("subscription.activated"), 20, "webhook")
    assert len(hooks) == 1
    data = hooks[0]["data"]
    assert data["user_id"] == "user-welcome" and data["plan"] == "professional" and data["status"] == "active"
    assert data["subscription_id"] == sub.id and data["current_period_end"] == now + 30 * DAY
    assert [r["kind"] for r in notification_rows(stack)] == ["welcome"]


def test_subscription_before_its_checkout_still_gets_the_welcome_once_linked(stack):
    sink = SmtpSink(stack)
    start_billing(stack)
    start_notifier(stack, sink)
    now = int(time.time())
    sub = Sub(user_id=None, plan="starter")
    deliver(stack, sub.event("customer.subscription.created", now + 1, "active", now, now + 30 * DAY))
    wait_settled(stack)
    deliver(stack, sub.checkout_completed(now, "user-late-link"))
    wait_settled(stack)
    wait_for(lambda: sink.to("user-late-link@example.com"), 20, "the welcome mail")
    assert [r["kind"] for r in notification_rows(stack)] == ["welcome"]


def test_plan_change_cancel_request_and_end_each_notify_once(stack):
    sink, receiver = SmtpSink(stack), Receiver(stack)
    start_billing(stack)
    start_notifier(stack, sink)
    endpoint = create_endpoint(stack, receiver.url("life"))
    now = int(time.time())
    sub = Sub(user_id="user-life", plan="starter")
    deliver(stack, sub.checkout_completed(now - 5, "user-life"),
            sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY))
    wait_settled(stack)
    upgraded = price("professional")
    deliver(stack, sub.event("customer.subscription.updated", now + 10, "active", now, now + 30 * DAY,
                             price_obj=upgraded))
    wait_settled(stack)
    deliver(stack, sub.event("customer.subscription.updated", now + 20, "active", now, now + 30 * DAY,
                             price_obj=upgraded, cancel_at_period_end=True))
    wait_settled(stack)
    deliver(stack, sub.event("customer.subscription.deleted", now + 30, "canceled", now, now + 30 * DAY,
                             price_obj=upgraded, cancel_at_period_end=True, canceled_at=now + 30))
    wait_settled(stack)

    rows = wait_for(lambda: (lambda r: r if len(r) == 4 and all(x["status"] == "sent" for x in r) else None)(
        notification_rows(stack)), 30, "four mails sent")
    assert [r["kind"] for r in rows] == ["welcome", "plan_changed", "canceled", "canceled"]
    subjects = [m["subject"] for m in sink.to("user-life@example.com")]
    assert "Your plan is now professional" in subjects
    assert subjects.count("Your professional subscription is canceled") == 2
    events = wait_for(lambda: (lambda e: e if len(e.get("subscription.canceled", [])) == 2 else None)(
        by_type(receiver, "life", endpoint["secret"])), 20, "the webhooks")
    assert len(events["subscription.activated"]) == 1
    assert [e["data"]["plan"] for e in events["subscription.updated"]] == ["professional"]
    assert events["subscription.updated"][0]["data"]["previous_plan"] == "starter"
    assert sorted(e["data"]["cancellation"] for e in events["subscription.canceled"]) == ["at_period_end", "ended"]


def test_quota_80_and_100_percent_notify_once_per_window_and_mail_once_a_day(stack):
    sink, receiver = SmtpSink(stack), Receiver(stack)
    start_usage_stack(stack)
    start_notifier(stack, sink)
    endpoint = create_endpoint(stack, receiver.url("quota"), events=["usage.threshold_reached"])
    subscribe(stack, "user-quota", "starter")  # 1,000 calls a month
    assert authorize(stack, "user-quota", quantity=799)[0] == 200
    assert authorize(stack, "user-quota", quantity=1)[0] == 200  # 800: 80%
    assert authorize(stack, "user-quota", quantity=1)[0] == 200  # past 80%: nothing new
    assert authorize(stack, "user-quota", quantity=199)[0] == 200  # 1,000: 100%
    assert authorize(stack, "user-quota", quantity=1)[0] == 429  # refused: 100% again, deduplicated
    hooks = wait_for(lambda: (lambda h: h if len(h) == 2 else None)(
        by_type(receiver, "quota", endpoint["secret"]).get("usage.threshold_reached", [])), 20, "two webhooks")
    assert sorted(h["data"]["threshold"] for h in hooks) == [80, 100]
    assert all(h["data"]["user_id"] == "user-quota" and h["data"]["limit"] == 1000 for h in hooks)
    rows = wait_for(lambda: (lambda r: r if len(r) == 2 and all(x["status"] != "pending" for x in r) else None)(
        notification_rows(stack, "quota_threshold")), 20, "both settled")
    assert [r["status"] for r in rows] == ["sent", "skipped"]  # one quota mail per user and day
    mails = sink.to("user-quota@example.test")
    assert len(mails) == 1 and mails[0]["subject"] == "You have used 80% of your API calls"


def test_the_jwt_email_claim_stored_at_checkout_is_where_the_welcome_goes(stack):
    """No checkout.session.completed arrives: the address is the one the billing API stored from the
    user's JWT (customer.add), and the subscription names the user in its metadata."""
    import billing_helpers

    sink = SmtpSink(stack)
    stripe = billing_helpers.start_billing(stack)
    billing_helpers.setup_prices(stack)
    start_notifier(stack, sink)
    status, body = billing_helpers.call(stack, "POST", "/checkout/create", user="user-jwt", email="jwt.user@example.org",
                                        json_body={"plan_id": "starter", "interval": "month"})
    assert status == 200, body
    assert len(stripe.requests("POST", "/v1/customers")) == 1
    (customer_id, stored) = support.query(
        stack, "SELECT stripe_customer_id, email FROM customers WHERE user_id = 'user-jwt'")[0]
    assert stored == "jwt.user@example.org"
    now = int(time.time())
    sub = Sub(user_id="user-jwt", plan="starter", customer=customer_id)
    deliver(stack, sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY))
    wait_settled(stack)
    mail = wait_for(lambda: sink.to("jwt.user@example.org"), 20, "the welcome at the JWT address")[0]
    assert mail["subject"].startswith("Welcome to Ops Center")


def test_ingested_usage_reaching_80_percent_requests_the_threshold_once(stack):
    receiver = Receiver(stack)
    start_usage_stack(stack)
    start_notifier(stack)
    endpoint = create_endpoint(stack, receiver.url("ingest"), events=["usage.threshold_reached"])
    subscribe(stack, "user-ingest", "starter")  # 1,000 calls a month
    for quantity in (700, 50, 60, 10):  # 700, 750, 810 (80%), 820
        status, _, body = ingest(stack, [event("user-ingest", quantity=quantity)])
        assert status == 202 and body["accepted"] == 1, body
    hooks = wait_for(lambda: by_type(receiver, "ingest", endpoint["secret"]).get("usage.threshold_reached"), 20,
                     "the webhook")
    time.sleep(0.5)
    hooks = by_type(receiver, "ingest", endpoint["secret"])["usage.threshold_reached"]
    assert [(h["data"]["threshold"], h["data"]["used"], h["data"]["limit"]) for h in hooks] == [(80, 810, 1000)]
    assert [r["kind"] for r in notification_rows(stack)] == ["quota_threshold"]
