"""The notifier, end to end: signed Stripe events (and request rows other services
write) -> notification rows -> e-mail in a real SMTP server (aiosmtpd) and signed
Standard Webhooks at a real HTTP receiver, checked by an independent verifier."""
import base64
import json
import signal
import time
import urllib.parse

import pytest

from notify_support import (ADMIN_ENDPOINTS, ADMIN_MESSAGES, Receiver, SmtpSink, admin_call, bodies,
                            create_endpoint, insert_notification, notification_rows, start_notifier, verified,
                            verify_standard_webhook, wait_for)
from stripe_events import DAY, Sub, admin_headers, post_event, wait_settled
from test_stripe_webhooks import start_billing


def deliver(stack, *events):
    for evt in events:
        status, body = post_event(stack, evt)
        assert (status, body) == (200, {"received": True}), (evt["type"], status, body)


def subscribed_user(stack, user, plan="starter"):
    """A user who checked out (Stripe reports the address) with an active subscription."""
    now = int(time.time())
    sub = Sub(user_id=user, plan=plan)
    deliver(stack, sub.checkout_completed(now - 10, user),
            sub.event("customer.subscription.created", now - 9, "active", now - 10, now + 30 * DAY))
    wait_settled(stack)
    return sub, now


def by_type(requests):
    return {body["type"]: (headers, body) for headers, body in requests}


# -- each kind from the Stripe event to the mail and the webhook ---------------------------------


def test_stripe_payment_and_trial_events_arrive_as_mail_and_signed_webhooks(stack):
    sink, receiver = SmtpSink(stack), Receiver(stack)
    start_billing(stack)
    start_notifier(stack, sink)
    endpoint = create_endpoint(stack, receiver.url("all"))
    assert endpoint["secret"].startswith("whsec_") and len(base64.b64decode(endpoint["secret"][6:])) >= 24
    sub, now = subscribed_user(stack, "user-mail")

    paid = sub.invoice(now + 5, True, now + 30 * DAY, now + 60 * DAY)
    failed = sub.invoice(now + 6, False, now + 60 * DAY, now + 90 * DAY)
    trial = sub.event("customer.subscription.trial_will_end", now + 7, "active", now, now + 30 * DAY,
                      trial_end=now + 3 * DAY)
    deliver(stack, paid, failed, trial)

    mails = wait_for(lambda: len(sink.to("user-mail@example.com")) >= 3 and sink.to("user-mail@example.com"), 30,
                     "three mails")
    subjects = {m["subject"]: m for m in mails}
    receipt = next(m for s, m in subjects.items() if s.startswith("Receipt: 19.00 USD"))
    failure = next(m for s, m in subjects.items() if s.startswith("Action needed"))
    ending = next(m for s, m in subjects.items() if s.startswith("Your Ops Center trial ends on"))
    text, html = bodies(receipt)
    assert "19.00 USD" in text and "19.00 USD" in html
    text, html = bodies(failure)
    assert stack.url("/billing") in text and 'href="' + stack.url("/billing") + '"' in html  # the portal link
    for m in (receipt, failure, ending):
        assert m["message-id"].startswith("<notification-") and m["date"] and m["to"].addresses[0].addr_spec == "user-mail@example.com"
        assert m.get_content_type() == "multipart/alternative"
        assert str(m["from"]) == "Öps Cénter Billing <billing@example.com>"  # encoded on the wire, decoded here
        assert b"=?UTF-8?B?" in m.raw.split(b"\r\n\r\n")[0]
    # Payment mail cannot be unsubscribed from; the trial reminder can.
    assert "list-unsubscribe" not in receipt and "list-unsubscribe" not in failure
    assert ending["list-unsubscribe"].startswith("<" + stack.url("/api/v1/notifications/unsubscribe?"))
    assert ending["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"

    hooks = wait_for(lambda: len(receiver.requests("all")) >= 3 and verified(receiver, "all", endpoint["secret"]), 30,
                     "three webhooks")
    events = by_type(hooks)
    assert set(events) >= {"payment.succeeded", "payment.failed", "trial.will_end"}
    for headers, body in events.values():
        assert body["data"]["user_id"] == "user-mail" and body["data"]["plan"] == "starter"
        assert body["data"]["status"] and body["data"]["current_period_end"] and body["timestamp"]
        assert headers["webhook-id"].startswith("msg_")
        assert "email" not in body["data"]
    assert events["payment.succeeded"][1]["data"]["amount"] == 1900
    assert events["payment.failed"][1]["data"]["invoice_id"] == failed["data"]["object"]["id"]
    assert events["trial.will_end"][1]["data"]["trial_end"] == now + 3 * DAY
    rows = wait_for(lambda: [r for r in notification_rows(stack) if r["status"] == "sent"], 10, "sent rows")
    assert {r["kind"] for r in rows} == {"receipt", "payment_failed", "trial_will_end"}


def test_a_tampered_or_foreign_signature_fails_the_independent_verifier(stack):
    receiver = Receiver(stack)
    stack.start("gateway")
    start_notifier(stack)
    endpoint = create_endpoint(stack, receiver.url("v"))
    insert_notification(stack, "receipt", "user-v", {"amount": 100, "currency": "eur"})
    request = wait_for(lambda: receiver.requests("v"), 20, "a webhook")[0]
    assert verify_standard_webhook(endpoint["secret"], request["headers"], request["body"])["type"] == "payment.succeeded"
    with pytest.raises(Exception):
        verify_standard_webhook(endpoint["secret"], request["headers"], request["body"].replace("100", "999"))
    with pytest.raises(Exception):
        verify_standard_webhook("whsec_" + base64.b64encode(b"x" * 32).decode(), request["headers"], request["body"])
