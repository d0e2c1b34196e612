"""The chaos run (issue 12): mixed load for CHAOS_SECONDS (default 60) while a driver
kills -9 a random process (the gateway, any worker, Redis) or restarts Postgres every
few seconds and starts it again. Then, with the faults stopped and the work drained,
it checks and prints as figures:

  * every Stripe webhook answered 2xx is stored once and its effect applied once;
  * every usage event answered 202 or allowed is in the ledger once and stored by the
    Lago stand-in once under its transaction_id;
  * per user and window, the calls allowed never exceed the limit;
  * every notification is delivered at least once, under one id;
  * the subscription states (and the Stripe events' notification requests) equal those
    of a clean stack fed the same accepted events without faults.

    CHAOS_SECONDS=600 OB_BUILD_DIR=build /usr/bin/python3 -m pytest tests/chaos -q -s

CHAOS_SEED picks the victims and pauses (printed; the checks do not depend on it)."""
import collections
import os
import random
import subprocess
import threading
import time

import pytest

import checks
from billing_helpers import StripeStandin, setup_prices
from faults import Driver
from harness import REPO, WORKERS, Postgres, Redis, Stack, base_env, binary
from load import Authorize, QuotaUsers, BillingApi, LagoWebhooks, StripeWebhooks, UsageIngest
from notify_support import FAST_NOTIFIER, Receiver, SmtpSink, create_endpoint
from stripe_events import body_of, settled
from support import JWT_SECRET, query, sign_stripe, wait_for
from usage_support import lago_state, subscribe

SECONDS = float(os.environ.get("CHAOS_SECONDS", "60"))
SEED = int(os.environ.get("CHAOS_SEED", str(random.randrange(1 << 30))))
STARTER_LIMIT = 1000
SEEDED = STARTER_LIMIT - 40          # each quota user has 40 calls left
DRAIN_S = 180                        # how long the work may take to drain once the faults stop

ENV = {
    "STRIPE_EVENT_RETRY_BASE_MS": "100", "STRIPE_EVENT_RETRY_MAX_MS": "500",
    "LAGO_FORWARD_MAX_BACKOFF_S": "1", "LAGO_SYNC_INTERVAL_MS": "200",
}


