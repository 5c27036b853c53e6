#!/usr/bin/env bash
# A throwaway MariaDB replication set for tests: one primary and two replicas on 127.0.0.1,
# each a tests/mariadb.sh server (private data dir, free port, test user ringsql_test /
# test_pass and database ringsql_test on every one) with its own --server-id and a binary log.
#
#   tests/lib/replication.sh start DIR          start DIR/primary (server id 1), DIR/replica1 (2)
#                                               and DIR/replica2 (3); the replicas replicate from
#                                               the primary with GTID (MASTER_USE_GTID=slave_pos)
#                                               and are read_only. Waits (bounded) until both
#                                               replicas run both threads and show a marker row
#                                               written on the primary; prints shell exports
#                                               (RINGSQL_REPL_PRIMARY_PORT, _REPLICA1_PORT,
#                                               _REPLICA2_PORT, _PRIMARY_ID, _REPLICA1_ID,
#                                               _REPLICA2_ID, RINGSQL_REPL_DIR) and writes them to
#                                               DIR/env as well
#   tests/lib/replication.sh stop DIR           stop the three servers (those still running)
#   tests/lib/replication.sh kill SERVER DIR    SIGKILL one (primary, replica1 or replica2), as a
#                                               crash; waits until it is gone
#   tests/lib/replication.sh restart SERVER DIR start a stopped or killed one again on its port
#                                               and data dir; then waits (bounded) for the
#                                               replication to be healthy again as after `start`
#
# Replication runs as repl / repl_pass; the replicas retry a lost primary every second
# (MASTER_CONNECT_RETRY=1). A replica's read_only is set at `start` and not kept across a
# restart of that replica. The test user has every privilege (READ ONLY ADMIN included), so
# read_only does not stop it from writing: it is the role marker ringsql reads.
#
# On a failure the error log tails of the servers go to stderr, the servers started are
# stopped and the exit status is non-zero. Nothing here touches a system-wide MariaDB.
set -euo pipefail

readonly REPL_TIMEOUT_S=${RINGSQL_REPL_TIMEOUT_S:-30}
readonly REPL_USER=repl REPL_PASSWORD=repl_pass
readonly SERVERS=(primary replica1 replica2)

here=$(cd "$(dirname "$0")" && pwd)
mariadb_sh=$here/../mariadb.sh

die() {
    echo "replication.sh: $*" >&2
    exit 1
}

server_id() {
    case $1 in
    primary) echo 1 ;;
    replica1) echo 2 ;;
    replica2) echo 3 ;;
    *) die "unknown server '$1' (primary, replica1 or replica2)" ;;
    esac
}

client_bin() {
    local name
    for name in mariadb mysql; do
        command -v "$name" >/dev/null 2>&1 && { command -v "$name"; return; }
    done
    die "no mariadb client is installed (apt-get install mariadb-client)"
}

port_of() { cat "$1/$2/port"; }

# sql DIR SERVER ARGS...: the client as root over TCP (no TLS: the servers here never require
# it), batch mode without column names; the statements come from ARGS (-e) or stdin.
sql() {
    local dir=$1 server=$2
    shift 2
    "$(client_bin)" --no-defaults -h127.0.0.1 -P"$(port_of "$dir" "$server")" -uroot \
        --connect-timeout=5 -N -B "$@"
}

# The error log tails of every server in DIR, to stderr.
show_logs() {
    local dir=$1 s
    for s in "${SERVERS[@]}"; do
        [[ -f $dir/$s/mariadb.err ]] || continue
        echo "--- $dir/$s/mariadb.err (tail)" >&2
        tail -15 "$dir/$s/mariadb.err" >&2 || true
    done
}

# fail DIR MESSAGE: logs, stop what runs, exit 1.
fail() {
    local dir=$1
    shift
    show_logs "$dir"
    stop_all "$dir" 2>/dev/null || true
    die "$*"
}

# One field of SHOW SLAVE STATUS on a replica ("" when none or no answer).
slave_field() {
    sql "$1" "$2" --column-names -e 'SHOW SLAVE STATUS\G' 2>/dev/null |
        sed -n "s/^ *$3: *//p" | head -1
}

# Waits (bounded) until both replicas run both threads and show the marker row written now on
# the primary; fails (logs, stop, exit 1) when they do not in time.
wait_replicas() {
    local dir=$1 token deadline r io sqlt got
    token=$(date +%s%N)-$$
    sql "$dir" primary -e "REPLACE INTO ringsql_test.repl_marker VALUES (1, '$token')" ||
        fail "$dir" "cannot write the marker row on the primary"
    deadline=$((SECONDS + REPL_TIMEOUT_S))
    for r in replica1 replica2; do
        while :; do
            io=$(slave_field "$dir" "$r" Slave_IO_Running)
            sqlt=$(slave_field "$dir" "$r" Slave_SQL_Running)
            got=""
            if [[ $io == Yes && $sqlt == Yes ]]; then
                got=$(sql "$dir" "$r" -e \
                    'SELECT token FROM ringsql_test.repl_marker WHERE id = 1' 2>/dev/null || true)
                [[ $got == "$token" ]] && break
            fi
            if ((SECONDS >= deadline)); then
                echo "--- $r: SHOW SLAVE STATUS" >&2
                sql "$dir" "$r" --column-names -e 'SHOW SLAVE STATUS\G' >&2 2>&1 || true
                fail "$dir" "$r did not replicate within ${REPL_TIMEOUT_S}s" \
                    "(Slave_IO_Running '$io', Slave_SQL_Running '$sqlt', marker '$got')"
            fi
            sleep 0.1
        done
    done
}

