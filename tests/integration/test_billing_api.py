"""The user billing API end to end: gateway (JWT) -> stripe-worker / subscription-worker
-> the Stripe stand-in, Postgres and Redis. Also billing-admin setup-stripe and verify."""
import time

import pytest

from billing_helpers import call, form, setup_prices, start_billing
from support import ADMIN, assert_json_error, query, wait_for

SUCCESS = "http://127.0.0.1/success"
CANCEL = "http://127.0.0.1/cancel"


def link_customer(stack, stripe, user="user_1", email="user1@example.com", **fields):
    """A Stripe customer for user (seeded at the stand-in) and its customers row."""
    customer = stripe.seed(customers=[{"email": email, "metadata": {"user_id": user}, **fields}])["customers"][0]
    query(stack, "INSERT INTO customers (user_id, email, stripe_customer_id) VALUES (%s, %s, %s)",
          (user, email, customer["id"]))
    return customer


def live_subscription(stack, stripe, prices, user="user_1", plan="starter", interval="month", created_ago=3600):
    """A live subscription at the stand-in and in subscriptions, as checkout plus webhooks leave it."""
    customer = link_customer(stack, stripe, user)
    key = f"{plan}_{'monthly' if interval == 'month' else 'yearly'}"
    now = int(time.time())
    sub = stripe.seed(subscriptions=[{"customer": customer["id"], "items": [{"price": prices[key]}],
                                      "metadata": {"user_id": user, "plan_id": plan},
                                      "current_period_start": now - created_ago,
                                      "current_period_end": now - created_ago + 30 * 86400}])["subscriptions"][0]
    query(stack, "INSERT INTO subscriptions (id, user_id, stripe_customer_id, plan_id, interval, status,"
                 " stripe_price_id, stripe_item_id, current_period_start, current_period_end, last_event_created,"
                 " last_event_id) VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, to_timestamp(%s), to_timestamp(%s),"
                 " %s, 'evt_seed')",
          (sub["id"], user, customer["id"], plan, interval, prices[key], sub["items"]["data"][0]["id"],
           now - created_ago, now - created_ago + 30 * 86400, now - created_ago))
    stack.redis().delete(f"ob:ent:{user}")  # what the subscription-worker's publish would replace
    return sub


@pytest.fixture
def billing(stack):
    stripe = start_billing(stack)
    prices = setup_prices(stack)
    return stack, stripe, prices


# -- checkout ---------------------------------------------------------------------------------------


def test_checkout_creates_customer_and_session_with_exact_form(billing):
    stack, stripe, prices = billing
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "interval": "month"})
    assert status == 200, body
    assert set(body) == {"id", "url"} and body["id"].startswith("cs_") and body["url"].startswith("https://")

    customers = stripe.requests("POST", "/v1/customers")
    assert len(customers) == 1
    assert form(customers[0]) == [("email", "user1@example.com"), ("metadata[user_id]", "user_1")]
    (customer_id,) = query(stack, "SELECT stripe_customer_id FROM customers WHERE user_id = 'user_1'")[0]
    assert customer_id.startswith("cus_")

    sessions = stripe.requests("POST", "/v1/checkout/sessions")
    assert len(sessions) == 1
    assert form(sessions[0]) == [
        ("mode", "subscription"),
        ("customer", customer_id),
        ("line_items[0][price]", prices["starter_monthly"]),
        ("line_items[0][quantity]", "1"),
        ("success_url", SUCCESS),
        ("cancel_url", CANCEL),
        ("client_reference_id", "user_1"),
        ("metadata[user_id]", "user_1"),
        ("subscription_data[metadata][user_id]", "user_1"),
        ("metadata[plan_id]", "starter"),
        ("subscription_data[metadata][plan_id]", "starter"),
    ]
    headers = sessions[0]["headers"]
    assert headers["authorization"] == "Bearer sk_test_integration"
    assert headers["stripe-version"] == "2024-06-20"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert sessions[0]["idempotency_key"]

    # A second checkout (another plan) reuses the customer.
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "enterprise", "interval": "year"})
    assert status == 200, body
    assert len(stripe.requests("POST", "/v1/customers")) == 1
    last = dict(form(stripe.requests("POST", "/v1/checkout/sessions")[-1]))
    assert last["customer"] == customer_id and last["line_items[0][price]"] == prices["enterprise_yearly"]


