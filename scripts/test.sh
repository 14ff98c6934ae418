#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, from a fresh Debian machine: installs what is missing (as root), then
#   1. release build: Criterion tests, stress programs, examples, a golf-bench smoke run (checks
#      every workload's count/sum at a small scale);
#   2. ASan+UBSan build: the same tests;
#   2b. the release build's stress programs under three chaos seeds (GOLF_CHAOS=1, 2, 3), and the
#      debug tier (GOLF_DEBUG: invariant checks, chaos on): its whole ctest set;
#   3. TSan build: the stress and regression programs, and the unit tests and Go ports (on
#      tests/tsan_shim, since Criterion aborts under TSan);
#   4. install: the release build's static package, and a shared library-only build (with
#      GOLF_RCU_LGPL_INLINE=OFF); consumers of each through CMake's find_package and pkg-config
#      (--static for the static one), a C++17 consumer built with g++ and clang++, every example
#      built against the static package, and checks of what libgolf.so exports and of which
#      liburcu code each build compiles in; the race-detector flavour (golf-tsan,
#      golf::golf_tsan) of both packages: a correct program gets no ThreadSanitizer report, a
#      racy one does;
#   5. every source file carries its SPDX licence tag (GOLF_CHECK_SPDX=0 skips the check); the
#      C sources and headers are laid out as .clang-format says (clang-format --dry-run); a
#      build of everything with -Werror -Wmissing-prototypes.
# Every step that fails says so and shows its log's tail; the suite goes on with the next step.
# Ends with "N passed, N failed" (ctest tests and steps) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/deps.sh
golf_need_packages "${GOLF_BUILD_PACKAGES[@]}" "${GOLF_TEST_PACKAGES[@]}"

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

# Configures (cmake CONFIGURE-ARGS...) and builds DIR, logging to build/NAME-build.log; prints
# the warnings, and the errors on failure.
build_in() { # build_in NAME DIR CONFIGURE-ARGS...
    local log=build/$1-build.log dir=$2 rc
    shift 2
    mkdir -p build && : >"$log"
    logged "$log" cmake "$@" && logged "$log" cmake --build "$dir" -j "$JOBS"
    rc=$?
    grep -E 'warning:' "$log" | head -n 40
    [ $rc -eq 0 ] || grep -E 'error:|Error [0-9]' "$log" | head -n 40
    return $rc
}
build() { build_in "$1" "build/$1" --preset "$1"; } # build PRESET

t0=$(date +%s)
echo "== release build"
if build release; then
    run_ctest release build/release
    step "golf-bench smoke (every workload's check, scale 1/1000)" \
        ./build/release/bench/golf-bench --scale 0.001 --runs 1 --quiet --csv build/release/bench-smoke.csv
else
    failed=$((failed + 1)); failures+=("release build")
fi

# Chaos schedules (README.md, "Chaos schedules"): the release build's stress programs again,
# under three seeds (the percpu0 twins aside: the same programs).
chaos_stress() { # chaos_stress SEED
    local log=build/release/chaos-$1.log rc
    GOLF_CHAOS=$1 ctest --test-dir build/release -L stress -E percpu0 -j "$JOBS" \
        --output-on-failure >"$log" 2>&1
    rc=$?
    grep -E 'tests passed|\*\*\*|Failed' "$log" | tail -n 20
    return $rc
}
if [ -x build/release/tests/stress_chan_ring_mpmc ]; then
    t1=$(date +%s)
    for seed in 1 2 3; do
        step "stress programs under GOLF_CHAOS=$seed" chaos_stress $seed
    done
    echo "chaos seeds took $(( $(date +%s) - t1 )) s"
fi

echo "== ASan+UBSan build"
if build asan; then
    run_ctest asan build/asan   # sanitizer options: tests/CMakeLists.txt
else
    failed=$((failed + 1)); failures+=("asan build")
fi

# The debug tier (docs/CONTRIBUTING.md): every GOLF__ASSERT invariant compiled in and chaos on
# (seed 1), -O2; the whole ctest set.
echo "== debug tier (GOLF_DEBUG: invariant checks, chaos schedules)"
t1=$(date +%s)
if build debug; then
    run_ctest debug build/debug -j "$JOBS"
