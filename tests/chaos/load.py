"""load - the mixed load of the chaos run. Each generator is a thread that sends
until the run's end, retrying every request as its real sender would (Stripe and
Lago retry a webhook until they get a 2xx; a service retries a usage batch or an
authorization with the same transaction ids) and records what was acknowledged.

After stop(), a generator finishes the retries it has in hand (faults have
stopped by then), so every request sent is acknowledged in the end."""
import base64
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import uuid

import lago_fixtures
from billing_helpers import BILLING
from stripe_events import DAY, Sub, body_of, price
from support import SERVICE, auth, sign_stripe, token

WEBHOOK_PATH = "/api/v1/billing/webhooks/stripe"
LAGO_PATH = "/api/v1/webhooks/lago"


class Generator(threading.Thread):
    """A load thread: run_once() until stop(); every request through send(), which retries."""

    def __init__(self, stack, name, seed, grace=120.0):
        super().__init__(name=name, daemon=True)
        self.stack = stack
        self.random = random.Random(seed)
        self.stopping = threading.Event()
        self.grace = grace
        self.give_up_at = None
        self.statuses = {}       # answer status (or "refused" for no connection) -> count
        self.unanswered = []     # requests still not acknowledged when the generator gave up
        self.error = None

    def stop(self):
        """Ends the load; requests still in hand get grace seconds more to be acknowledged."""
        if self.give_up_at is None:
            self.give_up_at = time.monotonic() + self.grace
        self.stopping.set()

    def run(self):
        try:
            while not self.stopping.is_set():
                self.run_once()
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def count(self, status):
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def send(self, what, request, done):
        """request() -> (status, body); retried until done(status, body) (after a pause that
        grows to 1 s). Returns the final (status, body), or None when it gave up (grace
        seconds after stop())."""
        pause = 0.05
        while True:
            try:
                status, body = request()
            except OSError:
                status, body = "refused", None
            self.count(status)
            if status != "refused" and done(status, body):
                return status, body
            if self.give_up_at is not None and time.monotonic() > self.give_up_at:
                self.unanswered.append((what, status, body))
                return None
            time.sleep(pause)
            pause = min(1.0, pause * 2)


class StripeWebhooks(Generator):
    """Subscription lifecycles (checkout, created, first invoice, an upgrade, a cancel request and for
    some the end), each sent in a shuffled order with some repeats, signed as Stripe signs them."""

    def __init__(self, stack, seed, prefix):
        super().__init__(stack, f"stripe-{prefix}", seed)
        self.prefix = prefix
        self.serial = itertools.count(1)
        self.accepted = {}       # event id -> event (acknowledged with a 2xx)
        self.order = []          # event ids in the order they were acknowledged
        self.subs = {}           # subscription id -> user id

    def lifecycle(self):
        user = f"u-{self.prefix}-{next(self.serial)}"
        now = int(time.time())
        sub = Sub(user_id=None, plan="starter")
        t = now - 600
        upgraded = price("professional")
        events = [
            sub.checkout_completed(t, user),
            sub.event("customer.subscription.created", t + 1, "incomplete", t, t + 30 * DAY),
            sub.invoice(t + 2, True, t, t + 30 * DAY, billing_reason="subscription_create"),
            sub.event("customer.subscription.updated", t + 3, "active", t, t + 30 * DAY),
            sub.event("customer.subscription.updated", t + 4, "active", t, t + 30 * DAY, price_obj=upgraded),
        ]
        ending = self.random.random()
        if ending < 0.4:
            events.append(sub.event("customer.subscription.updated", t + 5, "active", t, t + 30 * DAY,
                                    price_obj=upgraded, cancel_at_period_end=True))
        if ending < 0.2:
            events.append(sub.event("customer.subscription.deleted", t + 6, "canceled", t, t + 30 * DAY,
                                    price_obj=upgraded, cancel_at_period_end=True, canceled_at=t + 6))
        self.subs[sub.id] = user
        return events

    def deliver(self, evt):
        raw = body_of(evt)

        def request():
            headers = {"Stripe-Signature": sign_stripe(raw, self.stack.env["STRIPE_WEBHOOK_SECRET"]),
                       "Content-Type": "application/json"}
            status, _, body = self.stack.http("POST", WEBHOOK_PATH, body=raw, headers=headers, timeout=10)
            return status, body

        answer = self.send(evt["id"], request, lambda status, body: 200 <= status < 300)
        if answer and evt["id"] not in self.accepted:
            self.accepted[evt["id"]] = evt
            self.order.append(evt["id"])

    def run_once(self):
        events = self.lifecycle()
        self.random.shuffle(events)
        for evt in events + self.random.sample(events, 2):   # two repeats, as Stripe sends now and then
            self.deliver(evt)
            self.stopping.wait(0.1)


class UsageIngest(Generator):
    """Batches of 20 usage events for users with a large quota; a batch is retried whole, with the
    same transaction ids, until it is answered 202."""

    def __init__(self, stack, seed, users):
        super().__init__(stack, "usage-ingest", seed)
        self.users = users
        self.accepted = set()    # transaction ids of batches answered 202

    def run_once(self):
        batch = [{"transaction_id": f"ing-{uuid.uuid4().hex}", "user_id": self.random.choice(self.users),
                  "code": "api_calls", "timestamp": int(time.time()), "properties": {"quantity": 1}}
                 for _ in range(20)]

        def request():
            status, _, body = self.stack.http("POST", "/api/v1/usage/events", json={"events": batch},
                                              headers=SERVICE, timeout=10)
            return status, body

        answer = self.send("ingest", request, lambda status, body: status == 202)
        if answer:
            rejected = answer[1].get("rejected") or []
            if rejected:
                raise AssertionError(f"ingest rejected valid events: {rejected}")
            self.accepted.update(e["transaction_id"] for e in batch)
        self.stopping.wait(0.2)