def test_checkout_twice_returns_the_same_session(billing):
    stack, stripe, _ = billing
    first = call(stack, "POST", "/checkout/create", json_body={"plan_id": "professional", "interval": "year"})
    second = call(stack, "POST", "/checkout/create", json_body={"plan_id": "professional", "interval": "year"})
    assert first[0] == second[0] == 200
    assert first[1]["id"] == second[1]["id"]
    keys = {r["idempotency_key"] for r in stripe.requests("POST", "/v1/checkout/sessions")}
    assert len(keys) == 1


def test_trial_checkout_uses_the_weekly_trial_price(billing):
    stack, stripe, prices = billing
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "trial", "interval": "month"})
    assert status == 200, body
    sent = dict(form(stripe.requests("POST", "/v1/checkout/sessions")[-1]))
    assert sent["line_items[0][price]"] == prices["trial_weekly"]
    price = stripe.state()["price"][prices["trial_weekly"]]
    assert (price["unit_amount"], price["recurring"]["interval"]) == (100, "week")


def test_retried_checkout_post_sends_the_same_idempotency_key(billing):
    stack, stripe, _ = billing
    stripe.fail("/v1/checkout/sessions", 500, count=1)
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "interval": "month"})
    assert status == 200, body
    attempts = stripe.requests("POST", "/v1/checkout/sessions")
    assert [a["status"] for a in attempts] == [500, 200]
    assert attempts[0]["idempotency_key"] and attempts[0]["idempotency_key"] == attempts[1]["idempotency_key"]
    assert attempts[0]["body"] == attempts[1]["body"]


def test_no_retry_on_a_stripe_400(billing):
    stack, stripe, _ = billing
    stripe.fail("/v1/checkout/sessions", 400, count=1)
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "interval": "month"})
    assert status == 400
    assert_json_error(body, "stripe_invalid_request")
    assert len(stripe.requests("POST", "/v1/checkout/sessions")) == 1


@pytest.mark.parametrize("stripe_status,status,code", [
    (402, 402, "card_declined"),
    (503, 503, "stripe_unavailable"),
    (401, 502, "stripe_error"),
])
def test_stripe_errors_become_clear_api_errors(billing, stripe_status, status, code):
    stack, stripe, _ = billing
    stripe.fail("/v1/checkout/sessions", stripe_status, count=5)
    got, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "interval": "month"})
    assert got == status, body
    assert_json_error(body, code)


@pytest.mark.parametrize("payload,code", [
    ({}, "plan_id_required"),
    ({"plan_id": "gold", "interval": "month"}, "unknown_plan"),
    ({"plan_id": "starter", "interval": "week"}, "invalid_interval"),
    ({"plan_id": "starter", "interval": 12}, "invalid_interval"),
])
def test_checkout_rejects_bad_input(billing, payload, code):
    stack, stripe, _ = billing
    status, body = call(stack, "POST", "/checkout/create", json_body=payload)
    assert status == 400, body
    assert_json_error(body, code)
    assert stripe.requests("POST", "/v1/checkout/sessions") == []


def test_checkout_rejects_malformed_json(billing):
    stack, _, _ = billing
    status, body = call(stack, "POST", "/checkout/create", body="{not json")
    assert status == 400
    assert_json_error(body)


def test_checkout_with_a_live_subscription_is_409(billing):
    stack, stripe, prices = billing
    live_subscription(stack, stripe, prices)
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "professional", "interval": "month"})
    assert status == 409
    assert_json_error(body, "already_subscribed")
    assert stripe.requests("POST", "/v1/checkout/sessions") == []


def test_checkout_finds_a_price_missing_from_the_table_by_lookup_key(billing):
    stack, stripe, prices = billing
    query(stack, "DELETE FROM stripe_prices WHERE lookup_key = 'starter_monthly'")
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter"})
    assert status == 200, body
    assert stripe.requests("GET", "/v1/prices")
    assert query(stack, "SELECT price_id FROM stripe_prices WHERE lookup_key = 'starter_monthly'") == \
        [(prices["starter_monthly"],)]


# -- portal -----------------------------------------------------------------------------------------