else
    failed=$((failed + 1)); failures+=("debug build")
fi
echo "debug tier took $(( $(date +%s) - t1 )) s"

echo "== TSan build (unit tests, Go ports, stress and regression programs)"
t1=$(date +%s)
if build tsan; then
    run_ctest tsan build/tsan -L 'unit|stress|regress'   # TSAN_OPTIONS: tests/CMakeLists.txt (no suppressions)
else
    failed=$((failed + 1)); failures+=("tsan build")
fi
echo "TSan build and tests took $(( $(date +%s) - t1 )) s"

# ---- 4. the installed package and its consumers ----
IT=$PWD/build/install-test
STATIC=$IT/static   # prefixes
SHARED=$IT/shared
rm -rf "$IT" && mkdir -p "$IT"

# pkg-config against the golf.pc under PREFIX (its libdir may be lib/ or lib/<multiarch>/).
pc() { # pc PREFIX pkg-config-args...
    local prefix=$1; shift
    PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name golf.pc | head -n1)") pkg-config "$@"
}
libdir_of() { dirname "$(find "$1" -name 'libgolf.*' | head -n1)"; }

install_static() {
    logged "$IT/static.log" cmake --install build/release --prefix "$STATIC"
}

# golfTargets.cmake and golf.pc name liburcu (golf::urcu_memb, Requires.private), never a path
# on the machine that built golf.
check_package_files() { # check_package_files PREFIX
    local hits
    hits=$(grep -rnE '/usr/lib|liburcu[-a-z]*\.(so|a)' "$(libdir_of "$1")/cmake" "$(libdir_of "$1")/pkgconfig")
    if [ -n "$hits" ]; then echo "FAILED: build-host paths in the package files:"; echo "$hits"; return 1; fi
    echo "no build-host library paths in golfTargets.cmake, golfConfig.cmake, golf.pc"
}

# A library-only configure (no tests, bench or examples: no Criterion or ConcurrencyKit needed),
# shared, with liburcu's inline read side off. Its build folder is kept between runs.
install_shared() {
    local b=build/shared-lib
    logged "$IT/shared.log" cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
        -DGOLF_BUILD_TESTS=OFF -DGOLF_BUILD_BENCH=OFF -DGOLF_BUILD_EXAMPLES=OFF \
        -DGOLF_RCU_LGPL_INLINE=OFF &&
        logged "$IT/shared.log" cmake --build "$b" -j "$JOBS" &&
        logged "$IT/shared.log" cmake --install "$b" --prefix "$SHARED"
}

# Runs a consumer; it must print "golf <the package's version> works".
run_consumer() { # run_consumer PREFIX program [env...]
    local prefix=$1 exe=$2 out version
    version=$(pc "$prefix" --modversion golf) || return 1
    out=$(env "${@:3}" "$exe") || { echo "FAILED: $exe: $out"; return 1; }
    echo "$out"
    case "$out" in
        *"golf $version works"*) ;;
        *) echo "FAILED: $exe does not report golf $version"; return 1 ;;
    esac
}

# libgolf linked statically (no libgolf.so), or the shared one from the prefix.
check_linkage() { # check_linkage static|shared PREFIX program [env...]
    local kind=$1 prefix=$2 exe=$3 deps
    deps=$(env "${@:4}" ldd "$exe") || return 1
    if [ "$kind" = static ]; then
        if echo "$deps" | grep -q libgolf; then echo "FAILED: $exe loads a libgolf.so"; return 1; fi
    elif ! echo "$deps" | grep -q "libgolf.so.* => $(libdir_of "$prefix")/"; then
        echo "FAILED: $exe does not load $(libdir_of "$prefix")/libgolf.so:"; echo "$deps"; return 1
    fi
}

consumer_cmake() { # consumer_cmake static|shared PREFIX
    local dir=$IT/cmake-$1
    logged "$dir.log" cmake -S tests/install -B "$dir" -DCMAKE_PREFIX_PATH="$2" &&
        logged "$dir.log" cmake --build "$dir" &&
        check_linkage "$1" "$2" "$dir/consumer" && run_consumer "$2" "$dir/consumer"
}

