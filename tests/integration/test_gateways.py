"""Several gateways, one set of workers (issue 14, "More than one host"): a
worker given BROKER_ENDPOINT=a,b serves both gateways; a gateway killed -9
costs only its own requests, and once restarted the workers join it again."""
import time

from harness import WORKERS
from support import ADMIN, SERVICE, wait_for

# One request per service, each answered by a different worker kind; the
# answer's X-Served-By names the service that answered.
PROBES = {
    "subscription": ("/api/v1/subscriptions/plans", {}),
    "stripe": ("/api/v1/admin/webhook-events", ADMIN),
    "notifier": ("/api/v1/admin/notifications", ADMIN),
    "lago": ("/api/v1/admin/usage-forwarding", ADMIN),
    "usage": ("/api/v1/usage/user_1", SERVICE),
}


def served(stack, port):
    """{service: (status, X-Served-By)} for one probe of each service through the gateway at port."""
    answers = {}
    for service, (path, headers) in PROBES.items():
        status, response_headers, _ = stack.http("GET", path, headers=headers, port=port)
        answers[service] = (status, response_headers.get("x-served-by", ""))
    return answers


def assert_all_served(stack, port):
    answers = served(stack, port)
    for service, (status, served_by) in answers.items():
        assert status == 200, (port, service, status)
        assert served_by.startswith(f"{service}@"), (port, service, served_by)


def test_one_worker_of_each_kind_serves_two_gateways_and_outlives_one(stack):
    second = stack.add_gateway()
    assert "," in stack.env["BROKER_ENDPOINT"]
    first_port, second_port = stack.port, int(second["GATEWAY_PORT"])
    stack.start("gateway")
    doomed = stack.start("gateway", **second)
    workers = [stack.start(name) for name in WORKERS]

    # Given both gateways, each with every service registered by the same workers,
    for port in (first_port, second_port):
        ready = stack.wait_ready(timeout=20, port=port)
        assert all(count == 1 for count in ready["workers"].values()), (port, ready)
    for port in (first_port, second_port):
        assert_all_served(stack, port)

    # when one gateway dies without a goodbye,
    stack.kill(doomed)
    doomed.popen.wait(5)
    # then the other keeps answering, from the same workers, while the first is gone.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert_all_served(stack, first_port)
        time.sleep(0.2)
    assert all(worker.alive() for worker in workers)

    # When it comes back on the same ports, every worker registers with it again
    stack.start("gateway", **second)
    ready = stack.wait_ready(timeout=20, port=second_port)
    assert all(count == 1 for count in ready["workers"].values()), ready
    # and both serve.
    wait_for(lambda: all(status == 200 for status, _ in served(stack, second_port).values()), 10,
             "the restarted gateway's requests were not served")
    for port in (first_port, second_port):
        assert_all_served(stack, port)
    # The workers never restarted: each re-registered with the new gateway over its own connection.
    assert all(worker.alive() for worker in workers)
    assert all("reconnecting" in worker.log() for worker in workers)
