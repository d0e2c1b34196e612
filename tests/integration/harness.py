"""harness - throwaway Postgres and Redis, and the billing processes, for integration tests.

Everything runs on 127.0.0.1 at random free ports, in temporary directories,
and is removed afterwards. The fixtures in conftest.py wire it together:

    def test_checkout(stack):
        stack.standin("stripe")                     # sets STRIPE_API_BASE
        stack.start_all()                           # gateway + every worker
        stack.wait_ready()
        status, headers, body = stack.http("GET", "/v1/plans")
        assert status == 200

Standard library plus python3-psycopg2 and python3-redis (Debian packages).
"""
import json as jsonlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from support import ADMIN_TOKEN, SERVICE_TOKEN, poll_until

REPO = Path(__file__).resolve().parents[2]


def _workers():
    """The one worker list: OB_WORKERS in deploy/scripts/lib.sh."""
    text = (REPO / "deploy" / "scripts" / "lib.sh").read_text()
    match = re.search(r"^OB_WORKERS=\(([^)]*)\)", text, re.M)
    if not match:
        raise RuntimeError("deploy/scripts/lib.sh has no OB_WORKERS=(...) line")
    return tuple(match[1].split())


WORKERS = _workers()
SERVICES = ("gateway",) + WORKERS
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
CRASH_SIGNALS = (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL)

# Stand-ins: file under tests/standins, the setting that points at it, and the
# setting whose value it must accept as the API key.
STANDINS = {
    "stripe": ("stripe_standin.py", "STRIPE_API_BASE", "--secret-key", "STRIPE_SECRET_KEY"),
    "lago": ("lago_standin.py", "LAGO_API_URL", "--api-key", "LAGO_API_KEY"),
}

# Only these reach the processes from the developer's environment: a stray
# STRIPE_SECRET_KEY or DATABASE_URL in a shell must never leak into a test.
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                   "LSAN_OPTIONS")


class HarnessError(RuntimeError):
    """Something the harness itself could not set up (not a product failure)."""


def free_port():
    """A TCP port nobody listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_dir():
    """$OB_BUILD_DIR (default build), relative to the repository root."""
    path = Path(os.environ.get("OB_BUILD_DIR", "build"))
    return path if path.is_absolute() else REPO / path


def binary(name):
    path = build_dir() / name
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{path} is missing: run deploy/scripts/build.sh first")
    return path


def base_env(**overrides):
    """The environment every process starts from: PATH, locale and sanitizer
    options from ours, ENV_FILE=/dev/null (a developer's .env never leaks in),
    then overrides (None removes a variable)."""
    env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["ENV_FILE"] = "/dev/null"
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def sanitizer_report(text):
    """The first ASan/UBSan report in text, or None."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            index = text.index(marker)
            return text[max(0, index - 200):index + 1500]
    return None


def tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def die_with_parent(sig=signal.SIGKILL):
    """A preexec_fn: the child gets sig when this process dies, even by
    SIGKILL, so a killed test run leaves no server or worker behind."""
    parent = os.getpid()

    def preexec():
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(sig))  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), int(sig))

    return preexec


