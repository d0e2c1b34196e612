"""support - the helpers every integration test shares: polling, queries, tokens and signatures.

    wait_for(predicate, timeout, message)   poll until predicate() is truthy (returns it) or fail
    poll_until(predicate, timeout)          the same without failing: the last value
    query(stack_or_conn, sql, params)       one statement on the test's database; the rows (or None)
    token(sub, email, ...)                  a user JWT (HS256 with JWT_SECRET unless told otherwise)
    raw_token(header, payload, key)         a JWS built by hand (alg none, key confusion)
    auth(token), SERVICE, ADMIN             Authorization headers
    sign_stripe(body, secret)               a Stripe-Signature header value
    assert_json_error(body, code)           the {"error":{"code","message"}} shape

Domain helpers stay with their tests: billing_helpers.py (the billing API and the
Stripe stand-in), usage_support.py (usage and Lago), stripe_events.py (Stripe
webhook events); harness.py runs the processes and stores.
Standard library plus python3-psycopg2 and python3-jwt (Debian packages).
"""
import base64
import hashlib
import hmac
import json
import time

# The secret the stacks give the gateway as AUTH_JWT_SECRET, and token() signs with.
JWT_SECRET = "integration-jwt-secret-0123456789abcdef"
# Tokens the harness's stacks accept (SERVICE_TOKENS, ADMIN_TOKEN in harness.Stack).
SERVICE_TOKEN = "test-service-token"
ADMIN_TOKEN = "test-admin-token"


# -- polling -----------------------------------------------------------------------------------------


def poll_until(predicate, timeout, interval=0.05):
    """Calls predicate() every interval seconds until it returns something truthy or
    timeout seconds passed (an OSError, a server still starting, counts as not yet).
    Returns the last value: falsy when time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_for(predicate, timeout=15.0, message="condition not met", interval=0.05):
    """Polls predicate() until it returns something truthy, and returns that; fails
    the test with message (and the last value or error) after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except OSError as error:
            last = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (last: {last!r})")
        time.sleep(interval)


# -- queries ---------------------------------------------------------------------------------------


def query(target, sql, params=None):
    """Runs one statement and returns all rows (None for a statement without rows).

    target is a harness.Stack (its database, through one cached autocommit
    connection that is renewed after a Postgres restart) or a psycopg2 connection."""
    import psycopg2

    if not hasattr(target, "db"):
        with target.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    for attempt in range(2):
        conn = getattr(target, "_support_conn", None)
        if conn is None or conn.closed:
            conn = target._support_conn = target.db()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            target._support_conn = None
            if attempt:
                raise


# -- tokens and signatures -----------------------------------------------------------------------


def token(sub="user_1", email="user1@example.com", secret=JWT_SECRET, alg="HS256", lifetime=600, **claims):
    """A user JWT: sub, iat, exp (now + lifetime), email unless None, and claims."""
    import jwt

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
    """The Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {tok}"}


SERVICE = auth(SERVICE_TOKEN)
ADMIN = auth(ADMIN_TOKEN)


def sign_stripe(body, secret, timestamp=None):
    """The Stripe-Signature header value for body: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">."""
    if isinstance(body, str):
        body = body.encode()
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# -- answers ---------------------------------------------------------------------------------------


def assert_json_error(body, code=None):
    """body is exactly {"error": {"code": <str>, "message": <non-empty str>}} (with that code when given)."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"].get("code"), str), body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
