#!/usr/bin/env bash
# stop.sh - stops what deploy/scripts/start.sh started: the workers, then the
# gateway (SIGTERM, up to 10 s, then SIGKILL), then Redis and Postgres
# (pg_ctl stop -m fast). Data in .run/pg and .run/redis is kept; delete .run
# for a clean slate. Safe to run when nothing is running.
set -euo pipefail

# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUN="$OB_ROOT/.run"
OB_SCRIPT=stop

say() { echo "stop: $*"; }

# stop_all NAME...: the processes start.sh recorded in .run/pids/NAME.pid.
stop_all() {
    local name specs=()
    for name in "$@"; do
        specs+=("$name=$RUN/pids/$name.pid")
    done
    ob_stop_pids "${specs[@]}" | sed 's/^/stop: /'
}

if [[ ! -d "$RUN" ]]; then
    say "nothing to stop (no .run)"
    exit 0
fi

stop_all "${OB_WORKERS[@]}"
stop_all gateway
stop_all redis

if [[ -f "$RUN/pg/data/postmaster.pid" ]]; then
    if ob_pg_stop "$RUN/pg" fast; then
        say "postgres stopped"
    else
        say "pg_ctl stop failed; see .run/logs/postgres.log"
        exit 1
    fi
fi
