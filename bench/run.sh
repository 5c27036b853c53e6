#!/usr/bin/env bash
# One command for the side-by-side benchmark (BENCHMARKING.md).
#
#   bench/run.sh                         start a throwaway MariaDB, two ringsql (session and
#                                        transaction pooling) and an haproxy (mode tcp: a proxy
#                                        that decodes nothing), bench all four
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
#   --no-haproxy                         leave out the throwaway haproxy
#   --workloads ...,ps-many-clients      (in no default list) also starts "ringsql-ps-txn"
#                                        (pool.mode transaction, pool.size 32) and
#                                        "ringsql-ps-session" (session pooling, a connection per
#                                        client), the only targets of that workload: sysbench's
#                                        prepared point select from --ps-clients N threads (1000)
#   --replicas                           in place of the above: a throwaway primary and two
#                                        replicas (tests/lib/replication.sh), one ringsql
#                                        (pool.mode transaction) with a route of policy primary
#                                        ("ringsql-primary") and one of policy split
#                                        ("ringsql-split", reads over the replicas 1:1), and
#                                        "direct-primary" (sysbench to the primary); sysbench's
#                                        read-only (text protocol) with its BEGIN/COMMIT and with
#                                        --skip-trx, and point-select-text; the share of the
#                                        commands each backend was sent (/metrics) and the three
#                                        servers' CPU per query; then the split decision's cost
#                                        alone (bench/query_facts.c)
#   --build-dir DIR                      build (meson setup if new, ninja) and run ringsql and the
#                                        bench tools from DIR, not build/ (scripts/build.sh)
# Any further option goes to bench/run.py (--quick, --workloads, --threads 1,16,64,
# --seconds 10, --runs 3, --idle-clients, --exhaust-clients, --ps-clients, --user, --password,
# --database);
# an option given with --quick overrides its value.
# Results (results.md, results.jsonl, qps.png) go to results/DATE-TIME/ or --out DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

