"""The pages for people (issue 11): /plans.html, /signup-flow.html, /billing-settings.html.

Served by the gateway from WEB_ROOT; the browser tests drive Debian's chromium
with playwright-core (tests/browser/*.mjs) against the whole stack: gateway,
every worker, the Stripe stand-in (whose Checkout page "pays" and sends the
signed webhooks) and a login stand-in for LOGIN_URL that sets the session
cookie. Screenshots of every page at 375 and 1280 px go to
$OB_SCREENSHOTS (default: build/screenshots), named <page>-<width>.png.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from billing_helpers import JWT_SECRET, StripeStandin, auth, token, wait_for
from harness import REPO, build_dir, free_port

BROWSER_DIR = REPO / "tests" / "browser"
COOKIE = "ob_session"
WEBHOOK_SECRET = "whsec_test_integration"
SERVICE_TOKEN = "test-service-token"
NODE_TIMEOUT_S = 300
PAGES = ("/plans.html", "/signup-flow.html", "/billing-settings.html")


def screenshot_dir():
    path = Path(os.environ.get("OB_SCREENSHOTS") or build_dir() / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser_deps():
    """tests/browser/node_modules from package-lock.json (npm ci; never a browser download)."""
    if not shutil.which("node") or not os.access("/usr/bin/chromium", os.X_OK):
        pytest.fail("node and /usr/bin/chromium are needed: run deploy/scripts/deps.sh", pytrace=False)
    lock = BROWSER_DIR / "package-lock.json"
    stamp = BROWSER_DIR / "node_modules" / ".package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, env=env,
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            pytest.fail(f"npm ci failed:\n{result.stdout}{result.stderr}", pytrace=False)


def start_pages_stack(stack, user="user_pages"):
    """The whole stack as a browser sees it; returns a namespace of its addresses."""
    base = stack.url("").rstrip("/")
    login_port = free_port()
    login_url = f"http://127.0.0.1:{login_port}/login"
    stack.env.update({
        "AUTH_JWT_SECRET": JWT_SECRET,
        "AUTH_COOKIE_NAME": COOKIE,
        "LOGIN_URL": login_url,
        "WEB_ROOT": str(REPO / "web"),
        "STRIPE_SUCCESS_URL": f"{base}/signup-flow.html?success={{CHECKOUT_SESSION_ID}}",
        "STRIPE_CANCEL_URL": f"{base}/signup-flow.html?canceled=1",
        "STRIPE_PORTAL_RETURN_URL": f"{base}/billing-settings.html",
    })
    stripe_url = stack.standin("stripe", "--webhook-url", f"{base}/api/v1/billing/webhooks/stripe",
                               "--webhook-secret", WEBHOOK_SECRET, "--checkout-base", "self")
    stack.standin("lago")
    login = stack.spawn("login-standin", [sys.executable, "-u", REPO / "tests" / "standins" / "login_standin.py",
                                          "--port", login_port, "--secret", JWT_SECRET, "--cookie-name", COOKIE,
                                          "--allowed-return", f"{base}/", "--user", user,
                                          "--email", f"{user}@example.com"])
    wait_for(lambda: "ready" in login.log(), 10, "the login stand-in did not start")
    stack.start_all()
    stack.wait_ready(20)
    result = stack.admin("setup-stripe")
    assert result.returncode == 0, result.stdout + result.stderr
    return type("Pages", (), {"base": base, "stripe": StripeStandin(stripe_url), "stripe_url": stripe_url,
                              "login_url": login_url, "user": user})


def served(stack, path):
    """True once path answers something other than 503 (a worker serving it is there)."""
    try:
        return stack.http("GET", path, headers=auth(token("probe")), timeout=2)[0] != 503
    except OSError:
        return False


def run_browser(stack, pages, script, user=None):
    """Runs tests/browser/<script> and answers its "@@ action" requests; returns its output."""
    user = user or pages.user
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
        "OB_BASE_URL": pages.base, "OB_STRIPE_URL": pages.stripe_url, "OB_LOGIN_URL": pages.login_url,
        "OB_SHOTS": str(screenshot_dir()), "OB_SERVICE_TOKEN": SERVICE_TOKEN, "OB_USER": user,
        "OB_USER_TOKEN": token(user, f"{user}@example.com", lifetime=3600), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }

    def probe_path(name):
        return {"subscription-worker": "/api/v1/subscriptions/plans", "stripe-worker": "/api/v1/billing/invoices",
                "lago-worker": "/api/v1/usage/me"}[name]

    def stop(name):
        stack.stop(name)
        wait_for(lambda: not served(stack, probe_path(name)), 15, f"{name} still answers")

    def start(name):
        stack.start(name)
        wait_for(lambda: served(stack, probe_path(name)), 20, f"{name} does not answer")

    actions = {"stop": stop, "start": start}
    proc = subprocess.Popen(["node", BROWSER_DIR / script], cwd=BROWSER_DIR, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(NODE_TIMEOUT_S, proc.kill)
    timer.start()
    output = []
    try:
        for line in proc.stdout:
            output.append(line)
            if line.startswith("@@ "):
                name, *args = line[3:].split()
                try:
                    answer = f"ok {actions[name](*args) or ''}"
                except Exception as error:  # noqa: BLE001 - reported to the script, which fails
                    answer = f"error {error!r}"
                proc.stdin.write(answer + "\n")
                proc.stdin.flush()
        code = proc.wait()
    finally:
        timer.cancel()
    text = "".join(output)
    assert code == 0, f"{script} exited {code}:\n{text}"
    return text


# --- serving ---------------------------------------------------------------------------------------

@pytest.fixture
def gateway_only(stack):
    stack.env.update({"AUTH_JWT_SECRET": JWT_SECRET, "AUTH_COOKIE_NAME": COOKIE, "WEB_ROOT": str(REPO / "web"),
                      "LOGIN_URL": "https://id.example.com/login"})
    stack.start("gateway")
    wait_for(lambda: stack.http("GET", "/health", timeout=1)[0] == 200, 10, "gateway")
    return stack


@pytest.mark.parametrize("path, content_type, cache", [
    ("/plans.html", "text/html; charset=utf-8", "no-cache"),
    ("/signup-flow.html", "text/html; charset=utf-8", "no-cache"),
    ("/billing-settings.html", "text/html; charset=utf-8", "no-cache"),
    ("/css/app.css", "text/css; charset=utf-8", "public, max-age=300"),
    ("/js/billing.js", "text/javascript; charset=utf-8", "public, max-age=300"),
])
def test_files_are_served_with_type_etag_cache_control_and_csp(gateway_only, path, content_type, cache):
    stack = gateway_only
    status, headers, body = stack.http("GET", path)
    on_disk = (REPO / "web" / path.lstrip("/")).read_text()
    assert status == 200 and body == on_disk
    assert headers["content-type"] == content_type
    assert headers["cache-control"] == cache
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp  # no inline script, no other origin
    etag = headers["etag"]
    assert etag == '"' + hashlib.sha256(on_disk.encode()).hexdigest()[:32] + '"'
    status, again, body = stack.http("GET", path, headers={"If-None-Match": etag})
    assert status == 304 and body == "" and again["etag"] == etag
    status, _, _ = stack.http("GET", path, headers={"If-None-Match": '"something-else"'})
    assert status == 200
    status, head, body = stack.http("HEAD", path)
    assert status == 200 and body == "" and head["etag"] == etag


def test_pages_hold_no_inline_script_or_style_and_no_other_origin(gateway_only):
    for path in PAGES:
        _, _, html = gateway_only.http("GET", path)
        assert "<script>" not in html and "<style" not in html and " style=" not in html and " on" + "click" not in html
        assert "//" not in html.replace("http://www.w3.org", ""), f"{path} links another origin"


def test_unknown_files_are_json_404_and_the_root_is_the_plans_page(gateway_only):
    status, headers, body = gateway_only.http("GET", "/nope.html")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, headers, body = gateway_only.http("GET", "/")
    assert status == 200 and "<title>Plans and pricing" in body
    status, _, body = gateway_only.http("GET", "/js/../../deploy/plans.json")
    assert status == 404
    status, headers, body = gateway_only.http("GET", "/site-config.json")
    assert status == 200 and body == {"login_url": "https://id.example.com/login"}


# --- the cookie rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, expected", [
    ({"Origin": "https://evil.example", "Content-Type": "application/json"}, (403, "cross_origin")),
    ({"Content-Type": "application/json"}, (403, "cross_origin")),
    ({"Origin": "null", "Content-Type": "application/json"}, (403, "cross_origin")),
    ({"Origin": "SAME", "Content-Type": "application/x-www-form-urlencoded"}, (403, "json_required")),
    ({"Origin": "SAME", "Content-Type": "text/plain"}, (403, "json_required")),
    ({"Origin": "SAME", "Content-Type": "application/json"}, (409, "no_subscription")),
])
def test_a_change_with_the_session_cookie_must_be_same_origin_json(stack, headers, expected):
    start_billing_for_cookie(stack)
    same = stack.url("").rstrip("/")
    headers = {k: (same if v == "SAME" else v) for k, v in headers.items()}
    headers["Cookie"] = f"{COOKIE}={token('user_cookie')}"
    status, _, body = stack.http("POST", "/api/v1/billing/subscription/cancel", body='{"at_period_end":true}',
                                 headers=headers)
    assert (status, body["error"]["code"]) == expected


def test_bearer_tokens_and_reads_are_not_subject_to_the_cookie_rule(stack):
    start_billing_for_cookie(stack)
    headers = {"Origin": "https://evil.example", "Content-Type": "text/plain", **auth(token("user_bearer"))}
    status, _, body = stack.http("POST", "/api/v1/billing/subscription/cancel", body="{}", headers=headers)
    assert status == 409 and body["error"]["code"] == "no_subscription"
    status, _, body = stack.http("GET", "/api/v1/billing/subscription-status",
                                 headers={"Origin": "https://evil.example", "Cookie": f"{COOKIE}={token('u')}"})
    assert status == 200 and body["status"] == "none"


def start_billing_for_cookie(stack):
    stack.env.update({"AUTH_JWT_SECRET": JWT_SECRET, "AUTH_COOKIE_NAME": COOKIE})
    stack.standin("stripe")
    stack.start("gateway")
    stack.start("subscription-worker")
    stack.start("stripe-worker")
    wait_for(lambda: stack.http("POST", "/api/v1/billing/subscription/cancel", json={},
                                headers=auth(token("probe")))[0] == 409, 15, "stripe-worker")
    wait_for(lambda: stack.http("GET", "/api/v1/billing/subscription-status",
                                headers=auth(token("probe")))[0] == 200, 15, "subscription-worker")


# --- the new read endpoints ------------------------------------------------------------------------

def test_daily_usage_and_invoices_are_empty_for_a_user_who_never_subscribed(stack):
    start_pages_stack(stack)
    status, _, body = stack.http("GET", "/api/v1/usage/me/daily", headers=auth(token("newcomer")))
    assert status == 200 and body == {"code": "api_calls", "period": None, "limit": None, "used": 0, "days": []}
    status, _, body = stack.http("GET", "/api/v1/billing/invoices", headers=auth(token("newcomer")))
    assert status == 200 and body == {"invoices": [], "has_more": False}
    status, _, _ = stack.http("GET", "/api/v1/billing/invoices")
    assert status == 401


# --- in the browser ----------------------------------------------------------------------------------

def test_journey_from_plans_to_billing_settings(stack, browser_deps):
    pages = start_pages_stack(stack)
    out = run_browser(stack, pages, "journey.mjs")
    assert "journey: ok" in out
    # What the browser saw is what Postgres holds.
    rows = stack.postgres.execute("SELECT plan_id, status, cancel_at_period_end FROM subscriptions WHERE user_id = %s",
                                  (pages.user,), dbname=stack.dbname)
    assert rows == [("enterprise", "active", False)]
    for name in ("plans", "signup-select", "signup-payment", "signup-activating", "signup-complete",
                 "billing-settings"):
        for width in (375, 1280):
            assert (screenshot_dir() / f"{name}-{width}.png").stat().st_size > 5000


def test_journey_by_keyboard_only(stack, browser_deps):
    pages = start_pages_stack(stack, user="user_keys")
    out = run_browser(stack, pages, "keyboard.mjs")
    assert "keyboard: ok" in out


def test_error_states_offer_a_retry(stack, browser_deps):
    pages = start_pages_stack(stack, user="user_errors")
    out = run_browser(stack, pages, "errors.mjs")
    assert "errors: ok" in out