def test_portal_without_a_customer_is_404(billing):
    stack, stripe, _ = billing
    status, body = call(stack, "POST", "/portal/create", json_body={})
    assert status == 404
    assert_json_error(body, "no_customer")
    assert stripe.requests("POST", "/v1/billing_portal/sessions") == []


def test_portal_session_for_the_users_customer(billing):
    stack, stripe, _ = billing
    customer = link_customer(stack, stripe)
    status, body = call(stack, "POST", "/portal/create", json_body={"return_url": "https://app.example.com/billing"})
    assert status == 200, body
    assert set(body) == {"url"} and body["url"].startswith("https://")
    (sent,) = stripe.requests("POST", "/v1/billing_portal/sessions")
    assert form(sent) == [("customer", customer["id"]), ("return_url", "https://app.example.com/billing")]
    assert sent["idempotency_key"]


def test_portal_rejects_a_bad_return_url(billing):
    stack, stripe, _ = billing
    link_customer(stack, stripe)
    status, body = call(stack, "POST", "/portal/create", json_body={"return_url": "javascript:alert(1)"})
    assert status == 400
    assert_json_error(body, "invalid_return_url")


# -- payment methods --------------------------------------------------------------------------------


def test_payment_methods_lists_cards_and_the_default(billing):
    stack, stripe, _ = billing
    link_customer(stack, stripe, payment_methods=[
        {"card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}},
        {"card": {"brand": "mastercard", "last4": "4444", "exp_month": 1, "exp_year": 2030}, "default": True},
    ])
    status, body = call(stack, "GET", "/payment-methods")
    assert status == 200, body
    cards = sorted(body["payment_methods"], key=lambda c: c["last4"])
    assert [(c["brand"], c["last4"], c["exp_month"], c["exp_year"], c["default"]) for c in cards] == [
        ("visa", "4242", 12, 2034, False), ("mastercard", "4444", 1, 2030, True)]
    assert body["default_payment_method"] == cards[1]["id"]


def test_payment_methods_without_a_customer_is_an_empty_list(billing):
    stack, _, _ = billing
    status, body = call(stack, "GET", "/payment-methods", user="nobody")
    assert (status, body) == (200, {"payment_methods": [], "default_payment_method": None})


# -- cancel -----------------------------------------------------------------------------------------


def entitlement(stack, user="user_1"):
    return stack.redis().hgetall(f"ob:ent:{user}")


def test_cancel_at_period_end_by_default(billing):
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    status, body = call(stack, "POST", "/subscription/cancel", json_body={})
    assert status == 200, body
    assert (body["status"], body["cancel_at_period_end"], body["live"], body["plan_id"]) == ("active", True, True,
                                                                                              "starter")
    (sent,) = stripe.requests("POST", f"/v1/subscriptions/{sub['id']}")
    assert form(sent) == [("cancel_at_period_end", "true")]
    assert sent["idempotency_key"]
    assert query(stack, "SELECT cancel_at_period_end, status FROM subscriptions WHERE id = %s", (sub["id"],)) == \
        [(True, "active")]
    assert entitlement(stack)["cancel_at_period_end"] == "1"


def test_cancel_immediately_when_asked(billing):
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    status, body = call(stack, "POST", "/subscription/cancel", json_body={"at_period_end": False})
    assert status == 200, body
    assert (body["status"], body["live"]) == ("canceled", False)
    assert len(stripe.requests("DELETE", f"/v1/subscriptions/{sub['id']}")) == 1
    assert query(stack, "SELECT status FROM subscriptions WHERE id = %s", (sub["id"],)) == [("canceled",)]
    assert entitlement(stack)["live"] == "0"
    # Nothing live any more.
    status, body = call(stack, "POST", "/subscription/cancel", json_body={})
    assert status == 409
    assert_json_error(body, "no_subscription")


def test_cancel_while_the_owner_is_down_is_503_and_applies_when_it_is_back(billing):
    """The stripe-worker never writes subscriptions: it asks the subscription-worker
    through a subscription_updates row. Without an owner to answer, the user gets 503
    and the request stays queued; the owner applies it when it is back."""
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    stack.stop("subscription-worker")
    status, body = call(stack, "POST", "/subscription/cancel", json_body={})
    assert status == 503, body
    assert_json_error(body, "stored_later")
    assert query(stack, "SELECT kind, status FROM subscription_updates WHERE source_event_id LIKE 'api:%%'") == \
        [("subscription.snapshot", "pending")]
    assert query(stack, "SELECT cancel_at_period_end FROM subscriptions WHERE id = %s", (sub["id"],)) == [(False,)]
    stack.start("subscription-worker")
    wait_for(lambda: query(stack, "SELECT cancel_at_period_end FROM subscriptions WHERE id = %s", (sub["id"],)) ==
             [(True,)], 15, "the queued cancel was never applied")
    assert query(stack, "SELECT status, result->>'newer' FROM subscription_updates WHERE source_event_id LIKE 'api:%%'") \
        == [("applied", "true")]


def test_checkout_links_the_new_customer_through_the_owner(billing):
    stack, _, _ = billing
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "interval": "month"})
    assert status == 200, body
    (customer,) = query(stack, "SELECT stripe_customer_id FROM customers WHERE user_id = 'user_1'")
    assert query(stack, "SELECT kind, status, result->>'stripe_customer_id' FROM subscription_updates"
                        " WHERE kind = 'customer.add'") == [("customer.add", "applied", customer[0])]