args=()
workers=0
io_epoll=false
tls=false
compare=
haproxy=true
ps=false
ps_clients=1000
replicas=false
build=
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
    elif [[ $1 == --no-haproxy ]]; then
        haproxy=false
        shift
    elif [[ $1 == --replicas ]]; then
        replicas=true
        shift
    elif [[ $1 == --build-dir ]]; then
        build=$(realpath -m "${2:?--build-dir needs a directory}")
        shift 2
    else
        # Looked at, and passed on to run.py.
        case $1 in
        --workloads) [[ ,${2:-}, == *,ps-many-clients,* ]] && ps=true ;;
        --workloads=*) [[ ,${1#*=}, == *,ps-many-clients,* ]] && ps=true ;;
        --ps-clients) ps_clients=${2:?--ps-clients needs a number} ;;
        --ps-clients=*) ps_clients=${1#*=} ;;
        esac
        args+=("$1")
        shift
    fi
done
if $replicas && { $io_epoll || $tls || $ps || [[ -n $compare || " ${args[*]} " == *" --direct "* ]]; }; then
    echo "bench: --replicas starts its own targets; --io, --tls, --compare, --direct and" \
        "ps-many-clients do not go with it" >&2
    exit 2
fi

scripts/install-deps.sh >/dev/null
if [[ -z $build ]]; then
    scripts/build.sh normal >/dev/null
    build=build
else
    [[ -f $build/build.ninja ]] || meson setup "$build" >/dev/null
    ninja -C "$build" >/dev/null
fi

out=$root/results/$(date +%Y%m%d-%H%M%S)
rest=("${args[@]}")
# Descriptors: sysbench's --ps-clients threads, the loadgen's idle clients, haproxy's two per
# client. The soft limit up to the hard one, for everything started from here.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# What the throwaway servers below need (run_dir, names, stop_servers: set where they start).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_ringsql() { # NAME MODE [IO [BIN [EXTRA_YAML [POOL_SIZE [ADMIN_PORT [FRONT_YAML]]]]]]
    # -> sets port_NAME, pid_NAME. FRONT_YAML: where it listens and its backends (default:
    # port_NAME, and the MariaDB of tests/mariadb.sh on its Unix socket).
    local name=$1 mode=$2 io=${3:-auto} bin=${4:-$build/cmd/ringsql} extra=${5:-}
    local size=${6:-256} admin_port=${7:-0} front=${8:-} port
    port=$(free_port)
    [[ -n $front ]] || front="listen: \"127.0.0.1:$port\"
backends:
  - name: primary
    address: \"unix:$RINGSQL_TEST_MARIADB_SOCKET\""
    cat >"$run_dir/$name.yaml" <<YAML
$front
workers: $workers
users:
  - name: ringsql_test
    password: test_pass
pool:
  size: $size
  mode: $mode
admin:
  listen: "127.0.0.1:$admin_port"
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
# A target served by another's process (--replicas: two routes of one ringsql): that one's log.
declare -A log_of=()
# Stops every process of names, then the servers.
cleanup() {
    local pids=() name pid_var
    for name in "${names[@]}"; do
        pid_var=pid_$name
        pids+=("${!pid_var}")
    done
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    stop_servers
}
# Waits (bounded) until every target of names answers; else shows its log and exits.
wait_started() {
    local name port_var pid_var deadline
    for name in "${names[@]}"; do
        port_var=port_$name pid_var=pid_$name
        deadline=$((SECONDS + 20))
        until mariadb --no-defaults -h127.0.0.1 -P"${!port_var}" -uringsql_test -ptest_pass \
            --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1; do
            if ((SECONDS >= deadline)) || ! kill -0 "${!pid_var}" 2>/dev/null; then
                echo "bench: $name did not start; its log:" >&2
                cat "$run_dir/${log_of[$name]:-${name//_/-}}.log" >&2
                exit 1
            fi
            sleep 0.2
        done
    done
}
own=false
[[ " ${args[*]} " == *" --direct "* ]] || own=true
if $own; then
    run_dir=$root/.bench-run
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
fi
if $replicas; then
    repl_env=$(tests/lib/replication.sh start "$run_dir/repl")
    eval "$repl_env"
    stop_servers() { tests/lib/replication.sh stop "$run_dir/repl"; }
    # One ringsql with transaction pooling in front of the three, on their Unix sockets: a
    # route of policy primary and one of policy split (reads over the replicas, weights 1:1).
    port_ringsql_primary=$(free_port)
    port_ringsql_split=$(free_port)
    admin_routes=$(free_port)
    backends=backends:
    for server in primary replica1 replica2; do
        role=replica
        [[ $server == primary ]] && role=primary
        backends+="
  - name: $server
    address: \"unix:$RINGSQL_REPL_DIR/$server/mariadb.sock\"
    role: $role
    weight: 1"
    done
    start_ringsql ringsql-routes transaction auto "$build/cmd/ringsql" "replication:
  check_interval: 1s" 32 "$admin_routes" "$backends
routes:
  - name: primary
    listen: \"127.0.0.1:$port_ringsql_primary\"
    policy: primary
  - name: split
    listen: \"127.0.0.1:$port_ringsql_split\"
    policy: split"
    pid_ringsql_primary=$pid_ringsql_routes pid_ringsql_split=$pid_ringsql_routes
    log_of=([ringsql_primary]=ringsql-routes [ringsql_split]=ringsql-routes)
    names=(ringsql_primary ringsql_split)
    trap cleanup EXIT
    wait_started
    args=(--direct "direct-primary=127.0.0.1:$RINGSQL_REPL_PRIMARY_PORT"
        --peer "ringsql-primary=127.0.0.1:$port_ringsql_primary"
        --peer "ringsql-split=127.0.0.1:$port_ringsql_split"
        --pid-of "direct-primary=$(cat "$RINGSQL_REPL_DIR/primary/mariadbd.pid")"
        --pid-of "ringsql-primary=$pid_ringsql_routes" --pid-of "ringsql-split=$pid_ringsql_routes"
        --admin-of "ringsql-primary=127.0.0.1:$admin_routes"
        --admin-of "ringsql-split=127.0.0.1:$admin_routes"
        --replica "127.0.0.1:$RINGSQL_REPL_REPLICA1_PORT"
        --replica "127.0.0.1:$RINGSQL_REPL_REPLICA2_PORT"
        --workloads "read-only-text,read-only-skip-trx,point-select-text"
        --facts-bin "$build/bench/ringsql-query-facts")
    servers=$(cat "$RINGSQL_REPL_DIR"/{primary,replica1,replica2}/mariadbd.pid | paste -sd,)
    for name in direct-primary ringsql-primary ringsql-split; do
        args+=(--servers-of "$name=$servers")
    done
    args+=("${rest[@]}")
elif $own; then
    eval "$(tests/mariadb.sh start "$run_dir/mariadb")"
    stop_servers() { tests/mariadb.sh stop "$run_dir/mariadb"; }
    # Two ringsql processes in front of the same MariaDB, on its Unix socket (same host):
    # "ringsql" with the seed's session pooling, "ringsql-txn" with pool.mode transaction
    # (many more clients than connections: the idle-scale figure).
    names=(ringsql ringsql_txn)
    start_ringsql ringsql session
    start_ringsql ringsql-txn transaction
    # haproxy in mode tcp, on the same Unix socket: forwards bytes, decodes nothing. In the
    # foreground (-db), one process (its threads in it), so its PID gives its CPU.
    if $haproxy; then
        port_haproxy=$(free_port)
        hard=$(ulimit -Hn)
        [[ $hard == unlimited ]] && hard=200000
        maxconn=$(((hard - 200) / 2)) # two descriptors per client
        ((maxconn <= 100000)) || maxconn=100000
        nbthread=
        ((workers == 0)) || nbthread="nbthread $workers"
        cat >"$run_dir/haproxy.cfg" <<CFG
global
    maxconn $maxconn
    $nbthread
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
frontend mysql
    bind 127.0.0.1:$port_haproxy
    maxconn $maxconn
    default_backend mariadb
backend mariadb
    server db $RINGSQL_TEST_MARIADB_SOCKET
CFG
        haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)
        "$haproxy_bin" -db -f "$run_dir/haproxy.cfg" 2>"$run_dir/haproxy.log" &
        pid_haproxy=$!
        names+=(haproxy)
    fi
    if $io_epoll; then
        start_ringsql ringsql-epoll session epoll
        names+=(ringsql_epoll)
    fi
    if [[ -n $compare ]]; then
        start_ringsql old session auto "$compare"
        names+=(old)
    fi
    if $tls; then
        start_ringsql ringsql-tls session auto "$build/cmd/ringsql" "tls:
  cert: $RINGSQL_TEST_CERTS/server-cert.pem
  key: $RINGSQL_TEST_CERTS/server-key.pem"
        names+=(ringsql_tls)
    fi
    if $ps; then
        # Sessions that prepare statements, many more than the connections: transaction
        # pooling with 32 (the baseline: today a prepare pins), and session pooling with one
        # per client and a margin for the workers' uneven shares (clients are spread over the
        # workers' shards by the kernel, SO_REUSEPORT).
        ps_size=$((ps_clients + (ps_clients / 5 > 100 ? ps_clients / 5 : 100)))
        held=$((256 * ${#names[@]} + 32 + ps_size))
        $haproxy && held=$((held - 256)) # haproxy holds none while idle
        ((held <= 1900)) || echo "bench: the throwaway ringsql pools hold $held connections," \
            "MariaDB allows 2000: some will not open" >&2
        admin_ps_txn=$(free_port)
        admin_ps_session=$(free_port)
        start_ringsql ringsql-ps-txn transaction auto "$build/cmd/ringsql" "" 32 "$admin_ps_txn"
        start_ringsql ringsql-ps-session session auto "$build/cmd/ringsql" "" "$ps_size" \
            "$admin_ps_session"
        names+=(ringsql_ps_txn ringsql_ps_session)
    fi
    trap cleanup EXIT
    wait_started
    # A pool of a thousand takes a moment to fill: wait (bounded) until it has.
    if $ps; then
        python3 - "127.0.0.1:$admin_ps_session" "$ps_size" <<'PY' || true
import re, sys, time, urllib.request
addr, size = sys.argv[1], int(sys.argv[2])
deadline, have = time.time() + 60, 0
while time.time() < deadline:
    try:
        text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=2).read().decode()
        have = sum(float(v) for v in re.findall(
            r'^ringsql_pool_connections\{[^}]*\} (\S+)$', text, re.M))
        if have >= size:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
print(f"bench: ringsql-ps-session has {have:.0f} of its {size} connections after 60 s",
      file=sys.stderr)
PY
    fi
    args=(--direct "127.0.0.1:$RINGSQL_TEST_MARIADB_PORT" --ringsql "127.0.0.1:$port_ringsql"
        --peer "ringsql-txn=127.0.0.1:$port_ringsql_txn"
        --pid-of "direct=$(cat "$run_dir/mariadb/mariadbd.pid")" --pid-of "ringsql=$pid_ringsql"
        --pid-of "ringsql-txn=$pid_ringsql_txn")
    for name in "${names[@]:2}"; do
        port_var=port_$name pid_var=pid_$name
        args+=(--peer "${name//_/-}=127.0.0.1:${!port_var}" --pid-of "${name//_/-}=${!pid_var}")
    done
    $haproxy && args+=(--no-pool haproxy)
    if $ps; then
        args+=(--ps-target ringsql-ps-txn --ps-target ringsql-ps-session
            --admin-of "ringsql-ps-txn=127.0.0.1:$admin_ps_txn"
            --admin-of "ringsql-ps-session=127.0.0.1:$admin_ps_session")
    fi
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
python3 bench/run.py --loadgen "$build/bench/ringsql-loadgen" "${args[@]}"
