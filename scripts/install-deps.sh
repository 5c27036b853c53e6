#!/usr/bin/env bash
# Installs the Debian 12 packages ringsql needs to build, test, demo and benchmark, if any is
# missing, and the node packages of the driver tests (tests/drivers/node, from npm). Runs
# apt-get as root, or through sudo.
set -euo pipefail

packages=(
    gcc clang libclang-rt-14-dev meson ninja-build pkg-config python3
    liburing-dev libmariadb-dev libjemalloc-dev libyaml-dev libssl-dev zlib1g-dev
    mariadb-server mariadb-client sysbench gnuplot-nox python3-yaml
    # bench/run.sh's proxy that decodes nothing
    haproxy
    # the drivers of tests/drivers
    python3-pymysql python3-mysqldb php-cli php-mysql golang-go
    golang-github-go-sql-driver-mysql-dev default-jdk-headless libmariadb-java
    libdbd-mariadb-perl libdbd-mysql-perl ruby ruby-mysql2
    # tests/compat: MariaDB's own test suite (mariadb-test-run, mariadb-test)
    mariadb-test
)
# Node from Debian unless one is installed already (another build of nodejs may conflict).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
# The node drivers, exactly as locked, when missing or older than the lock file.
node_deps() {
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/drivers/node"
    [[ -d $dir/node_modules && $dir/node_modules -nt $dir/package-lock.json ]] && return 0
    echo "install-deps: npm ci in tests/drivers/node"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && touch "$dir/node_modules"
}

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: every package is installed"
    node_deps || echo "install-deps: npm ci failed: the node driver tests will fail" >&2
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
node_deps || echo "install-deps: npm ci failed: the node driver tests will fail" >&2
