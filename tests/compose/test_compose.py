"""compose.yml, run for real: podman-compose brings the whole deployment up from the project's
image, and the tests drive it only through the gateway's published port, as an operator's
clients would (tests/compose/run.sh builds the images and runs this file inside a network
namespace of its own, as root).

Postgres is read directly (the container's address on the compose network) only to check what
was committed."""
import concurrent.futures
import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from stripe_events import DAY, WEBHOOK_PATH, Sub, body_of  # noqa: E402
from support import sign_stripe, wait_for  # noqa: E402

if not os.environ.get("OB_COMPOSE_PROJECT"):
    # Only run.sh's network namespace keeps podman's bridge and NAT rules off this machine's own.
    pytest.skip("run through tests/compose/run.sh (it builds the images and makes the network namespace)",
                allow_module_level=True)
PROJECT = os.environ["OB_COMPOSE_PROJECT"]
IMAGE = "localhost/ops-center-billing:local"
PORT = 18084
SERVICES = ["gateway", "postgres", "redis", "stripe-worker", "subscription-worker", "lago-worker", "notifier"]
WORKER_SERVICES = {"stripe": 1, "subscription": 1, "usage": 1, "lago": 1, "notifier": 1}
UP_TIMEOUT = 240


def run(cmd, check=True, timeout=120, cwd=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def podman(*args, **kw):
    return run(["podman", *args], **kw)


def container(service, number=1):
    """podman-compose 1.0.3's container names: <project>_<service>_<n>."""
    return f"{PROJECT}_{service}_{number}"


def curve_keys():
    """The broker's CURVE keys from the image's `billing-admin keygen --write-env FILE`."""
    helptext = podman("run", "--rm", "--network=none", IMAGE, "billing-admin", "help", check=False)
    if "keygen" not in helptext.stdout + helptext.stderr:
        return curve_keys_without_keygen()
    out = tempfile.mkdtemp(prefix="obc-keys-")
    os.chmod(out, 0o777)  # the image runs as the billing user
    try:
        podman("run", "--rm", "--network=none", "-v", f"{out}:/out", IMAGE,
               "billing-admin", "keygen", "--write-env", "/out/keys.env")
        with open(os.path.join(out, "keys.env")) as f:
            keys = parse_env(f.read())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    missing = {"BROKER_SERVER_SECRET_KEY", "BROKER_SERVER_PUBLIC_KEY", "BROKER_CLIENT_SECRET_KEY",
               "BROKER_CLIENT_PUBLIC_KEYS"} - set(keys)
    assert not missing, f"billing-admin keygen wrote no {sorted(missing)}"
    return keys


Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def _z85(data):
    out = []
    for i in range(0, len(data), 4):
        value = int.from_bytes(data[i:i + 4], "big")
        chunk = []
        for _ in range(5):
            chunk.append(Z85[value % 85])
            value //= 85
        out.extend(reversed(chunk))
    return "".join(out)


def curve_keys_without_keygen():
    """An image from before `billing-admin keygen`: CURVE key pairs (X25519, Z85 as ZeroMQ writes them)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def pair():
        key = X25519PrivateKey.generate()
        secret = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
        return _z85(secret), _z85(key.public_key().public_bytes(*raw))

    server_secret, server_public = pair()
    client_secret, client_public = pair()
    return {"BROKER_SERVER_SECRET_KEY": server_secret, "BROKER_SERVER_PUBLIC_KEY": server_public,
            "BROKER_CLIENT_SECRET_KEY": client_secret, "BROKER_CLIENT_PUBLIC_KEYS": client_public}


class Deployment:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="obc-project-")
        shutil.copy(os.path.join(ROOT, "compose.yml"), self.dir)
        token = lambda: uuid.uuid4().hex + uuid.uuid4().hex  # noqa: E731
        self.env = {
            "POSTGRES_PASSWORD": uuid.uuid4().hex,
            "ADMIN_TOKEN": token(),
            "SERVICE_TOKENS": token(),
            "AUTH_JWT_SECRET": token(),
            "STRIPE_SECRET_KEY": "sk_test_" + uuid.uuid4().hex,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_" + uuid.uuid4().hex,
            "STRIPE_WEBHOOK_SECRET": "whsec_" + uuid.uuid4().hex,
            "STRIPE_SUCCESS_URL": "https://ops-center.example.com/billing/success",
            "STRIPE_CANCEL_URL": "https://ops-center.example.com/billing/cancel",
            "STRIPE_EVENT_RETRY_BASE_MS": "200",
            "STRIPE_EVENT_RETRY_MAX_MS": "1000",
            # Lago is not reachable from here: forwarding stays pending (and retried), as in an outage.
            "LAGO_API_URL": "http://127.0.0.1:9",
            "LAGO_PUBLIC_URL": "https://lago.example.com",
            "LAGO_API_KEY": uuid.uuid4().hex,
            "LAGO_WEBHOOK_HMAC_KEY": uuid.uuid4().hex,
            "UNSUBSCRIBE_SECRET": token(),
            "GATEWAY_PUBLISH_PORT": str(PORT),
            "LOG_LEVEL": "info",
        }
        self.env.update(curve_keys())
        with open(os.path.join(self.dir, ".env"), "w") as f:
            for name, value in self.env.items():
                # Single quotes: compose reads a CURVE key's "$" or "#" literally.
                f.write(f"{name}='{value}'\n" if name.startswith("BROKER_") else f"{name}={value}\n")
        os.chmod(os.path.join(self.dir, ".env"), 0o600)
        self.extra = []

    def compose(self, *args, timeout=UP_TIMEOUT, check=True):
        return run(["podman-compose", "-p", PROJECT, "-f", os.path.join(self.dir, "compose.yml"), *args],
                   timeout=timeout, cwd=self.dir, check=check)

    def http(self, method, path, body=None, headers=None, timeout=10.0):
        """(status, headers, parsed body) through the published port."""
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
        try:
            data = body if isinstance(body, (bytes, str, type(None))) else json.dumps(body)
            hdrs = dict(headers or {})
            if data is not None and "Content-Type" not in hdrs:
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
        finally:
            conn.close()

    def service_headers(self):
        return {"Authorization": f"Bearer {self.env['SERVICE_TOKENS']}"}

    def ready(self):
        try:
            status, _, body = self.http("GET", "/ready", timeout=2.0)
        except OSError:
            return None
        return body if status == 200 else None

    def db(self):
        import psycopg2
        address = podman("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                         container("postgres")).stdout.strip()
        return psycopg2.connect(host=address, port=5432, user="billing", dbname="billing",
                                password=self.env["POSTGRES_PASSWORD"], connect_timeout=5)

    def query(self, sql, params=None):
        conn = self.db()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def logs(self):
        names = podman("ps", "-a", "--format", "{{.Names}}", "--filter", f"label=io.podman.compose.project={PROJECT}",
                       check=False).stdout.split()
        for name in names:
            proc = podman("logs", "--tail", "30", name, check=False)
            print(f"----- {name}\n{proc.stdout}{proc.stderr}")

    def remove_all(self):
        for name in self.extra:
            podman("rm", "-f", "-t", "0", name, check=False)
        self.compose("down", "-v", "-t", "1", timeout=180, check=False)
        ids = podman("ps", "-aq", "--filter", f"label=io.podman.compose.project={PROJECT}", check=False).stdout.split()
        if ids:
            podman("rm", "-f", "-t", "0", *ids, check=False)
        podman("network", "rm", "-f", f"{PROJECT}_default", check=False)


@pytest.fixture(scope="module")
def deployment(request):
    dep = Deployment()
    dep.session = request.session
    try:
        dep.compose("up", "-d", "--no-build")
        wait_for(lambda: dep.ready() and dep.ready()["missing"] == [], UP_TIMEOUT,
                 "the deployment never answered GET /ready with every service", interval=1.0)
        yield dep
        if request.session.testsfailed:
            dep.logs()
    except BaseException:
        dep.logs()
        raise
    finally:
        try:
            dep.remove_all()
        finally:
            shutil.rmtree(dep.dir, ignore_errors=True)


def exec_works(name):
    """`podman exec` (and so `podman healthcheck run`) needs a root that is its mount namespace's
    root: runc's exec process lands there. In .ci/run's chroot it is not, and exec cannot start."""
    return podman("exec", name, "true", check=False).returncode == 0


def healthy(name, use_exec):
    """The container's own healthcheck passes: `podman healthcheck run` (no systemd here schedules
    it), or where exec cannot start, the same command from the same image in a container that
    shares the checked one's network and process namespaces (what every check here looks at)."""
    if use_exec:
        return podman("healthcheck", "run", name, check=False, timeout=60).returncode == 0
    test = json.loads(podman("inspect", "-f", "{{json .Config.Healthcheck.Test}}", name).stdout)
    command = test[1] if test[0] == "CMD-SHELL" else " ".join(shlex.quote(arg) for arg in test[1:])
    image = podman("inspect", "-f", "{{.ImageName}}", name).stdout.strip()
    return podman("run", "--rm", "--network", f"container:{name}", "--pid", f"container:{name}",
                  "--entrypoint", "/bin/sh", image, "-c", command, check=False, timeout=60).returncode == 0


