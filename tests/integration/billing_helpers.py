"""billing_helpers - what the billing API and auth tests share: user tokens, the
Stripe stand-in's control API, and starting the billing part of a stack."""
import base64
import hashlib
import hmac
import json
import time
import urllib.request
from urllib.parse import parse_qsl

import jwt

JWT_SECRET = "integration-jwt-secret-0123456789abcdef"
BILLING = "/api/v1/billing"


def token(sub="user_1", email="user1@example.com", secret=JWT_SECRET, alg="HS256", lifetime=600, **claims):
    now = int(time.time())
    payload = {"sub": sub, "iat": now, "exp": now + lifetime, **claims}
    if email is not None:
        payload["email"] = email
    return jwt.encode(payload, secret, algorithm=alg)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header, payload, key=None):
    """A compact JWS built by hand (for alg none and key-confusion tokens PyJWT refuses to make)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def auth(tok):
    return {"Authorization": f"Bearer {tok}"}


def call(stack, method, path, user="user_1", email="user1@example.com", json_body=None, body=None, headers=None):
    """One billing API call as user; returns (status, body)."""
    status, _, out = stack.http(method, BILLING + path, json=json_body, body=body,
                                headers={**auth(token(user, email)), **(headers or {})})
    return status, out


class StripeStandin:
    """The control API of tests/standins/stripe_standin.py."""

    def __init__(self, base):
        self.base = base

    def _control(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def requests(self, method=None, path=None, prefix=None):
        found = self._control("GET", "/__control/requests")
        return [r for r in found if (method is None or r["method"] == method) and (path is None or r["path"] == path)
                and (prefix is None or r["path"].startswith(prefix))]

    def fail(self, path_prefix, status, method="POST", count=1, **extra):
        return self._control("POST", "/__control/fail", {"path_prefix": path_prefix, "method": method,
                                                         "status": status, "count": count, **extra})

    def clock(self, offset_s):
        """Stripe's clock (Date headers, created times) runs offset_s from ours."""
        return self._control("POST", "/__control/clock", {"offset_s": offset_s})

    def seed(self, **kinds):
        return self._control("POST", "/__control/seed", kinds)

    def state(self):
        return self._control("GET", "/__control/state")


def form(request):
    """The request's form-encoded body as an ordered list of pairs, exactly as sent."""
    return parse_qsl(request["body"], keep_blank_values=True, strict_parsing=True)


def wait_for(predicate, timeout=15.0, message="condition not met"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except OSError as error:
            last = error
        time.sleep(0.05)
    raise AssertionError(f"{message} (last: {last!r})")


def start_billing(stack, **env):
    """Stripe stand-in, gateway, stripe-worker and subscription-worker; returns the stand-in."""
    stack.env["AUTH_JWT_SECRET"] = JWT_SECRET
    base = stack.standin("stripe")
    stack.start("gateway", **env)
    stack.start("subscription-worker", **env)
    stack.start("stripe-worker", **env)
    # A user of its own: the probe caches "no subscription" in Redis for it.
    wait_for(lambda: call(stack, "GET", "/subscription-status", user="probe")[0] == 200, 15,
             "status.get never answered")
    wait_for(lambda: call(stack, "GET", "/payment-methods", user="probe")[0] == 200, 15,
             "payment_methods.list never answered")
    return StripeStandin(base)


def setup_prices(stack):
    """Runs billing-admin setup-stripe against the stand-in; returns {lookup_key: price_id}."""
    result = stack.admin("setup-stripe")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = stack.db().cursor()
    rows.execute("SELECT lookup_key, price_id FROM stripe_prices")
    return dict(rows.fetchall())


def query(stack, sql, params=None):
    with stack.db().cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def assert_json_error(body, code=None):
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"].get("code"), str) and body["error"].get("message"), body
    if code is not None:
        assert body["error"]["code"] == code, body