def _postgres_bindir():
    configured = os.environ.get("OB_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise HarnessError("no Postgres server binaries: install postgresql (deploy/scripts/deps.sh)")


class Postgres:
    """A private cluster: initdb into a temp dir, trust auth on 127.0.0.1, fsync off.

    As root it runs as the `postgres` system user (postgres refuses root). The
    server is our child and dies with us, even if the test run is killed."""

    def __init__(self):
        self.bindir = _postgres_bindir()
        self.port = None
        self.dir = None
        self.proc = None
        self._user = None

    def _run(self, *args, check=True):
        cmd = [str(self.bindir / args[0]), *args[1:]]
        result = subprocess.run(cmd, cwd=self.dir, user=self._user, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise HarnessError(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}\n{tail(self.log_path)}")
        return result

    @property
    def log_path(self):
        return Path(self.dir) / "postgres.log"

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="ob-it-pg-")
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise HarnessError("running as root needs the `postgres` user (install postgresql)") from None
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._user = "postgres"
        self._run("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        for _ in range(3):
            self.port = free_port()
            if self._spawn_server():
                return self
            self._stop_server()
        raise HarnessError(f"postgres did not start:\n{tail(self.log_path)}")

    def _spawn_server(self):
        """Starts the server on self.port; True once it accepts connections."""
        # A child rather than pg_ctl's daemon, so it dies with us (SIGQUIT: immediate shutdown).
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", f"{self.dir}/data", "-p", str(self.port), "-k", self.dir,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "synchronous_commit=off", "-c", "max_connections=200"],
                cwd=self.dir, user=self._user, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent(signal.SIGQUIT))
        return poll_until(lambda: self._accepts() or self.proc.poll() is not None, 30) and self.proc.poll() is None

    def pause(self):
        """Stops the server (a fast shutdown: sessions are cut) but keeps its data and port."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)

    def resume(self):
        """Starts the paused server again on the same port."""
        if not self._spawn_server():
            raise HarnessError(f"postgres did not restart:\n{tail(self.log_path)}")

    def _accepts(self):
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False

    def _stop_server(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        self._stop_server()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def url(self, dbname="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname="postgres"):
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname)
        conn.autocommit = True
        return conn

    def create_database(self, name, template=None):
        from psycopg2 import sql

        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.execute(query)

    def drop_database(self, name):
        from psycopg2 import sql

        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def execute(self, query, params=None, dbname="postgres"):
        """Runs one statement on a short-lived autocommit connection; returns all rows (or None)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()


class Redis:
    """A private redis-server without persistence."""

    def __init__(self):
        self.port = None
        self.dir = None
        self.proc = None

    def start(self):
        if not shutil.which("redis-server"):
            raise HarnessError("no redis-server in PATH (deploy/scripts/deps.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="ob-it-redis-")
        for _ in range(3):
            self.port = free_port()
            log = open(Path(self.dir) / "redis.log", "ab")
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.dir, "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())
            log.close()
            if poll_until(lambda: self._ping() or self.proc.poll() is not None, 10) and self.proc.poll() is None:
                return self
            self.proc.kill()
            self.proc.wait()
        raise HarnessError(f"redis-server did not start:\n{tail(Path(self.dir) / 'redis.log')}")

    def _ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)


class Proc:
    """One started process: its name, Popen, log file and the signals the test sent it."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.log_path = Path(log_path)
        self.signals_sent = set()

    @property
    def pid(self):
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.poll()

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text, timeout=5.0):
        """Waits until text appears in the log; returns the log, or raises TimeoutError."""
        if not poll_until(lambda: text in self.log(), timeout):
            raise TimeoutError(f"{self.name} did not log {text!r} within {timeout}s:\n{tail(self.log_path)}")
        return self.log()

    def __repr__(self):
        state = "running" if self.alive() else f"exited {self.returncode}"
        return f"<Proc {self.name} pid={self.pid} {state}>"


class Stack:
    """The billing processes of one test, sharing one database and one Redis.

    env holds the settings every process gets; start() overrides per process."""

    def __init__(self, postgres, redis, dbname, workdir):
        self.postgres = postgres
        self.redis_server = redis
        self.dbname = dbname
        self.workdir = Path(workdir)
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.procs = []
        self._clients = []
        broker = f"tcp://127.0.0.1:{free_port()}"
        self.env = {
            "ENV_FILE": "/dev/null",
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(free_port()),
            "BROKER_BIND": broker,
            "BROKER_ENDPOINT": broker,
            "DATABASE_URL": postgres.url(dbname),
            "REDIS_URL": redis.url,
            "HEARTBEAT_MS": "200",
            "PLANS_FILE": str(REPO / "deploy" / "plans.json"),
            "MIGRATIONS_DIR": str(REPO / "deploy" / "migrations"),
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "SERVICE_TOKENS": f"{SERVICE_TOKEN},{SERVICE_TOKEN}-2",
            "STRIPE_SECRET_KEY": "sk_test_integration",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_integration",
            "STRIPE_WEBHOOK_SECRET": "whsec_test_integration",
            "STRIPE_SUCCESS_URL": "http://127.0.0.1/success",
            "STRIPE_CANCEL_URL": "http://127.0.0.1/cancel",
            "LAGO_API_KEY": "lago_test_key",
            "LAGO_WEBHOOK_HMAC_KEY": "lago_test_hmac",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "info"),
        }

    # -- processes ---------------------------------------------------------

    def _process_env(self, overrides):
        return base_env(**{**self.env, **overrides})

    def spawn(self, name, argv, **env):
        """Starts any command as a stack process (logs, teardown and checks included)."""
        count = sum(1 for proc in self.procs if proc.name == name)
        log_path = self.workdir / "logs" / (f"{name}.log" if count == 0 else f"{name}.{count + 1}.log")
        with open(log_path, "ab") as log:
            popen = subprocess.Popen([str(arg) for arg in argv], cwd=REPO, env=self._process_env(env),
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent())
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def start(self, name, **env):
        """Starts build/<name> (gateway, a worker) with the stack's settings plus env
        (a value of None removes a setting). Returns its Proc."""
        return self.spawn(name, [binary(name)], **env)

    def add_gateway(self):
        """Settings for one more gateway of this stack, on its own HTTP port and
        broker port: pass them to start("gateway", **settings) (again after a
        kill, to restart it on the same ports). Its broker joins BROKER_ENDPOINT,
        so every worker started afterwards serves it too."""
        settings = {"GATEWAY_PORT": str(free_port()), "BROKER_BIND": f"tcp://127.0.0.1:{free_port()}"}
        self.env["BROKER_ENDPOINT"] += "," + settings["BROKER_BIND"]
        return settings

    def start_all(self, **env):
        """Starts the gateway and one of each worker."""
        return [self.start(name, **env) for name in SERVICES]

    def standin(self, kind, *args, timeout=10.0):
        """Starts tests/standins/<kind>_standin.py on a free port, waits for its
        "ready", points the matching setting (STRIPE_API_BASE, LAGO_API_URL) at it
        for processes started afterwards, and returns its base URL."""
        filename, setting, key_flag, key_setting = STANDINS[kind]
        port = free_port()
        argv = [sys.executable, "-u", REPO / "tests" / "standins" / filename, "--port", port,
                key_flag, self.env[key_setting], *args]
        proc = self.spawn(f"{kind}-standin", argv)
        if not poll_until(lambda: "ready" in proc.log() or not proc.alive(), timeout) or not proc.alive():
            raise HarnessError(f"{filename} did not become ready:\n{tail(proc.log_path)}")
        url = f"http://127.0.0.1:{port}"
        self.env[setting] = url
        return url

    def _targets(self, target):
        if isinstance(target, Proc):
            return [target]
        found = [proc for proc in self.procs if proc.name == target and proc.alive()]
        if not found:
            raise HarnessError(f"no running process named {target!r}")
        return found

    def kill(self, target, sig=signal.SIGKILL):
        """Sends sig to a Proc, or to every running process of that name."""
        for proc in self._targets(target):
            proc.signals_sent.add(sig)
            proc.popen.send_signal(sig)

    def stop(self, target, timeout=5.0):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code (a
        list of them when the name matched several processes)."""
        codes = [self._stop_one(proc, timeout) for proc in self._targets(target)]
        return codes[0] if len(codes) == 1 else codes

    def _stop_one(self, proc, timeout):
        if proc.alive():
            proc.signals_sent.add(signal.SIGTERM)
            proc.popen.send_signal(signal.SIGTERM)
        try:
            return proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.signals_sent.add(signal.SIGKILL)
            proc.popen.kill()
            return proc.popen.wait()

    def admin(self, *args, timeout=60, **env):
        """Runs build/billing-admin with the stack's settings; returns CompletedProcess (text)."""
        return subprocess.run([str(binary("billing-admin")), *args], cwd=REPO, env=self._process_env(env),
                              capture_output=True, text=True, timeout=timeout)

    # -- HTTP --------------------------------------------------------------

    @property
    def port(self):
        return int(self.env["GATEWAY_PORT"])

    def url(self, path="/", port=None):
        return f"http://127.0.0.1:{port or self.port}{path}"

    def http(self, method, path, json=None, body=None, headers=None, timeout=10.0, port=None):
        """One request to the gateway (another one's with port, see add_gateway).
        Returns (status, headers with lower-case names, body): parsed JSON when
        the response says application/json, else text."""
        headers = dict(headers or {})
        data = body.encode() if isinstance(body, str) else body
        if json is not None:
            data = jsonlib.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url(path, port), data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, info = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, info = error.code, error.read(), error.headers
        names = {}
        for name, value in info.items():
            key = name.lower()
            names[key] = f"{names[key]}, {value}" if key in names else value
        text = raw.decode("utf-8", errors="replace")
        if "json" in names.get("content-type", "") and text:
            return status, names, jsonlib.loads(text)
        return status, names, text

    def wait_ready(self, timeout=10.0, port=None):
        """Polls GET /ready (of the gateway at port, default the first) until
        200; fails early if every gateway exited."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            gateways = [proc for proc in self.procs if proc.name == "gateway"]
            if gateways and not any(proc.alive() for proc in gateways):
                raise HarnessError(f"the gateway exited ({gateways[-1].returncode}):\n{tail(gateways[-1].log_path)}")
            try:
                last = self.http("GET", "/ready", timeout=1.0, port=port)
                if last[0] == 200:
                    return last[2]
            except OSError as error:
                last = error
            time.sleep(0.05)
        logs = "\n".join(f"--- {proc.name}\n{tail(proc.log_path, 15)}" for proc in self.procs)
        raise TimeoutError(f"GET /ready not 200 within {timeout}s (last: {last!r})\n{logs}")

    # -- data stores -------------------------------------------------------

    def db(self):
        """A psycopg2 connection to the test's database, autocommit; closed at teardown."""
        conn = self.postgres.connect(self.dbname)
        self._clients.append(conn)
        return conn

    def redis(self):
        """A redis.Redis client (decode_responses=True); closed at teardown."""
        client = self.redis_server.client()
        self._clients.append(client)
        return client

    # -- teardown ----------------------------------------------------------

    def problems(self):
        """Sanitizer reports in any log, and processes that crashed on their own."""
        found = []
        for proc in self.procs:
            report = sanitizer_report(proc.log())
            if report:
                found.append(f"{proc.name} ({proc.log_path}): {report}")
            code = proc.returncode
            if code is not None and code < 0 and -code in CRASH_SIGNALS and -code not in proc.signals_sent:
                found.append(f"{proc.name} died of {signal.Signals(-code).name}:\n{tail(proc.log_path)}")
        return found

    def close(self):
        """Stops every process (SIGTERM, SIGKILL after 5 s) and closes clients.
        Returns problems() for the caller to fail the test with."""
        running = [proc for proc in self.procs if proc.alive()]
        for proc in running:
            proc.signals_sent.add(signal.SIGTERM)
            proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for proc in running:
            try:
                proc.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.signals_sent.add(signal.SIGKILL)
                proc.popen.kill()
                proc.popen.wait()
        for client in self._clients:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken client must not mask the test result
                pass
        self._clients.clear()
        return self.problems()

    def log_tails(self, lines=30):
        return "\n".join(f"--- {proc!r} {proc.log_path}\n{tail(proc.log_path, lines)}" for proc in self.procs)