def test_cancel_without_a_subscription_is_409(billing):
    stack, _, _ = billing
    status, body = call(stack, "POST", "/subscription/cancel", json_body={"at_period_end": True})
    assert status == 409
    assert_json_error(body, "no_subscription")


def test_cancel_rejects_a_non_boolean(billing):
    stack, stripe, prices = billing
    live_subscription(stack, stripe, prices)
    status, body = call(stack, "POST", "/subscription/cancel", json_body={"at_period_end": "yes"})
    assert status == 400
    assert_json_error(body, "invalid_at_period_end")


def test_an_answer_older_than_the_stored_state_does_not_overwrite_it(billing):
    """Order-proof: a webhook newer than the request has already been applied."""
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    future = int(time.time()) + 3600
    query(stack, "UPDATE subscriptions SET last_event_created = %s, last_event_id = 'evt_newer' WHERE id = %s",
          (future, sub["id"]))
    status, body = call(stack, "POST", "/subscription/cancel", json_body={})
    assert status == 200, body
    assert query(stack, "SELECT cancel_at_period_end, last_event_id FROM subscriptions WHERE id = %s",
                 (sub["id"],)) == [(False, "evt_newer")]


# -- upgrade ----------------------------------------------------------------------------------------


def test_upgrade_moves_the_item_to_the_new_price_with_proration(billing):
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    item = sub["items"]["data"][0]["id"]
    status, body = call(stack, "POST", "/subscription/upgrade",
                        json_body={"plan_id": "professional", "interval": "year"})
    assert status == 200, body
    assert (body["plan_id"], body["interval"], body["status"], body["live"]) == ("professional", "year", "active", True)
    assert len(stripe.requests("GET", f"/v1/subscriptions/{sub['id']}")) == 1
    (sent,) = stripe.requests("POST", f"/v1/subscriptions/{sub['id']}")
    assert form(sent) == [("items[0][id]", item), ("items[0][price]", prices["professional_yearly"]),
                          ("proration_behavior", "create_prorations")]
    assert sent["idempotency_key"]
    assert query(stack, "SELECT plan_id, interval, stripe_price_id FROM subscriptions WHERE id = %s",
                 (sub["id"],)) == [("professional", "year", prices["professional_yearly"])]
    ent = entitlement(stack)
    assert (ent["plan"], ent["interval"], ent["limit"]) == ("professional", "year", "10000")


def test_downgrade_works_too(billing):
    stack, stripe, prices = billing
    live_subscription(stack, stripe, prices, plan="enterprise", interval="year")
    status, body = call(stack, "POST", "/subscription/upgrade", json_body={"plan_id": "starter", "interval": "month"})
    assert status == 200, body
    assert (body["plan_id"], body["interval"]) == ("starter", "month")


def stripe_price_of(stripe, sub_id):
    return stripe.state()["subscription"][sub_id]["items"]["data"][0]["price"]["id"]


def stored_plan(stack, sub_id):
    return query(stack, "SELECT plan_id, interval, stripe_price_id FROM subscriptions WHERE id = %s", (sub_id,))[0]


