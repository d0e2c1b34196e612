"""User authentication through the real gateway (GET /api/v1/billing/subscription-status).

The gateway is configured with an HS256 secret, an RSA public key file, an issuer, an
audience and a cookie name; each case sends one token and expects 200 or a 401 JSON
error with WWW-Authenticate."""
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support import JWT_SECRET, assert_json_error, raw_token, wait_for

PATH = "/api/v1/billing/subscription-status"
ISSUER = "https://id.example.com/realms/ops"
AUDIENCE = "ops-center"
COOKIE = "ob_session"


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public_pem


def claims(**overrides):
    now = int(time.time())
    base = {"sub": "user_auth", "email": "auth@example.com", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
            "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(**overrides):
    return jwt.encode(claims(**overrides), JWT_SECRET, algorithm="HS256")


CASES = {
    # name: (how to build the headers from (rsa private key, public pem), expected status)
    "hs256_valid": (lambda key, pem: {"Authorization": f"Bearer {hs256()}"}, 200),
    "rs256_valid": (lambda key, pem: {"Authorization": "Bearer " + jwt.encode(claims(), key, algorithm="RS256")}, 200),
    "cookie_token": (lambda key, pem: {"Cookie": f"theme=dark; {COOKIE}={hs256()}"}, 200),
    "missing_token": (lambda key, pem: {}, 401),
    "malformed_token": (lambda key, pem: {"Authorization": "Bearer not.a-jwt"}, 401),
    "alg_none": (lambda key, pem: {"Authorization": "Bearer " + raw_token({"alg": "none", "typ": "JWT"}, claims())},
                 401),
    "hs256_signed_with_rsa_public_key": (
        lambda key, pem: {"Authorization": "Bearer " + raw_token({"alg": "HS256", "typ": "JWT"}, claims(), pem)}, 401),
    "expired": (lambda key, pem: {"Authorization": "Bearer " + hs256(exp=int(time.time()) - 3600,
                                                                      iat=int(time.time()) - 7200)}, 401),
    "wrong_audience": (lambda key, pem: {"Authorization": "Bearer " + hs256(aud="someone-else")}, 401),
    "wrong_issuer": (lambda key, pem: {"Authorization": "Bearer " + hs256(iss="https://evil.example.com")}, 401),
    "wrong_secret": (lambda key, pem: {"Authorization": "Bearer " + jwt.encode(claims(), "another-secret-0123456789abcdef",
                                                                               algorithm="HS256")}, 401),
    "cookie_with_another_name": (lambda key, pem: {"Cookie": f"session={hs256()}"}, 401),
}


@pytest.fixture
def gateway(stack, rsa_key, tmp_path):
    key, pem = rsa_key
    key_file = tmp_path / "jwt_public.pem"
    key_file.write_bytes(pem)
    stack.env.update({"AUTH_JWT_SECRET": JWT_SECRET, "AUTH_JWT_PUBLIC_KEY_FILE": str(key_file),
                      "AUTH_JWT_ISSUER": ISSUER, "AUTH_JWT_AUDIENCE": AUDIENCE, "AUTH_COOKIE_NAME": COOKIE})
    stack.start("gateway")
    stack.start("subscription-worker")
    wait_for(lambda: stack.http("GET", PATH, headers={"Authorization": f"Bearer {hs256()}"})[0] == 200, 15,
             "the subscription service never answered")
    return stack


@pytest.mark.parametrize("case", sorted(CASES))
def test_user_authentication(gateway, rsa_key, case):
    build, expected = CASES[case]
    status, headers, body = gateway.http("GET", PATH, headers=build(*rsa_key))
    assert status == expected, (case, body)
    if expected == 200:
        assert body["status"] == "none"
    else:
        assert_json_error(body)
        assert headers.get("www-authenticate", "").startswith("Bearer"), headers
        assert "json" in headers.get("content-type", "")