consumer_pc() { # consumer_pc static|shared PREFIX
    local exe=$IT/pc-$1 flags static=() env=()
    [ "$1" = static ] && static=(--static)
    [ "$1" = shared ] && env=("LD_LIBRARY_PATH=$(libdir_of "$2")")
    flags=$(pc "$2" "${static[@]}" --cflags --libs golf) || return 1
    echo "pkg-config ${static[*]} --cflags --libs golf: $flags"
    case "$flags" in *" -L/usr/lib"* | *" /usr/lib"*) echo "FAILED: absolute system paths in golf.pc"; return 1 ;; esac
    # shellcheck disable=SC2086 # word splitting of pkg-config's flags is intended
    logged "$exe.log" cc -std=c11 -Wall -Wextra -pedantic -Werror -o "$exe" tests/install/consumer.c $flags &&
        check_linkage "$1" "$2" "$exe" "${env[@]}" && run_consumer "$2" "$exe" "${env[@]}"
}

consumer_cxx() { # consumer_cxx COMPILER: C++17 against the static package
    local exe=$IT/cxx-$1 flags
    flags=$(pc "$STATIC" --static --cflags --libs golf) || return 1
    # shellcheck disable=SC2086
    logged "$exe.log" "$1" -std=c++17 -Wall -Wextra -pedantic -Werror -o "$exe" \
        tests/install/consumer.cpp $flags && run_consumer "$STATIC" "$exe"
}

# The race-detector flavour (golf-tsan, golf::golf_tsan). tests/install/consumer_tsan.c passes
# data through every golf structure: with no TSAN_OPTIONS (no suppressions) it must exit 0 with
# no ThreadSanitizer report. consumer_tsan_racy races on its own data (`plain`: two threads write
# an int; `after-send`: a write after sending the pointer): TSan must still report it.
tsan_clean() { # tsan_clean PROGRAM [env...]
    local exe=$1 out rc
    out=$(env -u TSAN_OPTIONS "${@:2}" "$exe" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || echo "$out" | grep -q ThreadSanitizer; then
        echo "FAILED: $exe (exit $rc) under ThreadSanitizer:"; echo "$out" | head -n 60; return 1
    fi
    echo "$out"
}
tsan_racy() { # tsan_racy PROGRAM MODE "FUNCTIONS" [env...]: a data race reported between them
    local exe=$1 out f
    out=$(env -u TSAN_OPTIONS "${@:4}" "$exe" "$2" 2>&1) &&
        { echo "FAILED: $exe $2 exited 0: no report"; return 1; }
    if ! echo "$out" | grep -q "WARNING: ThreadSanitizer: data race"; then
        echo "FAILED: $exe $2: no data race reported:"; echo "$out" | head -n 40; return 1
    fi
    for f in $3; do
        echo "$out" | grep -qE "^ +#[0-9]+ $f " && continue
        echo "FAILED: $exe $2: the report does not name $f:"; echo "$out" | head -n 40; return 1
    done
    echo "$exe $2: $(echo "$out" | grep '^SUMMARY')"
}
tsan_flavour_missing() { # true (with a message) where the compiler cannot build with TSan
    [ -n "$(find "$1" -name golf-tsan.pc)" ] && return 1
    if echo 'int main(void){return 0;}' | cc -x c -fsanitize=thread -o /dev/null - 2>/dev/null; then
        echo "FAILED: cc supports -fsanitize=thread but $1 has no golf-tsan.pc"; return 2
    fi
    echo "cc cannot build with -fsanitize=thread: no golf-tsan flavour, nothing to check"
}
consumer_tsan_pc() { # consumer_tsan_pc static|shared PREFIX
    local dir=$IT/tsan-pc-$1 flags static=() env=() missing
    missing=$(tsan_flavour_missing "$2"); case $? in 0) echo "$missing"; return 0 ;; 2) echo "$missing"; return 1 ;; esac
    [ "$1" = static ] && static=(--static)
    [ "$1" = shared ] && env=("LD_LIBRARY_PATH=$(libdir_of "$2")")
    flags=$(pc "$2" "${static[@]}" --cflags --libs golf-tsan) || return 1
    echo "pkg-config ${static[*]} --cflags --libs golf-tsan: $flags"
    mkdir -p "$dir"
    # shellcheck disable=SC2086 # word splitting of pkg-config's flags is intended
    logged "$dir.log" cc -std=c11 -Wall -Wextra -pedantic -Werror -g -o "$dir/clean" \
        tests/install/consumer_tsan.c $flags &&
        logged "$dir.log" cc -std=c11 -Wall -Wextra -pedantic -Werror -g -o "$dir/racy" \
            tests/install/consumer_tsan_racy.c $flags &&
        logged "$dir.log" cc -std=c11 -Wall -Wextra -pedantic -Werror -O2 -o "$dir/cost" \
            tests/install/tsan_cost.c $flags &&
        tsan_clean "$dir/clean" "${env[@]}" &&
        tsan_racy "$dir/racy" plain racy_plain_writer "${env[@]}" &&
        tsan_racy "$dir/racy" after-send "racy_sender racy_receiver" "${env[@]}"
}
# After consumer_cmake: its golf::golf_tsan programs.
consumer_tsan_cmake() { # consumer_tsan_cmake static|shared PREFIX
    local dir=$IT/cmake-$1 missing
    missing=$(tsan_flavour_missing "$2"); case $? in 0) echo "$missing"; return 0 ;; 2) echo "$missing"; return 1 ;; esac
    [ -x "$dir/consumer_tsan" ] || { echo "FAILED: golf::golf_tsan consumers not built in $dir"; return 1; }
    tsan_clean "$dir/consumer_tsan" && tsan_racy "$dir/consumer_tsan_racy" after-send "racy_sender racy_receiver"
}

