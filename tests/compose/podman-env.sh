# podman-env.sh - what the compose test's scripts share (sourced, never run).
#
# Podman from Debian's packages, as root, on a machine (or in .ci/run's chroot)
# that runs no systemd and where root may not raise resource limits:
#   CONTAINERS_CONF          tests/compose/containers.conf: default_ulimits
#                            within the limits root has, init_path = Debian's
#                            tini, cgroupfs, file events and logs (no systemd
#                            or journald)
#   CONTAINERS_STORAGE_CONF  tests/compose/storage.conf: overlay storage in
#                            /var/lib/ob-compose (not the machine's default
#                            store: nothing else's images are touched)
# OB_COMPOSE_CACHE (default /var/cache/ob-compose) keeps the base root tarball.
OB_COMPOSE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OB_COMPOSE_CACHE=${OB_COMPOSE_CACHE:-/var/cache/ob-compose}
export CONTAINERS_CONF="$OB_COMPOSE_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$OB_COMPOSE_DIR/storage.conf"
# The Dockerfile's FROM, and the names compose.yml's stores use.
OB_BASE_IMAGES=(localhost/debian:bookworm-slim localhost/debian:12)
OB_PROJECT_IMAGE=localhost/ops-center-billing:local

ob_say() { echo "compose-test: $*"; }
