"""The notifier: operators list the notification requests other services stored."""
from support import ADMIN, wait_for


def wait_ok(stack, path, headers, timeout=10):
    """The first answer to GET path that is not 503 (the notifier not joined yet), as
    (status, body); a refused connection (the gateway still starting) is retried."""
    def answer():
        status, _, body = stack.http("GET", path, headers=headers)
        return (status, body) if status != 503 else None

    return wait_for(answer, timeout, f"GET {path} kept answering 503")


def test_admin_lists_notifications_by_status(stack):
    stack.start("gateway")
    stack.start("notifier")
    cursor = stack.db().cursor()
    cursor.execute("INSERT INTO notifications (dedupe_key, kind, user_id, payload, status) VALUES"
                   " ('k1', 'receipt', 'u1', '{\"amount\": 1900}', 'pending'),"
                   " ('k2', 'payment_failed', 'u2', '{}', 'sent')")
    admin = ADMIN

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
