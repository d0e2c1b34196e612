"""ZeroMQ CURVE on the broker (issue 12 item 12): with keys from
`billing-admin keygen`, only workers whose public key the gateway lists can
say READY; a wrong key or a plain-TCP peer is never served; without keys the
broker binds loopback only."""
import os
import re
import stat
import subprocess
import time

import pytest

from harness import binary, free_port
from support import wait_for

Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
FOUR = ("BROKER_SERVER_SECRET_KEY", "BROKER_CLIENT_PUBLIC_KEYS", "BROKER_SERVER_PUBLIC_KEY", "BROKER_CLIENT_SECRET_KEY")
GATEWAY_KEYS = FOUR[:2]
WORKER_KEYS = FOUR[2:]
PLANS = "/api/v1/subscriptions/plans"
# How long a refused worker is watched: many reconnect attempts (100 ms apart at first).
WATCH_S = 3


def settings(text):
    """{NAME: value} from NAME='value' lines (keygen's output or an env file)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Z_]+)='([^']*)'$", line)
        if match:
            found[match[1]] = match[2]
    return found


def keygen(stack):
    result = stack.admin("keygen")
    assert result.returncode == 0, result.stderr
    return settings(result.stdout)


def only(keys, names):
    return {name: keys[name] for name in names}


def subscription_workers(stack):
    return stack.http("GET", "/ready")[2]["workers"]["subscription"]


def assert_never_registers(stack, gateway):
    deadline = time.monotonic() + WATCH_S
    while time.monotonic() < deadline:
        assert subscription_workers(stack) == 0
        status, _, body = stack.http("GET", PLANS)
        assert status == 503 and body["error"]["code"] == "service_unavailable", (status, body)
        time.sleep(0.2)
    assert "worker joined" not in gateway.log()


def assert_no_secret_logged(stack, *secrets):
    for proc in stack.procs:
        log = proc.log()
        for secret in secrets:
            assert secret not in log, f"{proc.name} logged a secret"


def run(stack, name, timeout=20, **env):
    """Runs build/<name> to its end (a process expected to refuse its settings)."""
    return subprocess.run([str(binary(name))], env=stack._process_env(env), capture_output=True, text=True,
                          timeout=timeout)


def test_keygen_prints_the_four_settings_as_fresh_z85_keys(stack):
    first, second = keygen(stack), keygen(stack)
    assert sorted(first) == sorted(FOUR)
    for name in FOUR:
        assert Z85.match(first[name]), name
        assert first[name] != second[name], "every run makes new keys"
    assert len(set(first.values())) == 4


def test_a_worker_with_the_right_keys_is_served_and_no_secret_is_logged(stack):
    keys = keygen(stack)
    gateway = stack.start("gateway", **only(keys, GATEWAY_KEYS))
    worker = stack.start("subscription-worker", **only(keys, WORKER_KEYS))
    wait_for(lambda: subscription_workers(stack) == 1, 15, "the CURVE worker never registered")
    status, headers, body = stack.http("GET", PLANS)
    assert status == 200 and headers["x-served-by"].startswith("subscription@"), (status, body)
    assert "CURVE" in gateway.wait_for_log("broker at")
    assert "CURVE" in worker.wait_for_log("serving")
    assert_no_secret_logged(stack, keys["BROKER_SERVER_SECRET_KEY"], keys["BROKER_CLIENT_SECRET_KEY"])


def test_a_worker_whose_key_is_not_listed_is_never_served(stack):
    keys, stranger = keygen(stack), keygen(stack)
    gateway = stack.start("gateway", **only(keys, GATEWAY_KEYS))
    # Given a worker that knows the gateway's public key but holds a key the gateway does not list,
    stack.start("subscription-worker", BROKER_SERVER_PUBLIC_KEY=keys["BROKER_SERVER_PUBLIC_KEY"],
                BROKER_CLIENT_SECRET_KEY=stranger["BROKER_CLIENT_SECRET_KEY"])
    wait_for(lambda: "refused a worker" in gateway.log(), 15, "the gateway never logged the refusal")
    # then it never registers, its refusal is logged with its public key only,
    assert_never_registers(stack, gateway)
    refusals = [line for line in gateway.log().splitlines() if "refused a worker" in line]
    assert stranger["BROKER_CLIENT_PUBLIC_KEYS"] in refusals[0]
    assert len(refusals) <= 2, "a retrying worker is logged once a minute, not at every attempt"
    assert_no_secret_logged(stack, stranger["BROKER_CLIENT_SECRET_KEY"], keys["BROKER_SERVER_SECRET_KEY"])
    # and a worker with the listed key is served by the same gateway.
    stack.start("subscription-worker", **only(keys, WORKER_KEYS))
    wait_for(lambda: subscription_workers(stack) == 1, 15, "the listed worker never registered")
    assert stack.http("GET", PLANS)[0] == 200


def test_a_plain_tcp_worker_cannot_say_ready_to_a_curve_gateway(stack):
    keys = keygen(stack)
    gateway = stack.start("gateway", **only(keys, GATEWAY_KEYS))
    worker = stack.start("subscription-worker")  # no keys: the NULL mechanism
    worker.wait_for_log("serving", timeout=15)
    assert "plain TCP" in worker.log()
    assert_never_registers(stack, gateway)


@pytest.mark.parametrize("bind", ["tcp://0.0.0.0:{port}", "tcp://*:{port}"])
def test_the_gateway_refuses_a_non_loopback_broker_without_keys(stack, bind):
    endpoint = bind.format(port=free_port())
    result = run(stack, "gateway", BROKER_BIND=endpoint)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "BROKER_BIND" in line]
    assert len(lines) == 1 and "loopback" in lines[0], lines
    # With the keys the same bind is allowed.
    keys = keygen(stack)
    stack.start("gateway", BROKER_BIND=endpoint, **only(keys, GATEWAY_KEYS))
    wait_for(lambda: stack.http("GET", "/health")[0] == 200, 15, "the CURVE gateway did not start")


def test_half_a_curve_configuration_is_refused_naming_the_setting(stack):
    keys, other = keygen(stack), keygen(stack)
    cases = [
        ("gateway", {"BROKER_SERVER_SECRET_KEY": keys["BROKER_SERVER_SECRET_KEY"]}, "BROKER_CLIENT_PUBLIC_KEYS"),
        ("gateway", {"BROKER_CLIENT_PUBLIC_KEYS": keys["BROKER_CLIENT_PUBLIC_KEYS"]}, "BROKER_SERVER_SECRET_KEY"),
        ("gateway", {**only(keys, GATEWAY_KEYS), "BROKER_SERVER_SECRET_KEY": "too-short"}, "BROKER_SERVER_SECRET_KEY"),
        ("gateway", {**only(keys, GATEWAY_KEYS),
                     "BROKER_CLIENT_PUBLIC_KEYS": keys["BROKER_CLIENT_PUBLIC_KEYS"] + ",bad"}, "BROKER_CLIENT_PUBLIC_KEYS"),
        ("subscription-worker", {"BROKER_SERVER_PUBLIC_KEY": keys["BROKER_SERVER_PUBLIC_KEY"]}, "BROKER_CLIENT_SECRET_KEY"),
        ("subscription-worker", {"BROKER_CLIENT_SECRET_KEY": keys["BROKER_CLIENT_SECRET_KEY"]}, "BROKER_SERVER_PUBLIC_KEY"),
        ("subscription-worker", {**only(keys, WORKER_KEYS), "BROKER_CLIENT_PUBLIC_KEY": other["BROKER_CLIENT_PUBLIC_KEYS"]},
         "BROKER_CLIENT_PUBLIC_KEY"),
        ("lago-worker", {**only(keys, WORKER_KEYS), "BROKER_CLIENT_PUBLIC_KEY": other["BROKER_CLIENT_PUBLIC_KEYS"]},
         "BROKER_CLIENT_PUBLIC_KEY"),
    ]
    for name, env, setting in cases:
        result = run(stack, name, **env)
        output = result.stdout + result.stderr
        assert result.returncode == 2, (name, setting, output[-400:])
        lines = [line for line in output.splitlines() if line.startswith("config:")]
        assert len(lines) == 1 and setting in lines[0], (name, setting, lines)
        for secret in (keys["BROKER_SERVER_SECRET_KEY"], keys["BROKER_CLIENT_SECRET_KEY"]):
            assert secret not in output


def test_secret_keys_can_come_from_files(stack, tmp_path):
    keys = keygen(stack)
    server_file, client_file = tmp_path / "server.key", tmp_path / "client.key"
    server_file.write_text(keys["BROKER_SERVER_SECRET_KEY"] + "\n")
    client_file.write_text(keys["BROKER_CLIENT_SECRET_KEY"] + "\n")
    stack.start("gateway", BROKER_SERVER_SECRET_KEY_FILE=server_file,
                BROKER_CLIENT_PUBLIC_KEYS=keys["BROKER_CLIENT_PUBLIC_KEYS"])
    stack.start("subscription-worker", BROKER_SERVER_PUBLIC_KEY=keys["BROKER_SERVER_PUBLIC_KEY"],
                BROKER_CLIENT_SECRET_KEY_FILE=client_file)
    wait_for(lambda: subscription_workers(stack) == 1, 15, "the worker with a key file never registered")
    assert stack.http("GET", PLANS)[0] == 200
    # Both the setting and its file: refused, naming them.
    result = run(stack, "subscription-worker", BROKER_SERVER_PUBLIC_KEY=keys["BROKER_SERVER_PUBLIC_KEY"],
                 BROKER_CLIENT_SECRET_KEY=keys["BROKER_CLIENT_SECRET_KEY"], BROKER_CLIENT_SECRET_KEY_FILE=client_file)
    assert result.returncode == 2 and "BROKER_CLIENT_SECRET_KEY_FILE" in result.stderr
    result = run(stack, "gateway", BROKER_SERVER_SECRET_KEY_FILE=tmp_path / "missing.key",
                 BROKER_CLIENT_PUBLIC_KEYS=keys["BROKER_CLIENT_PUBLIC_KEYS"])
    assert result.returncode == 2 and "BROKER_SERVER_SECRET_KEY_FILE cannot be read" in result.stderr


def test_keygen_write_env_keeps_other_lines_and_its_file_runs_a_curve_stack(stack, tmp_path):
    env_file = tmp_path / "billing.env"
    env_file.write_text("# mine\nOTHER_SETTING=kept\nBROKER_SERVER_SECRET_KEY='old'\n")
    os.chmod(env_file, 0o644)
    result = stack.admin("keygen", "--write-env", env_file)
    assert result.returncode == 0, result.stderr
    written = settings(env_file.read_text())
    assert sorted(written) == sorted(FOUR) and all(Z85.match(value) for value in written.values())
    assert "# mine\nOTHER_SETTING=kept\n" in env_file.read_text()
    assert env_file.read_text().count("BROKER_SERVER_SECRET_KEY=") == 1
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    for secret in (written["BROKER_SERVER_SECRET_KEY"], written["BROKER_CLIENT_SECRET_KEY"]):
        assert secret not in result.stdout
    # The file as written is what the processes read (ENV_FILE fills what the environment leaves unset).
    gateway = stack.start("gateway", ENV_FILE=env_file)
    stack.start("subscription-worker", ENV_FILE=env_file)
    wait_for(lambda: subscription_workers(stack) == 1, 15, "the worker configured by the keygen file never registered")
    assert stack.http("GET", PLANS)[0] == 200
    assert "CURVE" in gateway.log()


def test_one_curve_worker_serves_two_curve_gateways(stack):
    keys = keygen(stack)
    second = stack.add_gateway()
    stack.start("gateway", **only(keys, GATEWAY_KEYS))
    stack.start("gateway", **second, **only(keys, GATEWAY_KEYS))
    stack.start("subscription-worker", **only(keys, WORKER_KEYS))
    for port in (stack.port, int(second["GATEWAY_PORT"])):
        wait_for(lambda: stack.http("GET", "/ready", port=port)[2]["workers"]["subscription"] == 1, 15,
                 f"the worker never registered with the gateway on {port}")
        assert stack.http("GET", PLANS, port=port)[0] == 200
