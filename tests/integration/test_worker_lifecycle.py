"""Workers at start and stop (issue 19 item 5): a malformed BROKER_ENDPOINT
(one endpoint or a comma list of them, issue 14) stops a worker at once with
one line naming the setting, and SIGTERM ends a worker within its drain
timeout whether or not a broker is there."""
import signal
import subprocess

import pytest

from harness import binary, free_port
from support import wait_for

BAD_ENDPOINTS = [
    "tcp://127.0.0.1:5555,,tcp://127.0.0.1:5599",
    "tcp://127.0.0.1:5555,tcp://127.0.0.1",
    "tcp://127.0.0.1:5555, tcp://127.0.0.1:5599",
    "tcp://127.0.0.1:5555,tcp://127.0.0.1:5555",
    "tcp://127.0.0.1:5555,",
    "tcp://127.0.0.1",
    "tcp://:5555",
    "tcp://127.0.0.1:0",
    "tcp://127.0.0.1:99999",
    "tcp://127.0.0.1:55a5",
    "tcp://127.0.0.1:5555 ",
    "tcp://127.0.0.1:5555/x",
    "tcp://exa mple:5555",
    "http://127.0.0.1:5555",
    "ipc://",
]


@pytest.mark.parametrize("worker", ["subscription-worker", "stripe-worker", "lago-worker", "notifier"])
def test_a_malformed_broker_endpoint_stops_the_worker_naming_the_setting(stack, worker):
    for endpoint in BAD_ENDPOINTS:
        result = subprocess.run([str(binary(worker))], env=stack._process_env({"BROKER_ENDPOINT": endpoint}),
                                capture_output=True, text=True, timeout=20)
        assert result.returncode != 0, (worker, endpoint, result.stdout[-500:])
        lines = [line for line in (result.stdout + result.stderr).splitlines() if "BROKER_ENDPOINT" in line]
        assert len(lines) == 1, (worker, endpoint, lines)
        assert len(endpoint) <= 8 or endpoint not in lines[0], "settings are named, never echoed"


def test_sigterm_ends_a_worker_that_never_reached_a_broker(stack):
    nobody = f"tcp://127.0.0.1:{free_port()}"
    worker = stack.start("subscription-worker", BROKER_ENDPOINT=nobody)
    worker.wait_for_log("serving", timeout=15)
    assert stack.stop(worker, timeout=15) == 0
    assert signal.SIGKILL not in worker.signals_sent


def test_sigterm_ends_a_worker_whose_broker_vanished(stack):
    gateway = stack.start("gateway")
    worker = stack.start("subscription-worker")
    worker.wait_for_log("serving", timeout=15)
    stack.kill(gateway)  # kill -9: no goodbye from the broker
    gateway.popen.wait(5)
    assert stack.stop(worker, timeout=15) == 0
    assert signal.SIGKILL not in worker.signals_sent


def test_sigterm_ends_a_worker_serving_one_live_gateway_and_one_dead(stack):
    stack.start("gateway")
    nobody = f"tcp://127.0.0.1:{free_port()}"
    worker = stack.start("subscription-worker", BROKER_ENDPOINT=f"{stack.env['BROKER_ENDPOINT']},{nobody}")
    # It serves the live gateway although the other never answers,
    wait_for(lambda: stack.http("GET", "/ready")[2]["workers"]["subscription"] == 1, 15,
             "the worker never registered with the live gateway")
    status, _, _ = stack.http("GET", "/api/v1/subscriptions/plans")
    assert status == 200
    # and SIGTERM still ends it within its drain timeout.
    assert stack.stop(worker, timeout=15) == 0
    assert signal.SIGKILL not in worker.signals_sent


@pytest.mark.parametrize("position", ["alone", "second in a list"])
def test_an_endpoint_libzmq_refuses_to_connect_to_stops_the_worker(stack, position):
    # tcp://*:PORT is a bind address: valid for the gateway's BROKER_BIND, refused by zmq_connect.
    endpoint = f"tcp://*:{free_port()}"
    if position != "alone":
        endpoint = f"tcp://127.0.0.1:{free_port()},{endpoint}"
    result = subprocess.run([str(binary("subscription-worker"))],
                            env=stack._process_env({"BROKER_ENDPOINT": endpoint}),
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert len([line for line in (result.stdout + result.stderr).splitlines() if "BROKER_ENDPOINT" in line]) == 1
    assert "serving" not in result.stdout + result.stderr
