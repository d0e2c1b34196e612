#!/usr/bin/python3
"""scaling_figures - the per-process figures of docs/scaling.md, measured on the multi-host cluster.

    OB_BUILD_DIR=build /usr/bin/python3 bench/scaling_figures.py [seconds of load, default 20]

As root: brings up the cluster of tests/integration/test_multihost.py (two gateway
hosts, a worker host with two of each worker, a store host; network namespaces),
measures each process idle, drives usage batches and Stripe webhooks through both
gateways, measures again, and prints one Markdown table: RSS now and its peak
(VmRSS, VmHWM), threads, and TCP connections by what they reach (Postgres :5432,
Redis :6379, a broker :5555), read from /proc (the sockets a process holds and
its namespace's TCP table); then Postgres sessions by application_name and the
Redis client count. Everything it made is removed afterwards.
"""
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

import test_multihost  # noqa: E402  (after the path)
from support import query  # noqa: E402

PORTS = {5432: "pg", 6379: "redis", 5555: "broker"}


def _status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _connections(pid):
    """Counter of outgoing TCP connections by PORTS name (established or not)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = Counter()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            local_port = int(cols[1].split(":")[1], 16)
            remote_port = int(cols[2].split(":")[1], 16)
            if cols[9] in inodes and remote_port in PORTS and local_port not in PORTS and cols[3] != "0A":
                found[PORTS[remote_port]] += 1
    return found


def _measure(cluster):
    rows = {}
    for proc in cluster.stack.procs:
        if not proc.alive() or proc.name.endswith("standin") or proc.name == "smtp-sink":
            continue
        status = _status(proc.pid)
        rows[(proc.name, proc.pid)] = (int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024,
                                       int(status["Threads"]), _connections(proc.pid))
    return rows


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    tmp = Path(tempfile.mkdtemp(prefix="ob-scaling-"))
    fixture = test_multihost.cluster.__pytest_wrapped__.obj(tmp)
    cluster = next(fixture)
    try:
        time.sleep(3)
        idle = _measure(cluster)
        callers = [test_multihost.Caller(cluster, gw, f"fig-{gw}-{i}") for i, gw in enumerate(("gw1", "gw2") * 2)]
        for caller in callers:
            caller.start()
        time.sleep(seconds)
        loaded = _measure(cluster)
        for caller in callers:
            caller.stopped_at = time.monotonic()
            caller.stop.set()
        for caller in callers:
            caller.join(60)
        acked = sum(len(c.acked_usage) for c in callers), sum(len(c.acked_events) for c in callers)
        sessions = query(cluster.stack.db(), "SELECT application_name, count(*) FROM pg_stat_activity"
                                             " WHERE datname = 'billing' GROUP BY 1 ORDER BY 1")
        redis_clients = cluster.stack.redis().info("clients")["connected_clients"]
    finally:
        fixture.close()
    print(f"load: {seconds:.0f} s, {acked[0]} usage events and {acked[1]} Stripe webhooks acknowledged\n")
    print("| process | RSS idle MB | RSS under load MB (peak) | threads | Postgres | Redis | broker |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(loaded):
        rss, peak, threads, conns = loaded[key]
        print(f"| {key[0]} | {idle.get(key, (0,))[0]} | {rss} ({peak}) | {threads} | {conns['pg']} | {conns['redis']} "
              f"| {conns['broker']} |")
    print("\nPostgres sessions by application_name (the test's own are 'psql'/blank):")
    for name, count in sessions:
        print(f"  {name or '(none)'}: {count}")
    print(f"Redis connected_clients: {redis_clients} (the test's own included)")


if __name__ == "__main__":
    main()
