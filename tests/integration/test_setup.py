"""billing-admin setup / setup-stripe / setup-lago / verify (issue 16), against the
Stripe and Lago stand-ins: from an empty account to a configuration that
verify accepts, idempotent re-runs, catalogue changes, drift named by verify,
and the stand-ins refusing parameters their vendors do not accept."""
import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request

import pytest

from billing_helpers import StripeStandin
from support import query, wait_for
from usage_support import lago_state

PUBLIC = "https://billing.example.com"
STRIPE_EVENTS = ["checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
                 "customer.subscription.deleted", "customer.subscription.trial_will_end", "invoice.paid",
                 "invoice.payment_failed"]
LOOKUP_KEYS = ["trial_weekly", "starter_monthly", "starter_yearly", "professional_monthly", "professional_yearly",
               "enterprise_monthly", "enterprise_yearly"]


@pytest.fixture
def env_file(tmp_path):
    return tmp_path / "billing.env"


def start(stack, env_file):
    """Both stand-ins, empty; settings as an operator would set them. Returns (stripe, lago_url, settings)."""
    stripe = StripeStandin(stack.standin("stripe"))
    lago = stack.standin("lago")
    settings = {"PUBLIC_BASE_URL": PUBLIC, "ENV_FILE": str(env_file),
                "STRIPE_PORTAL_RETURN_URL": "https://app.example.com/account", "AUTH_JWT_SECRET": "test-user-jwt-secret"}
    return stripe, lago, settings


def run(stack, settings, *args, expect=0):
    result = stack.admin(*args, **settings)
    assert result.returncode == expect, result.stdout + result.stderr
    return result.stdout


def read_env(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def writes(stripe):
    return [r for r in stripe.requests() if r["method"] in ("POST", "DELETE")]


def lago_writes(url):
    with urllib.request.urlopen(url + "/__control/requests", timeout=10) as resp:
        return [r for r in json.loads(resp.read())["requests"] if r["method"] in ("POST", "PUT", "DELETE")]


def catalogue_copy(tmp_path, **changes):
    """deploy/plans.json with plan fields changed: changes = {plan_id: {field: value}}."""
    from harness import REPO
    catalogue = json.loads((REPO / "deploy" / "plans.json").read_text())
    for plan in catalogue["plans"]:
        plan.update(changes.get(plan["id"], {}))
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(catalogue))
    return str(path)


