"""One owner per table (DESIGN.md promise 7, docs/architecture.md "Data ownership"):
scans the SQL text in every service's C sources and fails when a service writes
(INSERT / UPDATE / DELETE / TRUNCATE) a table it does not own. Request-row tables
(notifications, subscription_updates) may be INSERTed by any service; only their
owner updates them. Also: no service includes another service's header, and
billing-admin links no service library. Needs no running process."""
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# table -> the one service that writes it (docs/architecture.md keeps the same map).
OWNERS = {
    "plans": "subscription-worker",
    "customers": "subscription-worker",
    "subscriptions": "subscription-worker",
    "subscription_updates": "subscription-worker",
    "entitlement_versions": "subscription-worker",
    "entitlement_overrides": "subscription-worker",
    "teams": "subscription-worker",
    "team_members": "subscription-worker",
    "notifications": "notifier",
    "webhook_endpoints": "notifier",
    "webhook_messages": "notifier",
    "delivery_attempts": "notifier",
    "notification_preferences": "notifier",
    "email_daily_caps": "notifier",
    "stripe_events": "stripe-worker",
    "stripe_prices": "stripe-worker",
    "stripe_products": "stripe-worker",
    "trial_extensions": "stripe-worker",
    "usage_metrics": "lago-worker",
    "usage_events": "lago-worker",
    "lago_webhooks": "lago-worker",
    "lago_subscription_sync": "lago-worker",
    "usage_counters_dirty": "lago-worker",
    "schema_migrations": "billing-admin",
}

# Request rows: any service may INSERT a request for the owner.
REQUEST_TABLES = {"notifications", "subscription_updates"}

# The operator's tool acts for an owner in these tables only: setup-stripe fills
# the Stripe catalogue the stripe-worker reads, webhook-events replays an inbox
# event (resets it to pending).
TOOL_WRITES = {"billing-admin": {"stripe_prices", "stripe_products", "stripe_events"}}

# clients/ is linked by everyone; a clients/ module with SQL is its owner's code
# that the operator's tool runs too. Each one is named here with its owner.
CLIENT_SQL_OWNERS = {
    "clients/billing_prices.c": "stripe-worker",
    "clients/stripe_admin.c": "stripe-worker",
}

# common/ runs in every process: it may write only the migration ledger.
COMMON_WRITES = {"schema_migrations"}

WRITE = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)"
                   r"|\bUPDATE\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)(?:\s+(?:AS\s+)?[a-z_]+)?\s+SET\b", re.IGNORECASE)
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)


def sql_writes(c_text):
    """The tables the SQL in a C file's string literals writes (adjacent literals
    are joined as the compiler joins them)."""
    code = COMMENT.sub(" ", c_text)
    sql = " ".join(match.group(1) for match in STRING.finditer(code))
    return {(m.group(1) or m.group(2)).lower() for m in WRITE.finditer(sql)}


def service_sources():
    for folder in sorted((REPO / "services").iterdir()):
        for path in sorted(folder.glob("*.[ch]")):
            yield folder.name, path


@pytest.mark.parametrize("text, tables", [
    ('"INSERT INTO customers (a) VALUES ($1)"', {"customers"}),
    ('"UPDATE subscriptions SET status = $2"\n  " WHERE id = $1"', {"subscriptions"}),
    ('"INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = 1"', {"t"}),
    ('"SELECT id FROM subscriptions WHERE id = $1 FOR UPDATE SKIP LOCKED"', set()),
    ('"DELETE FROM usage_events WHERE x"', {"usage_events"}),
    ('"TRUNCATE plans"', {"plans"}),
    ('/* "INSERT INTO customers" in a comment */ "SELECT 1"', set()),
    ('"UPDATE"\n  " plans SET active = false"', {"plans"}),
])
def test_the_scanner_finds_writes_in_sql_text(text, tables):
    assert sql_writes(text) == tables


def test_every_table_of_the_migrations_has_an_owner():
    created = set()
    for path in (REPO / "deploy" / "migrations").glob("*.sql"):
        created |= {m.lower() for m in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)", path.read_text())}
    assert created - set(OWNERS) == set(), "tables without an owner in OWNERS (and docs/architecture.md)"


def test_each_service_writes_only_the_tables_it_owns():
    wrong = []
    for service, path in service_sources():
        for table in sql_writes(path.read_text()):
            if table not in OWNERS:
                wrong.append(f"{path.relative_to(REPO)}: writes {table}, which has no owner")
            elif OWNERS[table] != service and table not in TOOL_WRITES.get(service, set()):
                # An INSERT into a request table is a request, not a write of the owner's state.
                if not (table in REQUEST_TABLES and _is_insert_only(path, table)):
                    wrong.append(f"{path.relative_to(REPO)} ({service}): writes {table}, owned by {OWNERS[table]}")
    assert wrong == []


def _is_insert_only(path, table):
    code = COMMENT.sub(" ", path.read_text())
    sql = " ".join(match.group(1) for match in STRING.finditer(code))
    for m in WRITE.finditer(sql):
        name = (m.group(1) or m.group(2)).lower()
        if name == table and not re.match(r"INSERT", m.group(0), re.IGNORECASE):
            return False
    return True


def test_clients_sql_is_declared_and_stays_with_its_owner():
    wrong = []
    for path in sorted((REPO / "clients").glob("*.c")):
        rel = str(path.relative_to(REPO))
        tables = sql_writes(path.read_text())
        if not tables:
            continue
        owner = CLIENT_SQL_OWNERS.get(rel)
        if owner is None:
            wrong.append(f"{rel}: writes {sorted(tables)} but has no owner in CLIENT_SQL_OWNERS")
            continue
        wrong += [f"{rel}: writes {t}, not {owner}'s" for t in tables if OWNERS.get(t) != owner]
        header = rel[:-2] + ".h"
        for service, source in service_sources():
            if f'#include "{header}"' in source.read_text() and service not in (owner, *TOOL_WRITES):
                wrong.append(f"{source.relative_to(REPO)}: {service} uses {header}, {owner}'s SQL")
    assert wrong == []


def test_common_writes_no_service_table():
    for path in sorted((REPO / "common").glob("*.c")):
        assert sql_writes(path.read_text()) <= COMMON_WRITES, path.name


def test_no_service_includes_another_services_header():
    wrong = []
    for service, path in service_sources():
        for included in re.findall(r'#include "services/([^/]+)/', path.read_text()):
            if included != service:
                wrong.append(f"{path.relative_to(REPO)} includes services/{included}/")
    assert wrong == []


def test_services_link_clients_and_common_only():
    cmake = (REPO / "CMakeLists.txt").read_text()
    for target, libs in re.findall(r"target_link_libraries\((\$\{svc\}|ob_\$\{lib\}|billing-admin)\s+(?:PRIVATE|PUBLIC)\s+([^)]*)\)",
                                   cmake):
        linked = set(libs.split())
        assert "${OB_SERVICE_LIBS}" not in linked, target
        assert not {lib for lib in linked if re.fullmatch(r"ob_(stripe|subscription|lago|notifier|billing)_\w+", lib)}, target
