#!/usr/bin/env bash
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
cmake --preset bench >/dev/null
cmake --build --preset bench -j "$(nproc)" 2>&1 | grep -E 'error:|warning:' || true
exec ./build/bench/bench/golf-bench --csv build/bench/results.csv --plot build/bench/results.png "$@"
