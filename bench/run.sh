#!/usr/bin/env bash
# One command for the side-by-side benchmark (BENCHMARKING.md).
#
#   bench/run.sh                         start a throwaway MariaDB and two ringsql (session and
#                                        transaction pooling), bench all three
#   bench/run.sh --quick                 the same, a fast look: 16 threads, one 5 s run each
#   bench/run.sh --direct H:P --ringsql H:P [--peer NAME=H:P ...] [--pid-of NAME=PID ...]
#                                        bench servers that are already running
#   --workers N                          the throwaway ringsql's worker threads (default 0: one
#                                        per CPU; on a 2-core machine shared with sysbench and
#                                        MariaDB, 1 spends less CPU per query: docs/performance.md)
#   --io epoll                           a third throwaway ringsql, "ringsql-epoll" (session
#                                        pooling on the epoll I/O engine), benched in the same run
#   --compare BIN                        another ringsql build ("old": BIN, session pooling, the
#                                        same config), benched in the same run: old against new
#   --tls                                TLS from the clients too: "direct-tls" (MariaDB's own
#                                        TLS) and "ringsql-tls" (session pooling, TLS towards
#                                        sysbench, the backend on its Unix socket), in the same
#                                        run as the plaintext targets (sysbench workloads only)
# Any further option goes to bench/run.py (--quick, --workloads, --threads 1,16,64,
# --seconds 10, --runs 3, --idle-clients, --exhaust-clients, --user, --password, --database);
# an option given with --quick overrides its value.
# Results (results.md, results.jsonl, qps.png) go to results/DATE-TIME/ or --out DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh >/dev/null
scripts/build.sh normal >/dev/null

args=()
workers=0
io_epoll=false
tls=false
compare=
while (($#)); do
    if [[ $1 == --workers ]]; then
        workers=${2:?--workers needs a number}
        shift 2
    elif [[ $1 == --io ]]; then
        [[ ${2:-} == epoll ]] || { echo "bench: --io takes epoll (io_uring is the default)" >&2; exit 2; }
        io_epoll=true
        shift 2
    elif [[ $1 == --tls ]]; then
        tls=true
        shift
    elif [[ $1 == --compare ]]; then
        compare=$(realpath "${2:?--compare needs a ringsql binary}")
        shift 2
    else
        args+=("$1")
        shift
    fi
done
out=$root/results/$(date +%Y%m%d-%H%M%S)
rest=("${args[@]}")
own=false
if [[ " ${args[*]} " != *" --direct "* ]]; then
    own=true
    run_dir=$root/.bench-run
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    eval "$(tests/mariadb.sh start "$run_dir/mariadb")"
    free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    # Two ringsql processes in front of the same MariaDB, on its Unix socket (same host):
    # "ringsql" with the seed's session pooling, "ringsql-txn" with pool.mode transaction
    # (many more clients than connections: the idle-scale figure).
    start_ringsql() { # NAME MODE [IO [BIN [EXTRA_YAML]]] -> sets port_NAME, pid_NAME
        local name=$1 mode=$2 io=${3:-auto} bin=${4:-build/cmd/ringsql} extra=${5:-} port
        port=$(free_port)
        cat >"$run_dir/$name.yaml" <<YAML
listen: "127.0.0.1:$port"
workers: $workers
backends:
  - name: primary
    address: "unix:$RINGSQL_TEST_MARIADB_SOCKET"
users:
  - name: ringsql_test
    password: test_pass
pool:
  size: 256
  mode: $mode
admin:
  listen: "127.0.0.1:0"
log:
  level: warn
YAML
        # io only when not the default: a --compare build may predate the key.
        [[ $io == auto ]] || echo "io: $io" >>"$run_dir/$name.yaml"
        [[ -z $extra ]] || echo "$extra" >>"$run_dir/$name.yaml"
        env -u RINGSQL_IO "$bin" -c "$run_dir/$name.yaml" 2>"$run_dir/$name.log" &
        printf -v "pid_${name//-/_}" %s $!
        printf -v "port_${name//-/_}" %s "$port"
    }
    names=(ringsql ringsql_txn)
    start_ringsql ringsql session
    start_ringsql ringsql-txn transaction
    if $io_epoll; then
        start_ringsql ringsql-epoll session epoll
        names+=(ringsql_epoll)
    fi
    if [[ -n $compare ]]; then
        start_ringsql old session auto "$compare"
        names+=(old)
    fi
    if $tls; then
        start_ringsql ringsql-tls session auto build/cmd/ringsql "tls:
  cert: $RINGSQL_TEST_CERTS/server-cert.pem
  key: $RINGSQL_TEST_CERTS/server-key.pem"
        names+=(ringsql_tls)
    fi
    pids=()
    for name in "${names[@]}"; do
        pid_var=pid_$name
        pids+=("${!pid_var}")
    done
    cleanup() {
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
        tests/mariadb.sh stop "$run_dir/mariadb"
    }
    trap cleanup EXIT
    for name in "${names[@]}"; do
        port_var=port_$name pid_var=pid_$name
        deadline=$((SECONDS + 20))
        until mariadb --no-defaults -h127.0.0.1 -P"${!port_var}" -uringsql_test -ptest_pass \
            --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1; do
            if ((SECONDS >= deadline)) || ! kill -0 "${!pid_var}" 2>/dev/null; then
                echo "bench: $name did not start; its log:" >&2
                cat "$run_dir/${name//_/-}.log" >&2
                exit 1
            fi
            sleep 0.2
        done
    done
    args=(--direct "127.0.0.1:$RINGSQL_TEST_MARIADB_PORT" --ringsql "127.0.0.1:$port_ringsql"
        --peer "ringsql-txn=127.0.0.1:$port_ringsql_txn"
        --pid-of "direct=$(cat "$run_dir/mariadb/mariadbd.pid")" --pid-of "ringsql=$pid_ringsql"
        --pid-of "ringsql-txn=$pid_ringsql_txn")
    for name in "${names[@]:2}"; do
        port_var=port_$name pid_var=pid_$name
        args+=(--peer "${name//_/-}=127.0.0.1:${!port_var}" --pid-of "${name//_/-}=${!pid_var}")
    done
    if $tls; then
        mkdir -p "$run_dir/tls"
        cp "$RINGSQL_TEST_CERTS/ca.pem" "$run_dir/tls/cacert.pem"
        cp "$RINGSQL_TEST_CERTS/client-cert.pem" "$RINGSQL_TEST_CERTS/client-key.pem" "$run_dir/tls/"
        args+=(--tls-dir "$run_dir/tls" --peer "direct-tls=127.0.0.1:$RINGSQL_TEST_MARIADB_PORT"
            --pid-of "direct-tls=$(cat "$run_dir/mariadb/mariadbd.pid")"
            --tls-target direct-tls --tls-target ringsql-tls)
    fi
    args+=("${rest[@]}")
fi
[[ " ${args[*]} " == *" --out "* ]] || args+=(--out "$out")
python3 bench/run.py --loadgen build/bench/ringsql-loadgen "${args[@]}"
