#!/usr/bin/env bash
# stop.sh - stops what deploy/scripts/start.sh started: the workers, then the
# gateway (SIGTERM, up to 10 s, then SIGKILL), then Redis and Postgres
# (pg_ctl stop -m fast). Data in .run/pg and .run/redis is kept; delete .run
# for a clean slate. Safe to run when nothing is running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN="$ROOT/.run"

say() { echo "stop: $*"; }

# The pid in file $1 when it is alive and is program $2 (not a reused pid).
live_pid() {
    local pid
    [[ -f "$1" ]] || return 1
    pid=$(<"$1")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$pid"
}

# SIGTERM to every named process, wait up to 10 s for all, SIGKILL the rest.
stop_all() {
    local name pid pids=() names=()
    for name in "$@"; do
        if pid=$(live_pid "$RUN/pids/$name.pid" "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        fi
        rm -f "$RUN/pids/$name.pid"
    done
    ((${#pids[@]})) || return 0
    local deadline=$((SECONDS + 10)) i alive
    while ((SECONDS < deadline)); do
        alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            say "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM; SIGKILL"
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        else
            say "${names[$i]} stopped"
        fi
    done
}

as_pg() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_bindir() {
    if [[ -n "${OB_PG_BINDIR:-}" ]]; then
        echo "$OB_PG_BINDIR"
        return
    fi
    find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1
}

if [[ ! -d "$RUN" ]]; then
    say "nothing to stop (no .run)"
    exit 0
fi

stop_all stripe-worker subscription-worker lago-worker notifier
stop_all gateway
stop_all redis

data="$RUN/pg/data"
if [[ -f "$data/postmaster.pid" ]]; then
    bin=$(pg_bindir)
    if [[ -z "$bin" ]]; then
        bin=$(dirname "$(command -v pg_ctl)")
    fi
    if as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null; then
        say "postgres stopped"
    else
        say "pg_ctl stop failed; see .run/logs/postgres.log"
        exit 1
    fi
fi