def test_repeated_plan_changes_each_reach_stripe_and_the_record_matches_it(billing):
    """Issue 12.1: starter -> professional -> starter -> professional within minutes. Each change is its own
    action at Stripe (its own Idempotency-Key), so the last one is done, not answered from Stripe's store,
    and what is on record is what Stripe holds."""
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    steps = [("professional", "year"), ("starter", "month"), ("professional", "year")]
    for plan, interval in steps:
        status, body = call(stack, "POST", "/subscription/upgrade", json_body={"plan_id": plan, "interval": interval})
        assert status == 200, body
        assert (body["plan_id"], body["interval"]) == (plan, interval)
    posts = stripe.requests("POST", f"/v1/subscriptions/{sub['id']}")
    assert len({p["idempotency_key"] for p in posts}) == 3
    assert stripe_price_of(stripe, sub["id"]) == prices["professional_yearly"]
    assert stored_plan(stack, sub["id"]) == ("professional", "year", prices["professional_yearly"])


def test_a_replayed_stripe_answer_changes_nothing_here(billing):
    """Issue 12.1: a request delivered again (same X-Request-Id) meets its first answer at Stripe
    (Idempotent-Replayed: true). That answer is old news: it is not stored over what happened since."""
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    first = {"X-Request-Id": "change-1"}
    status, body = call(stack, "POST", "/subscription/upgrade", headers=first,
                        json_body={"plan_id": "professional", "interval": "year"})
    assert status == 200 and body["plan_id"] == "professional", body
    status, body = call(stack, "POST", "/subscription/upgrade", headers={"X-Request-Id": "change-2"},
                        json_body={"plan_id": "starter", "interval": "month"})
    assert status == 200 and body["plan_id"] == "starter", body
    status, body = call(stack, "POST", "/subscription/upgrade", headers=first,
                        json_body={"plan_id": "professional", "interval": "year"})
    assert status == 200, body
    assert (body["plan_id"], body["interval"]) == ("starter", "month")
    assert stripe_price_of(stripe, sub["id"]) == prices["starter_monthly"]
    assert stored_plan(stack, sub["id"]) == ("starter", "month", prices["starter_monthly"])
    assert entitlement(stack)["plan"] == "starter"


def test_an_answer_is_versioned_by_stripes_clock_not_ours(billing):
    """Issue 12.1: our clock runs 5 minutes ahead of Stripe's. After an upgrade, the user changes back in
    Stripe's portal; that webhook (created by Stripe after our change) must win over our stored answer."""
    from stripe_events import event, post_event, wait_settled
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    stripe.clock(-300)
    status, body = call(stack, "POST", "/subscription/upgrade", json_body={"plan_id": "professional", "interval": "year"})
    assert status == 200 and body["plan_id"] == "professional", body
    later = stripe.state()["subscription"][sub["id"]]
    stripe_now = int(time.time()) - 300
    starter = next(p for p in stripe.state()["price"].values() if p["id"] == prices["starter_monthly"])
    later["items"]["data"][0]["price"] = starter
    status, _ = post_event(stack, event("customer.subscription.updated", later, stripe_now + 2))
    assert status == 200
    wait_settled(stack)
    assert stored_plan(stack, sub["id"]) == ("starter", "month", prices["starter_monthly"])


def test_a_slow_stripe_never_makes_the_stripe_service_look_dead(billing):
    """Issue 12.7: while the upgrade waits on Stripe (a slow 429 with Retry-After: 1, then a slow 200: far
    longer than the broker's 3 heartbeats of 200 ms), the stripe-worker keeps heartbeating: the upgrade is
    answered, and a webhook arriving meanwhile is committed and answered 200, never 503."""
    import threading
    from stripe_events import Sub, post_event, DAY
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices)
    path = f"/v1/subscriptions/{sub['id']}"
    stripe.fail(path, 429, delay_ms=400, headers={"Retry-After": "1"})
    stripe.fail(path, None, delay_ms=600)
    result = {}
    upgrade = threading.Thread(target=lambda: result.update(answer=call(
        stack, "POST", "/subscription/upgrade", json_body={"plan_id": "professional", "interval": "year"})))
    upgrade.start()
    time.sleep(0.7)
    now = int(time.time())
    other = Sub(user_id="user-other")
    evt = other.event("customer.subscription.created", now, "active", now, now + 30 * DAY)
    assert post_event(stack, evt) == (200, {"received": True})
    upgrade.join()
    status, body = result["answer"]
    assert status == 200 and body["plan_id"] == "professional", body
    assert [r["status"] for r in stripe.requests("POST", path)] == [429, 200]
    assert query(stack, "SELECT count(*) FROM stripe_events WHERE id = %s", (evt["id"],)) == [(1,)]
    gateway_log = next(p for p in stack.procs if p.name == "gateway").log_path.read_text()
    assert "heartbeat expired" not in gateway_log


