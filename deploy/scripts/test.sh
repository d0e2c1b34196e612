#!/usr/bin/env bash
# test.sh - the whole suite, as CI runs it (.ci/run, inside a fresh Debian root):
#
#   1. deps.sh (installs missing Debian packages)
#   2. format: clang-format --dry-run --Werror over every tracked *.c and *.h
#   3. build.sh normal, then a second configure and build of build/ that must
#      compile nothing, then build.sh asan (build/, build-asan/)
#   4. unit tests: ctest --output-on-failure in both builds
#   4b. browser test dependencies: npm ci in tests/browser (playwright-core and
#      axe-core from package-lock.json; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: the
#      tests drive Debian's /usr/bin/chromium, never a downloaded browser)
#   5. integration tests: pytest tests/integration against each build
#      (OB_BUILD_DIR=build, then build-asan with
#      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1); the harness starts and
#      removes its own Postgres and Redis; afterwards every process log is
#      checked for ASan/UBSan reports; the browser tests
#      (tests/integration/test_pages.py) write their screenshots to
#      <build dir>/screenshots
#   5b. chaos run: pytest tests/chaos against the normal build for
#      CHAOS_SECONDS (default 60): mixed load while processes are killed -9
#      and Postgres restarted, then its checks, printed as figures
#   6. fuzzing: deploy/scripts/fuzz.sh builds build-fuzz/ with clang and runs
#      every libFuzzer target in tests/fuzz/ for FUZZ_SECONDS (default 8)
#      under ASan+UBSan; each target counts as one test, a crash as a failure
#   7. compose: tests/compose/run.sh within OB_COMPOSE_TIMEOUT seconds (default
#      1200; 1-3 min with the images built, 6-10 min on a fresh root): dclint
#      over compose.yml (one check), then, as root, the images (base from
#      debootstrap, Postgres and Redis stand-ins, deploy/Dockerfile) and
#      compose.yml up under podman-compose in a network namespace of its own,
#      driven by tests/compose/test_compose.py (one test per pytest case); not
#      root: the compose tests are reported as skipped
#
# Every step runs even when an earlier one failed (except after deps.sh).
# Counts are test cases: criterion's per-binary synthesis for ctest, one per
# test for pytest; a failed step that is not a test (deps, format, a build, the
# rebuild check, the sanitizer log check, a test runner that could not run)
# counts as one failure.
#
# A test its runner cannot collect or start fails the suite loudly: a test file
# pytest cannot import (a collection error), a ctest binary that is missing or
# cannot start, or a runner that finds no test at all is named in a "NOT RUN"
# block before the summary, and counts as one failure per file or binary; every
# other test still runs.
#
# The last line printed is always "N passed, N failed"; the exit status is 0
# only when nothing failed. OB_BUILD_PREFIX (default build) renames the build
# directories, for running next to another checkout's builds.
set -euo pipefail

# shellcheck source=deploy/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$OB_ROOT
PREFIX=${OB_BUILD_PREFIX:-build}
PYTHON=$OB_PYTHON
cd "$ROOT"

