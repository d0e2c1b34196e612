"""billing_helpers - what the billing API tests share: the Stripe stand-in's control
API and starting the billing part of a stack. Polling, queries and tokens: support.py."""
import json
import urllib.request
from urllib.parse import parse_qsl

from support import JWT_SECRET, auth, token, wait_for

BILLING = "/api/v1/billing"


def call(stack, method, path, user="user_1", email="user1@example.com", json_body=None, body=None):
    """One billing API call as user; returns (status, body)."""
    status, _, out = stack.http(method, BILLING + path, json=json_body, body=body,
                                headers=auth(token(user, email)))
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

    def seed(self, **kinds):
        return self._control("POST", "/__control/seed", kinds)

    def state(self):
        return self._control("GET", "/__control/state")


def form(request):
    """The request's form-encoded body as an ordered list of pairs, exactly as sent."""
    return parse_qsl(request["body"], keep_blank_values=True, strict_parsing=True)


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