@pytest.mark.parametrize("payload,code", [
    ({"plan_id": "gold", "interval": "month"}, "unknown_plan"),
    ({"plan_id": "starter", "interval": "month"}, "same_plan"),
    ({"plan_id": "trial"}, "trial_not_allowed"),
    ({"interval": "month"}, "plan_id_required"),
    ({"plan_id": "starter", "interval": "decade"}, "invalid_interval"),
])
def test_upgrade_rejects_bad_requests(billing, payload, code):
    stack, stripe, prices = billing
    live_subscription(stack, stripe, prices)
    status, body = call(stack, "POST", "/subscription/upgrade", json_body=payload)
    assert status == 400, body
    assert_json_error(body, code)
    assert stripe.requests("POST", prefix="/v1/subscriptions/") == []


def test_upgrade_without_a_subscription_is_409(billing):
    stack, _, _ = billing
    status, body = call(stack, "POST", "/subscription/upgrade", json_body={"plan_id": "professional",
                                                                           "interval": "month"})
    assert status == 409
    assert_json_error(body, "no_subscription")


# -- status -----------------------------------------------------------------------------------------


def test_status_without_a_subscription(billing):
    stack, _, _ = billing
    status, body = call(stack, "GET", "/subscription-status", user="newcomer")
    assert status == 200, body
    assert body["status"] == "none" and body["live"] is False and body["plan_id"] is None
    assert body["features"] == [] and body["usage"]["api_calls"]["used"] == 0


def test_status_shows_plan_period_features_and_usage(billing):
    stack, stripe, prices = billing
    sub = live_subscription(stack, stripe, prices, created_ago=86400)
    now = int(time.time())
    for i, (quantity, ago) in enumerate([(5, 60), (7, 3600), (100, 2 * 86400)]):  # the last is before the window
        query(stack, "INSERT INTO usage_events (transaction_id, user_id, code, quantity, occurred_at)"
                     " VALUES (%s, 'user_1', 'api_calls', %s, to_timestamp(%s))", (f"tx{i}", quantity, now - ago))
    status, body = call(stack, "GET", "/subscription-status")
    assert status == 200, body
    assert (body["plan_id"], body["plan_name"], body["status"], body["interval"], body["live"]) == \
        ("starter", "Starter", "active", "month", True)
    assert body["cancel_at_period_end"] is False and body["trial_end"] is None
    assert body["current_period_end"].endswith("Z")
    assert body["features"] == ["chat", "search", "byok"]
    assert body["usage"]["api_calls"] == {"used": 12, "limit": 1000, "remaining": 988,
                                          "resets_at": body["current_period_end"]}
    assert sub["id"]


def test_status_of_an_unlimited_plan(billing):
    stack, stripe, prices = billing
    live_subscription(stack, stripe, prices, plan="enterprise", interval="month")
    status, body = call(stack, "GET", "/subscription-status")
    assert status == 200, body
    assert body["usage"]["api_calls"]["limit"] is None and body["usage"]["api_calls"]["remaining"] is None


# -- operator tools ---------------------------------------------------------------------------------


def test_setup_stripe_twice_creates_each_product_and_price_once(stack):
    stripe = start_billing(stack)
    first = stack.admin("setup-stripe")
    assert first.returncode == 0, first.stdout + first.stderr
    second = stack.admin("setup-stripe")
    assert second.returncode == 0, second.stdout + second.stderr
    products = stripe.requests("POST", "/v1/products")
    prices = stripe.requests("POST", "/v1/prices")
    assert len(products) == 4 and len(prices) == 7
    state = stripe.state()
    keys = sorted(p["lookup_key"] for p in state["price"].values())
    assert keys == sorted(["trial_weekly", "starter_monthly", "starter_yearly", "professional_monthly",
                           "professional_yearly", "enterprise_monthly", "enterprise_yearly"])
    assert all(p["metadata"]["plan_id"] == p["lookup_key"].rsplit("_", 1)[0] for p in state["price"].values())
    assert sorted(p["metadata"]["plan_id"] for p in state["product"].values()) == \
        ["enterprise", "professional", "starter", "trial"]
    rows = query(stack, "SELECT lookup_key, price_id, unit_amount, interval FROM stripe_prices ORDER BY lookup_key")
    assert len(rows) == 7
    assert ("starter_yearly", state["price"][rows[4][1]]["id"], 19000, "year") == rows[4] or \
        any(r[0] == "starter_yearly" and r[2] == 19000 and r[3] == "year" for r in rows)
    assert first.stdout.count("created") == 7 and second.stdout.count("exists") == 7
    assert "created" not in second.stdout