def stripe_call(stack, method, path, form=None):
    """A call to the Stripe stand-in as any Stripe client makes it: returns (status, body)."""
    base = stack.env["STRIPE_API_BASE"]
    data = urllib.parse.urlencode(form or {}).encode() if method == "POST" else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + stack.env["STRIPE_SECRET_KEY"],
                                          "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def lago_call(stack, method, path, body=None):
    req = urllib.request.Request(stack.env["LAGO_API_URL"] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + stack.env["LAGO_API_KEY"],
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def failures(stdout):
    return [line for line in stdout.splitlines() if line.startswith("FAIL  ")]


def verify_settings(settings, env_file):
    """verify as the gateway would run after setup: the secrets setup wrote, read from the env file."""
    written = read_env(env_file)
    return {**settings, "STRIPE_WEBHOOK_SECRET": written["STRIPE_WEBHOOK_SECRET"],
            "LAGO_WEBHOOK_PUBLIC_KEY": written["LAGO_WEBHOOK_PUBLIC_KEY"]}


def set_up(stack, env_file):
    stripe, lago, settings = start(stack, env_file)
    out = run(stack, settings, "setup", "--write-env", str(env_file))
    return stripe, lago, settings, out


# --- setup on an empty account, then again -------------------------------------------------------------------

def test_setup_on_an_empty_account_creates_everything(stack, env_file):
    stripe, lago, settings, out = set_up(stack, env_file)
    state = stripe.state()
    assert sorted(p["metadata"]["plan_id"] for p in state["product"].values()) == \
        ["enterprise", "professional", "starter", "trial"]
    assert sorted(p["lookup_key"] for p in state["price"].values()) == sorted(LOOKUP_KEYS)
    assert all(p["active"] for p in state["price"].values())
    assert len(query(stack, "SELECT 1 FROM stripe_prices")) == 7

    [endpoint] = state["webhook_endpoint"].values()
    assert endpoint["url"] == PUBLIC + "/api/v1/billing/webhooks/stripe"
    assert sorted(endpoint["enabled_events"]) == sorted(STRIPE_EVENTS)
    assert endpoint["api_version"] == "2024-06-20" and endpoint["status"] == "enabled"

    [portal] = state["billing_portal.configuration"].values()
    update = portal["features"]["subscription_update"]
    assert update["enabled"] and update["default_allowed_updates"] == ["price"]
    offered = {price for product in update["products"] for price in product["prices"]}
    paid = {p["id"] for p in state["price"].values() if p["lookup_key"] != "trial_weekly"}
    assert offered == paid and len(update["products"]) == 3
    cancel = portal["features"]["subscription_cancel"]
    assert cancel["enabled"] and cancel["mode"] == "at_period_end"
    assert portal["default_return_url"] == "https://app.example.com/account"

    # The signing secret, written once to the env file, mode 600, and never printed.
    written = read_env(env_file)
    assert written["STRIPE_WEBHOOK_SECRET"] == endpoint["secret"]
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    # Not the account's default configuration: portal sessions name it (stripe-worker reads the setting).
    assert written["STRIPE_PORTAL_CONFIGURATION"] == portal["id"] and portal["is_default"] is False
    assert endpoint["secret"] not in out

    lago_now = lago_state(lago)
    assert list(lago_now["billable_metrics"]) == ["api_calls"]
    assert sorted(lago_now["plans"]) == ["enterprise", "professional", "starter", "trial"]
    assert lago_now["plans"]["professional"]["amount_cents"] == 4900
    assert lago_now["plans"]["trial"]["interval"] == "weekly"
    [lago_endpoint] = lago_now["webhook_endpoints"].values()
    assert lago_endpoint["webhook_url"] == PUBLIC + "/api/v1/webhooks/lago"
    assert lago_endpoint["signature_algo"] == "jwt"
    assert written["LAGO_WEBHOOK_PUBLIC_KEY"] == lago_now["webhook_public_key"]
    assert "setup: 0 new" not in out and "0 failed" in out


def test_a_second_setup_changes_nothing(stack, env_file):
    stripe, lago, settings, _ = set_up(stack, env_file)
    stripe_before, lago_before = len(writes(stripe)), len(lago_writes(lago))
    again = run(stack, settings, "setup", "--write-env", str(env_file))
    assert len(writes(stripe)) == stripe_before, writes(stripe)[stripe_before:]
    assert len(lago_writes(lago)) == lago_before, lago_writes(lago)[lago_before:]
    assert "setup: 0 new, 0 changed," in again and "0 failed" in again
    assert "webhook  stripe           unchanged" in again and "portal   stripe           unchanged" in again
    assert "webhook  lago             unchanged" in again and "key      lago             unchanged" in again


def test_dry_run_on_an_empty_account_sends_nothing(stack, env_file):
    stripe, lago, settings = start(stack, env_file)
    out = run(stack, settings, "setup", "--dry-run", "--write-env", str(env_file))
    assert writes(stripe) == [] and lago_writes(lago) == []
    assert out.count("would create") == 7 + 1 + 4  # prices, metric, plans
    assert "would register" in out and "would configure" in out
    assert "(dry run: nothing was sent)" in out
    assert not env_file.exists()
    assert query(stack, "SELECT count(*) FROM stripe_prices")[0][0] == 0


# --- catalogue changes -------------------------------------------------------------------------------------

def test_a_price_change_creates_a_new_price_and_archives_the_old(stack, env_file, tmp_path):
    stripe, lago, settings, _ = set_up(stack, env_file)
    old = next(p for p in stripe.state()["price"].values() if p["lookup_key"] == "starter_monthly")
    settings["PLANS_FILE"] = catalogue_copy(tmp_path, starter={"price_monthly_cents": 2100})
    out = run(stack, settings, "setup-stripe", "--write-env", str(env_file))
    assert "starter_monthly" in out and "replaced" in out
    prices = stripe.state()["price"]
    new = next(p for p in prices.values() if p["lookup_key"] == "starter_monthly")
    assert new["id"] != old["id"] and new["unit_amount"] == 2100 and new["active"]
    assert new["product"] == old["product"]
    assert prices[old["id"]]["active"] is False and prices[old["id"]]["lookup_key"] is None
    creates = [r for r in stripe.requests("POST", "/v1/prices") if r["form"].get("lookup_key") == "starter_monthly"]
    assert creates[-1]["form"]["transfer_lookup_key"] == "true"
    assert query(stack, "SELECT price_id, unit_amount FROM stripe_prices WHERE lookup_key = 'starter_monthly'") == \
        [(new["id"], 2100)]
    # The portal offers the new price instead of the old one.
    [portal] = stripe.state()["billing_portal.configuration"].values()
    offered = {price for product in portal["features"]["subscription_update"]["products"] for price in product["prices"]}
    assert new["id"] in offered and old["id"] not in offered
    assert "portal   stripe           updated" in out
    # Only Stripe was set up again: verify names Lago's starter plan as the one thing out of date.
    lines = failures(run(stack, verify_settings(settings, env_file), "verify", expect=1))
    assert lines == ["FAIL  lago_plans       starter: out of date: amount_cents 1900, want 2100 (run billing-admin setup-lago)"]


def test_a_lago_plan_change_is_updated(stack, env_file, tmp_path):
    _, lago, settings, _ = set_up(stack, env_file)
    lago_id = lago_state(lago)["plans"]["professional"]["lago_id"]
    settings["PLANS_FILE"] = catalogue_copy(tmp_path, professional={"price_monthly_cents": 5900, "name": "Pro"})
    out = run(stack, settings, "setup-lago", "--write-env", str(env_file))
    assert "plan     professional     updated (was: name Professional, want Pro; amount_cents 4900, want 5900)" in out
    plan = lago_state(lago)["plans"]["professional"]
    assert plan["amount_cents"] == 5900 and plan["name"] == "Pro" and plan["lago_id"] == lago_id
    puts = [r for r in lago_writes(lago) if r["method"] == "PUT"]
    assert [r["path"] for r in puts] == ["/api/v1/plans/professional"]
    assert "setup-lago: 0 new, 1 changed," in out


# --- verify ------------------------------------------------------------------------------------------------

def test_verify_passes_after_setup(stack, env_file):
    _, _, settings, _ = set_up(stack, env_file)
    result = stack.admin("verify", **verify_settings(settings, env_file))
    assert result.returncode == 0, result.stdout
    assert failures(result.stdout) == []
    names = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("ok ")}
    assert {"plan_prices", "stripe_webhook", "stripe_portal", "lago_plans", "lago_webhook", "lago_key"} <= names
    assert result.stdout.rstrip().endswith("ok: 0 check(s) failed")


