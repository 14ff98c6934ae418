#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Puts golf's licence tag at the top of every tracked source file that lacks one:
#   C and headers (.c .h)                        /* SPDX-License-Identifier: MIT */
#   Go (.go, go.mod), C++ (.cpp .cc .hpp)        // SPDX-License-Identifier: MIT
#   CMake (CMakeLists.txt .cmake .cmake.in), pkg-config (.pc.in), shell (.sh, or a shell
#   shebang), sed scripts (.sed), sanitizer suppressions (.supp)
#                                                # SPDX-License-Identifier: MIT
# The tag goes on the first line, or on the second where the first is a `#!` line.
# Documentation, JSON and data files (.md, .json, .txt outputs, LICENSE) are left alone.
#
# Usage: scripts/spdx.sh [--check] [FILE...]
#   no FILE: every file `git ls-files` lists. --check: change nothing; list the files that lack
#   the tag and exit 1 if there is any. Exit 2 on a usage error or a failed write.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG='SPDX-License-Identifier: MIT'
check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi
case "${1:-}" in -*) echo "usage: scripts/spdx.sh [--check] [FILE...]" >&2; exit 2 ;; esac

# The comment style of a file ("c", "slash", "hash"), or nothing when the file is not source.
style_of() {
    local f=$1 base
    base=${f##*/}
    case "$base" in
        *.c | *.h) echo c ;;
        *.go | go.mod | *.cpp | *.cc | *.hpp) echo slash ;;
        CMakeLists.txt | *.cmake | *.cmake.in | *.pc.in | *.sh | *.sed | *.supp) echo hash ;;
        *.*) ;;
        *) # no extension: a shell script if its shebang says so
            if head -n1 -- "$f" | grep -qE '^#!.*\b(ba|da)?sh\b'; then echo hash; fi ;;
    esac
}

# True when the tag is already there: on line 1, or on line 2 after a shebang.
has_tag() {
    local f=$1
    if head -n1 -- "$f" | grep -q '^#!'; then
        sed -n 2p -- "$f" | grep -q 'SPDX-License-Identifier:'
    else
        head -n1 -- "$f" | grep -q 'SPDX-License-Identifier:'
    fi
}

add_tag() {
    local f=$1 style=$2 line tmp
    case "$style" in
        c) line="/* $TAG */" ;;
        slash) line="// $TAG" ;;
        hash) line="# $TAG" ;;
    esac
    tmp=$(mktemp)
    if head -n1 -- "$f" | grep -q '^#!'; then
        { head -n1 -- "$f"; printf '%s\n' "$line"; tail -n +2 -- "$f"; } >"$tmp"
    else
        { printf '%s\n' "$line"; cat -- "$f"; } >"$tmp"
    fi
    # Write through the original file so that its mode (executable bits) stays.
    cat "$tmp" >"$f" || { rm -f "$tmp"; echo "spdx: cannot write $f" >&2; exit 2; }
    rm -f "$tmp"
}

if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -d '' files < <(git ls-files -z)
fi

missing=0
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    style=$(style_of "$f")
    [ -n "$style" ] || continue
    has_tag "$f" && continue
    if [ $check -eq 1 ]; then
        echo "$f"
        missing=$((missing + 1))
    else
        add_tag "$f" "$style"
        echo "spdx: tagged $f"
    fi
done

if [ $check -eq 1 ] && [ $missing -gt 0 ]; then
    echo "spdx: $missing file(s) lack '$TAG' (run scripts/spdx.sh to add it)" >&2
    exit 1
fi
exit 0
