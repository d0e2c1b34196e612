# lib.sh - what start.sh, stop.sh, test.sh and bench/*.sh share (sourced, never run).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"        # from deploy/scripts
#   . "$(dirname "$0")/../deploy/scripts/lib.sh"     # from bench
#
# Defines OB_ROOT (the checkout), OB_PYTHON (Debian's python3: the tests'
# packages are Debian's), OB_WORKERS and OB_SERVICES (the one list of
# processes; tests/integration/harness.py reads OB_WORKERS from this file, so
# keep it on one line), and the helpers below.
# The private stores: ob_pg_start / ob_pg_stop (a Postgres cluster of our own,
# run as the postgres user when we are root) and ob_redis_start /
# ob_redis_stop (a redis-server of our own, from a config file).

OB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OB_PYTHON=/usr/bin/python3
OB_WORKERS=(stripe-worker subscription-worker lago-worker notifier)
OB_SERVICES=(gateway "${OB_WORKERS[@]}")

# ob_die MESSAGE: prints "<script>: MESSAGE" on stderr and exits 1.
ob_die() {
    echo "${OB_SCRIPT:-$(basename "$0" .sh)}: $*" >&2
    exit 1
}

ob_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ob_free_port [FROM]: the first free TCP port on 127.0.0.1 from FROM on, or
# without FROM one the kernel picks.
ob_free_port() {
    local port
    if (($# == 0)); then
        "$OB_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    for ((port = $1; port < $1 + 200; port++)); do
        if ! ob_port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    ob_die "no free port in $1..$(($1 + 199))"
}

ob_random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# ob_live_pid PIDFILE NAME: prints the pid in PIDFILE when it is alive and is
# program NAME (not a reused pid); fails otherwise.
ob_live_pid() {
    local pid
    [[ -f "$1" ]] || return 1
    pid=$(<"$1")
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$pid"
}

# ---- Postgres -------------------------------------------------------------------

# ob_as_pg CMD...: runs CMD as the postgres user when we are root (Postgres
# refuses to run as root), else as ourselves.
ob_as_pg() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ob_pg_bindir: the newest installed server's bin directory ($OB_PG_BINDIR wins).
ob_pg_bindir() {
    if [[ -n "${OB_PG_BINDIR:-}" ]]; then
        echo "$OB_PG_BINDIR"
        return
    fi
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$dir" ]] || dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [[ -x "$dir/initdb" ]] || ob_die "no Postgres server binaries (install postgresql: deploy/scripts/deps.sh)"
    echo "$dir"
}

# ob_pg_running DIR: true when the cluster in DIR/data runs.
ob_pg_running() {
    [[ -f "$1/data/postmaster.pid" ]] && ob_as_pg "$(ob_pg_bindir)/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# ob_pg_start DIR PORT LOG HOST_AUTH [SERVER_OPTION...]: a private cluster in
# DIR/data (initdb on first use; superuser postgres, no password, reachable
# over the unix socket in DIR/sock with local trust), listening on
# 127.0.0.1:PORT with HOST_AUTH (trust, scram-sha-256) for TCP, its log in LOG.
# SERVER_OPTIONs are "-c name=value" words for the server. As root the
# directories are given to the postgres user, who must be able to reach DIR.
ob_pg_start() {
    local dir=$1 port=$2 log=$3 auth=$4 bin
    shift 4
    bin=$(ob_pg_bindir)
    mkdir -p "$dir/sock" "$(dirname "$log")"
    touch "$log"
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 || ob_die "running as root needs the postgres system user (install postgresql)"
        chown postgres: "$dir" "$dir/sock" "$log"
        chmod 700 "$dir"
        runuser -u postgres -- test -x "$dir" ||
            ob_die "the postgres user cannot reach $dir (a parent directory is private); move the checkout or set DATABASE_URL"
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        ob_as_pg "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --auth-local=trust --auth-host="$auth" \
            ${OB_PG_NOSYNC:+--no-sync} >/dev/null || ob_die "initdb $dir/data failed"
    fi
    ob_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$log" -w -t 30 \
        -o "-p $port -k '$dir/sock' -c listen_addresses=127.0.0.1 $*" start >/dev/null ||
        ob_die "postgres did not start; see $log"
}

# ob_pg_stop DIR [MODE]: stops the cluster in DIR/data (pg_ctl -m MODE, default fast).
ob_pg_stop() {
    ob_as_pg "$(ob_pg_bindir)/pg_ctl" -D "$1/data" -m "${2:-fast}" -w -t 30 stop >/dev/null
}

# ob_psql DIR PORT [ARG...]: psql as the superuser over the cluster's unix socket.
ob_psql() {
    local dir=$1 port=$2
    shift 2
    ob_as_pg "$(ob_pg_bindir)/psql" -h "$dir/sock" -p "$port" -U postgres -v ON_ERROR_STOP=1 "$@"
}

# ---- Redis ----------------------------------------------------------------------

# ob_redis_start DIR PORT PASSWORD [PERSIST [PIDFILE [LOGFILE]]]: a private
# redis-server on 127.0.0.1:PORT from DIR/redis.conf (mode 600, so the password
# stays off the command line), daemonized, pid in PIDFILE (default
# DIR/redis.pid), log in LOGFILE (default DIR/redis.log). PASSWORD may be empty
# (no AUTH). PERSIST yes (default) keeps an append-only file in DIR; no keeps
# nothing on disk. Waits until it accepts connections.
ob_redis_start() {
    local dir=$1 port=$2 password=$3 persist=${4:-yes} pidfile=${5:-$1/redis.pid} logfile=${6:-$1/redis.log} i
    mkdir -p "$dir" "$(dirname "$pidfile")" "$(dirname "$logfile")"
    (
        umask 077
        {
            echo "port $port"
            echo "bind 127.0.0.1"
            echo "dir $dir"
            [[ -z "$password" ]] || echo "requirepass $password"
            if [[ "$persist" == yes ]]; then
                echo "appendonly yes"
            else
                echo "appendonly no"
                echo 'save ""'
            fi
            echo "daemonize yes"
            echo "pidfile $pidfile"
            echo "logfile $logfile"
        } >"$dir/redis.conf"
    )
    redis-server "$dir/redis.conf" || ob_die "redis-server did not start; see $logfile"
    for ((i = 0; i < 50; i++)); do
        ob_live_pid "$pidfile" redis-server >/dev/null && ob_port_in_use "$port" && return 0
        sleep 0.1
    done
    ob_die "redis did not start; see $logfile"
}

# ob_stop_pids NAME=PIDFILE...: SIGTERM to each live process (the pid in
# PIDFILE, when it is program NAME), waits up to 10 s for all, SIGKILLs the
# rest; removes the pid files. Prints "NAME stopped" per process.
ob_stop_pids() {
    local spec name file pid pids=() names=() i alive deadline
    for spec in "$@"; do
        name=${spec%%=*}
        file=${spec#*=}
        if pid=$(ob_live_pid "$file" "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        fi
        rm -f "$file"
    done
    ((${#pids[@]})) || return 0
    deadline=$((SECONDS + 10))
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
            echo "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM; SIGKILL"
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        else
            echo "${names[$i]} stopped"
        fi
    done
}
