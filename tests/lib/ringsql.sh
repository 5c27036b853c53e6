# Shell helpers for the tests that run the ringsql binary (source this file): a free port, a
# ringsql started from a config written here, and a bounded wait until it serves.
#
#   ringsql_start BIN DIR NAME MODE POOL_SIZE USERS_YAML [EXTRA_YAML]
#       writes DIR/NAME.yaml (2 workers, the MariaDB of RINGSQL_TEST_MARIADB_HOST/PORT as its
#       one backend, USERS_YAML as its users: list, EXTRA_YAML appended as it is, e.g. a tls:
#       block), starts BIN with its log in DIR/NAME.log; sets port_NAME and pid_NAME
#   ringsql_wait DIR NAME SECONDS
#       until user app/secret gets an answer from it; "Bail out!" with its log otherwise
#   ringsql_up DIR NAME SECONDS
#       the same wait, but returns 1 when it does not serve in time (or has exited), for a
#       caller that reports that itself

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ringsql_start() {
    local bin=$1 dir=$2 name=$3 mode=$4 size=$5 users=$6 extra=${7:-} port admin
    port=$(free_port)
    admin=$(free_port)
    cat >"$dir/$name.yaml" <<YAML
listen: "127.0.0.1:$port"
workers: 2
backends:
  - name: primary
    address: "$RINGSQL_TEST_MARIADB_HOST:$RINGSQL_TEST_MARIADB_PORT"
users:
$users
pool:
  size: $size
  mode: $mode
admin:
  listen: "127.0.0.1:$admin"
YAML
    [[ -z $extra ]] || printf '%s\n' "$extra" >>"$dir/$name.yaml"
    "$bin" -c "$dir/$name.yaml" 2>"$dir/$name.log" &
    printf -v "pid_$name" %s $!
    printf -v "port_$name" %s "$port"
}

ringsql_up() {
    local name=$2 limit=$3 port_var=port_$2 pid_var=pid_$2 deadline
    deadline=$((SECONDS + limit))
    until mariadb --no-defaults -h127.0.0.1 -P"${!port_var}" -uapp -psecret --connect-timeout=2 \
        -e 'SELECT 1' >/dev/null 2>&1; do
        if ! kill -0 "${!pid_var}" 2>/dev/null || ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.1
    done
}

ringsql_wait() {
    local dir=$1 name=$2 limit=$3
    if ! ringsql_up "$dir" "$name" "$limit"; then
        echo "Bail out! ringsql ($name) did not serve within $limit s"
        sed 's/^/# /' "$dir/$name.log"
        exit 1
    fi
}
