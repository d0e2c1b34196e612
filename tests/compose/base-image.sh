#!/usr/bin/env bash
# base-image.sh - the base image, from Debian's packages: nothing is pulled.
#
# `debootstrap --variant=minbase bookworm` from this machine's apt mirror into
# a folder, tarred into $OB_COMPOSE_CACHE (default /var/cache/ob-compose) and
# kept for the ISO week (as .ci/run keeps its root: a new week picks up point
# releases), then `podman import`ed as localhost/debian:bookworm-slim (the
# name deploy/Dockerfile's FROM uses) and localhost/debian:12. The image's apt
# sources are the machine's bookworm entries (main, updates, security), so
# `apt-get install` in a build reaches the same mirror.
# Does nothing when the image of this week's tarball is already imported.
# Needs root (debootstrap, podman).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"

((EUID == 0)) || { echo "base-image: needs root" >&2; exit 1; }

# "uri suite component..." for the machine's bookworm apt entries.
mapfile -t ENTRIES < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
    awk '$2 ~ /^bookworm(-[a-z]+)?$/ { sub(/\/$/, "", $1); print }' | sort -u |
    awk '{ k = $1 " " $2; c[k] = c[k] " " $3 } END { for (k in c) print k c[k] }' | sort)
MIRROR=${OB_CI_MIRROR:-}
if [[ -z "$MIRROR" ]]; then
    for entry in "${ENTRIES[@]}"; do
        read -r uri suite _ <<<"$entry"
        [[ "$suite" == bookworm ]] && { MIRROR=$uri; break; }
    done
fi
[[ -n "$MIRROR" ]] || { echo "base-image: no Debian bookworm apt source; set OB_CI_MIRROR" >&2; exit 1; }
((${#ENTRIES[@]})) || ENTRIES=("$MIRROR bookworm main")

KEY="bookworm-minbase-$(date -u +%G-w%V)-$(printf '%s\n' "${ENTRIES[@]}" | md5sum | cut -c1-8)"
TARBALL="$OB_COMPOSE_CACHE/$KEY.tar"

if [[ "$(podman image inspect --format '{{ index .Labels "ob.base" }}' "${OB_BASE_IMAGES[0]}" 2>/dev/null)" == "$KEY" ]]; then
    ob_say "base image ${OB_BASE_IMAGES[0]} is $KEY"
    exit 0
fi

mkdir -p "$OB_COMPOSE_CACHE"
exec 9>"$OB_COMPOSE_CACHE/lock"
flock 9
if [[ ! -f "$TARBALL" ]]; then
    command -v debootstrap >/dev/null || { echo "base-image: no debootstrap (deploy/scripts/deps.sh installs it)" >&2; exit 1; }
    root=$(mktemp -d /var/tmp/ob-compose-base.XXXXXX)
    trap 'rm -rf --one-file-system "$root"' EXIT
    t=$SECONDS
    ob_say "debootstrap --variant=minbase bookworm from $MIRROR"
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$OB_COMPOSE_CACHE/debootstrap.log" 2>&1 || {
        tail -n 20 "$OB_COMPOSE_CACHE/debootstrap.log" >&2
        echo "base-image: debootstrap failed (log: $OB_COMPOSE_CACHE/debootstrap.log)" >&2
        exit 1
    }
    printf 'deb %s\n' "${ENTRIES[@]}" >"$root/etc/apt/sources.list"
    # An image keeps no package lists or downloaded .debs (as Debian's own images).
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/etc/resolv.conf "$root"/etc/hostname
    tar -C "$root" --numeric-owner -cpf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
    find "$OB_COMPOSE_CACHE" -maxdepth 1 -name 'bookworm-minbase-*.tar' ! -name "$KEY.tar" -delete
    ob_say "debootstrap took $((SECONDS - t)) s (cached as $TARBALL)"
fi
t=$SECONDS
podman import --quiet --change 'CMD ["/bin/bash"]' --change "LABEL ob.base=$KEY" "$TARBALL" "${OB_BASE_IMAGES[0]}" >/dev/null
for name in "${OB_BASE_IMAGES[@]:1}"; do
    podman tag "${OB_BASE_IMAGES[0]}" "$name"
done
ob_say "imported $KEY as ${OB_BASE_IMAGES[*]} in $((SECONDS - t)) s"
