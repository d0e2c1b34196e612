"""GET /metrics: the gateway's and every worker's figures in Prometheus' text format (issue 13).

The output must pass `promtool check metrics` (Debian's prometheus package, deploy/scripts/deps.sh),
its counters must move as the test drives load, a worker that leaves must take its figures with it,
and deploy/prometheus (scrape config, alert rules and their unit tests) must pass promtool too."""
import re
import shutil
import subprocess
import time

import pytest

from harness import REPO
from stripe_events import event, post_event, stripe_id
from support import query, wait_for
from usage_support import authorize, ledger, subscribe

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: run deploy/scripts/deps.sh")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        samples[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return samples


def value(samples, name, **labels):
    """The sum over the samples of name whose labels include the given ones (None if none)."""
    want = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and want <= ls]
    return sum(found) if found else None


def scrape(stack, headers=None):
    status, response_headers, body = stack.http("GET", "/metrics", headers=headers)
    assert status == 200, body
    assert response_headers["content-type"].startswith("text/plain; version=0.0.4")
    return body


def promtool_check(text):
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    # promtool lints too (exit 3 for lint problems only would still be failure here).
    assert result.returncode == 0, f"promtool check metrics:\n{result.stdout}{result.stderr}"


def _healthy(stack):
    try:
        return stack.http("GET", "/health", timeout=1.0)[0] == 200
    except OSError:
        return False


def metrics_stack(stack, **env):
    stack.env["METRICS_INTERVAL_MS"] = "150"
    stack.env["AUTH_JWT_SECRET"] = "metrics-test-jwt-secret-0123456789"
    stack.start("gateway", **env)
    # Recorded, not processed: the inbox keeps its pending event for the gauge.
    stack.start("stripe-worker", STRIPE_EVENT_PROCESSING="false")
    for name in ("subscription-worker", "lago-worker", "notifier"):
        stack.start(name)
    stack.wait_ready(timeout=20)
    db = stack.db()
    wait_for(lambda: query(db, "SELECT count(*) FROM plans")[0][0] >= 4, message="the plan catalogue")


def test_metrics_pass_promtool_and_move_with_load(stack):
    metrics_stack(stack)
    programs = ("stripe-worker", "subscription-worker", "lago-worker", "notifier")
    # Every worker's snapshot arrives over the broker.
    before = parse(wait_for(lambda: (lambda t: t if all(f'program="{p}"' in t for p in programs) else None)(scrape(stack)),
                              message="every worker's snapshot"))
    for service in ("stripe", "subscription", "usage", "lago", "notifier"):
        assert value(before, "ob_broker_workers", service=service) == 1
        assert value(before, "ob_broker_queue_depth", service=service) is not None
    assert value(before, "process_resident_memory_bytes", program="gateway") > 0
    assert value(before, "ob_process_uptime_seconds", program="gateway") >= 0
    for program in programs:
        assert value(before, "process_resident_memory_bytes", program=program) > 0
        assert value(before, "ob_postgres_errors_total", program=program, kind="statement") is not None
    assert value(before, "ob_redis_reconnects_total", program="lago-worker") is not None
    # The lago-worker serves two services from one registry: reported once, not twice.
    assert len([k for k in before if k[0] == "process_start_time_seconds" and ("program", "lago-worker") in k[1]]) == 1

    # Load: 3 allowed and 1 denied authorize calls, a webhook, an unknown path, a failed notification.
    subscribe(stack, "u-allowed", "starter")
    subscribe(stack, "u-denied", "trial")
    ledger(stack, "u-denied", 700)
    for _ in range(3):
        assert authorize(stack, "u-allowed")[0] == 200
    assert authorize(stack, "u-denied")[0] == 429
    evt = event("customer.created", {"id": stripe_id("cus"), "object": "customer"}, int(time.time()))
    assert post_event(stack, evt)[0] == 200
    assert stack.http("GET", "/api/v1/no/such/path/123")[0] == 404
    query(stack.db(), "INSERT INTO notifications (dedupe_key, kind, status, attempts, last_error)"
                      " VALUES ('metrics-test', 'receipt', 'failed', 8, 'smtp refused')")

    authorize_route = {"route": "/api/v1/usage/authorize", "method": "POST"}

    def moved():
        text = scrape(stack)
        after = parse(text)
        ok = (value(after, "ob_usage_authorize_total", decision="allowed") == 3
              and value(after, "ob_usage_authorize_total", decision="denied") == 1
              and value(after, "ob_stripe_inbox_events", status="pending") == 1
              and value(after, "ob_notifications_failed") == 1
              and (value(after, "ob_lago_forward_backlog_events") or 0) >= 703)
        return (text, after) if ok else None

    text, after = wait_for(moved, timeout=15, message="the workers' figures to move")
    promtool_check(text)
    assert value(after, "ob_http_requests_total", status="200", **authorize_route) == 3
    assert value(after, "ob_http_requests_total", status="429", **authorize_route) == 1
    assert value(after, "ob_http_request_duration_seconds_count", **authorize_route) == \
        (value(before, "ob_http_request_duration_seconds_count", **authorize_route) or 0) + 4
    assert value(after, "ob_http_request_duration_seconds_bucket", le="+Inf", **authorize_route) == 4
    assert value(after, "ob_http_requests_total", route="/api/v1/billing/webhooks/stripe", status="200") == 1
    assert value(after, "ob_http_requests_total", route="unmatched", status="404") == 1
    assert "/no/such/path" not in text  # route patterns, never raw paths
    assert value(after, "ob_stripe_inbox_oldest_pending_age_seconds") >= 0
    assert value(after, "ob_lago_forward_oldest_age_seconds") > 0
    assert value(after, "ob_stripe_inbox_events", status="failed") == 0


