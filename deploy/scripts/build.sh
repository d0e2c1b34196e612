#!/usr/bin/env bash
# build.sh [normal|asan] - configures and builds the whole tree.
#
#   normal -> build/        (default)
#   asan   -> build-asan/   (-DOB_SANITIZE=ON: AddressSanitizer + UBSan)
#
# OB_BUILD_PREFIX (default "build") renames both directories, e.g.
# OB_BUILD_PREFIX=build-mine gives build-mine/ and build-mine-asan/.
# OB_JOBS (default 2) is the make parallelism; OB_BUILD_TYPE, when set, is
# passed as CMAKE_BUILD_TYPE (else CMakeLists.txt decides).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
flavour=${1:-normal}
prefix=${OB_BUILD_PREFIX:-build}

case "$flavour" in
normal) dir="$ROOT/$prefix"; sanitize=OFF ;;
asan) dir="$ROOT/$prefix-asan"; sanitize=ON ;;
*)
    echo "usage: $0 [normal|asan]" >&2
    exit 2
    ;;
esac

echo "build: $flavour into $dir"
args=(-S "$ROOT" -B "$dir" -DOB_SANITIZE="$sanitize")
if [[ -n "${OB_BUILD_TYPE:-}" ]]; then
    args+=(-DCMAKE_BUILD_TYPE="$OB_BUILD_TYPE")
fi
cmake "${args[@]}" >/dev/null
cmake --build "$dir" -j "${OB_JOBS:-2}"
