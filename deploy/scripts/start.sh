#!/usr/bin/env bash
# start.sh - runs the whole billing stack locally, in the background.
#
# Installs missing packages (deps.sh), builds (build.sh normal), then starts
#   - a private Postgres cluster in .run/pg (never the system's default
#     cluster), on 127.0.0.1 at a free port from 54329, unix socket in .run/pg/sock,
#     with a `billing` role and database (generated password, scram);
#   - a private Redis in .run/redis (free port from 63790, generated password);
#   - `billing-admin migrate`;
#   - the gateway and one of each worker, logs in .run/logs/<name>.log, pids
#     in .run/pids/<name>.pid;
# writes the effective settings to .run/env (mode 600) and waits up to 20 s
# for GET /ready.
#
# Settings: the environment wins over .env (read without running it; exported
# variables are never overridden). When DATABASE_URL or REDIS_URL is set, that
# server is used and no private one is started. GATEWAY_PORT and BROKER_BIND
# default to the first free port from 8084 and 5555.
#
# Idempotent: whatever is already running is left alone; run it again after a
# crash to restart only what died. Stop everything with deploy/scripts/stop.sh.
set -euo pipefail

# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$OB_ROOT
RUN="$ROOT/.run"
BUILD="$ROOT/${OB_BUILD_PREFIX:-build}"
OB_SCRIPT=start
cd "$ROOT"

say() { echo "start: $*"; }
die() { ob_die "$@"; }

# .env: KEY=VALUE lines, "export " and quotes allowed; parsed, never executed.
load_dotenv() {
    local file="$ROOT/.env" line key value
    [[ -f "$file" ]] || return 0
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]] || continue
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        value=${value%"${value##*[![:space:]]}"}
        if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        [[ -n "${!key+set}" ]] && continue
        export "$key=$value"
    done <"$file"
}

# The value of KEY in a previous run's .run/env (empty when absent).
previous() {
    [[ -f "$RUN/env" ]] || return 0
    # Our own file (mode 600), written with printf %q: sourcing undoes the quoting.
    (
        set +u
        # shellcheck disable=SC1091
        . "$RUN/env"
        printf '%s' "${!1:-}"
    )
}

# True when the pid in file $1 is alive and is program $2 (not a reused pid).
running() { ob_live_pid "$1" "$2" >/dev/null; }

start_postgres() {
    local data="$RUN/pg/data" pwfile="$RUN/pg/billing.password"
    PG_PORT=$(previous PG_PORT)
    if ob_pg_running "$RUN/pg"; then
        [[ -n "$PG_PORT" ]] || PG_PORT=$(sed -n 4p "$data/postmaster.pid")
        say "postgres already running on port $PG_PORT"
    else
        [[ -f "$data/PG_VERSION" ]] || say "initdb $data"
        if [[ -z "$PG_PORT" ]] || ob_port_in_use "$PG_PORT"; then
            PG_PORT=$(ob_free_port 54329)
        fi
        say "postgres on 127.0.0.1:$PG_PORT"
        # The superuser has no password: it logs in only over the private socket (local trust).
        ob_pg_start "$RUN/pg" "$PG_PORT" "$RUN/logs/postgres.log" scram-sha-256 -c fsync=on
    fi

    local psql=(ob_psql "$RUN/pg" "$PG_PORT" -d postgres -qtA)
    if [[ ! -s "$pwfile" ]]; then
        (umask 077 && ob_random_secret >"$pwfile")
    fi
    local password
    password=$(<"$pwfile")
    if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'billing'")" ]]; then
        # psql interpolates :'pw' (quoted) only in scripts, hence stdin.
        echo "CREATE ROLE billing LOGIN PASSWORD :'pw';" | "${psql[@]}" -v pw="$password" >/dev/null
    fi
    if [[ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'billing'")" ]]; then
        say "creating database billing"
        "${psql[@]}" -c "CREATE DATABASE billing OWNER billing" >/dev/null
    fi
    DATABASE_URL="postgresql://billing:$password@127.0.0.1:$PG_PORT/billing"
}

start_redis() {
    local pidfile="$RUN/pids/redis.pid"
    REDIS_PORT=$(previous REDIS_PORT)
    mkdir -p "$RUN/redis"
    if [[ ! -s "$RUN/redis/password" ]]; then
        (umask 077 && ob_random_secret >"$RUN/redis/password")
    fi
    local password
    password=$(<"$RUN/redis/password")
    if running "$pidfile" redis-server; then
        say "redis already running on port $REDIS_PORT"
    else
        if [[ -z "$REDIS_PORT" ]] || ob_port_in_use "$REDIS_PORT"; then
            REDIS_PORT=$(ob_free_port 63790)
        fi
        say "redis on 127.0.0.1:$REDIS_PORT"
        ob_redis_start "$RUN/redis" "$REDIS_PORT" "$password" yes "$pidfile" "$RUN/logs/redis.log"
    fi
    REDIS_URL="redis://:$password@127.0.0.1:$REDIS_PORT"
}

