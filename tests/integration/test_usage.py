"""Usage metering and real-time quotas (issue #5), against real Postgres and Redis:
POST /api/v1/usage/events, POST /api/v1/usage/authorize, GET /api/v1/usage/{me,user}."""
import threading
from datetime import datetime, timedelta, timezone

import pytest

from support import SERVICE, auth, query, token, wait_for
from usage_support import authorize, event, ingest, ledger, start_usage_stack, subscribe


# --- ingest -------------------------------------------------------------------------------------

def test_batch_ingest_keeps_good_events_reports_bad_ones_and_counts_duplicates(stack):
    start_usage_stack(stack)
    first = [event("u-ingest", tx=f"tx-{i}") for i in range(5)]
    status, _, body = ingest(stack, first)
    assert status == 202 and body["accepted"] == 5 and body["duplicates"] == 0 and body["rejected"] == []

    # Given two repeats from before, one repeat inside the batch and three bad events
    batch = [event("u-ingest", tx="tx-0"), event("u-ingest", tx="tx-4"), event("u-ingest", tx="tx-new"),
             event("u-ingest", tx="tx-new"), {"user_id": "u-ingest", "code": "api_calls"},
             event("u-ingest", code="no_such_metric"), event("u-ingest", timestamp=1000),
             event("u-ingest", tx="tx-q", quantity=3)]
    status, _, body = ingest(stack, batch)
    assert status == 202
    assert body["accepted"] == 2 and body["duplicates"] == 3
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (4, "missing_transaction_id"), (5, "unknown_code"), (6, "timestamp_too_old")]
    rows = query(stack.db(), "SELECT transaction_id, quantity, source FROM usage_events ORDER BY transaction_id")
    assert [r[0] for r in rows] == sorted([f"tx-{i}" for i in range(5)] + ["tx-new", "tx-q"])
    assert dict((r[0], r[1]) for r in rows)["tx-q"] == 3
    assert {r[2] for r in rows} == {"ingest"}


@pytest.mark.parametrize("payload, code", [
    ({"events": []}, "invalid_batch_size"),
    ({"events": [{"transaction_id": str(i), "user_id": "u", "code": "api_calls"} for i in range(101)]},
     "invalid_batch_size"),
    ({"nothing": 1}, "missing_events"),
])
def test_malformed_batches_are_refused_whole(stack, payload, code):
    start_usage_stack(stack)
    status, _, body = stack.http("POST", "/api/v1/usage/events", json=payload, headers=SERVICE)
    assert status == 400 and body["error"]["code"] == code
    assert query(stack.db(), "SELECT count(*) FROM usage_events") == [(0,)]


def test_a_batch_without_one_valid_event_is_400_with_the_reasons(stack):
    start_usage_stack(stack)
    status, _, body = ingest(stack, [{"transaction_id": "x"}, event("u", code="nope")])
    assert status == 400 and body["error"]["code"] == "invalid_events"
    assert [r["code"] for r in body["rejected"]] == ["missing_user_id", "unknown_code"]


def test_ingest_needs_a_service_token(stack):
    start_usage_stack(stack)
    status, _, _ = stack.http("POST", "/api/v1/usage/events", json={"events": [event("u")]})
    assert status == 401


# --- authorize -----------------------------------------------------------------------------------

