# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/bench.sh: installs what is missing, by Debian package.

# Prints the packages among "$@" that are not installed.
golf_missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

# Required packages: as root, apt-get installs them; otherwise print the exact line and stop.
# Exits the calling script (with apt-get's own messages) when they cannot be installed.
golf_need_packages() {
    local missing
    missing=$(golf_missing_packages "$@" | tr '\n' ' ')
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "golf: missing packages. Run as root:"
        echo "  apt-get update && apt-get install -y $missing"
        exit 1
    fi
    echo "golf: installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    if ! { apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null; }; then
        echo "golf: FAILED to install $missing (see apt-get's messages above)" >&2
        exit 1
    fi
}

# Optional packages: installed when running as root, otherwise only named; never stops the job.
golf_want_packages() {
    local missing
    missing=$(golf_missing_packages "$@" | tr '\n' ' ')
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "golf: optional packages missing (as root: apt-get install -y $missing); continuing without them"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    { apt-get update -qq && apt-get install -y -qq $missing; } >/dev/null 2>&1 ||
        echo "golf: could not install $missing; continuing without them"
}

# The build needs these; the tests need Criterion; golf-bench needs ConcurrencyKit.
# shellcheck disable=SC2034 # used by the scripts that source this file
GOLF_BUILD_PACKAGES=(cmake make gcc pkg-config liburcu-dev libcriterion-dev libck-dev)
# scripts/test.sh also builds the install consumers: C++ with g++ and clang++, symbol checks
# with nm (binutils); and checks the layout of the C sources with clang-format.
# shellcheck disable=SC2034
GOLF_TEST_PACKAGES=(g++ clang binutils clang-format)