start_process() {
    local name=$1 pidfile="$RUN/pids/$1.pid"
    if running "$pidfile" "$name"; then
        say "$name already running (pid $(<"$pidfile"))"
        return
    fi
    nohup "$BUILD/$name" >>"$RUN/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    say "$name started (pid $!)"
}

write_env() {
    local name
    (
        umask 077
        {
            echo "# Written by deploy/scripts/start.sh. Use: set -a; . .run/env; set +a"
            for name in DATABASE_URL REDIS_URL GATEWAY_HOST GATEWAY_PORT BROKER_BIND BROKER_ENDPOINT PLANS_FILE \
                MIGRATIONS_DIR PG_PORT REDIS_PORT BASE_URL OB_BUILD_DIR; do
                printf '%s=%q\n' "$name" "${!name:-}"
            done
        } >"$RUN/env.tmp"
        mv "$RUN/env.tmp" "$RUN/env"
    )
}

wait_ready() {
    local deadline=$((SECONDS + 20)) gateway_pid
    gateway_pid=$(<"$RUN/pids/gateway.pid")
    while ((SECONDS < deadline)); do
        if curl -fsS -o /dev/null --max-time 1 "$BASE_URL/ready" 2>/dev/null; then
            return 0
        fi
        kill -0 "$gateway_pid" 2>/dev/null || {
            tail -n 20 "$RUN/logs/gateway.log" >&2 || true
            die "the gateway exited; see .run/logs/gateway.log"
        }
        sleep 0.2
    done
    for name in "${OB_SERVICES[@]}"; do
        echo "--- $name" >&2
        tail -n 5 "$RUN/logs/$name.log" >&2 || true
    done
    die "GET $BASE_URL/ready did not answer 200 within 20 s (the processes keep running; stop.sh stops them)"
}

load_dotenv
"$ROOT/deploy/scripts/deps.sh"
"$ROOT/deploy/scripts/build.sh" normal
mkdir -p "$RUN/logs" "$RUN/pids"

if [[ -n "${DATABASE_URL:-}" ]]; then
    say "using DATABASE_URL from the environment or .env"
    PG_PORT=
else
    start_postgres
fi
if [[ -n "${REDIS_URL:-}" ]]; then
    say "using REDIS_URL from the environment or .env"
    REDIS_PORT=
else
    start_redis
fi

gateway_running=false
if running "$RUN/pids/gateway.pid" gateway; then
    gateway_running=true
fi
# A running gateway keeps its ports; otherwise take free ones.
if [[ -z "${GATEWAY_PORT:-}" ]]; then
    GATEWAY_PORT=$(previous GATEWAY_PORT)
    if ! $gateway_running || [[ -z "$GATEWAY_PORT" ]]; then
        GATEWAY_PORT=$(ob_free_port 8084)
    fi
fi
if [[ -z "${BROKER_BIND:-}" ]]; then
    BROKER_BIND=$(previous BROKER_BIND)
    if ! $gateway_running || [[ -z "$BROKER_BIND" ]]; then
        BROKER_BIND="tcp://127.0.0.1:$(ob_free_port 5555)"
    fi
fi
BROKER_ENDPOINT=${BROKER_ENDPOINT:-${BROKER_BIND/\*/127.0.0.1}}
GATEWAY_HOST=${GATEWAY_HOST:-127.0.0.1}
PLANS_FILE=${PLANS_FILE:-$ROOT/deploy/plans.json}
MIGRATIONS_DIR=${MIGRATIONS_DIR:-$ROOT/deploy/migrations}
BASE_URL="http://127.0.0.1:$GATEWAY_PORT"
OB_BUILD_DIR=$BUILD
export DATABASE_URL REDIS_URL GATEWAY_HOST GATEWAY_PORT BROKER_BIND BROKER_ENDPOINT PLANS_FILE MIGRATIONS_DIR OB_BUILD_DIR
write_env

say "migrating"
"$BUILD/billing-admin" migrate --wait 10

for name in "${OB_SERVICES[@]}"; do
    start_process "$name"
done

wait_ready
say "ready at $BASE_URL (settings in .run/env, logs in .run/logs/)"