def test_a_worker_that_leaves_is_dropped(stack):
    metrics_stack(stack)
    wait_for(lambda: 'program="notifier"' in scrape(stack), message="the notifier's snapshot")
    assert stack.stop("notifier") == 0
    samples = parse(wait_for(lambda: (lambda t: t if 'program="notifier"' not in t else None)(scrape(stack)),
                               message="the notifier's figures to go"))
    assert value(samples, "ob_broker_workers", service="notifier") == 0
    assert value(samples, "ob_notifications_backlog") is None
    assert value(samples, "ob_broker_workers", service="stripe") == 1


def test_metrics_token_guards_the_endpoint(stack):
    stack.env["METRICS_TOKEN"] = "scrape-secret"
    stack.start("gateway")
    wait_for(lambda: _healthy(stack), message="the gateway")
    status, _, body = stack.http("GET", "/metrics")
    assert status == 401 and body["error"]["code"] == "token_missing"
    assert stack.http("GET", "/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
    text = scrape(stack, headers={"Authorization": "Bearer scrape-secret"})
    promtool_check(text)
    # No worker yet: the broker still reports every service, with no one serving it.
    assert value(parse(text), "ob_broker_workers", service="usage") == 0


def test_deploy_prometheus_config_and_rules():
    config = REPO / "deploy" / "prometheus" / "prometheus.yml"
    rules = REPO / "deploy" / "prometheus" / "alerts.yml"
    tests = REPO / "deploy" / "prometheus" / "alerts_test.yml"
    for argv in (["check", "config", config], ["check", "rules", rules], ["test", "rules", tests]):
        result = subprocess.run([PROMTOOL, *map(str, argv)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"promtool {' '.join(map(str, argv))}:\n{result.stdout}{result.stderr}"


def test_postgres_reconnects_are_counted(stack):
    metrics_stack(stack)

    def notifier(name, **labels):
        return value(parse(scrape(stack)), name, program="notifier", **labels)

    wait_for(lambda: notifier("ob_postgres_reconnects_total") == 0, message="the notifier's snapshot")
    # Kill the notifier's session under it: its next gauge query finds the connection lost and reconnects.
    query(stack.db(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'notifier'")
    wait_for(lambda: (notifier("ob_postgres_reconnects_total") or 0) >= 1, timeout=15,
               message="the reconnect counted")
    assert notifier("ob_postgres_errors_total", kind="connection_lost") >= 1


def test_quota_rebuilds_are_counted(stack):
    metrics_stack(stack)
    subscribe(stack, "u-rebuild", "starter")
    assert authorize(stack, "u-rebuild")[0] == 200

    def lago_worker(name, **labels):
        return value(parse(scrape(stack)), name, program="lago-worker", **labels)

    wait_for(lambda: lago_worker("ob_usage_authorize_total", decision="allowed") == 1, message="the first call counted")
    before = lago_worker("ob_quota_rebuilds_total")
    # Redis loses the counters (a restart without persistence): the next call rebuilds from the ledger.
    stack.redis().flushall()
    status, _, body = authorize(stack, "u-rebuild")
    assert status == 200 and body["used"] == 2
    wait_for(lambda: lago_worker("ob_quota_rebuilds_total") == before + 1, message="the rebuild counted")
