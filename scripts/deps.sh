# Sourced by scripts/test.sh and scripts/bench.sh: installs what is missing, by Debian package.
# As root it runs apt-get; otherwise it prints the exact apt-get line and stops.
golf_need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "golf: missing packages. Run as root:"
        echo "  apt-get update && apt-get install -y ${missing[*]}"
        exit 1
    fi
    echo "golf: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The build needs these; the tests need Criterion; golf-bench needs ConcurrencyKit.
GOLF_BUILD_PACKAGES=(cmake make gcc pkg-config liburcu-dev libcriterion-dev libck-dev)

# Optional packages: installed when running as root, otherwise only named; never stops the job.
golf_want_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "golf: optional packages missing (as root: apt-get install -y ${missing[*]}); continuing without them"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >/dev/null 2>&1 ||
        echo "golf: could not install ${missing[*]}; continuing without them"
}