def test_verify_reports_a_bad_stripe_key(stack):
    start_billing(stack)
    stack.standin("lago")
    assert stack.admin("setup-stripe").returncode == 0
    good = stack.admin("verify")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "FAIL" not in good.stdout
    bad = stack.admin("verify", STRIPE_SECRET_KEY="sk_test_wrong_key")
    assert bad.returncode == 1
    lines = [line for line in bad.stdout.splitlines() if line.split()[:2] == ["FAIL", "stripe_key"]]
    assert len(lines) == 1 and "rejected" in lines[0], bad.stdout
    assert "sk_test_wrong_key" not in bad.stdout + bad.stderr


def test_verify_reports_a_missing_webhook_secret_and_price(stack):
    start_billing(stack)
    stack.standin("lago")
    result = stack.admin("verify", STRIPE_WEBHOOK_SECRET=None)
    assert result.returncode == 1
    failed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAIL ")}
    assert {"webhook_secret", "plan_prices"} <= failed, result.stdout


# -- teams: the owner buys and manages the team's plan (issue 18) --------------------------------------


def test_a_team_owner_checks_out_for_the_team_and_the_team_is_the_customer(billing):
    stack, stripe, prices = billing
    query(stack, "INSERT INTO teams (id, owner_user_id, name) VALUES ('org_labs', 'user_1', 'Labs')")
    status, body = call(stack, "POST", "/checkout/create",
                        json_body={"plan_id": "enterprise", "interval": "month", "team_id": "org_labs"})
    assert status == 200, body
    (customer,) = stripe.requests("POST", "/v1/customers")
    assert form(customer) == [("email", "user1@example.com"), ("metadata[user_id]", "org_labs")]
    sent = dict(form(stripe.requests("POST", "/v1/checkout/sessions")[-1]))
    assert (sent["client_reference_id"], sent["subscription_data[metadata][user_id]"],
            sent["line_items[0][price]"]) == ("org_labs", "org_labs", prices["enterprise_monthly"])
    assert query(stack, "SELECT email FROM customers WHERE user_id = 'org_labs'") == [("user1@example.com",)]
    # Only the owner acts for the team; a personal checkout is untouched by it.
    status, body = call(stack, "POST", "/checkout/create", user="user_2", email="u2@example.com",
                        json_body={"plan_id": "starter", "team_id": "org_labs"})
    assert status == 403
    assert_json_error(body, "not_the_owner")
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "team_id": "org_none"})
    assert status == 404
    assert_json_error(body, "team_not_found")
    status, body = call(stack, "POST", "/checkout/create", json_body={"plan_id": "starter", "team_id": 7})
    assert status == 400
    assert_json_error(body, "invalid_team_id")
    # A team's subscription is managed as the team (a read takes team_id from the query).
    query(stack, "INSERT INTO teams (id, owner_user_id, name) VALUES ('org_ops', 'user_1', 'Ops')")
    live_subscription(stack, stripe, prices, user="org_ops", plan="enterprise")
    status, body = call(stack, "GET", "/payment-methods?team_id=org_ops")
    assert status == 200, body
    status, body = call(stack, "POST", "/subscription/cancel", json_body={"team_id": "org_ops"})
    assert status == 200 and body["plan_id"] == "enterprise" and body["cancel_at_period_end"] is True, body


# -- operators extend a trial at Stripe (issue 18) ------------------------------------------------------


