#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages this project builds, tests and runs with.
#
#   deps.sh                    every group (what start.sh and test.sh call)
#   deps.sh GROUP...           only these groups (the Dockerfile: build, runtime)
#   deps.sh --list [GROUP...]  prints the package names, one a line, and exits
#
# Stands alone (the Dockerfile copies only this file): it sources no lib.sh.
#
# PACKAGES below is the one list (deploy/Dockerfile installs from it too). Every
# package the programs, the scripts, the build and the tests use is named here,
# even when another package pulls it in today: the install uses
# --no-install-recommends, so nothing may be left to a recommendation. Essential
# packages (coreutils, util-linux's runuser, grep, sed, findutils, tar) come with
# every Debian system and are not listed.
#
# Does nothing when every package is installed already, or provided by an
# installed package (checked with dpkg-query, so it needs neither root nor the
# network then). Otherwise, as root: one
# `apt-get update` and one `apt-get install`. Not root: prints the exact sudo
# command line and exits 1.
set -euo pipefail

# One list; "@group" starts a group. Add a package to the group that uses it.
PACKAGES=(
    @runtime # what the built programs load, and the CA certificates their HTTPS calls verify with
    ca-certificates
    libh2o-evloop0.13 libssl3 libzmq5 libczmq4 libmsgpackc2 libpq5 libhiredis0.14 libcurl4 libjansson4 libjwt0

    @stores # start.sh / stop.sh: the private Postgres and Redis, and the tools the scripts call
    postgresql postgresql-client redis-server curl procps

    @build # build.sh: compiler, CMake, pkg-config and the -dev packages CMakeLists.txt asks for
    build-essential cmake pkg-config
    libh2o-evloop-dev libssl-dev libzmq3-dev libczmq-dev libmsgpack-dev
    libpq-dev libhiredis-dev libcurl4-openssl-dev libjansson-dev libjwt-dev

    @test # test.sh: unit tests (criterion), integration tests (pytest and what they import or
    # run: cryptography for RS256 keys, openssl for the Lago key pair), the format check
    # (git ls-files, clang-format), browser and SMTP tests
    libcriterion-dev
    python3 python3-pytest python3-psycopg2 python3-redis python3-jwt python3-cryptography
    openssl git clang-format
    chromium nodejs npm python3-aiosmtpd
    # promtool: checks the /metrics output and deploy/prometheus (tests/integration/test_metrics.py)
    prometheus
    # the multi-host test (tests/integration/test_multihost.py): ip netns, veth, bridge
    iproute2
    # the fuzz targets (deploy/scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
    clang libclang-rt-14-dev
    # the compose test (tests/compose/run.sh): Podman as root without systemd (runc: crun
    # refuses this machine's cgroup v1+v2 hybrid; netavark + aardvark-dns: the compose
    # network and its service names; iptables: its NAT rules, in the test's own network
    # namespace), podman-compose 1.0.3, tini (compose's init: true), debootstrap (the base
    # image); ip netns comes from iproute2 above
    podman podman-compose runc netavark aardvark-dns iptables tini debootstrap

    @bench # bench/run.sh (no test needs them): the HTTP load (wrk), pgbench and pg_stat_statements
    # (postgresql-contrib), redis-benchmark (redis-tools), the breakdown (valgrind's callgrind, strace)
    wrk postgresql-contrib redis-tools valgrind strace
)

GROUPS_ALL=()
for entry in "${PACKAGES[@]}"; do
    [[ "$entry" == @* ]] && GROUPS_ALL+=("${entry#@}")
done

# The packages of the groups named in "$@" (every group when none), one a line.
packages_of() {
    local entry group="" wanted=" $* "
    for entry in "${PACKAGES[@]}"; do
        if [[ "$entry" == @* ]]; then
            group=${entry#@}
        elif (($# == 0)) || [[ "$wanted" == *" $group "* ]]; then
            echo "$entry"
        fi
    done | awk '!seen[$0]++'
}

list=false
if [[ "${1:-}" == --list ]]; then
    list=true
    shift
fi
for group in "$@"; do
    if [[ " ${GROUPS_ALL[*]} " != *" $group "* ]]; then
        echo "deps: unknown group '$group' (groups: ${GROUPS_ALL[*]})" >&2
        exit 2
    fi
done
mapfile -t wanted < <(packages_of "$@")
if $list; then
    printf '%s\n' "${wanted[@]}"
    exit 0
fi

# Installed: a package dpkg lists as installed, or one an installed package
# Provides (nodesource's nodejs provides npm, and conflicts with Debian's).
declare -A have=()
while IFS=$'\t' read -r status name provides; do
    [[ "$status" == installed ]] || continue
    have[$name]=1
    while read -r virtual _; do
        [[ -n "$virtual" ]] && have[$virtual]=1
    done < <(tr ',' '\n' <<<"$provides")
done < <(dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Provides}\n' 2>/dev/null || true)

missing=()
for pkg in "${wanted[@]}"; do
    [[ -n "${have[$pkg]:-}" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#wanted[@]} packages are installed"
    exit 0
fi

if ((EUID != 0)); then
    echo "deps: missing: ${missing[*]}" >&2
    echo "deps: run as root, or:" >&2
    echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Quiet: errors still reach stderr; dpkg's full output is in /var/log/apt/term.log.
apt-get -qq update
echo "deps: installing ${#missing[@]} missing packages: apt-get install -y --no-install-recommends ${missing[*]}"
apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} packages"
