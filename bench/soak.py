"""bench/soak.py - a long mixed soak on loopback; prints every process's memory.

Starts its own throwaway stack exactly as the integration tests do (private
Postgres and Redis at free ports, migrated database, the Stripe and Lago
stand-ins, the gateway and one of each worker; everything on 127.0.0.1), then
for SOAK_SECONDS drives CLIENTS threads of mixed traffic: valid calls (plans,
signed webhooks, usage ingest and authorize, admin listings, health) and the
malformed requests of tests/integration/test_malformed_requests.py. Every
SAMPLE_SECONDS it samples VmRSS and RssAnon of each process from /proc.

At the end it prints, per process, the anonymous memory at the end of the
first and second half and the growth per request over the second half; a
process "levels off" when its second half grew under LEVEL_KB (default 512).
Exit status 1 if any process died or did not level off.

    python3 bench/soak.py                      # SOAK_SECONDS=3600
    SOAK_SECONDS=120 OB_BUILD_DIR=build python3 bench/soak.py
"""
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from harness import REPO, Postgres, Redis, Stack, base_env, binary  # noqa: E402
from support import sign_stripe  # noqa: E402
import subprocess  # noqa: E402
from test_malformed_requests import JWT_SECRET, build_request, exchange  # noqa: E402

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "3600"))
SAMPLE_SECONDS = int(os.environ.get("SAMPLE_SECONDS", str(max(5, SOAK_SECONDS // 60))))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
LEVEL_KB = int(os.environ.get("LEVEL_KB", "512"))


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                fields[name] = int(value.split()[0])
    return fields


def valid_request(rng, stack, now):
    kind = rng.randrange(6)
    if kind == 0:
        return stack.http("GET", "/api/v1/subscriptions/plans" + rng.choice(["", "/starter", "/none"]))
    if kind == 1:
        evt = {"id": f"evt_soak_{rng.randrange(10 ** 12)}", "object": "event", "type": "charge.succeeded",
               "created": now, "livemode": False, "data": {"object": {"id": "ch_1"}}}
        raw = json.dumps(evt)
        return stack.http("POST", "/api/v1/billing/webhooks/stripe", body=raw,
                          headers={"Stripe-Signature": sign_stripe(raw, stack.env["STRIPE_WEBHOOK_SECRET"]),
                                   "Content-Type": "application/json"})
    if kind == 2:
        events = [{"transaction_id": f"soak-{rng.randrange(10 ** 12)}", "user_id": f"soak-{rng.randrange(50)}",
                   "code": "api_calls"}]
        return stack.http("POST", "/api/v1/usage/events", json={"events": events},
                          headers={"Authorization": "Bearer test-service-token"})
    if kind == 3:
        return stack.http("POST", "/api/v1/usage/authorize",
                          json={"user_id": f"soak-{rng.randrange(50)}", "code": "api_calls",
                                "transaction_id": f"auth-{rng.randrange(10 ** 12)}"},
                          headers={"Authorization": "Bearer test-service-token"})
    if kind == 4:
        return stack.http("GET", "/api/v1/admin/webhook-events?limit=5",
                          headers={"Authorization": "Bearer test-admin-token"})
    return stack.http("GET", "/health")


def main():
    postgres, redis = Postgres().start(), Redis().start()
    workdir = tempfile.mkdtemp(prefix="ob-soak-")
    stack = None
    try:
        postgres.create_database("ob_soak")
        subprocess.run([str(binary("billing-admin")), "migrate"], check=True, cwd=REPO, capture_output=True,
                       env=base_env(DATABASE_URL=postgres.url("ob_soak"), MIGRATIONS_DIR=REPO / "deploy" / "migrations"))
        stack = Stack(postgres, redis, "ob_soak", workdir)
        stack.env["LOG_LEVEL"] = "warn"
        stack.env["AUTH_JWT_SECRET"] = JWT_SECRET
        stack.standin("stripe")
        stack.standin("lago")
        stack.start_all()
        stack.wait_ready(timeout=30)
        procs = {proc.name: proc for proc in stack.procs if not proc.name.endswith("standin")}

        stop = time.monotonic() + SOAK_SECONDS
        counts = [0] * CLIENTS
        errors = []

        def client(index):
            rng = random.Random(1000 + index)
            while time.monotonic() < stop:
                now = int(time.time())
                try:
                    if rng.random() < 0.5:
                        valid_request(rng, stack, now)
                    else:
                        exchange(stack.port, build_request(rng, stack.env, now), timeout=5.0)
                except OSError as error:
                    errors.append(repr(error))
                counts[index] += 1

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        samples = []  # (elapsed s, requests, {name: {VmRSS, RssAnon}})
        started = time.monotonic()
        print(f"soak: {SOAK_SECONDS}s, {CLIENTS} clients, sample every {SAMPLE_SECONDS}s (kB: rss/anon)")
        print("  t(s)  requests  " + "  ".join(f"{name:>21}" for name in procs))
        while True:
            elapsed = time.monotonic() - started
            row = {name: memory(proc.pid) for name, proc in procs.items() if proc.alive()}
            samples.append((elapsed, sum(counts), row))
            print(f"{elapsed:6.0f}  {sum(counts):8d}  " + "  ".join(
                f"{row.get(name, {}).get('VmRSS', 0):>10}/{row.get(name, {}).get('RssAnon', 0):<10}" for name in procs))
            if time.monotonic() >= stop:
                break
            time.sleep(min(SAMPLE_SECONDS, max(0.0, stop - time.monotonic())))
        for thread in threads:
            thread.join(10)

        ok = True
        dead = [name for name, proc in procs.items() if not proc.alive()]
        if dead:
            print(f"soak: processes died: {dead}")
            ok = False
        half = samples[len(samples) // 2]
        last = samples[-1]
        print(f"soak: {last[1]} requests, {len(errors)} client errors")
        print("process               anon@half  anon@end  growth(kB)  bytes/request(2nd half)  levels off")
        for name in procs:
            if name not in last[2] or name not in half[2]:
                continue
            a, b = half[2][name]["RssAnon"], last[2][name]["RssAnon"]
            requests = max(1, last[1] - half[1])
            level = b - a < LEVEL_KB
            ok &= level
            print(f"{name:20}  {a:9d}  {b:8d}  {b - a:10d}  {1024 * (b - a) / requests:23.2f}  {'yes' if level else 'NO'}")
        return 0 if ok else 1
    finally:
        if stack:
            stack.close()
        redis.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
