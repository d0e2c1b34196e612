#!/usr/bin/env bash
# bench/run.sh - the benchmark of issue 15 (a benchmark, not a test): ceilings
# and the four hot paths in one run, on a throwaway stack of its own with
# Postgres fsync on; the exactly-once check makes it exit 1 when violated.
#
#   bench/run.sh                       ceilings, webhook, batch, authorize, check
#   bench/run.sh authorize check       only these jobs
#   bench/run.sh --breakdown [JOB...]  instructions (callgrind), system calls and
#                                      socket writes (strace) per request
#
# Knobs (THREADS, CONNECTIONS, DURATION, ...) and what it prints: bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/run.py "$@"
