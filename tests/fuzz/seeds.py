#!/usr/bin/python3
"""seeds.py - writes the hand-made seed inputs of tests/fuzz/corpus/<target>/.

Run from anywhere: /usr/bin/python3 tests/fuzz/seeds.py. Deterministic (the
public_key seeds, made with openssl, are checked in as they are and not
rewritten here). The signatures in the stripe_sig and lago_sig seeds use the
test secrets of fuzz_stripe_sig.c and fuzz_lago_sig.c, so each corpus holds
inputs that pass the signature check and reach what comes after.
"""
import base64
import hashlib
import hmac
import json
import os

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
T = 1700000000  # NOW of the targets


def w(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mp_str(s):
    b = s.encode()
    assert len(b) < 32
    return bytes([0xA0 | len(b)]) + b


# proto: msgpack maps with small-integer keys, hand-encoded
w("proto", "empty_map", b"\x80")
w("proto", "envelope", b"\x83\x01" + mp_str("plans.get") + b"\x02" + mp_str("req-1") + b"\x03\xcd\x13\x88")
w("proto", "reply", b"\x82\x01\xcc\xc8\x02\xc4\x02{}")
w("proto", "call_bool", b"\x83\x01" + mp_str("user-1") + b"\x02\xc3\x03\xd3" + b"\x00" * 7 + b"\x01")
w("proto", "nested", b"\x81\x09\x91\x81\x01\x92\xc0\xc2")
w("proto", "truncated_str", b"\x81\x01\xdb\xff\xff\xff\xff")
w("proto", "huge_map_header", b"\xdf\xff\xff\xff\xff")
w("proto", "trailing", b"\x80\x80")
w("proto", "not_map", b"\x93\x01\x02\x03")
w("proto", "deep", b"\x91" * 40 + b"\xc0")
w("proto", "ext", b"\x81\x01\xd6\x01abcd")

# stripe_sig: "<header>\n<body>"
body = '{"id":"evt_1","type":"invoice.paid","livemode":false}'
sig = hmac.new(b"whsec_fuzz_one", f"{T}.{body}".encode(), hashlib.sha256).hexdigest()
sig2 = hmac.new(b"whsec_fuzz_two", f"{T}.{body}".encode(), hashlib.sha256).hexdigest()
zeros = "0" * 64
w("stripe_sig", "valid", f"t={T},v1={sig}\n{body}")
w("stripe_sig", "valid_rolling", f"t={T},v1={zeros},v1={sig2},v0=abc\n{body}")
w("stripe_sig", "too_old", f"t={T - 1000},v1={sig}\n{body}")
w("stripe_sig", "no_v1", f"t={T},v0={sig}\n{body}")
w("stripe_sig", "no_t", f"v1={sig}\n{body}")
w("stripe_sig", "bad_t", f"t=17e8,v1={sig}\n{body}")
w("stripe_sig", "negative_t", f"t=-1,v1={sig}\n{body}")
w("stripe_sig", "huge_t", f"t=99999999999999999999999,v1={sig}\n{body}")
w("stripe_sig", "spaces", f" t = {T} , v1 = {sig} ,,=,x\n{body}")
w("stripe_sig", "empty", "\n")
w("stripe_sig", "short_v1", f"t={T},v1=abc\n")

# lago_sig: "<algorithm>\n<signature>\n<body>"
key = b"lago-fuzz-hmac-key-0123456789abcdef"
lbody = '{"webhook_type":"invoice.created","object":{"lago_id":"x"}}'
lsig = base64.b64encode(hmac.new(key, lbody.encode(), hashlib.sha256).digest()).decode()
rs_hdr = b64u(b'{"alg":"RS256","typ":"JWT"}')
none_hdr = b64u(b'{"alg":"none"}')
hs_hdr = b64u(b'{"alg":"HS256"}')
pl = b64u(json.dumps({"data": lbody, "iss": "https://lago.example"}).encode())
fake_rs = b64u(b"x" * 256)
fake_hs = b64u(b"y" * 32)
w("lago_sig", "hmac_valid", f"hmac\n{lsig}\n{lbody}")
w("lago_sig", "hmac_bad", f"hmac\n{lsig[:-4]}AAA=\n{lbody}")
w("lago_sig", "hmac_not_base64", f"hmac\n!!!!\n{lbody}")
w("lago_sig", "unknown_alg", f"md5\n{lsig}\n{lbody}")
w("lago_sig", "jwt_rs256", f"jwt\n{rs_hdr}.{pl}.{fake_rs}\n{lbody}")
w("lago_sig", "jwt_absent_alg", f"\n{rs_hdr}.{pl}.{fake_rs}\n{lbody}")
w("lago_sig", "jwt_none", f"jwt\n{none_hdr}.{pl}.\n{lbody}")
w("lago_sig", "jwt_hs256", f"jwt\n{hs_hdr}.{pl}.{fake_hs}\n{lbody}")
w("lago_sig", "missing", f"hmac\n\n{lbody}")

# jwt_token: "<Authorization>\n<Cookie>"
th = b64u(b'{"alg":"HS256","typ":"JWT","kid":"k1"}')
tc = b64u(json.dumps({"sub": "user-1", "exp": T + 600, "iss": "https://id.example", "aud": "billing"}).encode())
tok = f"{th}.{tc}.{fake_hs}"
dup_hdr = b64u(b'{"alg":"HS256","alg":"none"}')
w("jwt_token", "bearer", f"Bearer {tok}\n")
w("jwt_token", "cookie", f"\na=b; ob_session={tok}; c=d")
w("jwt_token", "cookie_quoted", f'\nob_session="{tok}"')
w("jwt_token", "bearer_lower", f"bearer   {tok}\nob_session=x")
w("jwt_token", "alg_none", f"Bearer {none_hdr}.{tc}.\n")
w("jwt_token", "dup_alg", f"Bearer {dup_hdr}.{tc}.abc\n")
w("jwt_token", "two_segments", f"Bearer {th}.{tc}\n")
w("jwt_token", "raw_token", f"{tok}\n")
w("jwt_token", "empty", "\n")


# jwt_claims: "<header JSON>\n<claims JSON>" (the target signs them)
def claims(**kw):
    c = {"sub": "user-1", "exp": T + 600, "iss": "https://id.example", "aud": "billing"}
    c.update(kw)
    return json.dumps({k: v for k, v in c.items() if v is not None})


w("jwt_claims", "valid", "\n" + claims())
w("jwt_claims", "valid_email_aud_list", "\n" + claims(email="a@example.com", aud=["x", "billing"], nbf=T - 10, iat=T))
w("jwt_claims", "expired", "\n" + claims(exp=T - 1000))
w("jwt_claims", "no_exp", "\n" + claims(exp=None))
w("jwt_claims", "float_exp", '\n{"sub":"u","exp":1700000600.5,"iss":"https://id.example","aud":"billing"}')
w("jwt_claims", "huge_exp", '\n{"sub":"u","exp":1e300,"iss":"https://id.example","aud":"billing"}')
w("jwt_claims", "wrong_iss", "\n" + claims(iss="https://evil.example"))
w("jwt_claims", "sub_control", "\n" + claims(sub="a\u0001b"))
w("jwt_claims", "sub_not_string", "\n" + claims(sub=42))
w("jwt_claims", "kid_header", '{"alg":"HS256","typ":"jwt","kid":"abc"}\n' + claims())
w("jwt_claims", "header_none", '{"alg":"none"}\n' + claims())
w("jwt_claims", "not_json", '\n{"sub":')

# jwks: documents
n = b64u(b"\xc1" + b"\x01" * 255)
gx = b64u(bytes.fromhex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"))
gy = b64u(bytes.fromhex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"))
rsa = {"kty": "RSA", "kid": "k1", "n": n, "e": "AQAB"}
w("jwks", "rsa_key", json.dumps({"keys": [dict(rsa, use="sig", alg="RS256")]}))
w("jwks", "ec_p256_generator", json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": "g", "x": gx, "y": gy}]}))
w("jwks", "ec_off_curve", json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": "e", "x": b64u(b"\x01" * 32), "y": b64u(b"\x02" * 32)}]}))
w("jwks", "enc_and_dup", json.dumps({"keys": [dict(rsa, use="enc"), rsa, rsa]}))
w("jwks", "wrong_alg", json.dumps({"keys": [dict(rsa, alg="HS256")]}))
w("jwks", "small_rsa", json.dumps({"keys": [dict(rsa, n=b64u(b"\xc1" * 64))]}))
w("jwks", "not_array", '{"keys":{}}')
w("jwks", "oct", '{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}')
w("jwks", "empty", "")

# usage_events: request bodies
ev = {"transaction_id": "tx-1", "user_id": "user-1", "code": "api_calls", "timestamp": T - 60, "properties": {"quantity": 3}}
w("usage_events", "batch", json.dumps({"events": [ev, dict(ev, transaction_id="tx-2", code="tokens", properties={})]}))
w("usage_events", "authorize", json.dumps({"user_id": "user-1", "code": "api_calls", "quantity": 2, "transaction_id": "tx-3"}))
w("usage_events", "single", json.dumps(ev))
bad = [
    dict(ev, timestamp=1e308),
    dict(ev, properties={"quantity": -1}),
    dict(ev, properties={"quantity": 1.5}),
    dict(ev, code="nope"),
    dict(ev, user_id=""),
    dict(ev, transaction_id="a\u0001"),
    dict(ev, timestamp="now"),
    dict(ev, properties=[1]),
    dict(ev, properties={"quantity": 10**12}),
]
w("usage_events", "bad_values", json.dumps({"events": bad}))
w("usage_events", "empty_batch", '{"events":[]}')
w("usage_events", "not_object", "[1,2,3]")
w("usage_events", "int_min", '{"user_id":"u","code":"api_calls","quantity":-9223372036854775808,"transaction_id":"t"}')

# query: "<name>\n<query string>"
w("query", "simple", "limit\nlimit=10&offset=5")
w("query", "encoded", "q\na=1&q=x%20y+z%2B&q=second")
w("query", "bad_percent", "q\nq=%zz%4%")
w("query", "no_value", "flag\nflag&other=1")
w("query", "empty_key", "\n=v&&")
w("query", "nul", "q\nq=%00abc")
w("query", "long", "q\nq=" + "a" * 5000)

# routes: "<method> <path>"
routes = [
    ("GET", "/api/v1/subscriptions/plans"),
    ("GET", "/api/v1/subscriptions/plans/pro"),
    ("POST", "/api/v1/subscriptions/plans/pro"),
    ("GET", "/api/v1/subscriptions/plans/"),
    ("GET", "/api/v1/subscriptions/plans/a/b"),
    ("GET", "/api/v1/subscriptions/plans/%ff"),
    ("POST", "/api/v1/billing/webhooks/stripe"),
    ("POST", "/api/v1/admin/webhook-endpoints/ep_1/rotate-secret"),
    ("PUT", "/api/v1/admin/webhook-endpoints/ep_1"),
    ("GET", "/api/v1/usage/user%00x"),
    ("DELETE", "/"),
    ("GET", "//"),
    ("GET", ""),
]
for i, (m, p) in enumerate(routes):
    w("routes", f"r{i}", f"{m} {p}")

# stripe_form: "key\0value\0key\0value..."
w("stripe_form", "simple", b"customer\0cus_123\0metadata[user_id]\0user 1/2\0")
w("stripe_form", "indexed", b"line_items[0][price]\0price_1\0line_items[0][quantity]\x001\0expand[]\0latest_invoice\0")
w("stripe_form", "unicode", "email\0\u00e9l\u00e8ve+x@example.com\0description\0a&b=c%d\0".encode())
w("stripe_form", "bad_key", b"meta[data\0x\0")
w("stripe_form", "empty_value", b"default_payment_method\0\0")
w("stripe_form", "bad_bytes", b"k\0\xff\xfe\x01\x7f\0")

# framing: request heads
heads = {
    "get": "GET /api/v1/subscriptions/plans HTTP/1.1\r\nHost: x\r\n\r\n",
    "post_length": "POST /api/v1/usage/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "chunked": "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "two_lengths": "POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
    "length_and_te": "POST /a HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    "te_gzip_chunked": "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "te_twice": "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    "folded": "GET /a HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n",
    "bare_lf": "GET /a HTTP/1.1\nContent-Length: 1\n\n",
    "http10": "GET /a HTTP/1.0\r\n\r\n",
    "garbage": "\x00\xff GET\r\n",
}
for name, head in heads.items():
    w("framing", name, head)
