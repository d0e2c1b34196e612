"""The harness itself: Postgres and Redis come up, billing-admin migrate works,
and Stack starts, stops, kills and inspects processes. Needs no gateway."""
import hashlib
import hmac
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness import REPO, Stack, base_env, binary
from support import sign_stripe


def migrate(postgres, dbname, migrations_dir, *args):
    return subprocess.run([str(binary("billing-admin")), "migrate", *args], cwd=REPO,
                          env=base_env(DATABASE_URL=postgres.url(dbname), MIGRATIONS_DIR=migrations_dir),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def empty_db(postgres, request):
    name = re.sub(r"[^a-z0-9_]", "_", f"smoke_{request.node.name.lower()}")[:63]
    postgres.create_database(name)
    yield name
    postgres.drop_database(name)


@pytest.fixture
def migrations(tmp_path):
    """A migrations directory with three files, the second depending on the first."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "001_accounts.sql").write_text("CREATE TABLE accounts (id bigint PRIMARY KEY);\n")
    (directory / "002_seed.sql").write_text("SELECT pg_sleep(0.05);\nINSERT INTO accounts VALUES (1), (2);\n")
    (directory / "003_note.sql").write_text("ALTER TABLE accounts ADD COLUMN note text;\n")
    return directory


def test_postgres_and_redis_are_up(stack):
    with stack.db().cursor() as cur:
        cur.execute("SELECT current_database(), current_setting('fsync')")
        assert cur.fetchone() == (stack.dbname, "off")
    client = stack.redis()
    assert client.ping()
    client.set("smoke", "1")
    assert client.get("smoke") == "1"


def test_each_test_gets_the_repository_migrations(stack, migrated_template):
    expected = sorted(path.name[:-4] for path in (REPO / "deploy" / "migrations").glob("*.sql"))
    with stack.db().cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in cur.fetchall()] == expected
    for version in expected:
        assert f"applied {version}" in migrated_template.stdout


def test_redis_is_empty_for_each_test(stack):
    assert stack.redis().dbsize() == 0


def test_migrate_applies_each_file_once_and_says_so(postgres, empty_db, migrations):
    first = migrate(postgres, empty_db, migrations)
    assert first.returncode == 0, first.stderr
    applied = [line.split()[2] for line in first.stdout.splitlines() if line.startswith("migrate: applied")]
    assert applied == ["001_accounts", "002_seed", "003_note"]
    assert "3 applied, 0 already applied" in first.stdout

    second = migrate(postgres, empty_db, migrations)
    assert second.returncode == 0, second.stderr
    assert "0 applied, 3 already applied" in second.stdout

    assert postgres.execute("SELECT count(*) FROM accounts", dbname=empty_db) == [(2,)]


def test_concurrent_migrates_apply_each_file_once(postgres, empty_db, migrations):
    env = base_env(DATABASE_URL=postgres.url(empty_db), MIGRATIONS_DIR=migrations)
    runs = [subprocess.Popen([str(binary("billing-admin")), "migrate"], cwd=REPO, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    applied = sum(out.count("migrate: applied ") for out, _ in outputs)
    assert applied == 3
    assert postgres.execute("SELECT count(*) FROM accounts", dbname=empty_db) == [(2,)]


def test_migrate_reports_a_failing_file(postgres, empty_db, migrations):
    (migrations / "002_seed.sql").write_text("INSERT INTO accounts VALUES (1);\nINSERT INTO nowhere VALUES (2);\n")
    result = migrate(postgres, empty_db, migrations)
    assert result.returncode == 1
    assert "migrate: 002_seed.sql failed at line 2" in result.stderr
    assert "applied 001_accounts" in result.stdout
    assert "003_note" not in result.stdout


@pytest.mark.parametrize("database_url, message", [
    (None, "config: DATABASE_URL is required but not set"),
    ("mysql://db/billing", "config: DATABASE_URL must be a postgres:// URL"),
])
def test_migrate_validates_its_settings(database_url, message):
    result = subprocess.run([str(binary("billing-admin")), "migrate"], cwd=REPO, capture_output=True, text=True,
                            env=base_env(DATABASE_URL=database_url), timeout=30)
    assert result.returncode == 1
    assert message in result.stderr


def test_migrate_never_prints_the_password(postgres, migrations):
    url = f"postgresql://nobody:hunter2-secret@127.0.0.1:{postgres.port}/nowhere?connect_timeout=2"
    result = subprocess.run([str(binary("billing-admin")), "migrate"], cwd=REPO, capture_output=True, text=True,
                            env=base_env(DATABASE_URL=url, MIGRATIONS_DIR=migrations), timeout=30)
    assert result.returncode == 1
    assert "cannot connect to 127.0.0.1" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.parametrize("args, code, stream, text", [
    (["help"], 0, "stdout", "migrate"),
    (["--help"], 0, "stdout", "usage: billing-admin"),
    ([], 2, "stderr", "usage: billing-admin"),
    (["frobnicate"], 2, "stderr", "unknown command 'frobnicate'"),
    (["migrate", "--bogus"], 2, "stderr", "usage: billing-admin migrate"),
])
def test_admin_usage(args, code, stream, text):
    result = subprocess.run([str(binary("billing-admin")), *args], cwd=REPO, capture_output=True, text=True,
                            env=base_env(), timeout=30)
    assert result.returncode == code
    assert text in getattr(result, stream)


FAKE_GATEWAY = textwrap.dedent("""
    import json, os, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "db": os.environ["DATABASE_URL"].rsplit("/", 1)[1],
                               "env_file": os.environ["ENV_FILE"], "extra": os.environ.get("EXTRA")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    print("listening", flush=True)
    HTTPServer(("127.0.0.1", int(os.environ["GATEWAY_PORT"])), Handler).serve_forever()
""")


def test_stack_starts_talks_to_and_stops_processes(stack):
    proc = stack.spawn("gateway", [sys.executable, "-c", FAKE_GATEWAY], EXTRA="override")
    proc.wait_for_log("listening")
    assert stack.wait_ready(timeout=5) == {"path": "/ready", "db": stack.dbname, "env_file": "/dev/null",
                                          "extra": "override"}
    status, headers, body = stack.http("GET", "/anything?x=1")
    assert status == 200 and headers["content-type"] == "application/json" and body["path"] == "/anything?x=1"
    assert stack.url("/x") == f"http://127.0.0.1:{stack.port}/x"
    assert stack.stop("gateway") == 3
    assert not proc.alive()


def test_stack_kill_and_problem_detection(postgres, redis_server, database, tmp_path):
    stack = Stack(postgres, redis_server, database, tmp_path)
    sleeper = stack.spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    stack.kill("sleeper")
    assert sleeper.popen.wait(5) == -signal.SIGKILL
    reporters = [
        stack.spawn("asan", [sys.executable, "-c", "print('==1==ERROR: AddressSanitizer: heap-use-after-free')"]),
        stack.spawn("ubsan", [sys.executable, "-c", "print('x.c:1:2: runtime error: signed integer overflow')"]),
        stack.spawn("crasher", [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]),
    ]
    for proc in reporters:
        proc.popen.wait(5)
    problems = stack.close()
    assert [problem.split(" ", 1)[0] for problem in problems] == ["asan", "ubsan", "crasher"]
    assert "died of SIGSEGV" in problems[2]
    # test.sh scans every log of the run for reports: leave no fake ones behind.
    for proc in reporters:
        proc.log_path.unlink()


def test_sign_stripe_matches_stripes_scheme():
    body = b'{"id":"evt_1","type":"invoice.paid"}'
    header = sign_stripe(body, "whsec_abc", timestamp=1700000000)
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert sign_stripe(body.decode(), "whsec_abc", timestamp=1700000000) == header


def test_standins_start_and_answer(stack):
    if not (REPO / "tests" / "standins" / "stripe_standin.py").exists():
        pytest.skip("no Stripe stand-in yet")
    url = stack.standin("stripe")
    assert stack.env["STRIPE_API_BASE"] == url
    import urllib.request

    with urllib.request.urlopen(f"{url}/__control/requests", timeout=5) as response:
        assert response.status == 200
    assert Path(stack.procs[-1].log_path).exists()
