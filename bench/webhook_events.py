#!/usr/bin/env python3
"""Writes N distinct signed Stripe events for bench/webhooks.lua, one per line:
<event id> TAB <Stripe-Signature> TAB <body>. Signed now: use them within the
gateway's tolerance (STRIPE_WEBHOOK_TOLERANCE_S, 300 s)."""
import hashlib
import hmac
import json
import sys
import time


def main():
    count, secret, prefix, event_type, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    now = int(time.time())
    key = secret.encode()
    with open(out, "w") as f:
        for n in range(count):
            event_id = f"evt_{prefix}_{n}"
            body = json.dumps({
                "id": event_id, "object": "event", "api_version": "2024-06-20", "created": now,
                "data": {"object": {"id": f"ch_{prefix}_{n}", "object": "charge", "amount": 1900, "currency": "usd",
                                    "customer": f"cus_{prefix}", "paid": True, "status": "succeeded"}},
                "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                "type": event_type}, separators=(",", ":"))
            signature = hmac.new(key, f"{now}.{body}".encode(), hashlib.sha256).hexdigest()
            f.write(f"{event_id}\tt={now},v1={signature}\t{body}\n")


if __name__ == "__main__":
    main()
