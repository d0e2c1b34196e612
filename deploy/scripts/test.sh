#!/usr/bin/env bash
# test.sh - the whole suite, as CI runs it (.ci/run):
#
#   1. deps.sh (installs missing Debian packages)
#   2. build.sh normal and build.sh asan (build/, build-asan/)
#   3. unit tests: ctest --output-on-failure in both builds
#   4. browser test dependencies: npm ci in tests/browser (playwright-core and
#      axe-core from package-lock.json; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: the
#      tests drive Debian's /usr/bin/chromium, never a downloaded browser)
#   5. integration tests: pytest tests/integration against each build
#      (OB_BUILD_DIR=build, then build-asan with
#      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1); the harness starts and
#      removes its own Postgres and Redis; afterwards every process log is
#      checked for ASan/UBSan reports; the browser tests
#      (tests/integration/test_pages.py) write their screenshots to
#      <build dir>/screenshots
#
# Every step runs even when an earlier one failed (except after deps.sh).
# Counts are test cases: criterion's per-binary synthesis for ctest, one per
# test for pytest; a failed step that is not a test (deps, a build, the
# sanitizer log check, a test runner that could not run) counts as one failure. The last
# line printed is always "N passed, N failed"; the exit status is 0 only when
# nothing failed. OB_BUILD_PREFIX (default build) renames the build
# directories, for running next to another checkout's builds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREFIX=${OB_BUILD_PREFIX:-build}
PYTHON=/usr/bin/python3
cd "$ROOT"

PASSED=0
FAILED=0
SUMMARY=()
START=$SECONDS
WORK=$(mktemp -d /tmp/ob-test-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

banner() { printf '\n===== %s =====\n' "$*"; }

# record STEP PASSED FAILED [NOTE]: test counts of a test step.
record() {
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    SUMMARY+=("$(printf '  %-22s %4d passed, %4d failed%s' "$1" "$2" "$3" "${4:+  ($4)}")")
}

# step STEP ok|FAILED [NOTE]: a step that is not a test; a failure counts as one.
step() {
    if [[ "$2" != ok ]]; then
        FAILED=$((FAILED + 1))
    fi
    SUMMARY+=("$(printf '  %-22s %s%s' "$1" "$2" "${3:+  ($3)}")")
}

finish() {
    banner "summary"
    printf '%s\n' "${SUMMARY[@]}"
    echo "  took $((SECONDS - START)) s"
    echo "$PASSED passed, $FAILED failed"
    if ((FAILED > 0)); then
        exit 1
    fi
    exit 0
}

# Counts criterion cases per ctest test from Testing/Temporary/LastTest.log:
# prints "passed failed". A failed binary without a synthesis line (crash,
# timeout, sanitizer exit) counts as one failure.
count_ctest() {
    "$PYTHON" - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for block in re.split(r"\n(?=\d+/\d+ Testing: )", text)[1:]:
    ok = "\nTest Passed." in block
    synth = re.search(r"Synthesis: Tested: \d+ \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", block)
    if synth:
        good, bad = int(synth[1]), int(synth[2]) + int(synth[3])
        passed += good
        failed += bad if (bad or ok) else 1
    elif ok:
        passed += 1
    else:
        failed += 1
print(passed, failed)
EOF
}

# Counts pytest cases from a JUnit XML file: prints "passed failed skipped".
count_junit() {
    "$PYTHON" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for case in ET.parse(sys.argv[1]).iter("testcase"):
    tags = {child.tag for child in case}
    if tags & {"failure", "error"}:
        failed += 1
    elif "skipped" in tags:
        skipped += 1
    else:
        passed += 1
print(passed, failed, skipped)
EOF
}

build() {
    local flavour=$1
    banner "build $flavour"
    if "$ROOT/deploy/scripts/build.sh" "$flavour"; then
        step "build $flavour" ok
        return 0
    fi
    step "build $flavour" FAILED
    return 1
}

unit() {
    local flavour=$1 dir=$2 counts passed failed
    banner "unit tests ($flavour)"
    rm -f "$dir/Testing/Temporary/LastTest.log"
    local status=0
    (cd "$dir" && ctest --output-on-failure --test-output-size-passed 10000000 \
        --test-output-size-failed 10000000) || status=$?
    if [[ ! -f "$dir/Testing/Temporary/LastTest.log" ]]; then
        record "unit $flavour" 0 1 "ctest did not run"
        return
    fi
    counts=$(count_ctest "$dir/Testing/Temporary/LastTest.log")
    read -r passed failed <<<"$counts"
    if ((status != 0 && failed == 0)); then
        failed=1
    fi
    record "unit $flavour" "$passed" "$failed"
}

integration() {
    local flavour=$1 dir=$2 basetemp="$WORK/pytest-$1" junit="$WORK/junit-$1.xml" status=0
    banner "integration tests ($flavour)"
    OB_BUILD_DIR="$dir" "$PYTHON" -m pytest "$ROOT/tests/integration" -p no:cacheprovider -q -rfEs \
        --basetemp="$basetemp" --junitxml="$junit" || status=$?
    if [[ ! -f "$junit" ]]; then
        record "integration $flavour" 0 1 "pytest exited $status without results"
        return
    fi
    local counts passed failed skipped
    counts=$(count_junit "$junit")
    read -r passed failed skipped <<<"$counts"
    # 5: no tests collected, which is not a failure.
    if ((status != 0 && status != 5 && failed == 0)); then
        failed=1
    fi
    record "integration $flavour" "$passed" "$failed" "$skipped skipped"

    # The harness fails a test whose processes logged a report; this catches
    # any that slipped through (a process outside a Stack, a late write).
    if [[ "$flavour" == asan ]]; then
        local reports
        reports=$(grep -rlE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$basetemp" 2>/dev/null || true)
        if [[ -n "$reports" ]]; then
            echo "sanitizer reports in:" >&2
            echo "$reports" >&2
            step "sanitizer logs" FAILED "$(echo "$reports" | wc -l) log(s) with reports"
        else
            step "sanitizer logs" ok "no ASan/UBSan report"
        fi
    fi
    rm -rf "$basetemp"
}

browser_deps() {
    banner "browser test dependencies"
    if (cd "$ROOT/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund); then
        step "browser deps" ok "npm ci"
    else
        step "browser deps" FAILED "npm ci in tests/browser"
    fi
}

banner "deps"
if ! "$ROOT/deploy/scripts/deps.sh"; then
    step "deps" FAILED "cannot install packages"
    finish
fi
step "deps" ok

normal_ok=true
asan_ok=true
build normal || normal_ok=false
build asan || asan_ok=false

if $normal_ok; then
    unit normal "$ROOT/$PREFIX"
fi
if $asan_ok; then
    # Criterion's runner itself leaks a few bytes now and then; nothing of ours is suppressed.
    echo "leak:libcriterion.so" >"$WORK/lsan.supp"
    LSAN_OPTIONS="suppressions=$WORK/lsan.supp:print_suppressions=0" unit asan "$ROOT/$PREFIX-asan"
fi

browser_deps
if $normal_ok; then
    integration normal "$ROOT/$PREFIX"
fi
if $asan_ok; then
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        integration asan "$ROOT/$PREFIX-asan"
fi

finish
