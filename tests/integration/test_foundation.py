"""The foundation, end to end: gateway -> broker -> subscription-worker -> Postgres -> back,
and how the broker behaves when workers and the gateway come and go."""
import signal
import threading
import time

import pytest

from harness import binary, REPO
from support import assert_json_error, wait_for
import subprocess

PLANS = "/api/v1/subscriptions/plans"


def start_catalogue(stack, **env):
    """The gateway and one subscription-worker: enough for the plans path."""
    stack.start("gateway", **env)
    worker = stack.start("subscription-worker", **env)
    wait_for(lambda: stack.http("GET", PLANS)[0] == 200, 10, "the plans path never answered 200")
    return worker


def test_plans_list_comes_from_postgres_through_the_broker(stack):
    start_catalogue(stack)
    status, headers, body = stack.http("GET", PLANS)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert [plan["id"] for plan in body["plans"]] == ["trial", "starter", "professional", "enterprise"]
    by_id = {plan["id"]: plan for plan in body["plans"]}
    for plan in body["plans"]:
        assert set(plan) >= {"id", "name", "description", "currency", "price_monthly_cents", "price_yearly_cents",
                             "trial_days", "api_calls_limit", "api_calls_period", "byok", "seats", "features"}
    assert by_id["trial"]["price_monthly_cents"] == 100 and by_id["trial"]["price_yearly_cents"] is None
    assert by_id["trial"]["api_calls_limit"] == 700 and by_id["trial"]["api_calls_period"] == "total"
    assert by_id["starter"]["price_yearly_cents"] == 19000 and by_id["starter"]["api_calls_limit"] == 1000
    assert by_id["professional"]["api_calls_limit"] == 10000 and "litellm" in by_id["professional"]["features"]
    assert by_id["enterprise"]["api_calls_limit"] is None and by_id["enterprise"]["seats"] == 10
    assert "team_management" in by_id["enterprise"]["features"]

    # The answer really comes from the table: change a row, see it.
    stack.db().cursor().execute("UPDATE plans SET name = 'Starter Plus' WHERE id = 'starter'")
    status, _, body = stack.http("GET", PLANS + "/starter")
    assert status == 200 and body["name"] == "Starter Plus"


def test_single_plan_and_unknown_plan(stack):
    start_catalogue(stack)
    status, _, body = stack.http("GET", PLANS + "/professional")
    assert status == 200 and body["id"] == "professional" and body["price_monthly_cents"] == 4900
    status, _, body = stack.http("GET", PLANS + "/platinum")
    assert status == 404
    assert_json_error(body, "plan_not_found")


def test_etag_lets_clients_revalidate_with_304(stack):
    start_catalogue(stack)
    status, headers, _ = stack.http("GET", PLANS)
    etag = headers["etag"]
    assert status == 200 and etag.startswith('"') and "max-age" in headers["cache-control"]
    status, headers, body = stack.http("GET", PLANS, headers={"If-None-Match": etag})
    assert status == 304 and body == "" and headers["etag"] == etag
    status, _, _ = stack.http("GET", PLANS, headers={"If-None-Match": '"something-else"'})
    assert status == 200
    stack.db().cursor().execute("UPDATE plans SET description = 'changed' WHERE id = 'trial'")
    status, headers, _ = stack.http("GET", PLANS, headers={"If-None-Match": etag})
    assert status == 200 and headers["etag"] != etag


def test_error_shapes_404_405_413(stack):
    start_catalogue(stack, MAX_BODY_BYTES=2048)
    status, _, body = stack.http("GET", "/api/v1/nothing-here")
    assert status == 404
    assert_json_error(body, "not_found")
    status, headers, body = stack.http("DELETE", PLANS)
    assert status == 405 and headers["allow"] == "GET"
    assert_json_error(body, "method_not_allowed")
    status, _, body = stack.http("POST", "/api/v1/billing/webhooks/stripe", body="x" * 4096)
    assert status == 413
    assert_json_error(body, "payload_too_large")


def test_health_and_ready_name_the_missing_services(stack):
    stack.start("gateway")
    wait_for(lambda: stack.http("GET", "/health")[0] == 200, 10, "no /health")
    status, _, body = stack.http("GET", "/ready")
    assert status == 503
    assert body["status"] == "not_ready"
    assert set(body["missing"]) == {"stripe", "subscription", "usage", "lago", "notifier"}
    stack.start("subscription-worker")
    wait_for(lambda: "subscription" not in stack.http("GET", "/ready")[2]["missing"], 10, "worker never counted")
    status, _, body = stack.http("GET", "/ready")
    assert status == 503 and body["workers"]["subscription"] == 1


