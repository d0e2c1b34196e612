"""Entitlements (issue 18) and a Redis copy that is never stale for long (issue 12, item 3),
against real Postgres and Redis: GET /api/v1/entitlements/{user_id} and /me,
POST /api/v1/entitlements/check, and what authorize does when the copy is lost or stale.

Subscriptions are written by direct SQL, as their owner (the subscription-worker) would
commit them; the triggers of migration 050 record the change in entitlement_versions, and
the owner publishes it (or every reader rebuilds a missing copy from Postgres)."""
from datetime import datetime, timedelta, timezone

import pytest

from support import SERVICE, query, token, wait_for as wait_until
from usage_support import authorize, start_usage_stack as _start_usage_stack, subscribe


def user_jwt(user):
    return token(user, email=None)


def start_usage_stack(stack):
    """The usage stack, once the subscription service (which answers the checks) is served too."""
    _start_usage_stack(stack)
    wait_until(lambda: stack.http("POST", "/api/v1/entitlements/check", json={"user_id": "probe", "feature": "x"},
                                  headers=SERVICE)[0] == 200, message="the subscription service")


def check(stack, user, feature=None, features=None, headers=SERVICE):
    body = {"user_id": user}
    if feature is not None:
        body["feature"] = feature
    if features is not None:
        body["features"] = features
    return stack.http("POST", "/api/v1/entitlements/check", json=body, headers=headers)


def allowed(stack, user, feature):
    status, _, body = check(stack, user, feature)
    assert status == 200, body
    return body


def set_subscription(stack, sub_id, **fields):
    """Changes the subscription row as its owner would (one committed UPDATE)."""
    sets = ", ".join(f"{name} = %s" for name in fields)
    query(stack.db(), f"UPDATE subscriptions SET {sets}, updated_at = now() WHERE id = %s", (*fields.values(), sub_id))


# --- checks ------------------------------------------------------------------------------------

