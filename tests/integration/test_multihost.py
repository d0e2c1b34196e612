"""More than one host (issue 14): the project's own test hosts in network namespaces.

    gw1, gw2   a gateway each (HTTP :8084, broker :5555 on the host's address)
    work       two of each worker; BROKER_ENDPOINT lists both gateways
    store      Postgres and Redis (harness.Postgres / harness.Redis, in that namespace)
    this process, on the same switch: the callers (a load balancer's view: a
               request to a dead gateway is sent again to the other one), the Lago
               and Stripe stand-ins

Every request crosses a real network hop (veth, bridge), and so does every
worker's Postgres, Redis and broker connection. Nothing here asserts a timing.
Needs root and `ip netns` (CI runs as root in its debootstrap root); skipped
with the reason otherwise. tests/integration/netns.py makes and removes the hosts.
"""
import re
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import netns
from harness import REPO, WORKERS, Postgres, Redis, Stack, base_env, binary, sanitizer_report
from notify_support import DEBIAN_PYTHON, FAST_NOTIFIER
from stripe_events import WEBHOOK_PATH, Sub, body_of
from support import JWT_SECRET, SERVICE, query, sign_stripe, wait_for
from usage_support import lago_state

HTTP_PORT = 8084
BROKER_PORT = 5555
USERS = [f"mh-user-{i}" for i in range(12)]
SETTLE_S = 90  # generous: the background work of the whole run drains on a shared 2-core machine


class Cluster:
    """The hosts, the stack (processes), the stores and the stand-ins of one test."""

    def __init__(self, net, stack, hosts, lago_url, sink_dir):
        self.net = net
        self.stack = stack
        self.hosts = hosts
        self.lago_url = lago_url
        self.sink_dir = sink_dir

    def base(self, gateway):
        return f"http://{self.hosts[gateway].address}:{HTTP_PORT}"

    def gateway(self, name):
        return next(p for p in self.stack.procs if p.name == f"gateway-{name}")

    def start_worker(self, name):
        work = self.hosts["work"]
        return self.stack.start(name, netns=work.path, hostname=work.hostname,
                                **(FAST_NOTIFIER if name == "notifier" else {}))

    def ready(self, gateway):
        try:
            return self.stack.http("GET", "/ready", base=self.base(gateway), timeout=2)[0] == 200
        except OSError:
            return False