def migrate(postgres, dbname):
    postgres.create_database(dbname)
    result = subprocess.run([str(binary("billing-admin")), "migrate"], cwd=REPO, capture_output=True, text=True,
                            env=base_env(DATABASE_URL=postgres.url(dbname), MIGRATIONS_DIR=REPO / "deploy" / "migrations"),
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def stores():
    postgres, redis, replay_redis = Postgres().start(), Redis().start(), Redis().start()
    yield postgres, redis, replay_redis
    for server in (replay_redis, redis, postgres):
        server.stop()


def process_env(stack):
    env = {name: dict(ENV) for name in ("gateway",) + WORKERS}
    env["notifier"].update({**FAST_NOTIFIER, "PUBLIC_BASE_URL": stack.url("")})
    return env


def drained(stack):
    """What is still to do, or an empty list: nothing pending anywhere."""
    left = query(stack, """SELECT
        (SELECT count(*) FROM stripe_events WHERE status = 'pending'),
        (SELECT count(*) FROM subscription_updates WHERE status = 'pending'),
        (SELECT count(*) FROM usage_events WHERE forwarded_at IS NULL),
        (SELECT count(*) FROM lago_webhooks WHERE status = 'pending'),
        (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')),
        (SELECT count(*) FROM notifications WHERE fanned_out_at IS NULL),
        (SELECT count(*) FROM webhook_messages WHERE status = 'pending')""")[0]
    names = ("stripe events", "subscription updates", "usage events to forward", "Lago webhooks",
             "notifications", "notifications to fan out", "webhook messages")
    return [f"{n} {name}" for n, name in zip(left, names) if n]


def replay_stack(postgres, redis, workdir, events):
    """A clean stack fed the accepted Stripe events (in the order they were first acknowledged)."""
    migrate(postgres, "replay")
    clean = Stack(postgres, redis, "replay", workdir)
    clean.standin("stripe")
    clean.env["AUTH_JWT_SECRET"] = JWT_SECRET
    for name in ("gateway", "subscription-worker", "stripe-worker"):
        clean.start(name, **ENV)
    wait_for(lambda: clean.http("GET", "/api/v1/subscriptions/plans")[0] == 200, 20, "the replay's catalogue")
    wait_for(lambda: clean.http("GET", "/api/v1/admin/webhook-events",
                                headers={"Authorization": f"Bearer {clean.env['ADMIN_TOKEN']}"})[0] == 200, 20,
             "the replay's stripe service")
    answers = []

    def feed(part):
        for evt in part:
            raw = body_of(evt)
            for _ in range(100):   # a 503 is back-pressure: retried, as Stripe does
                status = clean.http("POST", "/api/v1/billing/webhooks/stripe", body=raw, headers={
                    "Stripe-Signature": sign_stripe(raw, clean.env["STRIPE_WEBHOOK_SECRET"]),
                    "Content-Type": "application/json"})[0]
                if status != 503:
                    break
                time.sleep(0.2)
            answers.append(status)

    # Eight senders at once, as Stripe sends: the state must not depend on the order either.
    feeders = [threading.Thread(target=feed, args=(events[i::8],)) for i in range(8)]
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join()
    assert answers == [200] * len(events), collections.Counter(answers)
    wait_for(lambda: settled(clean), max(60.0, len(events) / 20), "the replay's events")
    return clean


def print_figures(title, figures, problems):
    print(f"\n  {title}")
    for name, value in figures.items():
        print(f"    {name:<52} {value}")
    for problem in problems[:10]:
        print(f"    !! {problem}")
    if len(problems) > 10:
        print(f"    !! ... {len(problems) - 10} more")


def test_chaos(stores, tmp_path):
    postgres, redis, replay_redis = stores
    migrate(postgres, "chaos")
    stack = Stack(postgres, redis, "chaos", tmp_path / "chaos")
    clean = None
    driver = None
    generators = []
    try:
        stack.env["AUTH_JWT_SECRET"] = JWT_SECRET
        stripe = StripeStandin(stack.standin("stripe"))
        lago_url = stack.standin("lago")
        sink, receiver = SmtpSink(stack), Receiver(stack)
        stack.env["SMTP_URL"] = sink.url
        env = process_env(stack)
        for name in ("gateway",) + WORKERS:
            stack.start(name, **env[name])
        stack.wait_ready(30)
        assert stack.admin("setup-lago").returncode == 0
        setup_prices(stack)
        endpoint = create_endpoint(stack, receiver.url("chaos"), events=["*"], description="chaos")

        ingest_users = [f"u-ing-{i}" for i in range(4)]
        for user in ingest_users:
            subscribe(stack, user, "enterprise", notify=True)
        quota_users = QuotaUsers(postgres, "chaos", SEEDED)
        quota_users.grow()

        rng = random.Random(SEED)
        webhooks = [StripeWebhooks(stack, rng.random(), f"s{i}") for i in range(3)]
        usage = UsageIngest(stack, rng.random(), ingest_users)
        authorizers = [Authorize(stack, rng.random(), quota_users, f"authorize-{i}") for i in range(3)]
        lago = LagoWebhooks(stack, rng.random(), ingest_users + quota_users.users)
        api = BillingApi(stack, rng.random(), [f"u-api-{i}" for i in range(6)])
        generators = webhooks + [usage, lago, api] + authorizers
        driver = Driver(stack, postgres, redis, env, SEED)
        print(f"\nchaos run: {SECONDS:.0f} s, seed {SEED}")
        for generator in generators:
            generator.start()
        driver.start()
        time.sleep(SECONDS)
        driver.stop()
        assert driver.error is None, f"the driver failed: {driver.error!r}"
        for generator in generators:
            generator.stop()
        for generator in generators:
            generator.join(300)
        print(f"\n  faults: {driver.counts}")
        for generator in generators:
            print(f"  {generator.name:<16} answers {dict(sorted(generator.statuses.items(), key=str))}")
        assert not [g.name for g in generators if g.is_alive()], "a generator never finished"
        assert [g.error for g in generators if g.error] == []
        driver.revive_unexpected()
        print(f"  unexpected exits: {driver.unexpected or 'none'}")
        unanswered = [(g.name, u) for g in generators for u in g.unanswered]
        assert unanswered == [], f"requests never acknowledged after the faults stopped: {unanswered[:10]}"

        left = None
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline:
            left = drained(stack)
            if not left:
                break
            time.sleep(0.5)
        assert not left, f"work left after {DRAIN_S} s without faults: {left}"

        accepted = {}
        order = []
        for generator in webhooks:
            accepted.update(generator.accepted)
            order += generator.order
        sub_ids = {sub for generator in webhooks for sub in generator.subs}
        clean = replay_stack(postgres, replay_redis, tmp_path / "replay", [accepted[i] for i in order])
        allowed = {tx: user for a in authorizers for tx, user in a.allowed.items()}
        results = {}
        for title, check in (
                ("Stripe webhooks", lambda: checks.stripe_webhooks(stack, accepted)),
                ("usage ledger and Lago", lambda: checks.usage(stack, lago_state(lago_url), usage.accepted, allowed)),
                ("quota", lambda: checks.quota(stack, allowed, quota_users.users, STARTER_LIMIT, SEEDED)),
                ("Lago webhooks", lambda: checks.lago_webhooks(stack, lago.accepted)),
                ("notifications", lambda: checks.notifications(stack, receiver, "chaos", endpoint["secret"], sink)),
                ("replay without faults", lambda: checks.replay(stack, clean, sub_ids)),
                ("billing API", lambda: checks.billing_api(stack, stripe.state(), api.answered, api.users))):
            try:
                results[title] = check()
            except Exception as error:  # noqa: BLE001 - one broken check must not hide the others' figures
                results[title] = ({}, [f"the check failed: {error!r}"])
        for title, (figures, problems) in results.items():
            print_figures(title, figures, problems)
        failed = {title: problems[:5] for title, (_, problems) in results.items() if problems}
        assert not failed, failed
    finally:
        for generator in generators:
            generator.stop()
        problems = stack.close()
        if clean is not None:
            problems += clean.close()
        if driver is not None:
            driver.release()
        if problems:
            print(stack.log_tails())
    assert not problems, "sanitizer report or crash:\n\n" + "\n\n".join(problems)
