#!/usr/bin/env bash
# A throwaway MariaDB server for tests and demos: private data dir, free port on 127.0.0.1.
#
#   tests/mariadb.sh start DIR   initialise DIR, make test certificates in DIR/certs
#                                (tests/lib/make_certs.sh), start mariadbd with TLS on, create
#                                the test user and database, wait until it answers; prints shell
#                                exports (RINGSQL_TEST_MARIADB_HOST/PORT/SOCKET/DIR and
#                                RINGSQL_TEST_CERTS, the certificate directory) and writes them
#                                to DIR/env as well
#   tests/mariadb.sh stop DIR    stop the server started in DIR (by its PID) and wait for it
#   tests/mariadb.sh restart DIR start it again on the same port and data dir, with the same
#                                options
#
# The server accepts TLS (server-cert.pem, signed by DIR/certs/ca.pem) and plaintext alike.
# With RINGSQL_MARIADB_REQUIRE_TLS=1 in the environment of `start` it refuses plaintext over
# TCP (--require-secure-transport, for backend-TLS tests); that choice is kept in DIR and
# holds for `restart` too. Likewise RINGSQL_MARIADB_EXTRA_ARGS (whitespace-separated mariadbd
# options, e.g. "--server-id=2 --log-bin=mariadb-bin", for tests/lib/replication.sh) is
# appended to mariadbd's command line, after the options above (so it may override them, as
# --log-bin does --skip-log-bin), and kept in DIR/extra-args for `restart`.
#
# The test user is ringsql_test / test_pass with every privilege; database ringsql_test;
# root has no password from 127.0.0.1. Nothing here touches a system-wide MariaDB.
set -euo pipefail

readonly START_TIMEOUT_S=${RINGSQL_MARIADB_START_TIMEOUT_S:-60}
readonly STOP_TIMEOUT_S=30

die() {
    echo "mariadb.sh: $*" >&2
    exit 1
}

find_bin() {
    local name
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return
        fi
        if [[ -x /usr/sbin/$name ]]; then
            echo "/usr/sbin/$name"
            return
        fi
    done
    die "none of '$*' is installed (apt-get install mariadb-server mariadb-client)"
}

here=$(cd "$(dirname "$0")" && pwd)

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether the server in DIR refuses plaintext (decided at start, kept in DIR/require-tls).
require_tls() { [[ -f $1/require-tls ]]; }

# root_client DIR PORT ARGS...: the client as root over TCP, with TLS where the server
# requires it (the client of Debian 12 does not try TLS unless told).
root_client() {
    local dir=$1 port=$2 client tls_opt=()
    shift 2
    client=$(find_bin mariadb mysql)
    require_tls "$dir" && tls_opt=(--ssl)
    "$client" --no-defaults "${tls_opt[@]}" -h127.0.0.1 -P"$port" -uroot "$@"
}

# Runs mariadbd in the background on DIR's data and port; records its PID.
launch() {
    local dir=$1 port=$2 mariadbd
    mariadbd=$(find_bin mariadbd mysqld)
    local user_opt=() tls_opt=(--ssl-ca="$dir/certs/ca.pem" --ssl-cert="$dir/certs/server-cert.pem"
        --ssl-key="$dir/certs/server-key.pem")
    [[ $(id -u) -eq 0 ]] && user_opt=(--user=root)
    require_tls "$dir" && tls_opt+=(--require-secure-transport=ON)
    local extra_opt=()
    [[ -f $dir/extra-args ]] && read -r -a extra_opt <"$dir/extra-args"
    "$mariadbd" --no-defaults "${user_opt[@]}" "${tls_opt[@]}" \
        --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
        --socket="$dir/mariadb.sock" --pid-file="$dir/mariadb.pid" \
        --log-error="$dir/mariadb.err" --skip-name-resolve --skip-log-bin \
        --max-connections=2000 --max-allowed-packet=256M --innodb-buffer-pool-size=128M \
        --innodb-log-file-size=48M --innodb-flush-log-at-trx-commit=2 \
        --local-infile=1 "${extra_opt[@]}" >/dev/null 2>&1 &
    echo $! >"$dir/mariadbd.pid"
}

