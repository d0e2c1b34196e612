"""notify_support - what the notifier tests share: the SMTP sink and the webhook
receiver (real processes on loopback), an independent Standard Webhooks verifier,
and helpers to read what arrived.

The verifier follows the Standard Webhooks specification (standard-webhooks.com,
"Verifying webhook authenticity"), written here from the spec rather than from
the notifier's code: the secret is "whsec_" + base64 of the key; the signed
content is "{webhook-id}.{webhook-timestamp}.{body}"; webhook-signature is a
space-separated list of "v1,<base64 HMAC-SHA256>" and one matching entry is
enough; a timestamp outside the tolerance is refused.
"""
import base64
import email
import email.policy
import hashlib
import hmac
import json
import sys
import time
import urllib.request
from pathlib import Path

from harness import REPO, free_port, tail
from support import poll_until

ADMIN_ENDPOINTS = "/api/v1/admin/webhook-endpoints"
ADMIN_MESSAGES = "/api/v1/admin/webhook-messages"
DEBIAN_PYTHON = "/usr/bin/python3"  # aiosmtpd is Debian's python3-aiosmtpd

# Short delays so the tests never wait for the production schedule.
FAST_NOTIFIER = {
    "WEBHOOK_RETRY_SCHEDULE": "0,1,1,1,1,1",
    "EMAIL_RETRY_SCHEDULE": "0,1,1,1",
    "NOTIFIER_POLL_MS": "100",
    "NOTIFIER_LEASE_S": "5",
    "WEBHOOK_TIMEOUT_MS": "3000",
    "SMTP_TIMEOUT_MS": "3000",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "UNSUBSCRIBE_SECRET": "test-unsubscribe-secret",
    "SMTP_FROM": "Öps Cénter Billing <billing@example.com>",
}


class WebhookVerificationError(Exception):
    pass


def verify_standard_webhook(secret, headers, body, tolerance=300, now=None):
    """Returns the parsed body when the message is authentic, else raises."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing headers")
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    if not secret.startswith("whsec_"):
        raise WebhookVerificationError("not a whsec_ secret")
    key = base64.b64decode(secret[len("whsec_"):])
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{msg_id}.{stamp}.".encode() + payload
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(payload)
    raise WebhookVerificationError("no matching signature")


def admin(stack):
    return {"Authorization": f"Bearer {stack.env['ADMIN_TOKEN']}"}


def wait_for(predicate, timeout=20.0, message="condition not met", interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} (last: {last!r})")


def admin_call(stack, method, path, json_body=None, timeout=15.0):
    """An admin request, retried while the gateway or the notifier is not up yet (503)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _, body = stack.http(method, path, json=json_body, headers=admin(stack))
        except OSError:  # the gateway is not listening yet
            if time.monotonic() > deadline:
                raise
            status, body = 503, None
        if status != 503 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.05)


class Receiver:
    """tests/standins/webhook_receiver.py as a stack process."""

    def __init__(self, stack):
        self.port = free_port()
        self.proc = stack.spawn("webhook-receiver", [sys.executable, "-u", REPO / "tests" / "standins" /
                                                     "webhook_receiver.py", "--port", self.port])
        if not poll_until(lambda: "ready" in self.proc.log() or not self.proc.alive(), 10):
            raise RuntimeError(f"webhook receiver did not start:\n{tail(self.proc.log_path)}")
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, name):
        return f"{self.base}/hooks/{name}"

    def _control(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except OSError as error:
            import subprocess
            listening = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
            raise RuntimeError(f"receiver {self.base} alive={self.proc.alive()}: {error}\n"
                               + "\n".join(l for l in listening.splitlines() if str(self.port) in l)) from error

    def requests(self, name):
        return self._control(f"/_control/requests?name={name}")

    def script(self, name, responses):
        self._control("/_control/script", {"name": name, "responses": responses})

    def hold(self, name):
        self._control("/_control/hold", {"name": name})

    def release(self, name):
        self._control("/_control/release", {"name": name})


class SmtpSink:
    """tests/standins/smtp_sink.py (aiosmtpd) as a stack process; start() may come later than the port."""

    def __init__(self, stack, start=True):
        self.stack = stack
        self.port = free_port()
        self.dir = Path(stack.workdir) / f"mail-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None
        if start:
            self.start()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.proc = self.stack.spawn("smtp-sink", [DEBIAN_PYTHON, "-u", REPO / "tests" / "standins" / "smtp_sink.py",
                                                   "--port", self.port, "--dir", self.dir])
        if not poll_until(lambda: "ready" in self.proc.log() or not self.proc.alive(), 15) or not self.proc.alive():
            raise RuntimeError(f"smtp sink did not start:\n{tail(self.proc.log_path)}")

    def hold(self):
        (self.dir / "HOLD").write_text("")

    def release(self):
        (self.dir / "HOLD").unlink(missing_ok=True)

    def messages(self):
        """Every message received, oldest first, parsed (email.message.EmailMessage) with .envelope."""
        found = []
        for path in sorted(self.dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            message.envelope = json.loads(path.with_suffix(".json").read_text())
            message.raw = path.read_bytes()
            found.append(message)
        return found

    def to(self, address):
        return [m for m in self.messages() if address in m.envelope["rcpt_tos"]]


def bodies(message):
    """(text, html) of a multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def create_endpoint(stack, url, events=("*",), description="test"):
    status, body = admin_call(stack, "POST", ADMIN_ENDPOINTS,
                              {"url": url, "events": list(events), "description": description})
    assert status == 201, body
    return body


def start_notifier(stack, sink=None, **env):
    settings = {**FAST_NOTIFIER, "PUBLIC_BASE_URL": stack.url(""), **env}
    if sink is not None:
        settings["SMTP_URL"] = sink.url
    return stack.start("notifier", **settings)


def notification_rows(stack, kind=None):
    with stack.db().cursor() as cur:
        cur.execute("SELECT id, kind, user_id, status, attempts, last_error, email_to, message_id FROM notifications"
                    " WHERE %s::text IS NULL OR kind = %s ORDER BY id", (kind, kind))
        keys = ("id", "kind", "user_id", "status", "attempts", "last_error", "email_to", "message_id")
        return [dict(zip(keys, row)) for row in cur.fetchall()]


def insert_notification(stack, kind, user_id, payload, dedupe_key=None, email_address=None):
    """A request row as another service writes it (and, when asked, the user's stored address)."""
    with stack.db().cursor() as cur:
        if email_address:
            cur.execute("INSERT INTO customers (user_id, email) VALUES (%s, %s)"
                        " ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email", (user_id, email_address))
        cur.execute("INSERT INTO notifications (dedupe_key, kind, user_id, payload) VALUES (%s, %s, %s, %s)"
                    " RETURNING id", (dedupe_key or f"test:{time.monotonic_ns()}:{kind}", kind, user_id,
                                      json.dumps(payload)))
        return cur.fetchone()[0]


def verified(receiver, name, secret):
    """Every request the receiver got for name, verified: [(headers, body dict)]."""
    return [(r["headers"], verify_standard_webhook(secret, r["headers"], r["body"])) for r in receiver.requests(name)]
