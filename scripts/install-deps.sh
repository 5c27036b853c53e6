#!/usr/bin/env bash
# Installs the Debian 12 packages ringsql needs to build, test, demo and benchmark, if any is
# missing. Runs apt-get as root, or through sudo.
set -euo pipefail

packages=(
    gcc clang libclang-rt-14-dev meson ninja-build pkg-config python3
    liburing-dev libmariadb-dev libjemalloc-dev libyaml-dev libssl-dev
    mariadb-server mariadb-client sysbench gnuplot-nox python3-yaml
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: every package is installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