def trial_subscription(stack, stripe, prices, user="user_1"):
    customer = link_customer(stack, stripe, user)
    now = int(time.time())
    sub = stripe.seed(subscriptions=[{"customer": customer["id"], "items": [{"price": prices["trial_weekly"]}],
                                      "metadata": {"user_id": user, "plan_id": "trial"},
                                      "current_period_start": now - 86400,
                                      "current_period_end": now + 6 * 86400}])["subscriptions"][0]
    query(stack, "INSERT INTO subscriptions (id, user_id, stripe_customer_id, plan_id, status, stripe_price_id,"
                 " stripe_item_id, current_period_start, current_period_end, last_event_created, last_event_id)"
                 " VALUES (%s, %s, %s, 'trial', 'active', %s, %s, to_timestamp(%s), to_timestamp(%s), %s, 'evt_seed')",
          (sub["id"], user, customer["id"], prices["trial_weekly"], sub["items"]["data"][0]["id"], now - 86400,
           now + 6 * 86400, now - 86400))
    stack.redis().delete(f"ob:ent:{user}")
    return sub, now + 6 * 86400


def extend(stack, user, body, headers=ADMIN):
    status, _, out = stack.http("POST", f"/api/v1/admin/users/{user}/trial-extension", json=body, headers=headers)
    return status, out


def test_an_operator_extends_a_trial_at_stripe_and_it_is_recorded_and_audited(billing):
    stack, stripe, prices = billing
    sub, ends = trial_subscription(stack, stripe, prices)
    status, body = extend(stack, "user_1", {"extend_days": 14, "reason": "onboarding call slipped"})
    assert status == 200, body
    (sent,) = stripe.requests("POST", f"/v1/subscriptions/{sub['id']}")
    assert form(sent) == [("trial_end", str(ends + 14 * 86400)), ("proration_behavior", "none")]
    assert sent["idempotency_key"]
    # Stripe's answer is applied through the owner: trialing until the new end, no charge before it.
    assert (body["status"], body["live"], body["plan_id"]) == ("trialing", True, "trial")
    assert query(stack, "SELECT status, extract(epoch FROM trial_end)::bigint, extract(epoch FROM current_period_end)::bigint"
                        " FROM subscriptions WHERE id = %s", (sub["id"],)) == [("trialing", ends + 14 * 86400,
                                                                               ends + 14 * 86400)]
    assert query(stack, "SELECT user_id, subscription_id, extract(epoch FROM from_trial_end)::bigint,"
                        " extract(epoch FROM to_trial_end)::bigint, reason, granted_by FROM trial_extensions") == \
        [("user_1", sub["id"], ends, ends + 14 * 86400, "onboarding call slipped", "admin")]


@pytest.mark.parametrize("body, code", [
    ({"reason": "r"}, "invalid_trial_extension"),
    ({"extend_days": 0, "reason": "r"}, "invalid_trial_extension"),
    ({"extend_days": 731, "reason": "r"}, "invalid_trial_extension"),
    ({"extend_days": 3, "trial_end": "2030-01-01T00:00:00Z", "reason": "r"}, "invalid_trial_extension"),
    ({"trial_end": "2000-01-01T00:00:00Z", "reason": "r"}, "invalid_trial_extension"),
    ({"trial_end": "tomorrow", "reason": "r"}, "invalid_trial_extension"),
    ({"extend_days": 3}, "invalid_trial_extension"),
])
def test_a_trial_extension_that_makes_no_sense_is_refused_before_stripe(billing, body, code):
    stack, stripe, prices = billing
    trial_subscription(stack, stripe, prices)
    status, out = extend(stack, "user_1", body)
    assert status == 400
    assert_json_error(out, code)
    assert stripe.requests("POST", prefix="/v1/subscriptions/") == []


def test_only_a_trial_is_extended_and_only_by_an_operator(billing):
    stack, stripe, prices = billing
    live_subscription(stack, stripe, prices)  # a paid starter plan
    status, out = extend(stack, "user_1", {"extend_days": 7, "reason": "r"})
    assert status == 409
    assert_json_error(out, "not_on_trial")
    status, out = extend(stack, "user_nobody", {"extend_days": 7, "reason": "r"})
    assert status == 409
    assert_json_error(out, "no_subscription")
    assert extend(stack, "user_1", {"extend_days": 7, "reason": "r"}, headers={})[0] == 401
    assert stripe.requests("POST", prefix="/v1/subscriptions/") == []
