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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN="$ROOT/.run"
BUILD="$ROOT/${OB_BUILD_PREFIX:-build}"
WORKERS=(stripe-worker subscription-worker lago-worker notifier)
cd "$ROOT"

say() { echo "start: $*"; }
die() {
    echo "start: $*" >&2
    exit 1
}

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

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first free port from $1 on.
free_port() {
    local port
    for ((port = $1; port < $1 + 200; port++)); do
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free port in $1..$(($1 + 199))"
}

# True when the pid in file $1 is alive and is program $2 (not a reused pid).
running() {
    local pid
    [[ -f "$1" ]] || return 1
    pid=$(<"$1")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# Postgres refuses to run as root: as root, its commands run as `postgres`.
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
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" ]] || dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [[ -x "$dir/initdb" ]] || die "no Postgres server binaries (install postgresql, or set DATABASE_URL)"
    echo "$dir"
}

start_postgres() {
    local bin data="$RUN/pg/data" sock="$RUN/pg/sock" pwfile="$RUN/pg/billing.password"
    bin=$(pg_bindir)
    PG_PORT=$(previous PG_PORT)
    if [[ -f "$data/postmaster.pid" ]] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        [[ -n "$PG_PORT" ]] || PG_PORT=$(sed -n 4p "$data/postmaster.pid")
        say "postgres already running on port $PG_PORT"
    else
        mkdir -p "$RUN/pg" "$sock" "$RUN/logs"
        touch "$RUN/logs/postgres.log"
        if ((EUID == 0)); then
            id postgres >/dev/null 2>&1 || die "running as root needs the postgres system user (install postgresql)"
            chown postgres: "$RUN/pg" "$sock" "$RUN/logs/postgres.log"
            chmod 700 "$RUN/pg"
            runuser -u postgres -- test -x "$RUN/pg" ||
                die "the postgres user cannot reach $RUN/pg (a parent directory is private); move the checkout or set DATABASE_URL"
        fi
        if [[ ! -f "$data/PG_VERSION" ]]; then
            say "initdb $data"
            # The superuser has no password: it logs in only over the private socket (local trust).
            as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
        fi
        if [[ -z "$PG_PORT" ]] || port_in_use "$PG_PORT"; then
            PG_PORT=$(free_port 54329)
        fi
        say "postgres on 127.0.0.1:$PG_PORT"
        as_pg "$bin/pg_ctl" -D "$data" -l "$RUN/logs/postgres.log" -w -t 30 \
            -o "-p $PG_PORT -k '$sock' -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null ||
            die "postgres did not start; see .run/logs/postgres.log"
    fi

    local psql=(as_pg "$bin/psql" -h "$sock" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [[ ! -s "$pwfile" ]]; then
        (umask 077 && random_secret >"$pwfile")
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
    local conf="$RUN/redis/redis.conf" pidfile="$RUN/pids/redis.pid"
    REDIS_PORT=$(previous REDIS_PORT)
    mkdir -p "$RUN/redis"
    if [[ ! -s "$RUN/redis/password" ]]; then
        (umask 077 && random_secret >"$RUN/redis/password")
    fi
    local password
    password=$(<"$RUN/redis/password")
    if running "$pidfile" redis-server; then
        say "redis already running on port $REDIS_PORT"
    else
        if [[ -z "$REDIS_PORT" ]] || port_in_use "$REDIS_PORT"; then
            REDIS_PORT=$(free_port 63790)
        fi
        # A config file keeps the password off the command line (ps).
        (
            umask 077
            cat >"$conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
dir $RUN/redis
requirepass $password
appendonly yes
daemonize yes
pidfile $pidfile
logfile $RUN/logs/redis.log
EOF
        )
        say "redis on 127.0.0.1:$REDIS_PORT"
        redis-server "$conf"
        local i
        for ((i = 0; i < 50; i++)); do
            running "$pidfile" redis-server && port_in_use "$REDIS_PORT" && break
            sleep 0.1
        done
        port_in_use "$REDIS_PORT" || die "redis did not start; see .run/logs/redis.log"
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
    for name in gateway "${WORKERS[@]}"; do
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
        GATEWAY_PORT=$(free_port 8084)
    fi
fi
if [[ -z "${BROKER_BIND:-}" ]]; then
    BROKER_BIND=$(previous BROKER_BIND)
    if ! $gateway_running || [[ -z "$BROKER_BIND" ]]; then
        BROKER_BIND="tcp://127.0.0.1:$(free_port 5555)"
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

start_process gateway
for name in "${WORKERS[@]}"; do
    start_process "$name"
done

wait_ready
say "ready at $BASE_URL (settings in .run/env, logs in .run/logs/)"
