#!/usr/bin/env bash
# fuzz.sh [seconds] [target...] - builds the libFuzzer targets (tests/fuzz/)
# with clang into build-fuzz/ (-DOB_FUZZ=ON: -fsanitize=fuzzer,address,undefined)
# and runs each for the given time (default FUZZ_SECONDS, else 8) from its
# seed corpus tests/fuzz/corpus/<target>/.
#
# New inputs that reach new code are written to build-fuzz/corpus/<target>/,
# never to the checked-in seeds. A crash, leak, sanitizer report or timeout
# leaves its input in build-fuzz/crashes/<target>/ and counts as a failure.
# Prints one line per target ("fuzz_x: ok, 123456 runs in 8 s") and exits 1
# when any target failed. OB_BUILD_PREFIX (default build) renames the build
# directory to <prefix>-fuzz; OB_JOBS (default 2) is the make parallelism.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-8}}
shift || true
dir="$ROOT/${OB_BUILD_PREFIX:-build}-fuzz"

echo "fuzz: building into $dir"
CC=clang cmake -S "$ROOT" -B "$dir" -DOB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "${OB_JOBS:-2}" --target fuzz

targets=("$@")
if ((${#targets[@]} == 0)); then
    for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$src" .c)")
    done
fi

failed=0
for target in "${targets[@]}"; do
    name=${target#fuzz_}
    seeds="$ROOT/tests/fuzz/corpus/$name"
    work="$dir/corpus/$name"
    crashes="$dir/crashes/$name"
    log="$dir/logs/$name.log"
    mkdir -p "$work" "$crashes" "$dir/logs"
    status=0
    # -rss_limit_mb: "never unbounded memory" is a property too.
    ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$dir/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$seeds" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if ((status == 0)); then
        echo "$target: ok, ${runs:-?} runs in $seconds s"
    else
        failed=$((failed + 1))
        echo "$target: FAILED (exit $status), input in $crashes/; log $log:" >&2
        grep -E "ERROR|runtime error|check failed|SUMMARY" "$log" | head -20 >&2 || true
    fi
done

if ((failed > 0)); then
    echo "fuzz: $failed of ${#targets[@]} targets failed"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ok"
