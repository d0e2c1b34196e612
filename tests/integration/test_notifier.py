"""The notifier: operators list the notification requests other services stored."""
import time


def wait_ok(stack, path, headers, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _, body = stack.http("GET", path, headers=headers)
        except OSError:  # the gateway is not listening yet
            status, body = 503, None
        if status != 503:
            return status, body
        time.sleep(0.05)
    return status, body


def test_admin_lists_notifications_by_status(stack):
    stack.start("gateway")
    stack.start("notifier")
    cursor = stack.db().cursor()
    cursor.execute("INSERT INTO notifications (dedupe_key, kind, user_id, payload, status) VALUES"
                   " ('k1', 'receipt', 'u1', '{\"amount\": 1900}', 'pending'),"
                   " ('k2', 'payment_failed', 'u2', '{}', 'sent')")
    admin = {"Authorization": "Bearer " + stack.env["ADMIN_TOKEN"]}

    status, body = wait_ok(stack, "/api/v1/admin/notifications", admin)
    assert status == 200
    assert [n["kind"] for n in body["notifications"]] == ["payment_failed", "receipt"]  # newest first
    assert body["notifications"][1]["payload"] == {"amount": 1900}

    status, body = wait_ok(stack, "/api/v1/admin/notifications?status=pending&limit=10", admin)
    assert status == 200 and [n["user_id"] for n in body["notifications"]] == ["u1"]

    status, body = wait_ok(stack, "/api/v1/admin/notifications?status=bogus", admin)
    assert status == 400 and body["error"]["code"] == "invalid_query"

    status, _, body = stack.http("GET", "/api/v1/admin/notifications")
    assert status == 401 and body["error"]["code"] == "token_missing"
    status, _, body = stack.http("GET", "/api/v1/admin/notifications", headers={"Authorization": "Bearer wrong"})
    assert status == 401
