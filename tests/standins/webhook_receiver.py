#!/usr/bin/python3
"""webhook_receiver - a local HTTP server standing in for the platform
services that receive our outgoing webhooks.

Every POST /hooks/<name> is recorded (headers with lower-case names, the raw
body) and answered from <name>'s script: the next scripted response if any
({"status", "retry_after"?, "body"?}), else 200 {"ok":true}. While <name> is
held, its requests wait (up to 120 s) before being answered.

Control endpoints for tests:
  GET  /_control/requests?name=N   recorded requests, oldest first
  POST /_control/script            {"name", "responses": [{"status": 503, "retry_after": 1}, ...]}
  POST /_control/hold              {"name"}
  POST /_control/release           {"name"}

Run: /usr/bin/python3 tests/standins/webhook_receiver.py --port N
It prints "ready" on stdout once listening. Python 3 standard library only.
"""
import argparse
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []
SCRIPTS = {}
HOLDS = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()

    def _reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_control/requests":
            name = urllib.parse.parse_qs(url.query).get("name", [None])[0]
            with LOCK:
                found = [r for r in REQUESTS if name is None or r["name"] == name]
            return self._reply(200, found)
        return self._reply(404, {"error": "not found"})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        raw = self._body()
        if url.path.startswith("/_control/"):
            command = json.loads(raw or b"{}")
            name = command.get("name")
            with LOCK:
                if url.path == "/_control/script":
                    SCRIPTS[name] = list(command.get("responses", []))
                elif url.path == "/_control/hold":
                    HOLDS[name] = threading.Event()
                elif url.path == "/_control/release":
                    event = HOLDS.pop(name, None)
                    if event:
                        event.set()
                else:
                    return self._reply(404, {"error": "unknown control"})
            return self._reply(200, {"ok": True})
        if not url.path.startswith("/hooks/"):
            return self._reply(404, {"error": "not found"})
        name = url.path[len("/hooks/"):]
        record = {"name": name, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": raw.decode("utf-8", errors="replace"), "at": time.time()}
        with LOCK:
            REQUESTS.append(record)
            event = HOLDS.get(name)
            script = SCRIPTS.get(name)
            response = script.pop(0) if script else {"status": 200}
        if event:
            event.wait(120)
        headers = {}
        if response.get("retry_after") is not None:
            headers["Retry-After"] = str(response["retry_after"])
        try:
            self._reply(response.get("status", 200), response.get("body", {"ok": True}), headers)
        except OSError:
            pass  # the sender is gone (a test killed it)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
