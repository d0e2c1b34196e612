#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages this project builds, tests and runs with.
#
# Does nothing when every package is installed already (checked with dpkg-query,
# so it needs neither root nor the network then). Otherwise, as root: one
# `apt-get update` and one `apt-get install`. Not root: prints the exact sudo
# command line and exits 1.
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config
    libh2o-evloop-dev libssl-dev libzmq3-dev libczmq-dev libmsgpack-dev
    libpq-dev libhiredis-dev libcurl4-openssl-dev libjansson-dev libjwt-dev
    libcriterion-dev
    # servers for local runs and tests
    postgresql redis-server
    # integration tests and tools
    python3 python3-pytest python3-psycopg2 python3-redis python3-jwt python3-aiosmtpd
    curl wrk procps
    # browser tests of the pages (tests/browser: playwright-core drives this chromium)
    chromium nodejs npm
)

# Names that installed packages provide (NodeSource's nodejs provides npm, and
# conflicts with Debian's): such a name counts as installed.
provided=" $(dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null | sed -n 's/^installed //p' |
    tr ',' '\n' | sed 's/([^)]*)//; s/^ *//; s/ *$//' | tr '\n' ' ') "

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "installed" && "$provided" != *" $pkg "* ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

echo "deps: missing: ${missing[*]}"
if ((EUID != 0)); then
    echo "deps: run as root, or:" >&2
    echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
echo "deps: installed ${#missing[@]} packages"