def test_ready_with_every_worker(stack):
    stack.start_all()
    body = stack.wait_ready(timeout=15)
    assert body["status"] == "ready" and body["missing"] == []


def test_killed_worker_means_503_not_a_hang_and_a_restart_brings_it_back(stack):
    worker = start_catalogue(stack)
    stack.kill(worker, signal.SIGKILL)
    # Heartbeats are 200 ms here: dead after three missed.
    wait_for(lambda: stack.http("GET", "/ready")[2]["workers"]["subscription"] == 0, 5, "/ready never noticed")
    started = time.monotonic()
    status, headers, body = stack.http("GET", PLANS)
    assert status == 503 and headers.get("retry-after") == "1"
    assert_json_error(body, "service_unavailable")
    assert time.monotonic() - started < 2, "a 503 must come at once, not after the deadline"
    stack.start("subscription-worker")
    wait_for(lambda: stack.http("GET", PLANS)[0] == 200, 10, "a restarted worker did not bring the path back")


def test_two_workers_both_serve_requests(stack):
    start_catalogue(stack)
    stack.start("subscription-worker")
    wait_for(lambda: stack.http("GET", "/ready")[2]["workers"]["subscription"] == 2, 10, "second worker not seen")
    served_by = {stack.http("GET", PLANS)[1]["x-served-by"] for _ in range(40)}
    assert len(served_by) == 2, served_by


def test_workers_rejoin_a_restarted_gateway(stack):
    worker = start_catalogue(stack)
    gateway = [proc for proc in stack.procs if proc.name == "gateway"][0]
    assert stack.stop(gateway) == 0
    stack.start("gateway")
    wait_for(lambda: stack.http("GET", PLANS)[0] == 200, 10, "workers did not rejoin the new gateway")
    assert worker.alive(), "the worker must not need a restart"


def test_sigterm_lets_in_flight_requests_finish(stack):
    # Slow heartbeats so that a paused worker is not declared dead meanwhile.
    worker = start_catalogue(stack, HEARTBEAT_MS=3000, REQUEST_TIMEOUT_MS=10000)
    gateway = [proc for proc in stack.procs if proc.name == "gateway"][0]
    worker.popen.send_signal(signal.SIGSTOP)
    results = []

    def request():
        results.append(stack.http("GET", PLANS, timeout=15)[0])

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the requests are now waiting on the paused worker
    gateway.popen.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert gateway.alive(), "the gateway must wait for in-flight requests"
    worker.popen.send_signal(signal.SIGCONT)
    for thread in threads:
        thread.join(20)
    assert results == [200, 200, 200, 200]
    assert gateway.popen.wait(10) == 0


def test_sigterm_worker_says_goodbye_and_exits_0(stack):
    worker = start_catalogue(stack)
    assert stack.stop(worker) == 0
    status, _, body = stack.http("GET", "/ready")
    assert body["workers"]["subscription"] == 0, "a goodbye removes the worker at once"
    status, _, _ = stack.http("GET", PLANS)
    assert status == 503


def test_deadline_gives_504_not_a_hung_connection(stack):
    worker = start_catalogue(stack, HEARTBEAT_MS=5000, REQUEST_TIMEOUT_MS=500)
    worker.popen.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        status, _, body = stack.http("GET", PLANS)
        assert status == 504
        assert_json_error(body, "timeout")
        assert time.monotonic() - started < 5
    finally:
        worker.popen.send_signal(signal.SIGCONT)


@pytest.mark.parametrize("name", ["subscription-worker", "gateway"])
def test_bad_settings_stop_start_up_with_one_line_per_problem(stack, name):
    env = stack._process_env({"DATABASE_URL": "mysql://nope", "HEARTBEAT_MS": "fast", "GATEWAY_PORT": "99999",
                              "BROKER_BIND": "somewhere"})
    result = subprocess.run([str(binary(name))], env=env, cwd=REPO, capture_output=True, text=True, timeout=10)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("config: ")]
    assert "config: HEARTBEAT_MS must be an integer" in lines
    if name == "gateway":
        assert "config: GATEWAY_PORT is out of range" in lines
        assert any(line.startswith("config: BROKER_BIND must be a ZeroMQ endpoint") for line in lines)
    else:
        assert any(line.startswith("config: DATABASE_URL must be a postgres:// URL") for line in lines)
    assert "mysql://nope" not in result.stderr, "values are never echoed"
