#!/usr/bin/python3
"""login_standin - a local stand-in for the platform's sign-in page (LOGIN_URL).

The billing pages send a visitor who is not signed in to
LOGIN_URL?return_to=<address>. This stand-in shows a sign-in form there;
submitting it sets the session cookie the gateway reads (AUTH_COOKIE_NAME): an
HS256 JWT {"sub", "email", "iat", "exp"} signed with the test secret
(AUTH_JWT_SECRET), HttpOnly, SameSite=Lax, Path=/. Then it redirects (303)
back to return_to. Cookies are per host, not per port, so a cookie set here
on 127.0.0.1 reaches the gateway on 127.0.0.1 too.

  GET  /login?return_to=URL   the form (user id and e-mail prefilled)
  POST /login                 sign in: Set-Cookie, 303 to return_to
  GET  /logout?return_to=URL  clears the cookie

return_to must start with --allowed-return (no open redirect).

Run: /usr/bin/python3 tests/standins/login_standin.py --port N --secret S --cookie-name ob_session
     --allowed-return http://127.0.0.1:8084/ [--user user_1 --email user1@example.com]
It prints "ready" on stdout once listening. Needs python3-jwt (Debian).
"""
import argparse
import html
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt

SETTINGS = {}
STYLE = ("body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}main{max-width:24rem;margin:4rem auto;"
         "background:#fff;padding:2rem;border-radius:12px}label{display:block;font-weight:600;margin-top:1rem}"
         "input{width:100%;padding:.6rem;font-size:1rem;border:1px solid #767676;border-radius:6px}"
         "button{margin-top:1.5rem;width:100%;padding:.8rem;font-size:1rem;font-weight:600;color:#fff;"
         "background:#1f4fd1;border:0;border-radius:8px}:focus-visible{outline:3px solid #c2410c;outline-offset:2px}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def allowed(self, target):
        return isinstance(target, str) and target.startswith(SETTINGS["allowed_return"])

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        target = query.get("return_to", SETTINGS["allowed_return"])
        if not self.allowed(target):
            return self.reply(400, b"<h1>return_to is not allowed</h1>")
        if url.path == "/logout":
            cookie = f"{SETTINGS['cookie']}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
            return self.reply(303, b"", [("Location", target), ("Set-Cookie", cookie)])
        if url.path != "/login":
            return self.reply(404, b"<h1>Not found</h1>")
        body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in</title><style>{STYLE}</style></head>
<body><main><h1>Sign in to Ops Center</h1><form method="post" action="/login">
<input type="hidden" name="return_to" value="{html.escape(target)}">
<label for="user">User id</label><input id="user" name="user" value="{html.escape(SETTINGS['user'])}" autocomplete="username">
<label for="email">E-mail</label><input id="email" name="email" type="email" value="{html.escape(SETTINGS['email'])}">
<button type="submit">Sign in</button></form></main></body></html>"""
        self.reply(200, body.encode())

    def do_POST(self):
        if urlsplit(self.path).path != "/login":
            return self.reply(404, b"<h1>Not found</h1>")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        target = form.get("return_to", "")
        if not self.allowed(target) or not form.get("user"):
            return self.reply(400, b"<h1>Bad sign-in request</h1>")
        issued = int(time.time())
        token = jwt.encode({"sub": form["user"], "email": form.get("email") or None, "iat": issued,
                            "exp": issued + 3600}, SETTINGS["secret"], algorithm="HS256")
        cookie = f"{SETTINGS['cookie']}={token}; Path=/; HttpOnly; SameSite=Lax"
        self.reply(303, b"", [("Location", target), ("Set-Cookie", cookie)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--cookie-name", required=True)
    ap.add_argument("--allowed-return", required=True)
    ap.add_argument("--user", default="user_1")
    ap.add_argument("--email", default="user1@example.com")
    args = ap.parse_args()
    SETTINGS.update(secret=args.secret, cookie=args.cookie_name, allowed_return=args.allowed_return,
                    user=args.user, email=args.email)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