@pytest.mark.parametrize("plan, limit", [("starter", 1000), ("professional", 10000)])
def test_monthly_plans_allow_exactly_their_limit_this_period(stack, plan, limit):
    start_usage_stack(stack)
    now = datetime.now(timezone.utc)
    subscribe(stack, "u-month", plan, period_start=now - timedelta(days=3), period_end=now + timedelta(days=27))
    # Last period's usage does not count; this period's does (rebuilt from the ledger).
    ledger(stack, "u-month", 50, at=now - timedelta(days=10), prefix="old")
    ledger(stack, "u-month", limit - 3, at=now - timedelta(days=1), prefix="cur")
    answers = [authorize(stack, "u-month") for _ in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    last_ok = answers[2][2]
    assert last_ok["allowed"] is True and last_ok["used"] == limit and last_ok["limit"] == limit
    assert last_ok["remaining"] == 0 and last_ok["resets_at"].startswith(
        (now + timedelta(days=27)).strftime("%Y-%m-%dT"))
    denied = answers[3][2]
    assert denied["allowed"] is False and denied["error"]["code"] == "quota_exceeded" and denied["remaining"] == 0
    assert query(stack.db(), "SELECT count(*) FROM usage_events WHERE source = 'authorize'") == [(3,)]


def test_the_period_renewal_resets_a_monthly_quota(stack):
    start_usage_stack(stack)
    now = datetime.now(timezone.utc)
    sub = subscribe(stack, "u-renew", "starter", period_start=now - timedelta(days=30, seconds=-2),
                    period_end=now + timedelta(seconds=2))
    ledger(stack, "u-renew", 1000, at=now - timedelta(days=1))
    assert authorize(stack, "u-renew")[0] == 429
    # Stripe renews the period (the subscription-worker writes it and republishes the entitlement).
    query(stack.db(), "UPDATE subscriptions SET current_period_start = %s, current_period_end = %s WHERE id = %s",
          (now + timedelta(seconds=2), now + timedelta(days=30), sub))
    stack.redis().delete("ob:ent:u-renew")
    wait_for(lambda: datetime.now(timezone.utc) > now + timedelta(seconds=2.5), timeout=5)
    status, _, body = authorize(stack, "u-renew")
    assert status == 200 and body["used"] == 1 and body["remaining"] == 999


def test_an_ended_window_in_redis_is_refreshed_from_postgres(stack):
    start_usage_stack(stack)
    now = datetime.now(timezone.utc)
    sub = subscribe(stack, "u-stale", "starter")
    ledger(stack, "u-stale", 1000, at=now - timedelta(hours=1))
    assert authorize(stack, "u-stale")[0] == 429
    # The renewal reached Postgres but the Redis copy still holds the ended window.
    query(stack.db(), "UPDATE subscriptions SET current_period_start = %s, current_period_end = %s WHERE id = %s",
          (now - timedelta(minutes=1), now + timedelta(days=30), sub))
    stack.redis().hset("ob:ent:u-stale", mapping={"period_end": int((now - timedelta(minutes=2)).timestamp())})
    status, _, body = authorize(stack, "u-stale")
    assert status == 200 and body["used"] == 1


def test_trial_allows_700_in_total_across_months(stack):
    start_usage_stack(stack)
    now = datetime.now(timezone.utc)
    # A trial started 6 days ago whose billing period renewed since: the quota is a total.
    subscribe(stack, "u-trial", "trial", status="trialing", started_at=now - timedelta(days=6),
              period_start=now - timedelta(days=1), period_end=now + timedelta(days=1))
    ledger(stack, "u-trial", 400, at=now - timedelta(days=5), prefix="early")
    ledger(stack, "u-trial", 298, at=now - timedelta(hours=2), prefix="late")
    codes = [authorize(stack, "u-trial")[0] for _ in range(4)]
    assert codes == [200, 200, 429, 429]
    status, _, body = authorize(stack, "u-trial")
    assert body["limit"] == 700 and body["used"] == 700 and body["resets_at"] is None


def test_enterprise_is_unlimited(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-ent", "enterprise")
    ledger(stack, "u-ent", 20000)
    for _ in range(3):
        status, _, body = authorize(stack, "u-ent", quantity=1000)
        assert status == 200 and body["allowed"] is True and body["limit"] is None and body["remaining"] is None
    assert body["used"] == 23000


def test_repeating_a_transaction_id_returns_the_first_answer_and_consumes_nothing(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-rep", "starter")
    ledger(stack, "u-rep", 998)
    first = authorize(stack, "u-rep", tx="same")
    again = authorize(stack, "u-rep", tx="same")
    assert first[0] == again[0] == 200
    assert again[2]["used"] == first[2]["used"] == 999 and again[2].get("duplicate") is True
    assert authorize(stack, "u-rep")[0] == 200     # the 1000th
    denied = authorize(stack, "u-rep", tx="late")
    assert denied[0] == 429
    assert authorize(stack, "u-rep", tx="late")[0] == 429    # a denial is repeated too
    assert query(stack.db(), "SELECT count(*) FROM usage_events WHERE transaction_id = 'same'") == [(1,)]


def test_a_reused_transaction_id_with_another_user_or_quantity_is_refused_by_authorize(stack):
    """Issue 12.2: {A, 1, T} then {B, 10^9, T} must not pass as a harmless duplicate."""
    start_usage_stack(stack)
    subscribe(stack, "u-a", "starter")
    subscribe(stack, "u-b", "starter")
    status, _, body = authorize(stack, "u-a", tx="tx-shared")
    assert status == 200 and body["allowed"] is True
    for user, quantity in (("u-b", 10 ** 9), ("u-b", 1), ("u-a", 5)):
        status, _, body = authorize(stack, user, tx="tx-shared", quantity=quantity)
        assert status == 409, body
        assert body["error"]["code"] == "transaction_id_reused" and body["error"]["message"]
    status, _, body = authorize(stack, "u-a", tx="tx-shared")     # a true repeat
    assert status == 200 and body.get("duplicate") is True and body["used"] == 1
    assert query(stack.db(), "SELECT user_id, quantity FROM usage_events WHERE transaction_id = 'tx-shared'") == \
        [("u-a", 1)]
    status, _, body = authorize(stack, "u-b")
    assert status == 200 and body["used"] == 1     # nothing of the refused requests was counted for B


def test_concurrent_reuses_of_one_transaction_id_allow_exactly_one(stack):
    start_usage_stack(stack)
    users = [f"u-race-{i}" for i in range(8)]
    for user in users:
        subscribe(stack, user, "starter")
    results = {}

    def run(user):
        results[user] = authorize(stack, user, tx="tx-race")

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results.values())
    assert statuses == [200] + [409] * 7, results
    (winner,) = [u for u, r in results.items() if r[0] == 200]
    assert query(stack.db(), "SELECT user_id FROM usage_events WHERE transaction_id = 'tx-race'") == [(winner,)]


def test_the_ledger_guard_rolls_back_a_round_whose_skipped_id_names_another_request(stack):
    """The check an authorize round sends behind its INSERT and before its COMMIT (one round trip):
    a transaction_id that a concurrent round committed meanwhile for another request aborts the
    whole transaction, so the COMMIT behind it commits nothing; the same request passes."""
    import psycopg2
    start_usage_stack(stack)
    subscribe(stack, "u-guard", "starter")
    assert authorize(stack, "u-guard", tx="tx-guard")[0] == 200
    conn = stack.db()
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("SELECT usage_ledger_assert_same(%s, %s, %s, %s)",
                    (["tx-guard", "tx-new"], ["u-guard", "u-guard"], ["api_calls", "api_calls"], [1, 1]))
        assert cur.fetchone() == (2,)
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO usage_events (transaction_id, user_id, code, quantity, occurred_at, source)"
                    " VALUES ('tx-guard-2', 'u-other', 'api_calls', 1, now(), 'authorize')")
        with pytest.raises(psycopg2.Error) as raised:
            cur.execute("SELECT usage_ledger_assert_same(%s, %s, %s, %s)",
                        (["tx-guard-2", "tx-guard"], ["u-other", "u-other"], ["api_calls", "api_calls"], [1, 1]))
        assert raised.value.pgcode == "OB409"
    conn.commit()     # what the round's COMMIT does behind the failed check: nothing is committed
    assert query(stack.db(), "SELECT user_id FROM usage_events WHERE transaction_id LIKE 'tx-guard%'") == [("u-guard",)]


def test_a_reused_transaction_id_is_refused_by_ingest_and_nothing_of_its_batch_is_recorded(stack):
    start_usage_stack(stack)
    status, _, body = ingest(stack, [event("u-a", tx="tx-i1")])
    assert status == 202 and body["accepted"] == 1
    status, _, body = ingest(stack, [event("u-b", tx="tx-i1"), event("u-b", tx="tx-i2")])
    assert status == 409, body
    assert body["error"]["code"] == "transaction_id_reused" and body["reused"] == [0]
    status, _, body = ingest(stack, [event("u-a", tx="tx-i1", quantity=7)])
    assert status == 409 and body["reused"] == [0], body
    # Inside one batch: the second use of tx-i3 is for another user.
    status, _, body = ingest(stack, [event("u-a", tx="tx-i3"), event("u-b", tx="tx-i3")])
    assert status == 409 and body["reused"] == [1], body
    # Only the reuse is named: the repeat of the ledger's own request next to it is not.
    status, _, body = ingest(stack, [event("u-b", tx="tx-i1"), event("u-a", tx="tx-i1")])
    assert status == 409 and body["reused"] == [0], body
    # A true repeat is still a duplicate; authorize and ingest share the ids.
    status, _, body = ingest(stack, [event("u-a", tx="tx-i1")])
    assert status == 202 and (body["accepted"], body["duplicates"]) == (0, 1)
    subscribe(stack, "u-b", "starter")
    status, _, body = authorize(stack, "u-b", tx="tx-i1")
    assert status == 409 and body["error"]["code"] == "transaction_id_reused"
    assert query(stack.db(), "SELECT transaction_id, user_id, quantity FROM usage_events ORDER BY 1") == \
        [("tx-i1", "u-a", 1)]


def test_no_live_subscription_is_a_clear_error(stack):
    start_usage_stack(stack)
    status, _, body = authorize(stack, "u-nobody")
    assert status == 403 and body["error"]["code"] == "no_live_subscription"
    subscribe(stack, "u-canceled", "starter", status="canceled")
    status, _, body = authorize(stack, "u-canceled")
    assert status == 403 and body["error"]["code"] == "no_live_subscription"
    status, _, body = stack.http("POST", "/api/v1/usage/authorize", json={"user_id": "u", "code": "api_calls"},
                                 headers=SERVICE)
    assert status == 400 and body["error"]["code"] == "missing_transaction_id"


def test_64_concurrent_authorizations_with_10_left_allow_exactly_10(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-race", "starter")
    ledger(stack, "u-race", 990)
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(64)

    def call():
        barrier.wait()
        status, _, body = authorize(stack, "u-race")
        with lock:
            results.append((status, body))

    threads = [threading.Thread(target=call) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [s for s, _ in results]
    assert statuses.count(200) == 10 and statuses.count(429) == 54
    assert query(stack.db(), "SELECT count(*) FROM usage_events WHERE user_id = 'u-race'") == [(1000,)]


def test_flushall_then_authorize_is_still_right(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-flush", "starter")
    ledger(stack, "u-flush", 990)
    allowed = sum(authorize(stack, "u-flush", tx=f"a{i}")[0] == 200 for i in range(4))
    assert allowed == 4
    stack.redis().flushall()    # counters, stored answers, entitlement copies and scripts are gone
    # A repeat of an allowed call is still not consumed twice: the ledger remembers it.
    status, _, body = authorize(stack, "u-flush", tx="a0")
    assert status == 200 and body["duplicate"] is True and body["used"] == 994
    allowed += sum(authorize(stack, "u-flush")[0] == 200 for i in range(10))
    assert allowed == 10
    assert query(stack.db(), "SELECT count(*) FROM usage_events WHERE user_id = 'u-flush'") == [(1000,)]


def test_flushall_during_concurrent_load_never_over_grants(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-storm", "starter")
    ledger(stack, "u-storm", 900)
    codes = []
    lock = threading.Lock()

    def caller():
        for _ in range(10):
            status, _, _ = authorize(stack, "u-storm")
            with lock:
                codes.append(status)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    client = stack.redis()
    for _ in range(5):
        client.flushall()
    for t in threads:
        t.join()
    assert codes.count(200) <= 100
    assert query(stack.db(), "SELECT count(*) FROM usage_events WHERE user_id = 'u-storm'")[0][0] <= 1000
    assert set(codes) <= {200, 429, 503}


def test_ingested_usage_counts_against_the_quota(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-mix", "starter")
    ledger(stack, "u-mix", 990)
    assert authorize(stack, "u-mix")[0] == 200                 # counter now live in Redis: 991
    status, _, body = ingest(stack, [event("u-mix", quantity=5)])
    assert status == 202 and body["accepted"] == 1
    codes = [authorize(stack, "u-mix")[0] for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]


def test_usage_redis_missed_is_counted_after_a_worker_restart(stack):
    """Issue 12.4: Redis refuses writes during an ingest (the ledger commits, the counter misses the events),
    then the worker is killed before it could invalidate the counters. The restarted worker must still
    rebuild them from the ledger (the "dirty" marker is durable), so no over-grant."""
    start_usage_stack(stack)
    subscribe(stack, "u-dirty", "starter")
    ledger(stack, "u-dirty", 990)
    assert authorize(stack, "u-dirty")[0] == 200                 # counter live in Redis: 991
    admin = stack.redis()
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1")                           # every write is refused (OOM)
    try:
        status, _, body = ingest(stack, [event("u-dirty") for _ in range(20)])
        assert status == 202 and body["accepted"] == 20
        assert query(stack.db(), "SELECT count(*) FROM usage_counters_dirty") == [(1,)]
        stack.kill("lago-worker")
    finally:
        admin.config_set("maxmemory", "0")
    stack.start("lago-worker")
    answers = []
    wait_for(lambda: answers.append(authorize(stack, "u-dirty")) or answers[-1][0] != 503,
               timeout=20, message="the restarted worker")
    status, _, body = answers[-1]
    assert status == 429, body                                    # 990 + 1 + 20 + 1 > 1000
    assert body["used"] == 1011
    assert query(stack.db(), "SELECT count(*) FROM usage_counters_dirty") == [(0,)]


@pytest.mark.parametrize("policy", ["closed", "open"])
def test_redis_down_applies_the_configured_policy(stack, policy):
    start_usage_stack(stack, REDIS_URL="redis://127.0.0.1:1", AUTHORIZE_REDIS_FAILURE_POLICY=policy)
    subscribe(stack, "u-down", "starter")
    status, _, body = authorize(stack, "u-down", tx="down-1")
    if policy == "closed":
        assert status == 503 and body["error"]["code"] == "quota_unavailable"
        assert query(stack.db(), "SELECT count(*) FROM usage_events") == [(0,)]
    else:
        assert status == 200 and body["allowed"] is True and body["degraded"] is True
        assert query(stack.db(), "SELECT transaction_id FROM usage_events") == [("down-1",)]
    worker = [p for p in stack.procs if p.name == "lago-worker"][0]
    worker.wait_for_log("AUTHORIZE_REDIS_FAILURE_POLICY=" + policy)
    assert worker.alive()


# --- usage so far --------------------------------------------------------------------------------

def test_usage_me_and_usage_of_a_user(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-read", "professional")
    ledger(stack, "u-read", 42)
    status, _, body = stack.http("GET", "/api/v1/usage/me", headers=auth(token("u-read", email=None)))
    assert status == 200, body
    assert body["user_id"] == "u-read" and body["plan"] == "professional"
    metric = [m for m in body["metrics"] if m["code"] == "api_calls"][0]
    assert metric["used"] == 42 and metric["limit"] == 10000 and metric["remaining"] == 9958
    status, _, body2 = stack.http("GET", "/api/v1/usage/u-read", headers=SERVICE)
    assert status == 200 and body2["metrics"] == body["metrics"]
    status, _, body3 = stack.http("GET", "/api/v1/usage/someone-else", headers=SERVICE)
    assert status == 200 and body3["plan"] is None and body3["metrics"] == []
    assert stack.http("GET", "/api/v1/usage/u-read")[0] == 401


def test_two_usage_runtimes_commit_at_once_and_keep_every_promise(stack):
    """USAGE_RUNTIMES=2: the broker shares requests between two runtimes whose transactions run at once.
    Every 202 is one stored row, a repeat is a duplicate, a concurrent reuse is refused exactly once,
    thresholds and the quota stay exact."""
    start_usage_stack(stack, USAGE_RUNTIMES="2")
    db = stack.db()

    def usage_workers():
        body = stack.http("GET", "/metrics")[2]
        text = body.decode() if isinstance(body, bytes) else body
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("ob_broker_workers{") and 'service="usage"' in line)

    wait_for(lambda: usage_workers() == 2, timeout=10, message="two usage runtimes at the broker")
    subscribe(stack, "u-par", "starter")  # 1,000 calls a month
    answers, lock = [], threading.Lock()

    def client(k):
        batches = [[event("u-par", tx=f"par-{k}-{b}-{i}") for i in range(20)] for b in range(5)]
        for batch in batches + batches[:1]:  # the first batch again: all duplicates
            status, _, body = ingest(stack, batch)
            with lock:
                answers.append((status, body))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(status == 202 for status, _ in answers), answers
    assert sum(body["accepted"] for _, body in answers) == 800
    assert sum(body["duplicates"] for _, body in answers) == 8 * 20
    assert query(db, "SELECT count(*), count(DISTINCT transaction_id) FROM usage_events WHERE user_id = 'u-par'")[0] == (800, 800)

    # One transaction_id sent at once for two users: exactly one is recorded, the other refused.
    reuse = []

    def reuser(user):
        status, _, body = ingest(stack, [event(user, tx="par-reused")])
        with lock:
            reuse.append(status)

    pair = [threading.Thread(target=reuser, args=(u,)) for u in ("u-par", "u-par-other")]
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    assert sorted(reuse) == [202, 409], reuse
    assert len(query(db, "SELECT user_id FROM usage_events WHERE transaction_id = 'par-reused'")) == 1

    # At or above 80% after a later batch: requested once.
    used = query(db, "SELECT count(*) FROM usage_events WHERE user_id = 'u-par'")[0][0]
    status, _, body = ingest(stack, [event("u-par")])
    assert status == 202 and body["accepted"] == 1
    used += 1
    assert query(db, "SELECT count(*) FROM notifications WHERE kind = 'quota_threshold' AND user_id = 'u-par'"
                     " AND payload->>'threshold' = '80'")[0][0] == 1
    # The counter (rebuilt from the ledger) allows exactly what is left.
    codes = [authorize(stack, "u-par")[0] for _ in range(1000 - used + 1)]
    assert codes.count(200) == 1000 - used and codes[-1] == 429
