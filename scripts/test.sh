#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what is missing (as root), then
#   1. release build: Criterion tests, stress programs, examples, a golf-bench smoke run (checks
#      every workload's count/sum at a small scale);
#   2. ASan+UBSan build: the same tests;
#   3. TSan build: the stress and regression programs (Criterion aborts under TSan);
#   4. install the package and build the consumer project with find_package and pkg-config.
# Every step that fails says so and shows its log's tail; the suite goes on with the next step.
# Ends with "N passed, N failed" (ctest tests and steps) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/deps.sh
golf_need_packages "${GOLF_BUILD_PACKAGES[@]}"

JOBS=${JOBS:-$(nproc)}
passed=0
failed=0
failures=()

# Runs ctest in a build dir and adds its counts.
run_ctest() {
    local name=$1 dir=$2; shift 2
    local log="$dir/ctest.log"
    ctest --test-dir "$dir" --output-on-failure "$@" >"$log" 2>&1
    local rc=$?
    grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|Passed|Failed|\*\*\*' "$log" | tail -n 60
    local line total nfail
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
    if [ -n "$line" ]; then
        nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
        total=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
        passed=$((passed + total - nfail))
        failed=$((failed + nfail))
        [ "$nfail" -eq 0 ] || failures+=("$name: $nfail ctest test(s)")
    fi
    if [ $rc -ne 0 ] && [ -z "$line" ]; then
        failed=$((failed + 1)); failures+=("$name: ctest did not run")
        tail -n 40 "$log"
    fi
}

step() { # step NAME command...
    local name=$1; shift
    echo "== $name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

# Runs a command with its output in LOG; on failure prints what failed and the log's tail.
logged() { # logged LOG command...
    local log=$1 rc; shift
    "$@" >>"$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && return 0
    echo "FAILED: $* (exit $rc); last lines of $log:"
    tail -n 40 "$log"
    return 1
}

build() { # build PRESET: configure and build; prints the warnings, and the errors on failure
    local log=build/$1-build.log
    mkdir -p build && : >"$log"
    logged "$log" cmake --preset "$1" && logged "$log" cmake --build --preset "$1" -j "$JOBS"
    local rc=$?
    grep -E 'warning:' "$log" | head -n 40
    [ $rc -eq 0 ] || grep -E 'error:|Error [0-9]' "$log" | head -n 40
    return $rc
}

t0=$(date +%s)
echo "== release build"
if build release; then
    run_ctest release build/release
    step "golf-bench smoke (every workload's check, scale 1/1000)" \
        ./build/release/bench/golf-bench --scale 0.001 --runs 1 --quiet --csv build/release/bench-smoke.csv
else
    failed=$((failed + 1)); failures+=("release build")
fi

echo "== ASan+UBSan build"
if build asan; then
    run_ctest asan build/asan   # sanitizer options: tests/CMakeLists.txt
else
    failed=$((failed + 1)); failures+=("asan build")
fi

echo "== TSan build (stress programs)"
if build tsan; then
    run_ctest tsan build/tsan -L 'stress|regress'   # TSAN_OPTIONS (tests/tsan.supp): tests/CMakeLists.txt
else
    failed=$((failed + 1)); failures+=("tsan build")
fi

install_consumer() {
    local prefix=$PWD/build/install-test/prefix
    rm -rf build/install-test
    cmake --install build/release --prefix "$prefix" >/dev/null || return 1
    cmake -S tests/install -B build/install-test/cmake -DCMAKE_PREFIX_PATH="$prefix" >/dev/null &&
        cmake --build build/install-test/cmake >/dev/null &&
        ./build/install-test/cmake/consumer || return 1
    local flags
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig" \
        pkg-config --static --cflags --libs golf) || return 1
    cc -std=c11 -o build/install-test/consumer-pc tests/install/consumer.c $flags &&
        ./build/install-test/consumer-pc
}
step "install + consumer (find_package and pkg-config)" install_consumer

echo
echo "test suite took $(( $(date +%s) - t0 )) s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