PASSED=0
FAILED=0
SUMMARY=()
NOT_RUN=()
START=$SECONDS
STEP_START=$SECONDS
WORK=$(mktemp -d /tmp/ob-test-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# banner TITLE: starts a step (and its clock).
banner() {
    STEP_START=$SECONDS
    printf '\n===== %s =====\n' "$*"
}

took() { printf '%4d s' $((SECONDS - STEP_START)); }

# record STEP PASSED FAILED [NOTE]: test counts of a test step.
record() {
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    SUMMARY+=("$(printf '  %-22s %s  %4d passed, %4d failed%s' "$1" "$(took)" "$2" "$3" "${4:+  ($4)}")")
}

# step STEP ok|FAILED [NOTE]: a step that is not a test; a failure counts as one.
step() {
    if [[ "$2" != ok ]]; then
        FAILED=$((FAILED + 1))
    fi
    SUMMARY+=("$(printf '  %-22s %s  %s%s' "$1" "$(took)" "$2" "${3:+  ($3)}")")
}

# not_run WHAT: a test file or binary its runner could not collect or start.
not_run() {
    NOT_RUN+=("$1")
    printf '\n!!!!! NOT RUN: %s\n' "$1"
}

finish() {
    if ((${#NOT_RUN[@]})); then
        printf '\n===== NOT RUN: the suite is incomplete =====\n'
        echo "Their runner could not collect or start these, so their tests did not run (one failure each):"
        printf '  %s\n' "${NOT_RUN[@]}"
    fi
    printf '\n===== summary =====\n'
    printf '%s\n' "${SUMMARY[@]}"
    echo "  took $((SECONDS - START)) s"
    echo "$PASSED passed, $FAILED failed"
    if ((FAILED > 0)); then
        exit 1
    fi
    exit 0
}

# Counts criterion cases per ctest test from Testing/Temporary/LastTest.log:
# prints "passed failed", then one "NOTRUN <test>: <why>" line per binary that
# could not start. A failed binary without a synthesis line (crash, timeout,
# sanitizer exit) counts as one failure.
count_ctest() {
    "$PYTHON" - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
not_run = []
for block in re.split(r"\n(?=\d+/\d+ Testing: )", text)[1:]:
    name = re.match(r"\d+/\d+ Testing: (\S+)", block)[1]
    ok = "\nTest Passed." in block
    synth = re.search(r"Synthesis: Tested: \d+ \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)", block)
    cannot = re.search(r"error while loading shared libraries[^\n]*|cannot execute[^\n]*|Exec format error", block)
    if re.search(r'^Command: ""', block, re.M):
        # ctest logs "Test Passed." for an executable it could not find.
        not_run.append(f"{name}: the test executable is missing")
        failed += 1
    elif cannot and not synth:
        not_run.append(f"{name}: {cannot[0].strip()}")
        failed += 1
    elif synth:
        good, bad = int(synth[1]), int(synth[2]) + int(synth[3])
        passed += good
        failed += bad if (bad or ok) else 1
    elif ok:
        passed += 1
    else:
        failed += 1
print(passed, failed)
for line in not_run:
    print("NOTRUN", line)
EOF
}

# Counts pytest cases from a JUnit XML file: prints "passed failed skipped",
# then one "NOTRUN <file>: <error>" line per test file pytest could not collect.
count_junit() {
    "$PYTHON" - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
not_run = []
for case in ET.parse(sys.argv[1]).iter("testcase"):
    tags = {child.tag for child in case}
    error = case.find("error")
    if error is not None and error.get("message") == "collection failure":
        lines = [line[1:].strip() for line in (error.text or "").splitlines() if line.startswith("E ")]
        where = case.get("name", "?").replace(".", "/") + ".py"
        not_run.append(f"{where}: {lines[-1] if lines else 'collection failure'}")
        failed += 1
    elif tags & {"failure", "error"}:
        failed += 1
    elif "skipped" in tags:
        skipped += 1
    else:
        passed += 1
print(passed, failed, skipped)
for line in not_run:
    print("NOTRUN", line)
EOF
}

# Every tracked C file must be exactly what clang-format (.clang-format) writes.
format_check() {
    banner "format"
    local files=() bad=0 file
    if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        mapfile -t files < <(git -C "$ROOT" ls-files -- '*.c' '*.h' | sed "s|^|$ROOT/|")
    else
        mapfile -t files < <(find "$ROOT" -name '*.[ch]' -not -path "$ROOT/$PREFIX*" | sort)
    fi
    if ! command -v clang-format >/dev/null; then
        step "format" FAILED "no clang-format (deps.sh installs it)"
        return
    fi
    if ((${#files[@]} == 0)); then
        step "format" FAILED "no C file found"
        return
    fi
    if clang-format --dry-run --Werror "${files[@]}"; then
        step "format" ok "${#files[@]} files, clang-format $(clang-format --version | grep -o 'version [0-9.]*')"
        return
    fi
    for file in "${files[@]}"; do
        clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || bad=$((bad + 1))
    done
    echo "format: clang-format -i the files above" >&2
    step "format" FAILED "$bad of ${#files[@]} files not formatted"
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

# One configure, one build: configuring and building an unchanged tree again
# (as the test command does after the start command) must compile nothing.
rebuild_check() {
    banner "rebuild check"
    local out compiled
    if ! out=$("$ROOT/deploy/scripts/build.sh" normal 2>&1); then
        echo "$out"
        step "rebuild check" FAILED "the second build.sh normal failed"
        return
    fi
    compiled=$(grep -c 'Building C object' <<<"$out" || true)
    if ((compiled == 0)); then
        step "rebuild check" ok "second configure + build compiled 0 objects"
    else
        grep 'Building C object' <<<"$out" | head -n 5
        step "rebuild check" FAILED "second configure + build compiled $compiled objects"
    fi
}

unit() {
    local flavour=$1 dir=$2 counts passed failed line lost=0
    banner "unit tests ($flavour)"
    rm -f "$dir/Testing/Temporary/LastTest.log"
    local status=0
    (cd "$dir" && ctest --output-on-failure --test-output-size-passed 10000000 \
        --test-output-size-failed 10000000) || status=$?
    if [[ ! -f "$dir/Testing/Temporary/LastTest.log" ]]; then
        not_run "unit $flavour: ctest exited $status without a log"
        record "unit $flavour" 0 1 "ctest did not run"
        return
    fi
    counts=$(count_ctest "$dir/Testing/Temporary/LastTest.log")
    read -r passed failed <<<"$(head -n 1 <<<"$counts")"
    while IFS= read -r line; do
        if [[ "$line" == "NOTRUN "* ]]; then
            not_run "unit $flavour: ${line#NOTRUN }"
            lost=$((lost + 1))
        fi
    done <<<"$counts"
    if ((passed + failed == 0)); then
        not_run "unit $flavour: ctest found no test (CMake builds them only with libcriterion-dev)"
        failed=1
        lost=1
    fi
    if ((status != 0 && failed == 0)); then
        failed=1
    fi
    record "unit $flavour" "$passed" "$failed" "$( ((lost == 0)) || echo "$lost NOT RUN")"
}

integration() {
    local flavour=$1 dir=$2 basetemp="$WORK/pytest-$1" junit="$WORK/junit-$1.xml" status=0
    banner "integration tests ($flavour)"
    # A test file that cannot be imported must not hide the others: every
    # collectable test runs, and that file is reported as not run.
    OB_BUILD_DIR="$dir" "$PYTHON" -m pytest "$ROOT/tests/integration" -p no:cacheprovider -q -rfEs \
        --continue-on-collection-errors --basetemp="$basetemp" --junitxml="$junit" || status=$?
    if [[ ! -f "$junit" ]]; then
        not_run "integration $flavour: pytest exited $status without results"
        record "integration $flavour" 0 1 "pytest exited $status without results"
        return
    fi
    local counts passed failed skipped line lost=0
    counts=$(count_junit "$junit")
    read -r passed failed skipped <<<"$(head -n 1 <<<"$counts")"
    while IFS= read -r line; do
        if [[ "$line" == "NOTRUN "* ]]; then
            not_run "integration $flavour: ${line#NOTRUN }"
            lost=$((lost + 1))
        fi
    done <<<"$counts"
    # 5: pytest collected nothing.
    if ((status == 5 || passed + failed + skipped == 0)); then
        not_run "integration $flavour: pytest collected no test"
        failed=$((failed + 1))
        lost=$((lost + 1))
    fi
    if ((status != 0 && failed == 0)); then
        failed=1
    fi
    record "integration $flavour" "$passed" "$failed" "$skipped skipped$( ((lost == 0)) || echo ", $lost NOT RUN")"

    # The harness fails a test whose processes logged a report; this catches
    # any that slipped through (a process outside a Stack, a late write).
    if [[ "$flavour" == asan ]]; then
        local reports
        STEP_START=$SECONDS
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

# The chaos run (tests/chaos/test_chaos.py): one test; its figures are printed (-s).
chaos() {
    local seconds=${CHAOS_SECONDS:-60} dir=$1 junit="$WORK/junit-chaos.xml" status=0 counts passed failed skipped
    banner "chaos run (${seconds} s)"
    CHAOS_SECONDS=$seconds OB_BUILD_DIR="$dir" "$PYTHON" -m pytest "$ROOT/tests/chaos" -p no:cacheprovider -q -s -rfEs \
        --basetemp="$WORK/pytest-chaos" --junitxml="$junit" || status=$?
    if [[ ! -f "$junit" ]]; then
        not_run "chaos: pytest exited $status without results"
        record "chaos" 0 1 "pytest exited $status without results"
        return
    fi
    counts=$(count_junit "$junit")
    read -r passed failed skipped <<<"$(head -n 1 <<<"$counts")"
    if grep -q '^NOTRUN ' <<<"$counts"; then
        not_run "chaos: $(grep '^NOTRUN ' <<<"$counts" | head -n 1 | cut -c8-)"
    fi
    if ((status != 0 && failed == 0)); then
        failed=1
    fi
    record "chaos" "$passed" "$failed" "${seconds} s"
    rm -rf "$WORK/pytest-chaos"
}

fuzz() {
    local seconds=${FUZZ_SECONDS:-8} log="$WORK/fuzz.log" status=0
    banner "fuzzing (${seconds} s per target)"
    "$ROOT/deploy/scripts/fuzz.sh" "$seconds" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
    local passed failed
    passed=$(grep -cE '^fuzz_[a-z0-9_]+: ok' "$log" || true)
    failed=$(grep -cE '^fuzz_[a-z0-9_]+: FAILED' "$log" || true)
    if ((passed + failed == 0)); then
        not_run "tests/fuzz: no target ran (fuzz.sh exited $status)"
        failed=1
    elif ((status != 0 && failed == 0)); then
        failed=1
    fi
    record "fuzz" "$passed" "$failed" "${seconds} s per target"
}

browser_deps() {
    banner "browser test dependencies"
    if (cd "$ROOT/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund); then
        step "browser deps" ok "npm ci"
    else
        step "browser deps" FAILED "npm ci in tests/browser"
    fi
}

compose_test() {
    local limit=${OB_COMPOSE_TIMEOUT:-1200} junit="$WORK/junit-compose.xml" log="$WORK/compose.log" status=0
    banner "compose under podman (tests/compose/run.sh, ${limit} s at most)"
    timeout --kill-after=30s "$limit" "$ROOT/tests/compose/run.sh" "$junit" 2>&1 | tee "$log" ||
        status=${PIPESTATUS[0]}
    if grep -q '^compose-test: SKIPPED' "$log"; then
        SUMMARY+=("$(printf '  %-22s %s  %s' "compose" "$(took)" "skipped: needs root")")
        compose_lint "$log"
        return
    fi
    if [[ ! -f "$junit" ]]; then
        not_run "tests/compose: run.sh exited $status before the tests ran$( ((status != 124)) || echo " (timed out)")"
        record "compose" 0 1 "no results"
        compose_lint "$log"
        return
    fi
    local counts passed failed skipped
    counts=$(count_junit "$junit")
    read -r passed failed skipped <<<"$(head -n 1 <<<"$counts")"
    if ((passed + failed + skipped == 0)); then
        not_run "tests/compose: pytest collected no test"
        failed=1
    fi
    if ((status != 0 && failed == 0)) && grep -q '^compose-lint: ok' "$log"; then
        failed=1
    fi
    record "compose" "$passed" "$failed" "$skipped skipped$( ((status != 124)) || echo ", timed out")"
    compose_lint "$log"
}

# compose_lint LOG: run.sh's dclint verdict, one check (its time is in the compose line).
compose_lint() {
    STEP_START=$SECONDS
    if grep -q '^compose-lint: ok' "$1"; then
        step "compose lint" ok "dclint compose.yml: no error"
    else
        step "compose lint" FAILED "dclint compose.yml (tests/compose/run.sh)"
    fi
}

banner "deps"
if ! "$ROOT/deploy/scripts/deps.sh"; then
    step "deps" FAILED "cannot install packages"
    finish
fi
step "deps" ok

format_check

normal_ok=true
asan_ok=true
build normal || normal_ok=false
if $normal_ok; then
    rebuild_check
fi
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
if $normal_ok; then
    chaos "$ROOT/$PREFIX"
fi

fuzz

compose_test

finish
