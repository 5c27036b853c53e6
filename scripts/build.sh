#!/usr/bin/env bash
# Configures and builds ringsql.
#   scripts/build.sh          the normal build in build/ (gcc, jemalloc, -Werror)
#   scripts/build.sh sanitize the ASan+UBSan build in build-san/ (clang, with fuzz targets)
set -euo pipefail
cd "$(dirname "$0")/.."

setup() {
    local dir=$1
    shift
    if [[ -f $dir/build.ninja ]]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir"
}

case ${1:-normal} in
normal) setup build ;;
sanitize)
    CC=clang setup build-san -Db_sanitize=address,undefined -Db_lundef=false \
        -Djemalloc=false -Dfuzz=true
    ;;
*)
    echo "usage: $0 [normal|sanitize]" >&2
    exit 2
    ;;
esac