def drift_stripe_webhook_events(stack, stripe, lago, tmp_path, settings):
    [endpoint] = stripe.state()["webhook_endpoint"].values()
    stripe_call(stack, "POST", f"/v1/webhook_endpoints/{endpoint['id']}",
                {"enabled_events[0]": "invoice.paid", "enabled_events[1]": "charge.refunded"})
    return "stripe_webhook", ["missing event types: checkout.session.completed; customer.subscription.created",
                              "event types the project does not handle: charge.refunded"]


def drift_stripe_webhook_url(stack, stripe, lago, tmp_path, settings):
    settings["PUBLIC_BASE_URL"] = "https://billing.example.org"
    return ("stripe_webhook", "lago_webhook"), [
        "url is https://billing.example.com/api/v1/billing/webhooks/stripe, "
        "want https://billing.example.org/api/v1/billing/webhooks/stripe",
        "url is https://billing.example.com/api/v1/webhooks/lago, want https://billing.example.org/api/v1/webhooks/lago"]


def drift_stripe_webhook_version(stack, stripe, lago, tmp_path, settings):
    [endpoint] = stripe.state()["webhook_endpoint"].values()
    stripe_call(stack, "DELETE", f"/v1/webhook_endpoints/{endpoint['id']}")
    stripe_call(stack, "POST", "/v1/webhook_endpoints", {"url": endpoint["url"], "api_version": "2023-10-16",
                **{f"enabled_events[{i}]": e for i, e in enumerate(STRIPE_EVENTS)}})
    return "stripe_webhook", ["api_version is 2023-10-16, want 2024-06-20"]


