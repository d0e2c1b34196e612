#!/bin/bash
# The redis:7 image's entrypoint contract, for the compose test's stand-in.
set -euo pipefail
if [[ "${1:-}" == -* || "${1:-}" == *.conf ]]; then
    set -- redis-server "$@"
fi
if [[ "${1:-}" == redis-server ]]; then
    shift
    set -- redis-server --protected-mode no --bind '* -::*' "$@"
    if ((EUID == 0)); then
        chown -R redis:redis /data 2>/dev/null || true
        exec setpriv --reuid=redis --regid=redis --init-groups -- "$@"
    fi
fi
exec "$@"