def _migrate(postgres, dbname):
    result = subprocess.run([str(binary("billing-admin")), "migrate"], cwd=REPO, capture_output=True, text=True,
                            env=base_env(DATABASE_URL=postgres.url(dbname),
                                         MIGRATIONS_DIR=REPO / "deploy" / "migrations"), timeout=120)
    if result.returncode != 0 or sanitizer_report(result.stderr):
        pytest.fail(f"billing-admin migrate failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def _seed_users(db):
    """Customers with an address and a live enterprise subscription (unlimited calls), as the
    subscription-worker would have written them: usage of theirs is forwarded to Lago."""
    now = datetime.now(timezone.utc)
    for user in USERS:
        query(db, "INSERT INTO customers (user_id, email) VALUES (%s, %s)", (user, f"{user}@example.test"))
        query(db, "INSERT INTO subscriptions (id, user_id, plan_id, interval, status, started_at,"
                  " current_period_start, current_period_end) VALUES (%s, %s, 'enterprise', 'month', 'active',"
                  " %s, %s, %s)", (f"sub_{user}", user, now - timedelta(days=3), now - timedelta(days=3),
                                   now + timedelta(days=27)))


@pytest.fixture
def cluster(tmp_path):
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    net = netns.Network()
    stack = postgres = redis = None
    failed = True
    try:
        net.start()
        hosts = {name: net.add_host(name) for name in ("gw1", "gw2", "work", "store")}
        store = hosts["store"]
        postgres = Postgres(host=store.address, netns=store.path, port=5432, clients=str(net.subnet)).start()
        redis = Redis(host=store.address, netns=store.path, port=6379).start()
        postgres.create_database("billing")
        _migrate(postgres, "billing")
        stack = Stack(postgres, redis, "billing", tmp_path)
        # Across real hops the broker runs CURVE: a non-loopback bind without keys is refused.
        keygen = stack.admin("keygen")
        assert keygen.returncode == 0, keygen.stderr
        stack.env.update(re.findall(r"^(BROKER_[A-Z_]+)='([^']*)'$", keygen.stdout, re.M))
        brokers = [f"tcp://{hosts[g].address}:{BROKER_PORT}" for g in ("gw1", "gw2")]
        stack.env.update({
            "GATEWAY_HOST": "0.0.0.0",
            "GATEWAY_PORT": str(HTTP_PORT),
            "BROKER_ENDPOINT": ",".join(brokers),
            "AUTH_JWT_SECRET": JWT_SECRET,
            "PUBLIC_BASE_URL": f"http://{hosts['gw1'].address}:{HTTP_PORT}",
        })
        stack.standin("stripe", host=net.runner_address)
        lago_url = stack.standin("lago", host=net.runner_address)
        # The mail server lives on the worker host (the notifier's view: smtp://127.0.0.1).
        sink_dir = Path(tmp_path) / "mail"
        sink_dir.mkdir()
        sink = stack.spawn("smtp-sink", [DEBIAN_PYTHON, "-u", REPO / "tests" / "standins" / "smtp_sink.py",
                                         "--port", 2525, "--dir", sink_dir], netns=hosts["work"].path)
        wait_for(lambda: "ready" in sink.log() or not sink.alive(), 15, "the SMTP sink")
        stack.env["SMTP_URL"] = "smtp://127.0.0.1:2525"
        for name, broker in zip(("gw1", "gw2"), brokers):
            stack.spawn(f"gateway-{name}", [binary("gateway")], netns=hosts[name].path, hostname=hosts[name].hostname,
                        BROKER_BIND=broker)
        cluster = Cluster(net, stack, hosts, lago_url, sink_dir)
        for worker in WORKERS:
            for _ in range(2):
                cluster.start_worker(worker)
        db = stack.db()
        wait_for(lambda: query(db, "SELECT count(*) FROM plans")[0][0] >= 4, 30, "the plan catalogue")
        # Lago knows the plans (as after `billing-admin setup`), so subscriptions can be synced.
        setup = stack.admin("setup-lago")
        assert setup.returncode == 0, setup.stdout + setup.stderr
        _seed_users(db)
        for name in ("gw1", "gw2"):
            wait_for(lambda: cluster.ready(name), 30, f"GET /ready on {name} (every worker kind reached it)")
        yield cluster
        failed = False
    finally:
        problems = stack.close() if stack else []
        if stack and (failed or problems):
            print(stack.log_tails())
        if redis:
            redis.stop()
        if postgres:
            postgres.stop()
        left = net.close()
        assert not left, f"namespaces or links left behind: {left}"
        assert not netns.namespaces(net.tag) and not netns.links(net.tag)
    if problems:
        pytest.fail("sanitizer report or crash:\n\n" + "\n\n".join(problems), pytrace=False)


class Caller(threading.Thread):
    """One caller sending, until stopped, usage batches and Stripe webhooks to its gateway,
    as a load balancer's client would: a 503 or a connection error is a request to send
    again (to the other gateway, when this one's host is marked dead), never a lost one."""

    def __init__(self, cluster, gateway, tag):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.gateway = gateway
        self.tag = tag
        self.stop = threading.Event()
        self.stopped_at = None
        self.dead = set()  # gateways the load balancer has taken out
        self.acked_usage = []  # transaction ids answered 202
        self.acked_events = []  # Stripe event ids answered 200
        self.answers = []  # (gateway, status or exception name, served_by, monotonic time sent)
        self.errors = []

    def _send(self, path, body, headers):
        gateways = [self.gateway] + [g for g in ("gw1", "gw2") if g != self.gateway]
        while True:
            target = next((g for g in gateways if g not in self.dead), None)
            if target is None:
                raise AssertionError("no gateway left")
            if self.stop.is_set() and time.monotonic() > self.stopped_at + 30:
                raise AssertionError(f"{path}: still not acknowledged 30 s after the load ended")
            sent = time.monotonic()
            try:
                status, reply_headers, reply = self.cluster.stack.http(
                    "POST", path, body=body, headers=headers, base=self.cluster.base(target), timeout=15)
            except OSError as error:
                self.answers.append((target, type(error).__name__, None, sent))
                time.sleep(0.05)
                continue
            self.answers.append((target, status, reply_headers.get("x-served-by"), sent))
            if status == 503:
                time.sleep(0.05)
                continue
            return status, reply

    def run(self):
        serial = 0
        try:
            while not self.stop.is_set():
                serial += 1
                user = USERS[serial % len(USERS)]
                txs = [f"{self.tag}-{serial}-{i}" for i in range(5)]
                events = [{"transaction_id": tx, "user_id": user, "code": "api_calls", "timestamp": int(time.time())}
                          for tx in txs]
                status, reply = self._send("/api/v1/usage/events", body_of({"events": events}),
                                           {**SERVICE, "Content-Type": "application/json"})
                if status != 202:
                    self.errors.append(("usage", status, reply))
                    continue
                self.acked_usage.extend(txs)
                if serial % 3 == 0:
                    sub = Sub(user_id=f"{self.tag}-stripe-{serial}", plan="starter")
                    start = int(time.time()) - 60
                    evt = sub.event("customer.subscription.created", start, "active", start, start + 30 * 86400)
                    raw = body_of(evt)
                    headers = {"Stripe-Signature": sign_stripe(raw, self.cluster.stack.env["STRIPE_WEBHOOK_SECRET"]),
                               "Content-Type": "application/json"}
                    status, reply = self._send(WEBHOOK_PATH, raw, headers)
                    if status != 200:
                        self.errors.append(("stripe", status, reply))
                        continue
                    self.acked_events.append(evt["id"])
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.errors.append(("caller", repr(error), None))

    def served_by(self, prefix, gateway=None, since=0.0):
        return {s for g, status, s, t in self.answers
                if s and s.startswith(prefix) and (gateway is None or g == gateway) and t >= since}


def _run_callers(cluster, callers, until):
    for caller in callers:
        caller.start()
    try:
        until()
    finally:
        for caller in callers:
            caller.stopped_at = time.monotonic()
            caller.stop.set()
        for caller in callers:
            caller.join(60)
    for caller in callers:
        assert not caller.is_alive(), "a caller did not finish"
        assert not caller.errors, caller.errors[:5]


def _insert_receipts(db, tag):
    """One e-mail request row per user, as another service writes them."""
    for user in USERS:
        query(db, "INSERT INTO notifications (dedupe_key, kind, user_id, payload) VALUES (%s, 'receipt', %s, %s)",
              (f"{tag}:{user}", user, '{"amount": 1900, "currency": "usd"}'))


def _assert_everything_processed_once(cluster, callers, receipts_tag, lago_workers_killed=0):
    """Nothing acknowledged is lost, and every background item was done exactly once.

    Effects outside the database are at-least-once (DESIGN.md, promise 2): a
    lago-worker killed with -9 after its Lago call and before its commit has that
    call made again by another one; such a worker had at most one forward batch
    (100 events) and one subscription sync in flight, so lago_workers_killed
    allows that many repeats, each a second copy at most (Lago keeps one by key)."""
    db = cluster.stack.db()
    usage = [tx for caller in callers for tx in caller.acked_usage]
    events = [evt for caller in callers for evt in caller.acked_events]
    assert usage and events
    stored = {row[0] for row in query(db, "SELECT transaction_id FROM usage_events")}
    assert set(usage) <= stored, f"{len(set(usage) - stored)} acknowledged usage events are not in the ledger"
    known = {row[0] for row in query(db, "SELECT id FROM stripe_events")}
    assert set(events) <= known, f"{len(set(events) - known)} acknowledged Stripe events are not in the inbox"

    # Inbox processing: each event processed, on its first attempt (two stripe-workers, one claim each).
    wait_for(lambda: query(db, "SELECT count(*) FROM stripe_events WHERE status = 'pending'")[0][0] == 0
             and query(db, "SELECT count(*) FROM subscription_updates WHERE status = 'pending'")[0][0] == 0,
             SETTLE_S, "the Stripe inbox and the subscription updates to drain")
    rows = query(db, "SELECT status, attempts, count(*) FROM stripe_events GROUP BY 1, 2")
    assert rows == [("processed", 1, len(known))], rows
    subs = query(db, "SELECT count(*) FROM subscriptions WHERE id LIKE 'sub\\_%%' AND user_id LIKE '%%-stripe-%%'")
    assert subs[0][0] == len(known)

    # Lago forwarding: every ledger row forwarded, and Lago received each transaction id once.
    wait_for(lambda: query(db, "SELECT count(*) FROM usage_events WHERE forwarded_at IS NULL")[0][0] == 0,
             SETTLE_S, "every usage event forwarded to Lago")
    state = lago_state(cluster.lago_url)
    assert set(state["events"]) == stored
    repeated = [e["receive_count"] for e in state["events"].values() if e["receive_count"] != 1]
    assert len(repeated) <= 100 * lago_workers_killed and all(n == 2 for n in repeated), repeated[:10]

    # Lago subscription sync: each live subscription created in Lago once.
    wait_for(lambda: query(db, "SELECT count(*) FROM lago_subscription_sync WHERE synced_status = 'active'")[0][0]
             == query(db, "SELECT count(*) FROM subscriptions WHERE status = 'active'")[0][0],
             SETTLE_S, "every subscription synced to Lago")
    created = [r["json"]["subscription"]["external_id"] for r in lago_requests(cluster)
               if r["method"] == "POST" and r["path"] == "/api/v1/subscriptions" and r["status"] < 300]
    assert len(created) - len(set(created)) <= lago_workers_killed, "a subscription was created in Lago twice"

    # Notifications: each e-mail sent once (two notifiers, one lease each).
    wait_for(lambda: query(db, "SELECT count(*) FROM notifications WHERE dedupe_key LIKE %s AND status = 'sent'",
                           (f"{receipts_tag}:%",))[0][0] == len(USERS), SETTLE_S, "every receipt sent")
    attempts = query(db, "SELECT attempts, count(*) FROM notifications WHERE dedupe_key LIKE %s GROUP BY 1",
                     (f"{receipts_tag}:%",))
    assert attempts == [(1, len(USERS))], attempts
    mail = [p.read_text(errors="replace") for p in cluster.sink_dir.glob("*.json")]
    for user in USERS:
        assert sum(f"{user}@example.test" in m for m in mail) == 1, f"{user}: not exactly one receipt"


def lago_requests(cluster):
    from usage_support import lago_control

    return lago_control(cluster.lago_url, "GET", "/__control/requests")["requests"]


def test_a_dead_gateway_costs_only_its_in_flight_requests_and_the_other_keeps_serving(cluster):
    callers = [Caller(cluster, gw, f"fo-{gw}-{uuid.uuid4().hex[:6]}") for gw in ("gw1", "gw2", "gw1", "gw2")]
    _insert_receipts(cluster.stack.db(), "fo")
    killed_at = []

    def load():
        wait_for(lambda: all(len(c.acked_usage) >= 50 for c in callers), 60, "traffic through both gateways")
        # Both gateways hand work to both lago-workers: each worker serves every gateway listed.
        workers = {f"usage@{cluster.hosts['work'].hostname}:{p.pid}" for p in cluster.stack.procs
                   if p.name == "lago-worker"}
        for gateway in ("gw1", "gw2"):
            wait_for(lambda: set().union(*(c.served_by("usage@", gateway) for c in callers)) == workers, 60,
                     f"{gateway}'s usage requests served by both lago-workers")
        gateway = cluster.gateway("gw1")
        cluster.stack.kill(gateway)  # kill -9, requests in flight
        gateway.popen.wait(10)
        killed_at.append(time.monotonic())
        for caller in callers:
            caller.dead.add("gw1")  # the load balancer's health check took the host out
        before = sum(len(c.acked_usage) for c in callers)
        wait_for(lambda: sum(len(c.acked_usage) for c in callers) >= before + 200, 60, "gw2 to keep answering")

    _run_callers(cluster, callers, load)
    after = [a for c in callers for a in c.answers if a[3] > killed_at[0]]
    assert any(g == "gw2" and s == 202 for g, s, _, _ in after)
    # Requests sent to gw1 once it was gone: connection errors only (no answer is no acknowledgement).
    assert all(not isinstance(s, int) for g, s, _, t in after if g == "gw1")
    # gw2 answered every request after the kill (503 allowed: retried; never a connection error).
    assert all(isinstance(s, int) for g, s, _, _ in after if g == "gw2")
    assert cluster.ready("gw2") and not cluster.ready("gw1")
    _assert_everything_processed_once(cluster, callers, "fo")


def test_scaling_a_worker_kind_up_and_down_under_load_loses_nothing_and_spreads_the_work(cluster):
    callers = [Caller(cluster, gw, f"sc-{gw}-{uuid.uuid4().hex[:6]}") for gw in ("gw1", "gw2")]
    _insert_receipts(cluster.stack.db(), "sc")
    original = [p for p in cluster.stack.procs if p.name == "lago-worker"]
    timeline = {}

    def load():
        wait_for(lambda: all(len(c.acked_usage) >= 50 for c in callers), 60, "traffic through both gateways")
        timeline["up"] = time.monotonic()
        extra = cluster.start_worker("lago-worker")
        # The new worker takes a share of the work from both gateways without any reconfiguration.
        for gateway in ("gw1", "gw2"):
            wait_for(lambda: any(f":{extra.pid}" in s for c in callers for s in c.served_by("usage@", gateway)),
                     60, f"the third lago-worker serving {gateway}'s requests")
        extra_stripe = cluster.start_worker("stripe-worker")
        wait_for(lambda: any(f":{extra_stripe.pid}" in s for c in callers for s in c.served_by("stripe@")),
                 60, "the third stripe-worker serving webhooks")
        # Down again: SIGTERM (a scale-down or a rolling restart), then kill -9 another.
        assert cluster.stack.stop(original[0], timeout=20) == 0
        timeline["down"] = time.monotonic()
        cluster.stack.kill(original[1])
        original[1].popen.wait(10)
        timeline["killed"] = time.monotonic()
        before = sum(len(c.acked_usage) for c in callers)
        wait_for(lambda: sum(len(c.acked_usage) for c in callers) >= before + 200, 60,
                 "the remaining lago-worker to carry the load")

    _run_callers(cluster, callers, load)
    served_after = set().union(*(c.served_by("usage@", since=timeline["killed"]) for c in callers))
    assert served_after and all(f":{original[0].pid}" not in s and f":{original[1].pid}" not in s
                                for s in served_after), served_after
    _assert_everything_processed_once(cluster, callers, "sc", lago_workers_killed=1)


def test_the_harness_removes_every_host_it_made():
    """The hosts of a run are gone afterwards, also when making them failed half-way."""
    reason = netns.available()
    if reason:
        pytest.skip(reason)
    net = netns.Network().start()
    try:
        host = net.add_host("probe")
        assert host.run("ip", "-o", "-4", "addr", "show", "eth0").stdout.count(host.address) == 1
        assert host.netns in netns.namespaces(net.tag) and net.runner_link in netns.links(net.tag)
        with pytest.raises(RuntimeError):
            net.add_host("probe")  # the same name again: ip refuses half-way
    finally:
        left = net.close()
    assert left == []
    assert not netns.namespaces(net.tag) and not netns.links(net.tag)
    assert not Path(f"/run/netns/{net.tag}-probe").exists()
