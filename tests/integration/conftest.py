"""Fixtures for the integration tests (run: /usr/bin/python3 -m pytest tests/integration).

Once per session: a private Postgres cluster and redis-server, and a template
database migrated by `billing-admin migrate` from deploy/migrations. Per test:
a fresh database cloned from that template (CREATE DATABASE ... TEMPLATE, tens
of milliseconds), an empty Redis (FLUSHALL) and a `stack` to start processes
in. OB_BUILD_DIR (default build) selects the binaries, e.g. build-asan.
"""
import itertools
import re
import signal
import subprocess
from types import SimpleNamespace

import pytest

from harness import REPO, Postgres, Redis, Stack, base_env, binary, sanitizer_report

TEMPLATE_DB = "ob_template"
_counter = itertools.count(1)


def pytest_configure(config):
    """SIGTERM (timeout, CI cancel) becomes an interrupt, so fixtures still
    stop their processes and remove their directories."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item, so teardown knows if the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def postgres():
    """The session's Postgres (harness.Postgres): .url(dbname), .connect(dbname), .port."""
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """The session's redis-server (harness.Redis): .url, .client(), .port."""
    server = Redis().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_template(postgres):
    """The template database with the repository's migrations applied once.
    Returns .name and .stdout (what billing-admin migrate printed)."""
    postgres.create_database(TEMPLATE_DB)
    result = subprocess.run(
        [str(binary("billing-admin")), "migrate"],
        env=base_env(DATABASE_URL=postgres.url(TEMPLATE_DB), MIGRATIONS_DIR=REPO / "deploy" / "migrations"),
        cwd=REPO, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or sanitizer_report(result.stderr):
        pytest.fail(f"billing-admin migrate failed ({result.returncode}):\n{result.stdout}{result.stderr}",
                    pytrace=False)
    return SimpleNamespace(name=TEMPLATE_DB, stdout=result.stdout)


@pytest.fixture
def database(request, postgres, migrated_template):
    """A fresh, migrated database for this test only; dropped afterwards."""
    slug = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())
    name = f"t{next(_counter)}_{slug}"[:63]
    postgres.create_database(name, template=migrated_template.name)
    yield name
    postgres.drop_database(name)


@pytest.fixture
def stack(request, postgres, redis_server, database, tmp_path):
    """A harness.Stack on this test's database and an emptied Redis. Teardown
    stops every process and fails the test on any sanitizer report or crash."""
    client = redis_server.client()
    client.flushall()
    client.close()
    stack = Stack(postgres, redis_server, database, tmp_path)
    yield stack
    problems = stack.close()
    call = getattr(request.node, "rep_call", None)
    if (call is not None and call.failed) or problems:
        print(stack.log_tails())
    if problems:
        pytest.fail("sanitizer report or crash:\n\n" + "\n\n".join(problems), pytrace=False)
