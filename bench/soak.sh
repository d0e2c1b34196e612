#!/usr/bin/env bash
# bench/soak.sh - an hour of mixed valid and invalid traffic on loopback (a
# benchmark, not a test); shows whether every process's memory levels off.
#
#   bench/soak.sh                                  # SOAK_SECONDS=3600
#   SOAK_SECONDS=300 OB_BUILD_DIR=build-asan bench/soak.sh
#
# It starts its own throwaway stack on 127.0.0.1 (bench/soak.py says how and
# what it prints). Knobs: SOAK_SECONDS, SAMPLE_SECONDS, CLIENTS (4), LEVEL_KB
# (512: the largest growth of anonymous memory over the second half that
# still counts as levelled off), OB_BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/soak.py "$@"