# Waits (bounded) until the server answers a query over TCP as root.
wait_ready() {
    local dir=$1 port=$2 deadline
    deadline=$((SECONDS + START_TIMEOUT_S))
    until root_client "$dir" "$port" --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1; do
        if ! kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null; then
            tail -20 "$dir/mariadb.err" >&2 || true
            die "mariadbd exited during start-up (log: $dir/mariadb.err)"
        fi
        ((SECONDS < deadline)) || die "mariadbd did not answer within ${START_TIMEOUT_S}s"
        sleep 0.2
    done
}

write_env() {
    local dir=$1 port=$2
    cat >"$dir/env" <<EOF
export RINGSQL_TEST_MARIADB_HOST=127.0.0.1
export RINGSQL_TEST_MARIADB_PORT=$port
export RINGSQL_TEST_MARIADB_SOCKET=$dir/mariadb.sock
export RINGSQL_TEST_MARIADB_DIR=$dir
export RINGSQL_TEST_CERTS=$dir/certs
EOF
    cat "$dir/env"
}

start() {
    local dir=$1 port install_db
    [[ -e $dir/mariadbd.pid ]] && kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null &&
        die "a server already runs for $dir (PID $(cat "$dir/mariadbd.pid"))"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    install_db=$(find_bin mariadb-install-db mysql_install_db)
    local user_opt=()
    [[ $(id -u) -eq 0 ]] && user_opt=(--user=root)
    if [[ ! -d $dir/data/mysql ]]; then
        "$install_db" --no-defaults "${user_opt[@]}" --datadir="$dir/data" \
            --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
            { tail -20 "$dir/install.log" >&2; die "mariadb-install-db failed"; }
    fi
    "$here/lib/make_certs.sh" "$dir/certs" || die "cannot make the test certificates in $dir/certs"
    if [[ ${RINGSQL_MARIADB_REQUIRE_TLS:-0} == 1 ]]; then
        : >"$dir/require-tls"
    else
        rm -f "$dir/require-tls"
    fi
    if [[ -n ${RINGSQL_MARIADB_EXTRA_ARGS:-} ]]; then
        echo "$RINGSQL_MARIADB_EXTRA_ARGS" >"$dir/extra-args"
    else
        rm -f "$dir/extra-args"
    fi
    port=$(free_port)
    echo "$port" >"$dir/port"
    launch "$dir" "$port"
    wait_ready "$dir" "$port"
    root_client "$dir" "$port" <<'SQL'
CREATE DATABASE IF NOT EXISTS ringsql_test;
CREATE USER IF NOT EXISTS 'ringsql_test'@'%' IDENTIFIED BY 'test_pass';
GRANT ALL PRIVILEGES ON *.* TO 'ringsql_test'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'ringsql_test'@'localhost' IDENTIFIED BY 'test_pass';
GRANT ALL PRIVILEGES ON *.* TO 'ringsql_test'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    write_env "$dir" "$port"
}

stop() {
    local dir=$1 pid deadline
    [[ -f $dir/mariadbd.pid ]] || die "no server was started in $dir"
    pid=$(cat "$dir/mariadbd.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
}

restart() {
    local dir=$1 port
    dir=$(cd "$dir" && pwd)
    port=$(cat "$dir/port")
    "$here/lib/make_certs.sh" "$dir/certs" || die "cannot make the test certificates in $dir/certs"
    launch "$dir" "$port"
    wait_ready "$dir" "$port"
}

[[ $# -eq 2 ]] || die "usage: $0 start|stop|restart DIR"
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
restart) restart "$2" ;;
*) die "unknown command '$1' (start, stop or restart)" ;;
esac