def program(name):
    """(pid on this machine, /proc/<pid>/status fields) of the program tini (PID 1 inside) runs."""
    init = podman("inspect", "-f", "{{.State.Pid}}", name).stdout.strip()
    with open(f"/proc/{init}/cmdline") as f:
        assert f.read().split("\0")[0] == "/run/podman-init", "PID 1 is not podman's init (tini)"
    with open(f"/proc/{init}/task/{init}/children") as f:
        (child,) = f.read().split()
    with open(f"/proc/{child}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    return child, {k: v.strip() for k, v in status.items()}


def test_every_service_is_up_healthy_and_the_image_runs_as_a_non_root_user(deployment):
    assert deployment.ready()["workers"] == WORKER_SERVICES
    # OB_COMPOSE_HEALTH_SIDECAR=1 checks the fallback on a machine where exec works.
    use_exec = exec_works(container("gateway")) and os.environ.get("OB_COMPOSE_HEALTH_SIDECAR") != "1"
    for service in SERVICES:
        wait_for(lambda: healthy(container(service), use_exec), 90, f"{service}'s healthcheck never passed",
                 interval=2.0)
    migrate = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", container("migrate")).stdout.split()
    assert migrate == ["exited", "0"]
    assert podman("image", "inspect", "-f", "{{.Config.User}}", IMAGE).stdout.strip() == "billing"
    for service in ["gateway", "stripe-worker", "subscription-worker", "lago-worker", "notifier"]:
        pid, status = program(container(service))
        assert status["Name"] == service[:15], status["Name"]
        assert status["Uid"].split()[:2] == ["10001", "10001"], (service, status["Uid"])
        # containers.conf's default_ulimits (root may not raise limits here).
        with open(f"/proc/{pid}/limits") as f:
            assert re.search(r"^Max open files\s+20000\s+20000\s", f.read(), re.M), service
    # No secret is baked into the image: its environment names none of .env's settings.
    image_env = json.loads(podman("image", "inspect", "-f", "{{json .Config.Env}}", IMAGE).stdout)
    assert not {entry.split("=", 1)[0] for entry in image_env} & set(deployment.env)


def test_a_signed_stripe_webhook_is_committed_then_applied(deployment):
    now = int(time.time())
    sub = Sub(user_id="compose-user", plan="starter")
    evt = sub.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    raw = body_of(evt)
    unsigned = deployment.http("POST", WEBHOOK_PATH, body=raw,
                               headers={"Stripe-Signature": sign_stripe(raw, "whsec_wrong")})
    assert unsigned[0] == 400 and set(unsigned[2]) == {"error"}, unsigned
    status, _, body = deployment.http("POST", WEBHOOK_PATH, body=raw,
                                      headers={"Stripe-Signature": sign_stripe(raw, deployment.env["STRIPE_WEBHOOK_SECRET"])})
    assert (status, body) == (200, {"received": True})
    # 200 means committed: the row is there at once.
    assert deployment.query("SELECT count(*) FROM stripe_events WHERE id = %s", (evt["id"],)) == [(1,)]
    wait_for(lambda: deployment.query("SELECT status FROM stripe_events WHERE id = %s", (evt["id"],)) == [("processed",)],
             30, "the stripe-worker never processed the event", interval=0.5)
    wait_for(lambda: deployment.query("SELECT status, plan_id FROM subscriptions WHERE id = %s", (sub.id,))
             == [("active", "starter")], 30, "the subscription-worker never applied the subscription", interval=0.5)


def ingest(deployment, events, timeout=10.0):
    return deployment.http("POST", "/api/v1/usage/events", body={"events": events},
                           headers=deployment.service_headers(), timeout=timeout)


def usage_event(user, tx=None):
    return {"transaction_id": tx or uuid.uuid4().hex, "user_id": user, "code": "api_calls",
            "timestamp": int(time.time())}


def test_a_usage_batch_and_an_authorize_through_the_published_port(deployment):
    batch = [usage_event("compose-user") for _ in range(50)]
    status, _, body = ingest(deployment, batch)
    assert status == 202, body
    txs = [e["transaction_id"] for e in batch]
    assert deployment.query("SELECT count(*) FROM usage_events WHERE transaction_id = ANY(%s)", (txs,)) == [(50,)]
    # The same batch again (a retry) stores nothing twice.
    assert ingest(deployment, batch)[0] == 202
    assert deployment.query("SELECT count(*) FROM usage_events WHERE user_id = 'compose-user'") == [(50,)]
    tx = uuid.uuid4().hex
    status, headers, body = deployment.http("POST", "/api/v1/usage/authorize", headers=deployment.service_headers(),
                                            body={"user_id": "compose-user", "code": "api_calls", "transaction_id": tx})
    assert status == 200 and body["allowed"] is True, body
    assert headers["x-served-by"].startswith("usage@"), headers  # lago-worker serves "usage"
    assert deployment.query("SELECT source FROM usage_events WHERE transaction_id = %s", (tx,)) == [("authorize",)]


def parse_env(text):
    pairs = [line.strip().split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#")]
    return {name.strip(): value.strip().strip("'\"") for name, value in pairs}


def test_the_broker_speaks_curve_and_refuses_a_worker_with_another_key(deployment):
    """CURVE is on in compose: a lago-worker on the compose network with the right server key but
    a client key the gateway does not list is refused (and logged by its public key), never served."""
    usage_workers = deployment.ready()["workers"]["usage"]
    other = parse_env(podman("run", "--rm", "--network=none", IMAGE, "billing-admin", "keygen").stdout)
    name = f"{PROJECT}_intruder_1"
    env_file = os.path.join(deployment.dir, "intruder.env")
    with open(env_file, "w") as f:
        f.write(f"DATABASE_URL=postgresql://billing:{deployment.env['POSTGRES_PASSWORD']}@postgres:5432/billing\n"
                "REDIS_URL=redis://redis:6379\nBROKER_ENDPOINT=tcp://gateway:5555\n"
                f"BROKER_SERVER_PUBLIC_KEY={deployment.env['BROKER_SERVER_PUBLIC_KEY']}\n"
                f"BROKER_CLIENT_SECRET_KEY={other['BROKER_CLIENT_SECRET_KEY']}\n")
    deployment.extra.append(name)
    podman("run", "-d", "--name", name, "--label", f"io.podman.compose.project={PROJECT}",
           "--network", f"{PROJECT}_default", "--init", "--env-file", env_file, IMAGE, "lago-worker")
    refusal = f"public key {other['BROKER_CLIENT_PUBLIC_KEYS']} is not in BROKER_CLIENT_PUBLIC_KEYS"
    wait_for(lambda: refusal in podman("logs", container("gateway")).stderr + podman("logs", container("gateway")).stdout,
             60, "the gateway never refused the worker with an unlisted key", interval=1.0)
    assert podman("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
    assert deployment.ready()["workers"]["usage"] == usage_workers
    podman("rm", "-f", "-t", "0", name)
    deployment.extra.remove(name)


def hostname(name):
    return podman("inspect", "-f", "{{.Config.Hostname}}", name).stdout.strip()


def add_lago_worker(deployment, number):
    """Another lago-worker on the compose network, from compose.yml's own service definition
    (podman-compose 1.0.3 ignores --scale; `docker compose up --scale lago-worker=3` does this)."""
    name = container("lago-worker", number)
    deployment.extra.append(name)
    deployment.compose("run", "-d", "-T", "--no-deps", "--name", name, "lago-worker", timeout=120)
    return name


def test_two_more_lago_workers_join_by_hand_and_the_work_spreads(deployment):
    workers = [container("lago-worker")] + [add_lago_worker(deployment, n) for n in (2, 3)]
    wait_for(lambda: (deployment.ready() or {}).get("workers", {}).get("usage") == 3, 60,
             "the gateway never counted 3 usage workers", interval=0.5)
    by_host = {hostname(name): name for name in workers}
    assert len(by_host) == 3
    served = {}
    for _ in range(30):
        status, headers, body = ingest(deployment, [usage_event("compose-spread") for _ in range(10)])
        assert status == 202, body
        host = re.fullmatch(r"usage@([^:]+):\d+", headers["x-served-by"]).group(1)
        served[by_host[host]] = served.get(by_host[host], 0) + 1
    assert set(served) == set(workers), served
    assert deployment.query("SELECT count(*) FROM usage_events WHERE user_id = 'compose-spread'") == [(300,)]


def test_killing_a_lago_worker_loses_nothing_acknowledged(deployment):
    """A client sends batches and retries what was not acknowledged (503, a cut connection), as
    callers must; one lago-worker container is killed (SIGKILL) in the middle."""
    victim = container("lago-worker", 2)
    assert podman("inspect", "-f", "{{.State.Running}}", victim).stdout.strip() == "true"
    acknowledged, refused, stop = [], [], threading.Event()
    sent_after_kill = threading.Event()
    killed = threading.Event()

    def client(worker_id):
        n = 0
        while not stop.is_set():
            batch = [usage_event("compose-kill", f"kill-{worker_id}-{n}-{i}") for i in range(20)]
            n += 1
            for _ in range(100):
                try:
                    status, _, body = ingest(deployment, batch, timeout=15.0)
                except OSError:
                    status, body = None, None
                if status == 202:
                    acknowledged.extend(e["transaction_id"] for e in batch)
                    if killed.is_set():
                        sent_after_kill.set()
                    break
                assert status in (None, 503), (status, body)
                refused.append(status)
                time.sleep(0.2)
            else:
                raise AssertionError("a batch was never acknowledged")

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(client, i) for i in range(4)]
        wait_for(lambda: len(acknowledged) >= 400, 60, "no traffic before the kill", interval=0.1)
        podman("kill", "-s", "KILL", victim)
        killed.set()
        wait_for(sent_after_kill.is_set, 60, "nothing acknowledged after the kill", interval=0.1)
        wait_for(lambda: len(acknowledged) >= 1200, 90, "traffic stopped after the kill", interval=0.1)
        stop.set()
        for future in futures:
            future.result(timeout=120)
    stored = deployment.query("SELECT transaction_id FROM usage_events WHERE user_id = 'compose-kill'")
    stored = {row[0] for row in stored}
    assert set(acknowledged) <= stored, f"{len(set(acknowledged) - stored)} acknowledged events lost"
    # The gateway still answers with the survivors.
    wait_for(lambda: (deployment.ready() or {}).get("missing") == [], 30, "not ready after the kill", interval=0.5)


def test_down_removes_every_container_volume_and_network(deployment):
    if deployment.session.testsfailed:
        deployment.logs()  # what the failed tests left, before it is gone
    deployment.remove_all()
    label = f"label=io.podman.compose.project={PROJECT}"
    assert podman("ps", "-aq", "--filter", label).stdout.split() == []
    assert podman("volume", "ls", "-q", "--filter", label).stdout.split() == []
    assert podman("network", "exists", f"{PROJECT}_default", check=False).returncode != 0