# Every examples/*.c, built as a user would build it against the installed static package
# (pkg-config --static): an example that needs a header the install leaves out fails here.
examples_installed() {
    local flags f exe bad=0 n=0
    flags=$(pc "$STATIC" --static --cflags --libs golf) || return 1
    mkdir -p "$IT/examples"
    for f in examples/*.c; do
        exe=$IT/examples/$(basename "$f" .c)
        # shellcheck disable=SC2086 # word splitting of pkg-config's flags is intended
        logged "$exe.log" cc -std=c11 -Wall -Wextra -pedantic -Werror -o "$exe" "$f" $flags ||
            bad=$((bad + 1))
        n=$((n + 1))
    done
    [ "$bad" -eq 0 ] || { echo "FAILED: $bad of $n examples"; return 1; }
    echo "$n examples built against the installed package"
}

# The shared library exports exactly the functions the public headers declare: no test hook,
# no golf__ internal.
check_exports() {
    local so exported declared
    so=$(libdir_of "$SHARED")/libgolf.so
    exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort -u) || return 1
    declared=$(grep -h '^GOLF_API' include/golf/*.h | grep -o 'golf_[a-z0-9_]*(' | tr -d '(' | sort -u)
    if [ "$exported" != "$declared" ]; then
        echo "FAILED: libgolf.so's exports differ from the headers' GOLF_API functions:"
        diff <(echo "$declared") <(echo "$exported")
        return 1
    fi
    echo "libgolf.so exports the $(echo "$exported" | wc -l) public functions, nothing else"
}

# README "Licence": the default build compiles liburcu's read-side inline functions in (no call
# to urcu_memb_read_lock), GOLF_RCU_LGPL_INLINE=OFF calls liburcu-memb.so's.
check_lgpl_inline() {
    local a so
    a=$(libdir_of "$STATIC")/libgolf.a
    so=$(libdir_of "$SHARED")/libgolf.so
    if nm "$a" | grep -qE ' U urcu_memb_read_(lock|unlock|ongoing)$'; then
        echo "FAILED: the default build calls liburcu's read lock instead of inlining it"; return 1
    fi
    for f in urcu_memb_read_lock urcu_memb_read_unlock urcu_memb_read_ongoing; do
        if ! nm -D --undefined-only "$so" | grep -q " $f\$"; then
            echo "FAILED: the GOLF_RCU_LGPL_INLINE=OFF build does not call $f"; return 1
        fi
    done
    echo "default: liburcu's read side inlined; GOLF_RCU_LGPL_INLINE=OFF: liburcu-memb.so called"
}

# The installed golf-bench finds the installed Go mirror next to it (not in the build tree).
check_installed_bench() {
    local bin=$STATIC/bin out
    [ -x "$bin/golf-bench-go" ] || { echo "no Go toolchain: nothing to check"; return 0; }
    out=$(cd / && env PATH=/usr/bin:/bin "$bin/golf-bench" --scale 0.0001 --runs 1 --quiet \
        --impl go mutex_inc:1 2>&1) || { echo "$out"; return 1; }
    echo "$out" | grep -qE '^mutex_inc +1 go ' || { echo "FAILED: Go peer not run:"; echo "$out"; return 1; }
    echo "installed golf-bench ran the installed golf-bench-go"
}

echo "== install"
if step "install the static package (release build)" install_static; then
    step "package files: no build-host paths (static)" check_package_files "$STATIC"
    step "consumer: static + find_package" consumer_cmake static "$STATIC"
    step "consumer: static + pkg-config --static" consumer_pc static "$STATIC"
    step "consumer: golf::golf_tsan, static" consumer_tsan_cmake static "$STATIC"
    step "consumer: golf-tsan, static + pkg-config --static" consumer_tsan_pc static "$STATIC"
    step "consumer: C++17, g++" consumer_cxx g++
    step "consumer: C++17, clang++" consumer_cxx clang++
    step "examples/*.c built against the installed package" examples_installed
    step "installed golf-bench finds its Go mirror" check_installed_bench
fi
if step "install a shared library-only build (GOLF_RCU_LGPL_INLINE=OFF)" install_shared; then
    step "consumer: shared + find_package" consumer_cmake shared "$SHARED"
    step "consumer: shared + pkg-config" consumer_pc shared "$SHARED"
    step "consumer: golf::golf_tsan, shared" consumer_tsan_cmake shared "$SHARED"
    step "consumer: golf-tsan, shared + pkg-config" consumer_tsan_pc shared "$SHARED"
    step "libgolf.so exports the public API only" check_exports
fi
[ -d "$STATIC/lib" ] && [ -d "$SHARED/lib" ] && step "liburcu inline code: default vs OFF" check_lgpl_inline

# ---- 5. the sources ----

# The C and C++ sources and headers as .clang-format lays them out: `clang-format -i FILE` fixes
# one; a block that must keep its own layout goes between /* clang-format off */ and on.
check_format() {
    local files out bad
    mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp')
    if out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
        echo "${#files[@]} files as .clang-format lays them out ($(clang-format --version))"
        return 0
    fi
    echo "$out" | head -n 20
    bad=$(echo "$out" | grep -oE '^[^ :]+:[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u)
    echo "FAILED: $(echo "$bad" | wc -l) file(s) laid out otherwise than clang-format would" \
        "(clang-format -i FILE):"
    echo "$bad" | head -n 40 | sed 's/^/  /'
    return 1
}

echo "== sources"
if [ "${GOLF_CHECK_SPDX:-1}" = 1 ]; then
    step "SPDX licence tag in every source file" bash scripts/spdx.sh --check
fi
step "clang-format --dry-run --Werror: the C sources and headers" check_format
# Every warning an error, and no function with external linkage defined without a prototype in
# scope (declare it in its header, or make it static).
step "build with -Werror -Wmissing-prototypes (library, tests, bench, examples)" \
    build_in werror build/werror -S . -B build/werror -DCMAKE_BUILD_TYPE=Release \
    -DGOLF_BUILD_TESTS=ON -DGOLF_BUILD_BENCH=ON -DGOLF_BUILD_EXAMPLES=ON \
    "-DCMAKE_C_FLAGS=-Werror -Wmissing-prototypes"

echo
echo "test suite took $(( $(date +%s) - t0 )) s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