def drift_price_amount(stack, stripe, lago, tmp_path, settings):
    settings["PLANS_FILE"] = catalogue_copy(tmp_path, enterprise={"price_yearly_cents": 89000})
    return "plan_prices", ["enterprise: enterprise_yearly", "catalogue 890.00 usd/year"]


def drift_price_archived(stack, stripe, lago, tmp_path, settings):
    price = next(p for p in stripe.state()["price"].values() if p["lookup_key"] == "professional_yearly")
    stripe_call(stack, "POST", f"/v1/prices/{price['id']}", {"active": "false"})
    return "plan_prices", ["professional: no active Stripe price for professional_yearly"]


def drift_portal_cancel(stack, stripe, lago, tmp_path, settings):
    [portal] = stripe.state()["billing_portal.configuration"].values()
    stripe_call(stack, "POST", f"/v1/billing_portal/configurations/{portal['id']}",
                {"features[subscription_cancel][mode]": "immediately"})
    return "stripe_portal", ["cancellation mode is immediately, want at_period_end"]


def drift_lago_plan(stack, stripe, lago, tmp_path, settings):
    lago_call(stack, "PUT", "/api/v1/plans/starter", {"plan": {"amount_cents": 1500, "interval": "yearly"}})
    return "lago_plans", ["starter: out of date: interval yearly, want monthly; amount_cents 1500, want 1900"]


def drift_lago_webhook(stack, stripe, lago, tmp_path, settings):
    [endpoint] = lago_state(lago)["webhook_endpoints"].values()
    lago_call(stack, "PUT", f"/api/v1/webhook_endpoints/{endpoint['lago_id']}",
              {"webhook_endpoint": {"webhook_url": endpoint["webhook_url"], "signature_algo": "hmac"}})
    return "lago_webhook", ["signature_algo is hmac, want jwt"]


def drift_lago_key(stack, stripe, lago, tmp_path, settings):
    settings["LAGO_WEBHOOK_PUBLIC_KEY"] = "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K"
    return "lago_key", ["LAGO_WEBHOOK_PUBLIC_KEY is not Lago's current key"]


@pytest.mark.parametrize("drift", [drift_stripe_webhook_events, drift_stripe_webhook_url, drift_stripe_webhook_version,
                                   drift_price_amount, drift_price_archived, drift_portal_cancel, drift_lago_plan,
                                   drift_lago_webhook, drift_lago_key], ids=lambda f: f.__name__[6:])
def test_verify_names_each_kind_of_drift(stack, env_file, tmp_path, drift):
    stripe, lago, settings, _ = set_up(stack, env_file)
    settings = verify_settings(settings, env_file)
    check, texts = drift(stack, stripe, lago, tmp_path, settings)
    checks = check if isinstance(check, tuple) else (check,)
    result = stack.admin("verify", **settings)
    assert result.returncode == 1, result.stdout
    lines = failures(result.stdout)
    assert lines and {line.split()[1] for line in lines} == set(checks), result.stdout
    for text in texts:
        assert any(text in line for line in lines), (text, result.stdout)
    # setup puts it right again (except a key that is wrong in the settings, not in Lago).
    if check != "lago_key":
        run(stack, settings, "setup", "--write-env", str(env_file))
        assert failures(run(stack, verify_settings(settings, env_file), "verify")) == []


