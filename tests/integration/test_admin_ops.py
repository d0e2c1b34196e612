"""Operators' views (issue 13): the Lago forwarding failures (list, retry one, retry all)."""
from stripe_events import admin_headers
from usage_support import event, ingest, lago_state, query, start_usage_stack, subscribe, wait_until

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
    wait_until(lambda: all((row(stack, tx) or (0, None))[1] == "no_subscription" for tx in ("orph-1", "orph-2")),
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
    wait_until(lambda: row(stack, "orph-1")[0], timeout=15, message="the retried event forwarded")
    assert lago_state(url)["events"]["orph-1"]["event"]["external_subscription_id"] == sub
    status, _, body = stack.http("POST", FORWARDING + "/orph-1/retry", headers=admin_headers(stack))
    assert status == 409 and body["error"]["code"] == "already_forwarded"

    # Retry all: the remaining failing event is taken again at once (and fails again: still no subscription).
    attempts = row(stack, "orph-2")[2]
    status, _, body = stack.http("POST", FORWARDING + "/retry", headers=admin_headers(stack))
    assert status == 200 and body == {"retried": 1}
    wait_until(lambda: row(stack, "orph-2")[2] > attempts, timeout=15, message="the failing event attempted again")
    status, _, body = stack.http("GET", FORWARDING, headers=admin_headers(stack))
    assert body["backlog"] == 1 and [e["transaction_id"] for e in body["events"]] == ["orph-2"]