class QuotaUsers:
    """Users a few calls short of their monthly limit. Once every active one has been refused,
    the next ones are added, so the limit is reached again and again while the faults go on.

    A user is what the subscription-worker and the lago-worker would have written (a customer, a
    starter subscription, one ledger row of `seeded` calls), committed in one transaction, retried
    while Postgres restarts."""

    def __init__(self, postgres, dbname, seeded, plan="starter", batch=4):
        self.postgres, self.dbname, self.seeded, self.plan, self.batch = postgres, dbname, seeded, plan, batch
        self.lock = threading.Lock()
        self.users, self.active, self.full = [], [], set()

    def _create(self, user):
        import psycopg2

        while True:
            try:
                conn = psycopg2.connect(self.postgres.url(self.dbname), connect_timeout=5)
                try:
                    with conn, conn.cursor() as cur:
                        cur.execute("INSERT INTO customers (user_id, email) VALUES (%s, %s)",
                                    (user, f"{user}@example.test"))
                        cur.execute("INSERT INTO subscriptions (id, user_id, plan_id, interval, status, started_at,"
                                    " current_period_start, current_period_end) VALUES (%s, %s, %s, 'month',"
                                    " 'active', now() - interval '3 days', now() - interval '3 days',"
                                    " now() + interval '27 days')", (f"sub_{user}", user, self.plan))
                        cur.execute("INSERT INTO usage_events (transaction_id, user_id, code, quantity, occurred_at)"
                                    " VALUES ('seed-' || %s, %s, 'api_calls', %s, now() - interval '1 hour')",
                                    (user, user, self.seeded))
                        cur.execute("SELECT pg_notify('subscription_changed', %s)", (user,))
                    return
                finally:
                    conn.close()
            except psycopg2.errors.UniqueViolation:
                return           # the commit went through before the connection broke
            except psycopg2.Error:
                time.sleep(0.2)

    def grow(self):
        fresh = [f"u-quota-{len(self.users) + i}" for i in range(self.batch)]
        for user in fresh:
            self._create(user)
        self.users += fresh
        self.active = fresh

    def pick(self, rng):
        with self.lock:
            return rng.choice(self.active)

    def refused(self, user):
        with self.lock:
            self.full.add(user)
            if all(u in self.full for u in self.active):
                self.grow()


class Authorize(Generator):
    """Authorizations of one call each for users close to their monthly limit (QuotaUsers): each
    transaction id is retried until it gets an answer (200 allowed or 429 refused)."""

    def __init__(self, stack, seed, users, name):
        super().__init__(stack, name, seed)
        self.users = users
        self.allowed = {}        # transaction id -> user
        self.refused = 0

    def run_once(self):
        user = self.users.pick(self.random)
        tx = f"auth-{uuid.uuid4().hex}"

        def request():
            status, _, body = self.stack.http("POST", "/api/v1/usage/authorize", timeout=10, headers=SERVICE,
                                              json={"user_id": user, "code": "api_calls", "transaction_id": tx})
            return status, body

        answer = self.send(tx, request, lambda status, body: status in (200, 429))
        if answer and answer[0] == 200:
            assert answer[1]["allowed"] is True and not answer[1].get("degraded"), answer
            self.allowed[tx] = user
        elif answer:
            self.refused += 1
            self.users.refused(user)
        self.stopping.wait(0.02)


class LagoWebhooks(Generator):
    """Lago's invoice.created and invoice.payment_failure webhooks, hmac-signed as Lago signs them, each under its own
    X-Lago-Unique-Key and retried with it until answered 200."""

    def __init__(self, stack, seed, users):
        super().__init__(stack, "lago-webhooks", seed)
        self.users = users
        self.accepted = {}       # unique key -> sha256 of the body

    def run_once(self):
        user = self.random.choice(self.users)
        if self.random.random() < 0.5:
            payload = lago_fixtures.invoice_created(user, total_amount_cents=self.random.randrange(100, 10000))
        else:
            payload = lago_fixtures.invoice_payment_failure(user)
        raw = json.dumps(payload).encode()
        key = str(uuid.uuid4())
        signature = base64.b64encode(hmac.new(self.stack.env["LAGO_WEBHOOK_HMAC_KEY"].encode(), raw,
                                              hashlib.sha256).digest()).decode()

        def request():
            status, _, body = self.stack.http("POST", LAGO_PATH, body=raw, timeout=10, headers={
                "X-Lago-Signature-Algorithm": "hmac", "X-Lago-Signature": signature, "X-Lago-Unique-Key": key,
                "Content-Type": "application/json"})
            return status, body

        if self.send(key, request, lambda status, body: status == 200):
            self.accepted[key] = hashlib.sha256(raw).hexdigest()
        self.stopping.wait(0.2)


class BillingApi(Generator):
    """What a signed-in user's pages call: the status, the payment methods, and a checkout."""

    CALLS = (("GET", "/subscription-status", None), ("GET", "/payment-methods", None),
             ("POST", "/checkout/create", {"plan_id": "starter", "interval": "month"}))

    def __init__(self, stack, seed, users):
        super().__init__(stack, "billing-api", seed)
        self.users = users
        self.answered = {}       # (method, path, status) -> count

    def run_once(self):
        user = self.random.choice(self.users)
        method, path, body = self.random.choice(self.CALLS)
        try:
            status, _, _ = self.stack.http(method, BILLING + path, json=body, timeout=10,
                                           headers=auth(token(user, f"{user}@example.com")))
        except OSError:
            status = "refused"
        self.count(status)
        self.answered[(method, path, status)] = self.answered.get((method, path, status), 0) + 1
        self.stopping.wait(0.05)