# --- the stand-ins refuse what their vendors refuse ---------------------------------------------------------

def test_the_stripe_standin_refuses_an_unknown_parameter(stack, env_file):
    start(stack, env_file)
    status, body = stripe_call(stack, "POST", "/v1/products", {"name": "x", "colour": "blue"})
    assert status == 400
    assert body == {"error": {"type": "invalid_request_error", "code": "parameter_unknown", "param": "colour",
                              "message": "Received unknown parameter: colour"}}
    status, body = stripe_call(stack, "POST", "/v1/webhook_endpoints",
                               {"url": PUBLIC, "enabled_events[0]": "invoice.paid", "connect_version": "x"})
    assert status == 400 and body["error"]["param"] == "connect_version"
    status, body = stripe_call(stack, "POST", "/v1/billing_portal/configurations",
                               {"features[subscription_cancel][enabled]": "true",
                                "features[subscription_cancel][when]": "now"})
    assert status == 400 and body["error"]["code"] == "parameter_unknown"
    assert body["error"]["param"] == "features[subscription_cancel][when]"
    status, body = stripe_call(stack, "GET", "/v1/prices?lookup_keys[0]=a&lookup_key=a")
    assert status == 400 and body["error"]["message"] == "Received unknown parameter: lookup_key"


def test_the_lago_standin_refuses_an_unknown_parameter(stack, env_file):
    start(stack, env_file)
    status, body = lago_call(stack, "POST", "/api/v1/billable_metrics",
                             {"billable_metric": {"name": "x", "code": "x", "aggregation_type": "count_agg",
                                                  "unit": "calls"}})
    assert status == 422
    assert body == {"status": 422, "error": "Unprocessable Entity", "code": "validation_errors",
                    "error_details": {"unit": ["unknown_parameter"]}}
    status, body = lago_call(stack, "POST", "/api/v1/webhook_endpoints",
                             {"webhook_endpoint": {"webhook_url": PUBLIC, "signature": "jwt"}})
    assert status == 422 and body["error_details"] == {"signature": ["unknown_parameter"]}


def test_portal_sessions_name_the_configuration_setup_made(stack, tmp_path):
    """Not the account's default, so the stripe-worker sends STRIPE_PORTAL_CONFIGURATION with each session."""
    from billing_helpers import call, form, start_billing
    env_file = tmp_path / "portal.env"
    probe = start_billing(stack)  # Stripe stand-in, gateway, workers
    stack.standin("lago")
    settings = {"PUBLIC_BASE_URL": PUBLIC, "ENV_FILE": str(env_file)}
    run(stack, settings, "setup-stripe", "--write-env", str(env_file))
    configuration = read_env(env_file)["STRIPE_PORTAL_CONFIGURATION"]
    assert configuration in probe.state()["billing_portal.configuration"]
    stack.stop("stripe-worker")
    stack.start("stripe-worker", STRIPE_PORTAL_CONFIGURATION=configuration)
    customer = probe.seed(customers=[{"email": "p@example.com", "metadata": {"user_id": "user_p"}}])["customers"][0]
    query(stack, "INSERT INTO customers (user_id, email, stripe_customer_id) VALUES (%s, %s, %s)",
          ("user_p", "p@example.com", customer["id"]))
    answers = []
    wait_for(lambda: answers.append(call(stack, "POST", "/portal/create", user="user_p", email="p@example.com",
                                         json_body={})) or answers[-1][0] != 503, 15, "the new stripe-worker")
    assert answers[-1][0] == 200, answers[-1]
    (sent,) = probe.requests("POST", "/v1/billing_portal/sessions")
    assert ("configuration", configuration) in form(sent)
