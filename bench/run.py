"""bench/run.py - the benchmark of issue 15 (a benchmark, not a test). Run it as bench/run.sh.

    bench/run.sh                      ceilings, the four jobs, checks, the README table
    bench/run.sh webhook authorize    only these jobs (ceilings still measured)
    bench/run.sh --breakdown [JOB..]  where the time goes: instructions (callgrind),
                                      system calls and socket writes (strace) per request

Starts its own throwaway stack on 127.0.0.1: a private Postgres cluster with
fsync ON and synchronous_commit ON (as production runs; it refuses to go on
otherwise), pg_stat_statements loaded, track_wal_io_timing on; a private
redis-server; the migrated database; the gateway and every worker from
$OB_BUILD_DIR (default build). Then:

1. Ceilings, in the same run: GET /health through the gateway (wrk, static
   request); pgbench one-row and 100-row INSERT transactions; the authorize Lua
   script alone with redis-benchmark, plain and pipelined, called exactly as
   the lago-worker calls it (captured with MONITOR from a real authorize).
2. The jobs, each with wrk (THREADS threads, CONNECTIONS connections, DURATION
   s), every request distinct and formatted beforehand (bench/wrk_requests.lua):
   webhook  - signed distinct Stripe events, POST /api/v1/billing/webhooks/stripe
   batch    - usage ingest, 100 distinct events a request, POST /api/v1/usage/events
   authorize- quota authorize, distinct transaction ids, POST /api/v1/usage/authorize
   check    - entitlements check (issue 18), POST /api/v1/entitlements/check
3. Per job: throughput, p50/p99, the ratio to its ceiling, CPU of each
   process, COMMITs, WAL fsyncs, SQL statements and Redis commands per
   request; RSS and PSS of each process idle and after the jobs.
4. Exactly once: for each writing job the stored rows of the run are counted
   against wrk's 2xx count (requests - non-2xx): every 2xx must be stored
   (stored >= 2xx) and nothing stored that was not sent (stored <= sent);
   exit status 1 when violated. No timing is ever asserted.
5. A markdown table for the README (date, machine, load average).

Knobs (environment): THREADS (2), CONNECTIONS (64), DURATION (10), USERS
(1000 per job), PG_BATCH_CLIENTS (8), REDIS_PIPELINE (16), REDIS_REQUESTS
(plain: 25000 x DURATION; pipelined x2), PREPARE_WEBHOOK (40000/s),
PREPARE_BATCH (150000 events/s), PREPARE_AUTHORIZE (50000/s): how many
distinct requests are built per second of DURATION (a thread that runs out
stops, and the job is marked "exhausted": raise the figure). OB_BUILD_DIR.
Breakdown: BREAKDOWN_REQUESTS (3000; batch: a tenth), BREAKDOWN_CONNECTIONS (64).
"""
import asyncio
import hashlib
import hmac
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

from harness import Postgres, Redis, Stack, binary, die_with_parent  # noqa: E402