def test_professional_may_use_tts_and_starter_is_told_which_plan_has_it(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-pro", "professional")
    subscribe(stack, "u-starter", "starter")
    assert allowed(stack, "u-pro", "tts") == {"allowed": True}
    assert allowed(stack, "u-starter", "tts") == {"allowed": False, "reason": "plan_lacks_feature",
                                                  "upgrade_to": "professional"}
    assert allowed(stack, "u-starter", "bolt_diy")["upgrade_to"] == "enterprise"
    assert allowed(stack, "u-starter", "byok") == {"allowed": True}
    assert allowed(stack, "u-nobody", "chat") == {"allowed": False, "reason": "no_live_subscription",
                                                  "upgrade_to": "starter"}


def test_a_batch_check_answers_every_feature_at_once(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-batch", "starter")
    status, _, body = check(stack, "u-batch", features=["chat", "tts", "bolt_diy"])
    assert status == 200
    assert body["results"] == {
        "chat": {"allowed": True},
        "tts": {"allowed": False, "reason": "plan_lacks_feature", "upgrade_to": "professional"},
        "bolt_diy": {"allowed": False, "reason": "plan_lacks_feature", "upgrade_to": "enterprise"},
    }


@pytest.mark.parametrize("body, code", [
    ({"feature": "tts"}, "invalid_user_id"),
    ({"user_id": "", "feature": "tts"}, "invalid_user_id"),
    ({"user_id": "u"}, "invalid_feature"),
    ({"user_id": "u", "feature": "tts", "features": ["tts"]}, "invalid_feature"),
    ({"user_id": "u", "feature": ""}, "invalid_feature"),
    ({"user_id": "u", "feature": 7}, "invalid_feature"),
    ({"user_id": "u", "features": []}, "invalid_features"),
    ({"user_id": "u", "features": ["x"] * 65}, "invalid_features"),
    ({"user_id": "u", "features": ["ok", 3]}, "invalid_features"),
])
def test_bad_checks_get_a_400_with_a_code(stack, body, code):
    start_usage_stack(stack)
    status, _, answer = stack.http("POST", "/api/v1/entitlements/check", json=body, headers=SERVICE)
    assert status == 400 and answer["error"]["code"] == code


def test_checks_need_a_service_token_and_me_needs_a_user(stack):
    start_usage_stack(stack)
    assert check(stack, "u", "tts", headers={})[0] == 401
    assert stack.http("GET", "/api/v1/entitlements/u")[0] == 401
    assert stack.http("GET", "/api/v1/entitlements/me", headers=SERVICE)[0] in (401, 403)


def test_the_entitlement_document_for_services_and_for_the_signed_in_user(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-doc", "professional")
    status, _, doc = stack.http("GET", "/api/v1/entitlements/u-doc", headers=SERVICE)
    assert status == 200
    assert doc["plan"] == "professional" and doc["status"] == "active" and doc["entitled"] is True
    assert "tts" in doc["features"] and doc["byok"] is True and doc["seats"] == 1
    assert doc["quota"]["limit"] == 10000 and doc["quota"]["period"] == "month"
    assert doc["overrides"] == [] and doc["valid_until"] is not None
    assert authorize(stack, "u-doc")[0] == 200
    status, _, doc = stack.http("GET", "/api/v1/entitlements/u-doc", headers=SERVICE)
    assert doc["quota"]["used"] == 1

    status, _, mine = stack.http("GET", "/api/v1/entitlements/me",
                                 headers={"Authorization": f"Bearer {user_jwt('u-doc')}"})
    assert status == 200 and mine["user_id"] == "u-doc" and mine["plan"] == "professional"
    status, _, none = stack.http("GET", "/api/v1/entitlements/u-none", headers=SERVICE)
    assert status == 200 and none["plan"] is None and none["entitled"] is False and none["features"] == []


def test_cancel_at_period_end_keeps_tts_until_the_end_then_not(stack):
    start_usage_stack(stack)
    now = datetime.now(timezone.utc)
    sub = subscribe(stack, "u-leaving", "professional", period_start=now - timedelta(days=29),
                    period_end=now + timedelta(seconds=3))
    set_subscription(stack, sub, cancel_at_period_end=True)
    wait_until(lambda: stack.redis().hget("ob:ent:u-leaving", "cancel_at_period_end") == "1",
               message="the owner publishes the change")
    assert allowed(stack, "u-leaving", "tts") == {"allowed": True}
    assert authorize(stack, "u-leaving")[0] == 200
    # No webhook arrives at the end: the period end alone takes the features away.
    wait_until(lambda: not allowed(stack, "u-leaving", "tts")["allowed"], timeout=10, message="the period end")
    assert allowed(stack, "u-leaving", "tts") == {"allowed": False, "reason": "subscription_ended",
                                                  "upgrade_to": None}
    assert authorize(stack, "u-leaving")[0] == 403


def test_past_due_keeps_access_for_the_grace_period_then_loses_it(stack):
    stack.env["PAST_DUE_GRACE_S"] = "3"
    start_usage_stack(stack)
    subscribe(stack, "u-late", "professional", status="past_due")
    since = query(stack.db(), "SELECT past_due_since IS NOT NULL FROM subscriptions WHERE user_id = 'u-late'")
    assert since == [(True,)]
    assert allowed(stack, "u-late", "tts") == {"allowed": True}
    assert authorize(stack, "u-late")[0] == 200
    wait_until(lambda: not allowed(stack, "u-late", "tts")["allowed"], timeout=10, message="the end of the grace")
    assert allowed(stack, "u-late", "tts") == {"allowed": False, "reason": "past_due", "upgrade_to": None}
    assert authorize(stack, "u-late")[0] == 403
    # Paying again restores it at once.
    set_subscription(stack, query(stack.db(), "SELECT id FROM subscriptions WHERE user_id = 'u-late'")[0][0],
                     status="active")
    wait_until(lambda: allowed(stack, "u-late", "tts")["allowed"], message="the owner publishes the payment")


def test_a_plan_gaining_a_feature_reaches_its_subscribers_without_a_migration(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-cat", "starter")
    assert not allowed(stack, "u-cat", "tts")["allowed"]
    query(stack.db(), "UPDATE plans SET features = features || '[\"tts\"]'::jsonb WHERE id = 'starter'")
    wait_until(lambda: allowed(stack, "u-cat", "tts")["allowed"], message="the owner republishes the plan's subscribers")


# --- the copy is never stale for long (issue 12, item 3) ------------------------------------------

def test_copies_expire_and_carry_the_version_they_were_built_from(stack):
    stack.env["ENTITLEMENTS_TTL_S"] = "120"
    start_usage_stack(stack)
    subscribe(stack, "u-ttl", "trial")
    assert authorize(stack, "u-ttl")[0] == 200
    r = stack.redis()
    assert 0 < r.ttl("ob:ent:u-ttl") <= 120
    version = query(stack.db(), "SELECT version FROM entitlement_versions WHERE user_id = 'u-ttl'")[0][0]
    wait_until(lambda: r.get("ob:entv:u-ttl") == str(version), message="the versioned copy")
    assert 0 < r.ttl("ob:entv:u-ttl") <= 120
    # An older version never overwrites a newer copy.
    r.set("ob:entv:u-ttl", str(version + 1000))
    r.hset("ob:ent:u-ttl", "plan", "from-the-future")
    query(stack.db(), "UPDATE entitlement_versions SET published_at = '-infinity' WHERE user_id = 'u-ttl'")
    wait_until(lambda: query(stack.db(), "SELECT published_at > now() - interval '1 minute' FROM entitlement_versions"
                                         " WHERE user_id = 'u-ttl'") == [(True,)], message="a refresh")
    assert r.hget("ob:ent:u-ttl", "plan") == "from-the-future"


def test_a_cancellation_committed_just_before_the_owner_was_killed_stops_authorizations(stack):
    start_usage_stack(stack)
    sub = subscribe(stack, "u-crash", "starter")
    assert authorize(stack, "u-crash")[0] == 200
    assert stack.redis().hget("ob:ent:u-crash", "live") == "1"
    # Given the owner dies (kill -9) right after committing a cancellation, before publishing it
    stack.kill("subscription-worker")
    set_subscription(stack, sub, status="canceled", canceled_at=datetime.now(timezone.utc))
    owed = query(stack.db(), "SELECT published_version < version FROM entitlement_versions WHERE user_id = 'u-crash'")
    assert owed == [(True,)], "the publish owed is recorded with the change"
    # when it restarts, then the copy is corrected and authorizations stop within seconds
    stack.start("subscription-worker")
    wait_until(lambda: authorize(stack, "u-crash")[0] == 403, timeout=10, message="authorize refuses the canceled user")
    assert stack.redis().hget("ob:ent:u-crash", "live") == "0"
    assert query(stack.db(), "SELECT published_version = version FROM entitlement_versions"
                             " WHERE user_id = 'u-crash'") == [(True,)]


def test_a_publish_redis_refused_is_owed_in_a_row_and_retried(stack):
    start_usage_stack(stack)
    sub = subscribe(stack, "u-refused", "starter")
    assert authorize(stack, "u-refused")[0] == 200
    r = stack.redis()
    # Given Redis refuses every write (as a read-only replica or an out-of-memory Redis does)
    r.config_set("min-replicas-to-write", "1")
    try:
        set_subscription(stack, sub, status="canceled")
        # then the failed publish is recorded durably, with its error
        wait_until(lambda: query(stack.db(), "SELECT attempts > 0 AND last_error IS NOT NULL AND published_version < version"
                                             " FROM entitlement_versions WHERE user_id = 'u-refused'") == [(True,)],
                   message="the failure recorded on the row")
    finally:
        r.config_set("min-replicas-to-write", "0")
    # and once Redis takes writes again, the retry lands and authorizations stop
    wait_until(lambda: r.hget("ob:ent:u-refused", "live") == "0", timeout=40, message="the retried publish")
    assert authorize(stack, "u-refused")[0] == 403


def test_a_stale_copy_restored_into_redis_is_replaced_and_trial_copies_are_refreshed(stack):
    # A Redis restored from an old snapshot (or a writer of the old code) holds a copy
    # that says live, with no TTL, for a trial whose window never ends.
    stack.env["ENTITLEMENTS_TTL_S"] = "6"
    start_usage_stack(stack)
    sub = subscribe(stack, "u-trial", "trial")
    assert authorize(stack, "u-trial")[0] == 200
    r = stack.redis()
    old_copy = r.hgetall("ob:ent:u-trial")
    assert old_copy["period"] == "total" and old_copy["live"] == "1"
    set_subscription(stack, sub, status="canceled")
    wait_until(lambda: r.hget("ob:ent:u-trial", "live") == "0", message="the cancellation published")
    r.delete("ob:ent:u-trial")
    r.hset("ob:ent:u-trial", mapping=old_copy)
    assert r.ttl("ob:ent:u-trial") == -1
    wait_until(lambda: authorize(stack, "u-trial")[0] == 403, timeout=15, message="the stale copy replaced")
    assert r.hget("ob:ent:u-trial", "live") == "0" and r.ttl("ob:ent:u-trial") > 0


# --- overrides and top-ups (operators) ------------------------------------------------------------

ADMIN = {"Authorization": "Bearer test-admin-token"}


def grant(stack, user, **body):
    body.setdefault("reason", "support ticket 42")
    body.setdefault("expires_in_s", 3600)
    return stack.http("POST", f"/api/v1/admin/users/{user}/overrides", json=body, headers=ADMIN)


def limit_of(stack, user):
    return stack.http("GET", f"/api/v1/entitlements/{user}", headers=SERVICE)[2]["quota"]["limit"]


def test_an_override_of_500_calls_lets_a_starter_user_reach_1500_and_expires_on_time(stack):
    from usage_support import ledger
    start_usage_stack(stack)
    subscribe(stack, "u-raise", "starter")
    ledger(stack, "u-raise", 1000)
    assert authorize(stack, "u-raise")[0] == 429
    status, _, override = grant(stack, "u-raise", kind="quota", calls=500, expires_in_s=4, reason="launch week")
    assert status == 201, override
    assert override["calls"] == 500 and override["recurring"] is True
    # Applied at once: no wait.
    status, _, answer = authorize(stack, "u-raise", quantity=500)
    assert status == 200 and answer["used"] == 1500 and answer["limit"] == 1500
    assert authorize(stack, "u-raise")[0] == 429
    doc = stack.http("GET", "/api/v1/entitlements/u-raise", headers=SERVICE)[2]
    assert [(o["kind"], o["calls"], o["reason"]) for o in doc["overrides"]] == [("quota", 500, "launch week")]
    # Expires on time: the copy's TTL ends with the override.
    assert stack.redis().ttl("ob:ent:u-raise") <= 4
    wait_until(lambda: limit_of(stack, "u-raise") == 1000, timeout=10, message="the override's expiry")
    assert stack.http("GET", "/api/v1/entitlements/u-raise", headers=SERVICE)[2]["overrides"] == []
    # The audit keeps it.
    status, _, listed = stack.http("GET", "/api/v1/admin/users/u-raise/overrides", headers=ADMIN)
    assert status == 200 and [(o["calls"], o["in_force"], o["granted_by"]) for o in listed["overrides"]] == \
        [(500, False, "admin")]


def test_a_one_time_top_up_applies_to_this_window_only_and_a_recurring_one_to_every_window(stack):
    start_usage_stack(stack)
    now = datetime.now(timezone.utc)
    sub = subscribe(stack, "u-topup", "starter", period_start=now - timedelta(days=10),
                    period_end=now + timedelta(days=20))
    assert grant(stack, "u-topup", kind="quota", calls=10, recurring=False)[0] == 201
    assert limit_of(stack, "u-topup") == 1010
    assert grant(stack, "u-topup", kind="quota", calls=7)[0] == 201
    assert limit_of(stack, "u-topup") == 1017
    # The next window starts (the renewal moves the period forward).
    set_subscription(stack, sub, current_period_start=now,
                     current_period_end=now + timedelta(days=30))
    wait_until(lambda: limit_of(stack, "u-topup") == 1007, message="the new window without the one-time top-up")


def test_a_granted_feature_is_allowed_at_once_and_bad_overrides_are_refused(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-grant", "starter")
    assert not allowed(stack, "u-grant", "tts")["allowed"]
    assert grant(stack, "u-grant", kind="feature", feature="tts", expires_at="2099-01-01T00:00:00Z")[0] == 400
    assert grant(stack, "u-grant", kind="feature", feature="tts")[0] == 201
    assert allowed(stack, "u-grant", "tts") == {"allowed": True}
    for body in ({"kind": "feature"}, {"kind": "quota", "calls": 0}, {"kind": "quota", "calls": "5"},
                 {"kind": "nope"}, {"kind": "feature", "feature": "tts", "reason": ""},
                 {"kind": "feature", "feature": "tts", "expires_in_s": -1},
                 {"kind": "feature", "feature": "TTS!"}):
        status, _, answer = grant(stack, "u-grant", **body)
        assert status == 400 and answer["error"]["code"] == "invalid_override", body
    assert grant(stack, "u-none", kind="quota", calls=5, recurring=False)[0] == 409
    assert stack.http("POST", "/api/v1/admin/users/u-grant/overrides", json={"kind": "feature", "feature": "x",
                      "reason": "r", "expires_in_s": 60}, headers=SERVICE)[0] in (401, 403)


# --- teams and seats -----------------------------------------------------------------------------

def make_team(stack, team, owner, plan):
    query(stack.db(), "INSERT INTO teams (id, owner_user_id, name) VALUES (%s, %s, %s)", (team, owner, team))
    return subscribe(stack, team, plan)


def as_user(user):
    return {"Authorization": f"Bearer {user_jwt(user)}"}


def members(stack, team, method, who, body=None):
    return stack.http(method, f"/api/v1/teams/{team}/members", json=body, headers=as_user(who))


def test_an_enterprise_owner_fills_ten_seats_members_inherit_and_a_removed_one_loses_it(stack):
    start_usage_stack(stack)
    make_team(stack, "org_acme", "owner-1", "enterprise")
    for i in range(10):
        status, _, body = members(stack, "org_acme", "POST", "owner-1", {"user_id": f"m{i}"})
        assert status == 201, body
    status, _, body = members(stack, "org_acme", "POST", "owner-1", {"user_id": "m10"})
    assert status == 409 and body["error"]["code"] == "no_seats_left"
    assert members(stack, "org_acme", "POST", "owner-1", {"user_id": "m0"})[2]["error"]["code"] == "already_a_member"
    assert members(stack, "org_acme", "POST", "m0", {"user_id": "x"})[2]["error"]["code"] == "not_the_owner"
    assert members(stack, "org_nope", "POST", "owner-1", {"user_id": "x"})[2]["error"]["code"] == "team_not_found"
    status, _, listed = members(stack, "org_acme", "GET", "owner-1")
    assert status == 200 and listed["seats"] == 10 and listed["seats_used"] == 10 and len(listed["members"]) == 10

    # Members (and the owner) inherit the team's entitlements.
    assert allowed(stack, "m0", "bolt_diy") == {"allowed": True}
    assert allowed(stack, "owner-1", "team_management") == {"allowed": True}
    doc = stack.http("GET", "/api/v1/entitlements/m3", headers=SERVICE)[2]
    assert doc["plan"] == "enterprise" and doc["seats"] == 10 and doc["team"] == "org_acme"

    # A removed member loses them within seconds; the seat is free again (added by e-mail).
    status, _, body = members(stack, "org_acme", "DELETE", "owner-1", {"user_id": "m9"})
    assert status == 200 and body["member"] is False
    wait_until(lambda: not allowed(stack, "m9", "bolt_diy")["allowed"], timeout=5, message="the removal")
    assert allowed(stack, "m9", "bolt_diy")["reason"] == "no_live_subscription"
    query(stack.db(), "INSERT INTO customers (user_id, email) VALUES ('m-mail', 'New.Member@example.test')")
    status, _, body = members(stack, "org_acme", "POST", "owner-1", {"email": "new.member@example.test"})
    assert status == 201 and body["user_id"] == "m-mail"
    assert members(stack, "org_acme", "DELETE", "owner-1", {"user_id": "m9"})[2]["error"]["code"] == "not_a_member"
    assert members(stack, "org_acme", "POST", "owner-1", {"email": "nobody@example.test"})[2]["error"]["code"] == \
        "unknown_user"


def test_a_member_gets_the_better_of_their_personal_plan_and_the_team_plan(stack):
    start_usage_stack(stack)
    make_team(stack, "org_small", "boss", "starter")
    make_team(stack, "org_big", "chief", "professional")
    subscribe(stack, "rich", "enterprise")
    subscribe(stack, "thrifty", "starter")
    query(stack.db(), "INSERT INTO team_members (team_id, user_id) VALUES ('org_small', 'rich'), ('org_big', 'thrifty')")
    wait_until(lambda: allowed(stack, "thrifty", "tts")["allowed"], message="the team's professional plan")
    assert allowed(stack, "rich", "bolt_diy") == {"allowed": True}
    assert stack.http("GET", "/api/v1/entitlements/rich", headers=SERVICE)[2]["plan"] == "enterprise"


def test_fifty_concurrent_authorizations_from_five_members_share_the_last_twenty_calls(stack):
    import threading
    start_usage_stack(stack)
    team_sub = make_team(stack, "org_shared", "lead", "professional")
    query(stack.db(), "INSERT INTO team_members (team_id, user_id) SELECT 'org_shared', 'sm' || g FROM generate_series(1, 5) g")
    query(stack.db(), "INSERT INTO usage_events (transaction_id, user_id, code, quantity, occurred_at, account_id)"
                      " SELECT 'seed-' || g, 'sm' || (g % 5 + 1), 'api_calls', 1, now() - interval '1 hour', 'org_shared'"
                      " FROM generate_series(1, 9980) g")
    results = []
    lock = threading.Lock()

    def member_calls(member):
        for _ in range(10):
            status = authorize(stack, member)[0]
            with lock:
                results.append(status)

    threads = [threading.Thread(target=member_calls, args=(f"sm{i}",)) for i in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(results)) == [200, 429] and results.count(200) == 20 and results.count(429) == 30
    # One counter, in the ledger too: 20 rows counted against the team, under the team's subscription
    # (the one Lago knows under the org_... customer).
    rows = query(stack.db(), "SELECT count(*), count(DISTINCT user_id), min(subscription_id), max(subscription_id)"
                             " FROM usage_events WHERE source = 'authorize' AND account_id = 'org_shared'")
    assert rows[0][0] == 20 and rows[0][2] == rows[0][3] == team_sub
    status, _, answer = authorize(stack, "sm1")
    assert status == 429 and answer["used"] == 10000 and answer["limit"] == 10000
    doc = stack.http("GET", "/api/v1/entitlements/sm4", headers=SERVICE)[2]
    assert doc["team"] == "org_shared" and doc["quota"]["used"] == 10000


def test_an_override_granted_to_a_team_reaches_its_members(stack):
    start_usage_stack(stack)
    make_team(stack, "org_grant", "gl", "starter")
    query(stack.db(), "INSERT INTO team_members (team_id, user_id) VALUES ('org_grant', 'gm1')")
    wait_until(lambda: allowed(stack, "gm1", "chat")["allowed"], message="the member's copy")
    assert not allowed(stack, "gm1", "tts")["allowed"]
    assert grant(stack, "org_grant", kind="feature", feature="tts")[0] == 201
    wait_until(lambda: allowed(stack, "gm1", "tts")["allowed"], timeout=5, message="the team's override")


def test_an_operator_revokes_an_override_early_and_the_audit_keeps_who_and_why(stack):
    start_usage_stack(stack)
    subscribe(stack, "u-revoke", "starter")
    status, _, override = grant(stack, "u-revoke", kind="feature", feature="tts")
    assert status == 201 and allowed(stack, "u-revoke", "tts") == {"allowed": True}
    revoke = f"/api/v1/admin/overrides/{override['id']}/revoke"
    assert stack.http("POST", revoke, json={"reason": "r"}, headers=SERVICE)[0] in (401, 403)
    status, _, body = stack.http("POST", revoke, json={}, headers=ADMIN)
    assert status == 400 and body["error"]["code"] == "invalid_override"
    status, _, body = stack.http("POST", revoke, json={"reason": "granted by mistake"}, headers=ADMIN)
    assert status == 200, body
    assert (body["id"], body["user_id"], body["was_in_force"], body["in_force"], body["revoked_by"]) == \
        (override["id"], "u-revoke", True, False, "admin")
    # At once: the copy is rebuilt without it.
    assert allowed(stack, "u-revoke", "tts")["reason"] == "plan_lacks_feature"
    assert stack.http("GET", "/api/v1/entitlements/u-revoke", headers=SERVICE)[2]["overrides"] == []
    # Once only; unknown and malformed ids are told apart.
    status, _, body = stack.http("POST", revoke, json={"reason": "again"}, headers=ADMIN)
    assert status == 409 and body["error"]["code"] == "already_revoked"
    status, _, body = stack.http("POST", "/api/v1/admin/overrides/999999/revoke", json={"reason": "r"}, headers=ADMIN)
    assert status == 404 and body["error"]["code"] == "override_not_found"
    status, _, body = stack.http("POST", "/api/v1/admin/overrides/12x/revoke", json={"reason": "r"}, headers=ADMIN)
    assert status == 400 and body["error"]["code"] == "invalid_override_id"
    (listed,) = stack.http("GET", "/api/v1/admin/users/u-revoke/overrides", headers=ADMIN)[2]["overrides"]
    assert (listed["in_force"], listed["revoked_by"], listed["revoke_reason"]) == (False, "admin", "granted by mistake")
    assert listed["revoked_at"]


def test_a_user_creates_a_team_buys_its_plan_as_the_team_and_adds_members(stack):
    start_usage_stack(stack)
    status, _, team = stack.http("POST", "/api/v1/teams", json={"name": "Acme Research"}, headers=as_user("founder"))
    assert status == 201, team
    team_id = team["team_id"]
    assert team_id.startswith("org_") and len(team_id) == 36
    assert (team["name"], team["owner_user_id"], team["seats"], team["plan_id"]) == ("Acme Research", "founder", 0, None)
    # One team per owner; a member of a team cannot start another.
    status, _, body = stack.http("POST", "/api/v1/teams", json={"name": "Second"}, headers=as_user("founder"))
    assert status == 409 and body["error"]["code"] == "already_owns_team" and body["error"]["team_id"] == team_id
    assert stack.http("POST", "/api/v1/teams", json={"name": 5}, headers=as_user("x"))[0] == 400
    assert stack.http("POST", "/api/v1/teams", json={}, headers=SERVICE)[0] in (401, 403)
    # Without a plan there are no seats.
    assert members(stack, team_id, "POST", "founder", {"user_id": "early"})[2]["error"]["code"] == "no_seats_left"
    # The team's subscription (what checkout with team_id leads to: its user_id is the team).
    subscribe(stack, team_id, "enterprise")
    assert members(stack, team_id, "POST", "founder", {"user_id": "colleague"})[0] == 201
    status, _, seen = stack.http("GET", f"/api/v1/teams/{team_id}", headers=as_user("colleague"))
    assert status == 200, seen
    assert (seen["role"], seen["plan_id"], seen["seats"], seen["seats_used"], seen["live"]) == \
        ("member", "enterprise", 10, 1, True)
    assert stack.http("GET", f"/api/v1/teams/{team_id}", headers=as_user("founder"))[2]["role"] == "owner"
    assert stack.http("GET", f"/api/v1/teams/{team_id}", headers=as_user("stranger"))[0] == 404
    status, _, body = stack.http("POST", "/api/v1/teams", json={}, headers=as_user("colleague"))
    assert status == 409 and body["error"]["code"] == "member_of_another_team"
    wait_until(lambda: allowed(stack, "colleague", "bolt_diy")["allowed"], timeout=5, message="the member's plan")


def test_concurrent_team_creations_by_one_owner_make_one_team(stack):
    import threading
    start_usage_stack(stack)
    results = []

    def create():
        results.append(stack.http("POST", "/api/v1/teams", json={"name": "race"}, headers=as_user("racer"))[0])

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 5
    assert query(stack.db(), "SELECT count(*) FROM teams WHERE owner_user_id = 'racer'") == [(1,)]
