"""The HTTP edge refuses what another hop could read differently, answers in
the API's JSON error shape, and checks path parameters before any worker sees
them (issue 19 items 2-3, issue 12 items 8-9)."""
import subprocess
import time

import pytest

from harness import binary
from http_raw import is_h2o_fixed_400, json_error, parse_responses, send

PLANS = "/api/v1/subscriptions/plans"
USAGE = "/api/v1/usage/events"


def start_catalogue(stack, **env):
    stack.start("gateway", **env)
    stack.start("subscription-worker", **env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if stack.http("GET", PLANS)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail("the plans path never answered 200")


def start_gateway(stack, **env):
    stack.start("gateway", **env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if stack.http("GET", "/health", timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail("the gateway never answered /health")


def post(headers, body=b""):
    return (b"POST " + USAGE.encode() + b" HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer test-service-token\r\n"
            + b"".join(h.encode() + b"\r\n" for h in headers) + b"\r\n" + body)


SMUGGLED = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"

FRAMING = [
    ("two Content-Length", post(["Content-Length: 2", "Content-Length: 40"], b"{}" + SMUGGLED), "Content-Length"),
    ("Content-Length with chunked", post(["Content-Length: 40", "Transfer-Encoding: chunked"],
                                         b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED), "Transfer-Encoding"),
    ("chunked with Content-Length", post(["Transfer-Encoding: chunked", "Content-Length: 5"],
                                         b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED), "Transfer-Encoding"),
    ("chunked twice", post(["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
                           b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED), "chunked"),
    ("folded header", post(["Content-Length: 2", "X-Note: a", " b"], b"{}" + SMUGGLED), "folded"),
]


@pytest.mark.parametrize("name,request_bytes,mentions", FRAMING, ids=[case[0] for case in FRAMING])
def test_ambiguous_framing_is_400_json_and_the_connection_closes_before_a_second_request(stack, name, request_bytes,
                                                                                         mentions):
    start_gateway(stack)
    data, closed = send(stack.port, request_bytes)
    responses = parse_responses(data)
    assert len(responses) == 1, f"{name}: a smuggled request was answered: {data!r}"
    status, headers, body = responses[0]
    assert status == 400 and headers["connection"] == "close" and closed
    error = json_error(headers, body)
    assert error["code"] == "bad_framing" and mentions in error["message"]


def test_transfer_encodings_other_than_chunked_are_400_json(stack):
    start_gateway(stack)
    for value in ("gzip, chunked", "identity", "chunked, gzip"):
        data, closed = send(stack.port, post([f"Transfer-Encoding: {value}"], b"2\r\n{}\r\n0\r\n\r\n" + SMUGGLED))
        responses = parse_responses(data)
        assert len(responses) == 1 and responses[0][0] == 400 and closed, (value, data)
        json_error(responses[0][1], responses[0][2])


def test_h2c_upgrade_and_the_http2_preface_are_not_served(stack):
    start_gateway(stack)
    upgrade = (b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
               b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    data, _ = send(stack.port, upgrade)
    [(status, headers, body)] = parse_responses(data)
    assert status == 200 and body == b'{"status":"ok"}' and "upgrade" not in headers
    data, _ = send(stack.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert not data.startswith(b"\x00"), "an HTTP/2 SETTINGS frame came back"
    [(status, headers, body)] = parse_responses(data)
    assert status == 400


def test_h2o_errors_before_the_handler_are_json(stack):
    start_gateway(stack, MAX_BODY_BYTES=2048)
    cases = [
        ("broken chunking", post(["Transfer-Encoding: chunked"], b"zz\r\n{}\r\n"), 400, "bad_request"),
        ("broken length", post(["Content-Length: +2"], b"{}"), 400, "bad_request"),
        ("unknown expectation", post(["Expect: teapot", "Content-Length: 2"], b"{}"), 417, "expectation_failed"),
        ("far over the limit", post(["Content-Length: 99999999"]), 413, "payload_too_large"),
    ]
    for name, request_bytes, want_status, want_code in cases:
        data, _ = send(stack.port, request_bytes)
        [(status, headers, body)] = parse_responses(data)
        assert status == want_status, (name, data)
        assert json_error(headers, body)["code"] == want_code, name
    # What h2o writes without a response object stays its fixed text (documented).
    data, _ = send(stack.port, b"GET /hea\x01lth HTTP/1.1\r\nHost: t\r\n\r\n")
    [(status, headers, body)] = parse_responses(data)
    assert is_h2o_fixed_400(status, headers, body)


BAD_PARAMS = [
    ("invalid UTF-8", "/a%ffb", "UTF-8"),
    ("NUL", "/ab%00cd", "control"),
    ("control byte", "/ab%0acd", "control"),
    ("DEL", "/ab%7f", "control"),
    ("overlong slash", "/%c0%af", "UTF-8"),
    ("over-long", "/" + "p" * 256, "longer"),
]


def test_bad_path_parameters_are_400_json_at_the_gateway(stack):
    start_catalogue(stack)
    for name, suffix, mentions in BAD_PARAMS:
        status, _, body = stack.http("GET", PLANS + suffix)
        assert status == 400, (name, status, body)
        assert body["error"]["code"] == "invalid_path_parameter" and mentions in body["error"]["message"], name
        status, _, body = stack.http("POST", "/api/v1/admin/webhook-events" + suffix + "/replay",
                                     headers={"Authorization": "Bearer test-admin-token"})
        assert status == 400 and body["error"]["code"] == "invalid_path_parameter", (name, body)
    # At the bound, and in UTF-8, a parameter is an ordinary (unknown) plan.
    for ok in ("/" + "p" * 255, "/pl%C3%A4n"):
        status, _, body = stack.http("GET", PLANS + ok)
        assert status == 404 and body["error"]["code"] == "plan_not_found", (ok, body)


def test_health_and_ready_answer_get_only_like_every_route(stack):
    start_catalogue(stack)
    for path in ("/health", "/ready"):
        for method in ("HEAD", "POST", "DELETE"):
            status, headers, _ = stack.http(method, path)
            assert status == 405 and headers["allow"] == "GET", (method, path)
    status, headers, body = stack.http("HEAD", PLANS)
    assert status == 405 and headers["allow"] == "GET" and body == ""


def test_body_limit_past_the_worker_frame_limit_is_refused_at_start(stack):
    result = subprocess.run([str(binary("gateway"))], env=stack._process_env({"MAX_BODY_BYTES": str(64 << 20)}),
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if "MAX_BODY_BYTES" in line]


def test_a_body_at_the_largest_limit_reaches_the_worker_which_stays_connected(stack):
    limit = 1536 * 1024
    start_catalogue(stack, MAX_BODY_BYTES=str(limit))
    status, _, body = stack.http("GET", PLANS + "/starter", body=b"x" * limit)
    assert status == 200 and body["id"] == "starter"
    # The worker kept its broker connection: the next call is served at once.
    status, _, body = stack.http("GET", PLANS + "/professional", timeout=2.0)
    assert status == 200 and body["id"] == "professional"