write_env() {
    local dir=$1
    cat >"$dir/env" <<EOF
export RINGSQL_REPL_DIR=$dir
export RINGSQL_REPL_PRIMARY_PORT=$(port_of "$dir" primary)
export RINGSQL_REPL_REPLICA1_PORT=$(port_of "$dir" replica1)
export RINGSQL_REPL_REPLICA2_PORT=$(port_of "$dir" replica2)
export RINGSQL_REPL_PRIMARY_ID=1
export RINGSQL_REPL_REPLICA1_ID=2
export RINGSQL_REPL_REPLICA2_ID=3
EOF
    cat "$dir/env"
}

start() {
    local dir=$1 s pids=() failed=0 i extra
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # The three servers start at once (initialising a data dir is most of the time); each
    # mariadb.sh bounds its own wait. Each has a TMPDIR of its own: a starting mariadbd (and
    # mariadb-install-db's) removes every #sql* file in its tmpdir, another's temporary
    # tables included.
    for s in "${SERVERS[@]}"; do
        mkdir -p "$dir/$s/tmp"
        # One line: mariadb.sh keeps it in DIR/extra-args and reads it back as one line.
        extra="--server-id=$(server_id "$s") --log-bin=mariadb-bin --relay-log=relay-bin"
        extra+=" --binlog-format=ROW"
        RINGSQL_MARIADB_EXTRA_ARGS=$extra \
            RINGSQL_MARIADB_REQUIRE_TLS=0 TMPDIR=$dir/$s/tmp \
            "$mariadb_sh" start "$dir/$s" >"$dir/$s.start.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            echo "--- ${SERVERS[$i]}: mariadb.sh start" >&2
            tail -20 "$dir/${SERVERS[$i]}.start.log" >&2 || true
            failed=1
        fi
    done
    ((failed == 0)) || fail "$dir" "a server did not start"
    for s in "${SERVERS[@]}"; do
        [[ $(sql "$dir" "$s" -e 'SELECT @@server_id, @@log_bin') == "$(server_id "$s")	1" ]] ||
            fail "$dir" "$s does not run with server id $(server_id "$s") and a binary log"
    done
    # The primary's binary log starts empty: the replicas take all of it (the test user and
    # database, made by mariadb.sh on each server, are not in it).
    sql "$dir" primary <<SQL || fail "$dir" "cannot set up the primary"
RESET MASTER;
CREATE USER IF NOT EXISTS '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE ON *.* TO '$REPL_USER'@'%';
CREATE TABLE IF NOT EXISTS ringsql_test.repl_marker (id INT PRIMARY KEY, token VARCHAR(64));
SQL
    for s in replica1 replica2; do
        sql "$dir" "$s" <<SQL || fail "$dir" "cannot set up $s"
STOP SLAVE;
RESET SLAVE ALL;
RESET MASTER;
SET GLOBAL gtid_slave_pos = '';
CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $(port_of "$dir" primary),
    MASTER_USER = '$REPL_USER', MASTER_PASSWORD = '$REPL_PASSWORD',
    MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;
START SLAVE;
SET GLOBAL read_only = ON;
SQL
    done
    wait_replicas "$dir"
    write_env "$dir"
}

# Stops the three at once (each mariadb.sh stop bounds its wait).
stop_all() {
    local dir=$1 s pids=() pid
    for s in "${SERVERS[@]}"; do
        [[ -f $dir/$s/mariadbd.pid ]] || continue
        "$mariadb_sh" stop "$dir/$s" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || true
    done
}

# Whether PID runs: a zombie does not (its parent, mariadb.sh, is gone, and whoever adopted
# it may be slow to reap it).
alive() {
    kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

kill_server() {
    local server=$1 dir=$2 pid deadline
    server_id "$server" >/dev/null
    [[ -f $dir/$server/mariadbd.pid ]] || die "no $server was started in $dir"
    pid=$(cat "$dir/$server/mariadbd.pid")
    kill -KILL "$pid" 2>/dev/null || die "$server (PID $pid) does not run"
    deadline=$((SECONDS + 10))
    while alive "$pid"; do
        ((SECONDS < deadline)) || die "$server (PID $pid) still runs 10s after SIGKILL"
        sleep 0.05
    done
}

restart_server() {
    local server=$1 dir=$2
    server_id "$server" >/dev/null
    dir=$(cd "$dir" && pwd)
    [[ -f $dir/$server/port ]] || die "no $server was started in $dir"
    TMPDIR=$dir/$server/tmp "$mariadb_sh" restart "$dir/$server" >"$dir/$server.restart.log" 2>&1 ||
        { tail -20 "$dir/$server.restart.log" >&2; fail "$dir" "$server did not restart"; }
    [[ $server == primary ]] || sql "$dir" "$server" -e 'SET GLOBAL read_only = ON' ||
        fail "$dir" "cannot make $server read_only"
    wait_replicas "$dir"
}

usage="usage: $0 start|stop DIR, or $0 kill|restart primary|replica1|replica2 DIR"
case ${1:-} in
start | stop) [[ $# -eq 2 ]] || die "$usage" ;;
kill | restart) [[ $# -eq 3 ]] || die "$usage" ;;
*) die "$usage" ;;
esac
case $1 in
start) start "$2" ;;
stop) stop_all "$2" ;;
kill) kill_server "$2" "$3" ;;
restart) restart_server "$2" "$3" ;;
esac
