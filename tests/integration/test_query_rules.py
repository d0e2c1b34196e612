"""One rule for query parameters (issue 19 item 4): a parameter given but
unusable is a 400 JSON error, never silently ignored or defaulted."""
import time

import pytest

EVENTS = "/api/v1/admin/webhook-events"
NOTIFICATIONS = "/api/v1/admin/notifications"


def wait_ok(stack, path, headers):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if stack.http("GET", path, headers=headers)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{path} never answered 200")


def test_invalid_status_and_limit_are_400_whatever_their_length(stack):
    stack.start("gateway")
    stack.start("stripe-worker", STRIPE_EVENT_PROCESSING="false")
    stack.start("notifier")
    admin = {"Authorization": f"Bearer {stack.env['ADMIN_TOKEN']}"}
    wait_ok(stack, EVENTS, admin)
    wait_ok(stack, NOTIFICATIONS, admin)
    cases = [
        (EVENTS, "status=" + "f" * 32, "invalid_status"),
        (EVENTS, "status=" + "x" * 200, "invalid_status"),
        (EVENTS, "status=failed%00", "invalid_status"),
        (EVENTS, "status=bogus", "invalid_status"),
        (EVENTS, "limit=1001", "invalid_limit"),
        (EVENTS, "limit=4294967296", "invalid_limit"),
        (EVENTS, "limit=9223372036854775808", "invalid_limit"),
        (EVENTS, "limit=99999999999999999999999", "invalid_limit"),
        (EVENTS, "limit=", "invalid_limit"),
        (EVENTS, "limit=-1", "invalid_limit"),
        (NOTIFICATIONS, "status=" + "s" * 40, "invalid_query"),
        (NOTIFICATIONS, "limit=10abc", "invalid_query"),
        (NOTIFICATIONS, "limit=9223372036854775808", "invalid_query"),
    ]
    for path, query, code in cases:
        status, _, body = stack.http("GET", f"{path}?{query}", headers=admin)
        assert status == 400 and body["error"]["code"] == code, (path, query, status, body)
    for path, query in ((EVENTS, "status=failed&limit=1000"), (EVENTS, "status=all"), (NOTIFICATIONS, "limit=500"),
                        (NOTIFICATIONS, "status=sent")):
        status, _, body = stack.http("GET", f"{path}?{query}", headers=admin)
        assert status == 200, (path, query, body)
