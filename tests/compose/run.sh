#!/usr/bin/env bash
# run.sh - compose.yml, run for real under Podman (Debian's podman, podman-compose
# 1.0.3, tini), as deploy/scripts/test.sh's "compose" step. As root.
#
#   tests/compose/run.sh [JUNIT_XML]
#
#   1. lint: dclint (tests/compose/package.json, npm ci) over compose.yml, no
#      error allowed
#   2. images, in this machine's network namespace (their apt steps reach the
#      mirror; `--network=host`, so podman sets up no bridge or firewall rule
#      here): the base image (base-image.sh: debootstrap + podman import, as
#      localhost/debian:bookworm-slim, the Dockerfile's FROM), the stand-ins for
#      postgres:15 and redis:7 (standins/, from Debian's packages), and the
#      project's image from deploy/Dockerfile, tagged as compose.yml's image;
#      downloaded .debs are kept in $OB_COMPOSE_CACHE/archives
#   3. a network namespace of its own (ip netns add), where podman-compose
#      brings compose.yml up and test_compose.py drives it through the
#      published port (pytest, joined with nsenter --net: podman's bridge,
#      NAT rules and ip_forward change only there); then every container,
#      volume and network of the project is removed and the namespace deleted.
# Prints "compose-lint: ok|FAILED"; the pytest results go to JUNIT_XML. Not
# root: only the lint runs, and "compose-test: SKIPPED" is printed.
# Exit status: 0 only when the lint and every test passed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/podman-env.sh"
JUNIT=${1:-}
PYTHON=/usr/bin/python3

status=0
# ---- 1. lint ------------------------------------------------------------------
if (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) &&
    "$HERE/node_modules/.bin/dclint" "$ROOT/compose.yml"; then
    echo "compose-lint: ok"
else
    echo "compose-lint: FAILED"
    status=1
fi

if ((EUID != 0)); then
    echo "compose-test: SKIPPED: needs root (podman, ip netns)"
    exit "$status"
fi
for tool in podman podman-compose tini debootstrap ip nsenter; do
    command -v "$tool" >/dev/null || { echo "compose-test: no $tool (deploy/scripts/deps.sh installs it)" >&2; exit 1; }
done

# ---- 2. images ----------------------------------------------------------------
t=$SECONDS
"$HERE/base-image.sh"
mkdir -p "$OB_COMPOSE_CACHE/archives/partial"
build() { # build TAG CONTEXT [podman build args...]
    local tag=$1 context=$2
    shift 2
    podman build --quiet --network=host --pull=never --layers \
        -v "$OB_COMPOSE_CACHE/archives:/var/cache/apt/archives" -t "$tag" "$@" "$context" >/dev/null
}
build localhost/postgres:15 "$HERE/standins/postgres"
build localhost/redis:7 "$HERE/standins/redis"
build "$OB_PROJECT_IMAGE" "$ROOT" -f "$ROOT/deploy/Dockerfile"
ob_say "images ready in $((SECONDS - t)) s"

# ---- 3. compose in a network namespace ------------------------------------------
NETNS=obc-$$
PROJECT=obc$$
export OB_COMPOSE_PROJECT=$PROJECT
teardown() {
    # What test_compose.py's teardown did not remove (it was killed, say).
    if [[ -e "/run/netns/$NETNS" ]]; then
        nsenter --net="/run/netns/$NETNS" bash -c '
            ids=$(podman ps -aq --filter "label=io.podman.compose.project='"$PROJECT"'")
            [[ -z "$ids" ]] || podman rm -f -t 0 $ids >/dev/null
            vols=$(podman volume ls -q --filter "label=io.podman.compose.project='"$PROJECT"'")
            [[ -z "$vols" ]] || podman volume rm -f $vols >/dev/null
            podman network rm -f '"${PROJECT}_default"' >/dev/null 2>&1 || true' || true
        ip netns del "$NETNS" 2>/dev/null || true
    fi
}
trap teardown EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
ip netns add "$NETNS"
nsenter --net="/run/netns/$NETNS" ip link set lo up
junit_args=()
[[ -z "$JUNIT" ]] || junit_args=(--junitxml="$JUNIT")
nsenter --net="/run/netns/$NETNS" "$PYTHON" -m pytest "$HERE/test_compose.py" -p no:cacheprovider -q -rfEs \
    "${junit_args[@]}" || status=1
exit "$status"
