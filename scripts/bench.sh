#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, from a fresh Debian machine: installs what is missing (as root), builds golf and
# golf-bench (with the Go mirror when a Go toolchain is there), and runs golf-bench's standard
# comparison. Extra arguments go to golf-bench (e.g. `scripts/bench.sh map_load99:2 --runs 5`).
# Results: the table on stdout, build/bench/results.csv, build/bench/results.png (with gnuplot).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
golf_need_packages "${GOLF_BUILD_PACKAGES[@]}"
# Optional peers/tools: the Go toolchain (Go peer) and gnuplot (the plot). Not fatal if absent.
golf_want_packages golang-go gnuplot-nox
# The build's output goes to a log; its warnings are shown, and on a failure its errors and
# last lines, and the script stops (never runs a stale golf-bench).
mkdir -p build
log=build/bench-build.log
if ! { cmake --preset bench && cmake --build --preset bench -j "$(nproc)"; } >"$log" 2>&1; then
    grep -E 'error:|Error [0-9]' "$log" | head -n 40 >&2
    echo "golf: the bench build FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
if grep -q 'warning:' "$log"; then grep 'warning:' "$log" | head -n 40 >&2; fi
exec ./build/bench/bench/golf-bench --csv build/bench/results.csv --plot build/bench/results.png "$@"