THREADS = int(os.environ.get("THREADS", "2"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
DURATION = int(os.environ.get("DURATION", "10"))
USERS = int(os.environ.get("USERS", "1000"))
PG_BATCH_CLIENTS = int(os.environ.get("PG_BATCH_CLIENTS", "8"))
REDIS_PIPELINE = int(os.environ.get("REDIS_PIPELINE", "16"))
REDIS_REQUESTS = int(os.environ.get("REDIS_REQUESTS", str(25000 * DURATION)))
PREPARE = {
    "webhook": int(os.environ.get("PREPARE_WEBHOOK", "40000")),
    "batch": int(os.environ.get("PREPARE_BATCH", "150000")) // 100,
    "authorize": int(os.environ.get("PREPARE_AUTHORIZE", "50000")),
    "check": 20000,
}
BREAKDOWN_REQUESTS = int(os.environ.get("BREAKDOWN_REQUESTS", "3000"))
BREAKDOWN_CONNECTIONS = int(os.environ.get("BREAKDOWN_CONNECTIONS", "64"))
JOBS = ("webhook", "batch", "authorize", "check")
WORKER_OF = {"webhook": "stripe-worker", "batch": "lago-worker", "authorize": "lago-worker",
             "check": "subscription-worker"}
EVENTS_PER_REQUEST = {"batch": 100}
SERVICE_TOKEN = "bench-service-token"
WEBHOOK_SECRET = "whsec_bench"
TARGETS = {"webhook": "≥ 45,000 events/s, p99 < 10 ms", "batch": "≥ 250,000 events/s",
           "authorize": "≥ 50,000 req/s, p99 < 2 ms", "check": "—"}
TITLES = {"webhook": "Stripe webhook ingest (verify, commit, 200)",
          "batch": "usage ingest, batches of 100 (commit, 202)",
          "authorize": "quota authorize (check-and-consume + ledger row)",
          "check": "entitlements check (hot copy, no Postgres)"}


def say(text=""):
    print(text, flush=True)


# ---- the stores ---------------------------------------------------------------------------------

class DurablePostgres(Postgres):
    """The harness's private cluster, but durable: fsync, synchronous_commit and
    full_page_writes on (the harness turns them off for tests)."""

    SETTINGS = ("fsync=on", "synchronous_commit=on", "full_page_writes=on", "max_connections=300",
                "shared_buffers=256MB", "shared_preload_libraries=pg_stat_statements",
                "pg_stat_statements.track=all", "track_wal_io_timing=on")

    def _spawn_server(self):
        args = [str(self.bindir / "postgres"), "-D", f"{self.dir}/data", "-p", str(self.port), "-k", self.dir,
                "-c", "listen_addresses=127.0.0.1"]
        for setting in self.SETTINGS:
            args += ["-c", setting]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.dir, user=self._user, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=die_with_parent(signal.SIGQUIT))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._accepts():
                return True
            time.sleep(0.1)
        return False


# ---- requests -----------------------------------------------------------------------------------

def raw_request(method, path, host, headers, body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def build_requests(job, run, host, count, now=None):
    """Yields count distinct ready requests (bytes) of a job."""
    now = int(now or time.time())
    json_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SERVICE_TOKEN}"}
    if job == "webhook":
        key = WEBHOOK_SECRET.encode()
        for n in range(count):
            event_id = f"evt_{run}_{n}"
            body = json.dumps({
                "id": event_id, "object": "event", "api_version": "2024-06-20", "created": now,
                "data": {"object": {"id": f"ch_{run}_{n}", "object": "charge", "amount": 1900, "currency": "usd",
                                    "customer": f"cus_{run}", "paid": True, "status": "succeeded"}},
                "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                "type": "charge.succeeded"}, separators=(",", ":")).encode()
            signature = hmac.new(key, f"{now}.".encode() + body, hashlib.sha256).hexdigest()
            yield raw_request("POST", "/api/v1/billing/webhooks/stripe", host,
                              {"Content-Type": "application/json", "Stripe-Signature": f"t={now},v1={signature}"},
                              body)
    elif job == "batch":
        for n in range(count):
            events = ",".join(
                f'{{"transaction_id":"{run}-b-{n}-{i}","user_id":"bench-i{(n * 100 + i) % USERS}",'
                f'"code":"api_calls","timestamp":{now}}}' for i in range(100))
            yield raw_request("POST", "/api/v1/usage/events", host, json_headers,
                              f'{{"events":[{events}]}}'.encode())
    elif job == "authorize":
        for n in range(count):
            body = (f'{{"transaction_id":"{run}-a-{n}","user_id":"bench-a{n % USERS}",'
                    f'"code":"api_calls","quantity":1}}').encode()
            yield raw_request("POST", "/api/v1/usage/authorize", host, json_headers, body)
    elif job == "check":
        features = ("tts", "litellm", "chat", "bolt_diy")  # bolt_diy: refused with 200 allowed=false
        for n in range(count):
            body = f'{{"user_id":"bench-a{n % USERS}","feature":"{features[n % len(features)]}"}}'.encode()
            yield raw_request("POST", "/api/v1/entitlements/check", host, json_headers, body)
    else:
        raise ValueError(job)


def write_request_files(prefix, requests, threads):
    """Spreads requests over one file per wrk thread (prefix.0, prefix.1, ...)."""
    files = [open(f"{prefix}.{i}", "wb") for i in range(threads)]
    count = 0
    for n, request in enumerate(requests):
        out = files[n % threads]
        out.write(b"%d\n" % len(request))
        out.write(request)
        count += 1
    for out in files:
        out.close()
    return count


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            fields = dict(item.split("=", 1) for item in line.split()[1:])
            return {k: float(v) for k, v in fields.items()}
    raise RuntimeError(f"wrk printed no RESULT line:\n{text}")


# ---- /proc --------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return 0.0


def children_of(parent):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def memory(pid):
    """(RSS, peak RSS, PSS) in KiB."""
    rss = hwm = pss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm, pss


# ---- the bench ----------------------------------------------------------------------------------

class Bench:
    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix="ob-bench-"))
        self.run = f"r{int(time.time())}"
        self.postgres = DurablePostgres().start()
        self.redis_server = Redis().start()
        self.postgres.create_database("bench")
        self.postgres.create_database("ceiling")
        self.stack = Stack(self.postgres, self.redis_server, "bench", self.work)
        self.stack.env.update({"LOG_LEVEL": "warn", "SERVICE_TOKENS": SERVICE_TOKEN,
                               "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET})
        self.stack.env.pop("HEARTBEAT_MS", None)  # the production default, not the tests' 200 ms
        result = self.stack.admin("migrate")
        if result.returncode != 0:
            raise RuntimeError(f"billing-admin migrate failed:\n{result.stdout}{result.stderr}")
        self.db = self.stack.db()
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        # The counters are read from another database, so reading them adds no commits to bench's.
        self.stats_db = self.postgres.connect("postgres")
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=self.stats_db)
        self.redis = self.stack.redis()
        self.host = f"127.0.0.1:{self.stack.port}"
        self.procs = {}
        self.problems = []

    # -- setup --

    def sql(self, query, params=None, db=None):
        with (db or self.db).cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None

    def check_durable(self):
        settings = dict(self.sql("SELECT name, setting FROM pg_settings WHERE name IN "
                                 "('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')"))
        if settings.get("fsync") != "on" or settings.get("synchronous_commit") != "on":
            raise RuntimeError(f"Postgres is not durable: {settings}")
        return settings

    def start_services(self, wrap=None):
        for name in ("gateway", "stripe-worker", "subscription-worker", "lago-worker", "notifier"):
            self.start_service(name, wrap)
        self.stack.wait_ready(60)

    def start_service(self, name, wrap=None):
        argv = list(wrap or []) + [binary(name)]
        # USAGE_RUNTIMES (knob): "usage" runtimes in the lago-worker (docs/performance.md, usage ingest).
        env = {"USAGE_RUNTIMES": os.environ["USAGE_RUNTIMES"]} if name == "lago-worker" and "USAGE_RUNTIMES" in os.environ else {}
        self.procs[name] = self.stack.spawn(name, argv, **env)
        return self.procs[name]

    def restart(self, name, wrap=None):
        self.stack.stop(self.procs[name], timeout=30)
        proc = self.start_service(name, wrap)
        if name == "gateway":
            self.stack.wait_ready(120)
        return proc

    def seed(self):
        """USERS professional subscribers for ingest (bench-i*) and for authorize and
        checks (bench-a*), kept apart so the quota counters of the authorize users
        count authorize calls only; bench-ceil for the redis-benchmark ceiling."""
        deadline = time.monotonic() + 30
        while self.sql("SELECT count(*) FROM plans")[0][0] < 4:
            if time.monotonic() > deadline:
                raise RuntimeError("the plans were never loaded")
            time.sleep(0.2)
        self.sql("""
          INSERT INTO customers (user_id)
            SELECT p || g FROM generate_series(0, %(n)s - 1) g, unnest(ARRAY['bench-i', 'bench-a']) p
            UNION ALL SELECT 'bench-ceil';
          INSERT INTO subscriptions (id, user_id, plan_id, interval, status, started_at, current_period_start,
                                     current_period_end)
            SELECT 'sub_' || user_id, user_id, 'professional', 'month', 'active', now() - interval '3 days',
                   now() - interval '3 days', now() + interval '27 days' FROM customers
             WHERE user_id LIKE 'bench-%%'""", {"n": USERS})
        # Warm the hot copy: one check and one authorize per authorize user, in parallel.
        warm = [raw_request("POST", "/api/v1/entitlements/check", self.host,
                            {"Content-Type": "application/json", "Authorization": f"Bearer {SERVICE_TOKEN}"},
                            f'{{"user_id":"bench-a{n}","feature":"tts"}}'.encode()) for n in range(USERS)]
        warm += [raw_request("POST", "/api/v1/usage/authorize", self.host,
                             {"Content-Type": "application/json", "Authorization": f"Bearer {SERVICE_TOKEN}"},
                             f'{{"transaction_id":"warm-{u}","user_id":"{u}","code":"api_calls","quantity":1}}'
                             .encode()) for u in [f"bench-a{n}" for n in range(USERS)] + ["bench-ceil"]]
        statuses = asyncio.run(http_blast(self.stack.port, warm, 32))
        good = sum(1 for s in statuses if 200 <= s < 300)
        if good != len(warm):
            raise RuntimeError(f"warm-up: {good} of {len(warm)} answered 2xx ({sorted(set(statuses))})")

    # -- measurements --

    def wrk(self, script, path="/", env=None, cycle=False):
        env = {**os.environ, **(env or {}), "BENCH_CYCLE": "1" if cycle else "0"}
        # stdbuf: wrk's "Running ..." line must arrive when printed (see measure), not at its exit.
        argv = ["stdbuf", "-oL", "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--timeout", "30s", "-s",
                str(HERE / script), f"http://{self.host}{path}"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return proc

    def processes(self):
        """name -> list of pids, for CPU accounting."""
        out = {name: [proc.pid] for name, proc in self.procs.items() if proc.alive()}
        out["postgres"] = [self.postgres.proc.pid] + children_of(self.postgres.proc.pid)
        out["redis-server"] = [self.redis_server.proc.pid]
        return out

    def counters(self):
        sdb = self.stats_db
        pg = self.sql("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = 'bench'", db=sdb)[0]
        wal = self.sql("SELECT wal_sync, wal_sync_time, wal_write, wal_records FROM pg_stat_wal", db=sdb)[0]
        statements = self.sql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d "
                              "ON d.oid = s.dbid WHERE d.datname = 'bench'", db=sdb)[0][0]
        stats = self.redis.info("stats")
        return {"commits": pg[0], "rollbacks": pg[1], "wal_sync": wal[0], "wal_sync_ms": wal[1],
                "wal_write": wal[2], "statements": int(statements),
                "redis_commands": stats["total_commands_processed"],
                "redis_cmd": {k: v["calls"] for k, v in self.redis.info("commandstats").items()},
                "time": time.monotonic()}

    def measure(self, script, path="/", env=None, cycle=False):
        """Runs wrk; returns its RESULT, the CPU seconds of each process, and store counters."""
        self.quiesce()
        self.sql("SELECT pg_stat_statements_reset()", db=self.stats_db)
        before = self.counters()
        busy_before = system_cpu()
        pids = self.processes()
        cpu_before = {name: sum(cpu_seconds(p) for p in ps) for name, ps in pids.items()}
        proc = self.wrk(script, path, env, cycle)
        # wrk prints "Running ..." once every thread's init() is done: its CPU from then on is the load's.
        lines = []
        wrk_start = None
        wrk_cpu = 0.0
        for line in proc.stdout:
            lines.append(line)
            if wrk_start is None and line.startswith("Running"):
                wrk_start = cpu_seconds(proc.pid)
            if wrk_start is not None:
                wrk_cpu = cpu_seconds(proc.pid) - wrk_start
        proc.wait()
        output = "".join(lines)
        pids = self.processes()  # backends born during the run count too
        cpu_after = {name: sum(cpu_seconds(p) for p in ps) for name, ps in pids.items()}
        busy_after = system_cpu()
        after = self.counters()
        result = parse_result(output)
        cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        cpu["wrk"] = wrk_cpu
        cpu["machine-busy"] = (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1) * (
            result["seconds"] * os.cpu_count())
        top = self.sql("SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_statements s "
                       "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'bench' ORDER BY calls DESC LIMIT 6",
                       db=self.stats_db)
        delta = {k: after[k] - before[k] for k in after if k not in ("redis_cmd",)}
        delta["redis_cmd"] = {k: v - before["redis_cmd"].get(k, 0) for k, v in after["redis_cmd"].items()
                              if v - before["redis_cmd"].get(k, 0) > 0}
        delta["redis_commands"] -= delta["redis_cmd"].pop("cmdstat_info", 0)  # ours
        return result, cpu, delta, top

    BACKLOG = ("SELECT (SELECT count(*) FROM stripe_events WHERE status = 'pending') + "
               "(SELECT count(*) FROM entitlement_versions WHERE published_version < version)")

    def quiesce(self, timeout=60):
        """Waits until the previous job's background work is done (the Stripe processor
        working off its inbox, entitlement copies to publish) and our processes are
        (nearly) idle, so that it does not run into the next measurement."""
        t0 = time.monotonic()
        deadline = t0 + 300
        backlog = self.sql(self.BACKLOG)[0][0]
        while backlog and time.monotonic() < deadline:
            time.sleep(1)
            backlog = self.sql(self.BACKLOG)[0][0]
        if time.monotonic() - t0 > 2:
            say(f"   (waited {time.monotonic() - t0:.0f}s for the background work of the previous job to drain"
                f"{'' if not backlog else f'; {backlog} items still pending'})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for ps in self.processes().values() for p in ps]
            before = sum(cpu_seconds(p) for p in pids)
            time.sleep(1)
            if sum(cpu_seconds(p) for p in pids) - before < 0.1:
                return
        say("   NOTE: the stack did not go idle within 60 s")

    # -- ceilings --

    def ceiling_http(self):
        say("== ceiling: GET /health through the gateway (wrk, static request)")
        result, cpu, _, _ = self.measure("wrk_static.lua", "/health")
        say(f"   {fmt_result(result)}")
        say("   CPU µs per request: " + ", ".join(
            f"{name} {1e6 * c / max(result['requests'], 1):.1f}" for name, c in sorted(cpu.items(), key=lambda kv: -kv[1])
            if name != "machine-busy" and c > 0.03 * result["seconds"]))
        return {"rps": result["rps"], "p50": result["p50_ms"], "p99": result["p99_ms"], "cpu": cpu,
                "seconds": result["seconds"]}

    def pgbench(self, script, clients, dbname="ceiling"):
        path = self.work / "pgbench.sql"
        path.write_text(script)
        os.chmod(self.work, 0o755)
        os.chmod(path, 0o644)
        before = self.sql("SELECT wal_sync, wal_sync_time FROM pg_stat_wal")[0]
        argv = [str(self.postgres.bindir / "pgbench"), "-n", "-M", "prepared", "-h", "127.0.0.1",
                "-p", str(self.postgres.port), "-U", "postgres", "-c", str(clients), "-j", str(min(THREADS, clients)),
                "-T", str(DURATION), "-f", str(path), dbname]
        out = subprocess.run(argv, capture_output=True, text=True)
        after = self.sql("SELECT wal_sync, wal_sync_time FROM pg_stat_wal")[0]
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
        latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
        if out.returncode != 0 or not tps:
            raise RuntimeError(f"pgbench failed:\n{out.stdout}{out.stderr}")
        syncs = after[0] - before[0]
        return {"tps": float(tps[1]), "latency": float(latency[1]) if latency else 0.0, "fsyncs": syncs,
                "fsync_ms": (after[1] - before[1]) / syncs if syncs else 0.0}

    def ceiling_postgres(self):
        conn = self.postgres.connect("ceiling")
        self.sql("CREATE TABLE ceiling_rows (id bigserial PRIMARY KEY, user_id text NOT NULL, "
                 "properties jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())", db=conn)
        conn.close()
        say(f"== ceiling: Postgres (fsync on), one-row INSERT transactions, {CONNECTIONS} clients (pgbench)")
        one = self.pgbench("INSERT INTO ceiling_rows (user_id, properties) VALUES ('u' || :client_id, '{}');\n",
                           CONNECTIONS)
        say(f"   tps={one['tps']:.0f} latency_avg_ms={one['latency']:.2f} fsyncs={one['fsyncs']} "
            f"avg_fsync_ms={one['fsync_ms']:.2f}")
        say(f"== ceiling: Postgres (fsync on), 100-row INSERT transactions, {PG_BATCH_CLIENTS} clients (pgbench)")
        hundred = self.pgbench("INSERT INTO ceiling_rows (user_id, properties) SELECT 'u' || g, '{}' "
                               "FROM generate_series(1, 100) g;\n", PG_BATCH_CLIENTS)
        say(f"   tps={hundred['tps']:.0f} rows_per_s={hundred['tps'] * 100:.0f} "
            f"latency_avg_ms={hundred['latency']:.2f} fsyncs={hundred['fsyncs']} "
            f"avg_fsync_ms={hundred['fsync_ms']:.2f}")
        # The jobs' own row shapes (columns, defaults, checks and indexes copied with LIKE ... INCLUDING ALL),
        # 100 rows a transaction: what Postgres can store of them here, whatever the code in front does.
        self.sql("CREATE SEQUENCE ceiling_seq; CREATE TABLE ceiling_usage (LIKE usage_events INCLUDING ALL); "
                 "CREATE TABLE ceiling_stripe (LIKE stripe_events INCLUDING ALL)")
        shapes = {}
        for label, table, script in (
                ("usage_events", "ceiling_usage",
                 "INSERT INTO ceiling_usage (transaction_id, user_id, code, occurred_at, properties) "
                 "SELECT 'c' || nextval('ceiling_seq'), 'bench-c' || g, 'api_calls', now(), '{}' "
                 "FROM generate_series(1, 100) g;\n"),
                ("stripe_events", "ceiling_stripe",
                 "INSERT INTO ceiling_stripe (id, type, created, payload) "
                 "SELECT 'evt_c' || nextval('ceiling_seq'), 'charge.succeeded', 0, repeat('x', 600) "
                 "FROM generate_series(1, 100) g;\n")):
            say(f"== ceiling: {label} rows (the table's own shape and indexes), 100-row transactions, "
                f"{PG_BATCH_CLIENTS} clients (pgbench)")
            shapes[label] = self.pgbench(script, PG_BATCH_CLIENTS, "bench")
            r = shapes[label]
            say(f"   rows_per_s={r['tps'] * 100:.0f} latency_avg_ms={r['latency']:.2f} fsyncs={r['fsyncs']} "
                f"avg_fsync_ms={r['fsync_ms']:.2f}")
        self.sql("DROP TABLE ceiling_usage, ceiling_stripe; DROP SEQUENCE ceiling_seq")
        return one, hundred, shapes

    def capture_authorize(self):
        """The EVALSHA the lago-worker sends for one authorize (MONITOR), as argv."""
        tx = f"ceilcapture{self.run}"
        sock = socket.create_connection(("127.0.0.1", self.redis_server.port))
        sock.sendall(b"MONITOR\r\n")
        lines = []

        def reader():
            buf = b""
            sock.settimeout(5)
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                    if tx.encode() in buf and b"EVALSHA" in buf.upper():
                        time.sleep(0.3)
                        try:
                            buf += sock.recv(65536)
                        except OSError:
                            pass
                        break
            except OSError:
                pass
            lines.extend(buf.decode(errors="replace").splitlines())

        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.3)
        status, _, body = self.stack.http(
            "POST", "/api/v1/usage/authorize", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
            json={"transaction_id": tx, "user_id": "bench-ceil", "code": "api_calls", "quantity": 1})
        thread.join()
        sock.close()
        if status != 200:
            raise RuntimeError(f"capture: authorize answered {status} {body}")
        for line in lines:
            if "] " not in line:
                continue
            argv = shlex.split(line.split("] ", 1)[1])
            if argv and argv[0].upper() == "EVALSHA" and any(tx in arg for arg in argv):
                return argv, tx
        raise RuntimeError("capture: no EVALSHA naming the transaction in MONITOR's output")

    def ceiling_redis(self):
        argv, tx = self.capture_authorize()
        # A copy of bench-ceil's keys in database 1 with an unreachable limit: every call takes the full
        # check-and-consume path, and database 1 is flushed afterwards.
        keys = [k for k in self.redis.scan_iter("*bench-ceil*", count=1000)] + ["ob:quota:epoch"]
        for key in keys:
            if self.redis.exists(key):
                self.redis.copy(key, key, destination_db=1, replace=True)
        import redis

        db1 = redis.Redis(host="127.0.0.1", port=self.redis_server.port, db=1, decode_responses=True)
        if db1.exists("ob:ent:bench-ceil") and db1.type("ob:ent:bench-ceil") == "hash":
            db1.hset("ob:ent:bench-ceil", "limit", "1000000000000")
        probe = [arg.replace(tx, "ceilprobe") for arg in argv]
        reply = db1.execute_command(*probe)
        kind = reply[0] if isinstance(reply, list) and reply else reply
        say(f"== ceiling: the authorize script alone ({argv[0]} {argv[1][:12]}... {argv[2]} keys, "
            f"{len(argv) - 3} keys+args as the lago-worker sends them; one probe call answered {kind!r})")
        if kind != "ok":
            say("   WARNING: the probe did not take the check-and-consume path: the ceiling measures another path")
        bench_argv = [arg.replace(tx, "ceil:__rand_int__") for arg in argv]
        results = {}
        for label, pipeline, requests in (("plain", 1, REDIS_REQUESTS), ("pipelined", REDIS_PIPELINE,
                                                                          REDIS_REQUESTS * 2)):
            out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(self.redis_server.port),
                                  "--dbnum", "1", "-c", str(CONNECTIONS), "-n", str(requests), "-P", str(pipeline),
                                  "-r", "1000000000", "--csv", *bench_argv], capture_output=True, text=True)
            rows = [line for line in out.stdout.splitlines() if line.startswith('"') and "rps" not in line]
            if out.returncode != 0 or not rows:
                raise RuntimeError(f"redis-benchmark failed:\n{out.stdout}{out.stderr}")
            fields = [f.strip('"') for f in rows[-1].split(",")]
            results[label] = {"rps": float(fields[1]), "p50": float(fields[4]), "p99": float(fields[6])}
            say(f"   {label} (pipeline {pipeline}, {CONNECTIONS} clients, {requests} calls): "
                f"{fields[1]} calls/s p50_ms={fields[4]} p99_ms={fields[6]}")
        db1.flushdb()
        db1.close()
        return results

    # -- jobs --

    def stored(self, job):
        if job == "webhook":
            return self.sql("SELECT count(*), count(*) - count(DISTINCT id) FROM stripe_events WHERE id LIKE %s",
                            (f"evt_{self.run}_%",))[0]
        if job == "batch":
            return self.sql("SELECT count(*), count(*) - count(DISTINCT transaction_id) FROM usage_events "
                            "WHERE transaction_id LIKE %s AND source = 'ingest'", (f"{self.run}-b-%",))[0]
        if job == "authorize":
            return self.sql("SELECT count(*), count(*) - count(DISTINCT transaction_id) FROM usage_events "
                            "WHERE transaction_id LIKE %s AND source = 'authorize'", (f"{self.run}-a-%",))[0]
        return (0, 0)

    def settle(self, job):
        """Waits until the job's stored count stops moving (requests still in flight when wrk stopped)."""
        last = None
        for _ in range(40):
            now = self.stored(job)
            if now == last:
                return now
            last = now
            time.sleep(0.5)
        return last

    def job(self, name):
        say(f"== job: {TITLES[name]}")
        count = PREPARE[name] * DURATION if name != "check" else PREPARE[name]
        prefix = self.work / f"requests-{name}"
        t0 = time.monotonic()
        built = write_request_files(prefix, build_requests(name, self.run, self.host, count), THREADS)
        say(f"   {built} distinct requests built and formatted in {time.monotonic() - t0:.1f}s")
        result, cpu, delta, top = self.measure("wrk_requests.lua", env={"BENCH_REQUESTS": str(prefix)},
                                               cycle=(name == "check"))
        for i in range(THREADS):
            os.unlink(f"{prefix}.{i}")
        k = EVENTS_PER_REQUEST.get(name, 1)
        ok = int(result["requests"] - result["non2xx"])
        out = {"result": result, "cpu": cpu, "delta": delta, "top": top, "ok": ok, "k": k,
               "events_per_s": ok * k / result["seconds"], "exhausted": int(result["exhausted"])}
        say(f"   {fmt_result(result)}")
        if out["exhausted"]:
            say(f"   NOTE: {out['exhausted']} wrk thread(s) ran out of prepared requests: the figure is a lower "
                f"bound (raise PREPARE_{name.upper()})")
        if name != "check":
            stored, duplicates = self.settle(name)
            sent = int(result["sent"])
            good = ok * k <= stored <= sent * k and duplicates == 0
            out["check"] = {"stored": stored, "duplicates": duplicates, "ok": ok * k, "sent": sent * k,
                            "good": good}
            say(f"   exactly once: answered 2xx {ok * k} {'events' if k > 1 else 'requests'}, stored {stored}, "
                f"sent {sent * k}, duplicate rows {duplicates}: "
                f"{'OK' if good else 'VIOLATED (a 2xx not stored, or stored more than sent)'}")
            if not good:
                self.problems.append(f"{name}: exactly-once violated: {out['check']}")
        if name == "authorize":
            used = 0
            for key in self.redis.scan_iter("ob:quota:bench-a*", count=1000):
                if self.redis.type(key) == "hash":
                    used += int(self.redis.hget(key, "n") or 0)
            rows = self.sql("SELECT count(*) FROM usage_events WHERE source = 'authorize' AND user_id LIKE "
                            "'bench-a%%'")[0][0]
            out["quota"] = {"counted": used, "ledger": rows}
            say(f"   quota counters of the authorize users: {used}; their authorize ledger rows: {rows}"
                f" ({'equal' if used == rows else 'DIFFERENT'})")
        return out

    # -- breakdown --

    def breakdown(self, jobs):
        report = {}
        for name in jobs:
            worker = WORKER_OF[name]
            n = BREAKDOWN_REQUESTS // (10 if name == "batch" else 1)
            report[name] = {"requests": n}
            for target in ("gateway", worker):
                say(f"== breakdown {name}: callgrind on {target}, {n} requests")
                report[name][f"ir:{target}"] = self.callgrind(name, target, n)
            say(f"== breakdown {name}: strace on gateway and {worker}, {n} requests")
            report[name]["strace"] = self.strace(name, ("gateway", worker), n)
        return report

    def warm(self, name):
        """Until the job's path answers 2xx again (a restarted worker has said hello), then a few more."""
        for attempt in range(120):
            requests = list(build_requests(name, f"{self.run}w{attempt}", self.host, 20 if name != "batch" else 4))
            statuses = asyncio.run(http_blast(self.stack.port, requests, 4))
            if all(200 <= s < 300 for s in statuses):
                return
            time.sleep(1)
        raise RuntimeError(f"{name}: no 2xx after a restart")

    def drive(self, name, n, tag):
        requests = list(build_requests(name, f"{self.run}{tag}", self.host, n))
        t0 = time.monotonic()
        # Batches of 100: 8 at once (64 under callgrind would take minutes).
        connections = min(BREAKDOWN_CONNECTIONS, 8) if name == "batch" else BREAKDOWN_CONNECTIONS
        statuses = asyncio.run(http_blast(self.stack.port, requests, connections))
        bad = [s for s in statuses if not 200 <= s < 300]
        if bad:
            say(f"   INVALID: {len(bad)} of {n} answered non-2xx ({sorted(set(bad))}): these figures measure "
                f"the error path")
            self.problems.append(f"breakdown {name}: {len(bad)} of {n} requests answered non-2xx")
        return time.monotonic() - t0

    def callgrind(self, name, target, n):
        """Instructions per request of one process: it runs under callgrind with
        instrumentation off, which is switched on for exactly the n requests (after a
        warm-up) and off again; the dump at its exit holds that window only."""
        out = self.work / f"callgrind.{name}.{target}"
        proc = self.restart(target, ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                     f"--callgrind-out-file={out}"])
        self.warm(name)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], capture_output=True, check=True)
        seconds = self.drive(name, n, f"c{target[0]}")
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], capture_output=True, check=True)
        self.restart(target)
        self.warm(name)
        total = 0
        functions = []
        if out.exists():
            text = out.read_text(errors="replace")
            found = re.search(r"^totals: (\d+)", text, re.M) or re.search(r"^summary: (\d+)", text, re.M)
            total = int(found[1]) if found else 0
            annotate = subprocess.run(["callgrind_annotate", "--inclusive=no", str(out)],
                                      capture_output=True, text=True).stdout
            for line in annotate.split("file:function", 1)[-1].splitlines():
                m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)$", line)
                if m:
                    where, _, obj = m[3].partition(" [")
                    where = where.rsplit("/", 1)[-1][-60:]
                    if where.startswith("???"):  # no symbol (a stripped library): name the library
                        where += f" ({obj.rstrip(']').rsplit('/', 1)[-1]})"
                    functions.append((float(m[2]), where))
                if len(functions) >= 8:
                    break
        per = total / n if n else 0
        say(f"   {per:,.0f} instructions per request in {target} ({seconds:.1f}s under callgrind)")
        for share, fn in functions:
            say(f"     {share:5.1f}%  {fn}")
        return {"per_request": per, "top": functions}

    def strace(self, name, targets, n):
        traces = {}
        for target in targets:
            path = self.work / f"strace.{name}.{target}"
            traces[target] = (path, subprocess.Popen(
                ["strace", "-f", "-qq", "-yy", "-o", str(path), "-p", str(self.procs[target].pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(2)
        self.drive(name, n, "s")
        time.sleep(0.5)
        ports = {"postgres": self.postgres.port, "redis": self.redis_server.port,
                 "broker": int(self.stack.env["BROKER_BIND"].rsplit(":", 1)[1])}
        out = {}
        for target, (path, proc) in traces.items():
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
            calls = {}
            writes = {key: 0 for key in (*ports, "eventfd")}
            total = 0
            for line in path.read_text(errors="replace").splitlines():
                m = re.match(r"\d+\s+([a-z_0-9]+)\((.*)", line)
                if not m:
                    continue
                syscall = m[1]
                total += 1
                calls[syscall] = calls.get(syscall, 0) + 1
                if syscall in ("write", "writev", "sendto", "sendmsg"):
                    for key, port in ports.items():
                        if f"->127.0.0.1:{port}]" in m[2] or f"127.0.0.1:{port}->" in m[2]:
                            writes[key] += 1
                    if "eventfd" in m[2]:
                        writes["eventfd"] += 1
            top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
            out[target] = {"per_request": total / n, "top": [(k, v / n) for k, v in top],
                           "writes": {k: v / n for k, v in writes.items()}}
            say(f"   {target}: {total / n:.1f} system calls per request; "
                + ", ".join(f"{k} {v / n:.2f}" for k, v in top))
            say(f"     socket writes per request: to Postgres {writes['postgres'] / n:.2f}, to Redis "
                f"{writes['redis'] / n:.2f}, broker link {writes['broker'] / n:.3f}; eventfd wake-ups "
                f"{writes['eventfd'] / n:.2f}")
        return out

    def close(self):
        problems = self.stack.close()
        self.redis_server.stop()
        self.postgres.stop()
        if os.environ.get("BENCH_KEEP") == "1":
            say(f"== kept {self.work} (BENCH_KEEP=1)")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return problems


async def http_blast(port, requests, connections):
    """Sends ready requests over `connections` keep-alive connections; returns the statuses."""
    queue = list(reversed(requests))
    statuses = []

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            writer.write(queue.pop())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length[1]))
            statuses.append(status)
        writer.close()

    await asyncio.gather(*(one() for _ in range(min(connections, len(requests)))))
    return statuses


# ---- output -------------------------------------------------------------------------------------

def fmt_result(r):
    return (f"{r['rps']:,.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.0f} ms; "
            f"{int(r['requests'])} answered, {int(r['non2xx'])} non-2xx, {int(r['errors'])} socket errors, "
            f"{int(r['timeouts'])} timeouts")


def system_cpu():
    """(busy, total) jiffies of the whole machine, every process (ours and others')."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle, sum(fields[:8])


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"


def mem_line(bench, label):
    parts = []
    for name, pids in bench.processes().items():
        if name == "postgres":
            rss = sum(memory(p)[0] for p in pids)
            pss = sum(memory(p)[2] for p in pids)
            parts.append(f"postgres ({len(pids)} processes) RSS {rss / 1024:.1f} PSS {pss / 1024:.1f}")
        else:
            rss, hwm, pss = memory(pids[0])
            parts.append(f"{name} RSS {rss / 1024:.1f} (peak {hwm / 1024:.1f}) PSS {pss / 1024:.1f}")
    say(f"== memory {label} (MiB): " + "; ".join(parts))
    return {name: [memory(p) for p in pids] for name, pids in bench.processes().items()}


def per_request_line(out):
    d, ok, k = out["delta"], max(out["ok"], 1), out["k"]
    secs = out["result"]["seconds"]
    cpu = ", ".join(f"{name} {100 * c / secs:.0f}%" for name, c in sorted(out["cpu"].items(), key=lambda kv: -kv[1])
                    if c > 0.03 * secs and name != "machine-busy")
    ours = sum(c for name, c in out["cpu"].items() if name != "machine-busy")
    say(f"   CPU over the run (100% = one core): {cpu}; ours together {100 * ours / secs:.0f}%, the whole machine "
        f"busy {100 * out['cpu']['machine-busy'] / secs:.0f}% of {100 * os.cpu_count()}% (the rest of the busy "
        f"part is other people's work)")
    say("   CPU ms per 2xx request: " + ", ".join(
        f"{name} {1000 * c / ok:.3f}" for name, c in sorted(out["cpu"].items(), key=lambda kv: -kv[1])
        if c > 0.03 * secs and name != "machine-busy"))
    commits = d["commits"]
    line = (f"   per 2xx request: {commits / ok:.3f} COMMITs ({ok / commits if commits else 0:.1f} requests per "
            f"commit), {d['wal_sync'] / ok:.3f} WAL fsyncs (avg {d['wal_sync_ms'] / d['wal_sync'] if d['wal_sync'] else 0:.2f} ms, "
            f"{d['wal_sync'] / secs:.0f}/s), {d['statements'] / ok:.2f} SQL statements, "
            f"{d['redis_commands'] / ok:.2f} Redis commands")
    if k > 1:
        line += f"; {ok * k / commits if commits else 0:.0f} events per commit"
    say(line)
    if d["redis_cmd"]:
        say("   Redis commands per request: " + ", ".join(
            f"{name.replace('cmdstat_', '')} {calls / ok:.2f}" for name, calls in
            sorted(d["redis_cmd"].items(), key=lambda kv: -kv[1])[:5]))
    if out["top"]:
        say("   top statements (calls per request): " + "; ".join(f"{c / ok:.2f}× {q}" for c, q in out["top"][:4]))


def span(values, unit, spec=".0f"):
    """'3.4 ms' or '2.7–3.4 ms'."""
    low, high = format(min(values), spec), format(max(values), spec)
    return f"{low}{unit}" if low == high else f"{low}–{high}{unit}"


def table(ceil, jobs, results, load):
    http, one, hundred, rs = ceil["http"], ceil["pg_one"], ceil["pg_hundred"], ceil["redis"]
    pg_rows = hundred["tps"] * 100
    usage_rows = ceil["pg_shapes"]["usage_events"]["tps"] * 100
    stripe_rows = ceil["pg_shapes"]["stripe_events"]["tps"] * 100
    script = max((rs["plain"]["rps"], "authorize script alone"), (rs["pipelined"]["rps"], "authorize script pipelined"))
    bounds = {
        "webhook": min((http["rps"], "HTTP"), (stripe_rows, "stripe_events rows in 100-row transactions")),
        "batch": (usage_rows, "usage_events rows in 100-row transactions"),
        "authorize": min((http["rps"], "HTTP"), script, (usage_rows, "usage_events rows in 100-row transactions")),
        "check": (http["rps"], "HTTP"),
    }
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fsyncs = [results[n]["delta"]["wal_sync_ms"] / results[n]["delta"]["wal_sync"] for n in jobs
              if results[n]["delta"]["wal_sync"] >= 20]
    during = f", {span(fsyncs, ' ms', '.1f')} during the jobs" if fsyncs else ""
    busy = [100 * results[n]["cpu"]["machine-busy"] / (results[n]["result"]["seconds"] * os.cpu_count())
            for n in jobs]
    lines = [f"Measured {now} by `bench/run.sh` on {machine()}; load average {load} at the start, the whole machine "
             f"{span(busy, '%')} busy during the jobs (ours and other work); wrk {THREADS} threads "
             f"{CONNECTIONS} connections {DURATION} s on the same box; Postgres fsync on, synchronous_commit on "
             f"(average WAL fsync {one['fsync_ms']:.1f} ms in pgbench's one-row run{during}).", "",
             "| path | throughput | p50 | p99 | ceiling (what bounds it) | ratio | target |",
             "|---|---|---|---|---|---|---|",
             f"| ceiling: GET /health through the gateway | {http['rps']:,.0f} req/s | {http['p50']:.2f} ms | "
             f"{http['p99']:.2f} ms | — | — | — |",
             f"| ceiling: Postgres one-row transactions, {CONNECTIONS} clients | {one['tps']:,.0f} tx/s | — | — | "
             f"— | — | — |",
             f"| ceiling: Postgres 100-row transactions, {PG_BATCH_CLIENTS} clients | {pg_rows:,.0f} rows/s | — | "
             f"— | — | — | — |",
             f"| ceiling: `usage_events` rows (its shape and indexes), 100-row transactions | {usage_rows:,.0f} rows/s "
             f"| — | — | — | — | — |",
             f"| ceiling: `stripe_events` rows (600-byte payloads), 100-row transactions | {stripe_rows:,.0f} rows/s "
             f"| — | — | — | — | — |",
             f"| ceiling: authorize script alone (redis-benchmark) | {rs['plain']['rps']:,.0f} calls/s | "
             f"{rs['plain']['p50']:.2f} ms | {rs['plain']['p99']:.2f} ms | — | — | — |",
             f"| ceiling: authorize script, pipelined ×{REDIS_PIPELINE} | {rs['pipelined']['rps']:,.0f} calls/s | "
             f"{rs['pipelined']['p50']:.2f} ms | {rs['pipelined']['p99']:.2f} ms | — | — | — |"]
    for name in jobs:
        out = results[name]
        r = out["result"]
        rate = out["events_per_s"]
        unit = "events/s" if name in ("webhook", "batch") else "req/s"
        if name == "batch":
            unit += f" ({r['rps']:,.0f} req/s)"
        bound, what = bounds[name]
        mark = " (lower bound: ran out of prepared requests)" if out["exhausted"] else ""
        lines.append(f"| {TITLES[name]} | {rate:,.0f} {unit}{mark} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
                     f"{bound:,.0f} ({what}) | {rate / bound:.2f} | {TARGETS[name]} |")
    return "\n".join(lines)


def main(argv):
    breakdown = "--breakdown" in argv
    jobs = [a for a in argv if a in JOBS] or list(JOBS)
    unknown = [a for a in argv if a not in JOBS and a != "--breakdown"]
    if unknown:
        say(f"usage: bench/run.sh [--breakdown] [{' '.join(JOBS)}]")
        return 2
    for tool in ("wrk", "redis-benchmark", "valgrind", "strace", "callgrind_control"):
        if not shutil.which(tool):
            say(f"bench: {tool} is missing (deploy/scripts/deps.sh bench)")
            return 2
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    bench = Bench()
    try:
        settings = bench.check_durable()
        if breakdown:
            # Under callgrind a worker is ~50x slower: the gateway's 5 s deadline would turn the counted
            # requests into 503s. The breakdown counts work, not time.
            # Likewise its heartbeats: the broker drops a worker silent for 3 heartbeats (then 503s).
            bench.stack.env["REQUEST_TIMEOUT_MS"] = "120000"
            bench.stack.env["HEARTBEAT_MS"] = "10000"
        bench.start_services()
        bench.seed()
        say(f"== {machine()}; load average {load}")
        say(f"== Postgres {bench.sql('SHOW server_version')[0][0]}: " +
            ", ".join(f"{k}={v}" for k, v in sorted(settings.items())))
        say(f"== wrk {THREADS} threads, {CONNECTIONS} connections, {DURATION} s; {USERS} users per job; "
            f"build {os.environ.get('OB_BUILD_DIR', 'build')}")
        mem_line(bench, "idle")
        if breakdown:
            bench.breakdown(jobs)
        else:
            ceil = {"http": bench.ceiling_http()}
            ceil["pg_one"], ceil["pg_hundred"], ceil["pg_shapes"] = bench.ceiling_postgres()
            ceil["redis"] = bench.ceiling_redis()
            results = {}
            for name in jobs:
                results[name] = bench.job(name)
                per_request_line(results[name])
            mem_line(bench, "after the jobs")
            say()
            say(table(ceil, jobs, results, load))
        for proc in bench.procs.values():
            if not proc.alive():
                bench.problems.append(f"{proc.name} exited ({proc.returncode})")
    finally:
        problems = bench.close()
    for problem in bench.problems + problems:
        say(f"PROBLEM: {problem}")
    return 1 if bench.problems or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
