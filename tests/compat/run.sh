#!/usr/bin/env bash
# MariaDB's own test suite through ringsql: runs tests of the `main` suite of mariadb-test-run
# (mtr, Debian's package mariadb-test) with --extern against a throwaway MariaDB three ways --
# directly (direct), through ringsql in session pooling (session) and through ringsql in
# transaction pooling (txn) -- and tells, per test and target, pass, fail or skip. Prints a
# table per target (counts, then each failure with its first line), the tests that pass
# directly but not through ringsql, and a summary line; writes DIR/results.tsv (test, target,
# result, first line of the failure). In DIR/shardN/: mtr's output (var-TARGET.log), its logs of
# failed tests (log-TARGET/), ringsql's logs and configs, what the resets did (reset-TARGET.log).
#
#   tests/compat/run.sh [--list FILE | --all | --tests a,b,c] [--parallel N] [--results DIR]
#                       [--ringsql BIN] [--targets direct,session,txn] [--testcase-timeout MIN]
#                       [--timeout S] [--pool-size N] [--tap] [--assert TARGETS] [--keep]
#
#   --list FILE        test names, one a line (`#` comments); the default: tests/compat/ci.list
#   --all              every test of the main suite that mtr runs with --extern (not --big-test)
#   --tests a,b,c      these tests
#   --parallel N       N stacks (a MariaDB and its two ringsql), the tests split between them
#                      (default 1). Not mtr's --parallel: with --extern its workers would share
#                      one server, and every test uses the tables test.t1, t2, ...
#   --results DIR      where results.tsv and the logs go (default: a new /tmp/ringsql-compat-*)
#   --ringsql BIN      the binary (default: build/cmd/ringsql)
#   --targets LIST     which targets, in this order (default: direct,session,txn)
#   --testcase-timeout MIN   mtr's limit for one test, minutes (default 5)
#   --timeout S        the limit for the whole run, seconds (default 7200): tests not run by then
#                      are failures ("not run")
#   --pool-size N      pool.size of both ringsql (default 16: a test may hold several
#                      connections at once, and a closed one goes back to the pool after its reset)
#   --assert TARGETS   exit 1 when a test that passed directly does not pass on one of these
#                      targets (e.g. session, or session,txn); without it the exit status is 0
#                      whatever the tests did, once the run itself worked
#   --tap              also print TAP (what meson reads): one line per test and asserted target
#   --keep             keep the servers' data directories (removed by default; logs are kept)
#
# How the server is made to look like mtr's own: tests/mariadb.sh starts it with the options of
# mtr's include/default_mysqld.cnf that tests' results depend on (latin1, MyISAM by default,
# the small buffers, performance schema, mtr's TLS certificates, general and slow logs,
# binary log on so that tests that need it run). Then the `test` and `mtr` databases (mtr's
# mtr_warnings.sql, mtr_check.sql) and the time zone tables of mtr's bootstrap are added, and the
# test user and database of tests/mariadb.sh are dropped again (so that tests that list users or
# databases see what mtr's server has). Before each test tests/compat/mysqltest.sh puts the
# server back to that state (mtr cannot restart a server it did not start), and restarts it
# when a test stopped it or locked root out. Tests that stop or restart the server themselves
# (tests/compat/restarting.py finds them) are not run: reported as skipped.
#
# Both ringsql have the users root (empty password, as mtr logs in; backend_user root) and
# ringsql_test / test_pass (backend_user root as well: the server's ringsql_test user is
# dropped, see above), the server's users that tests create (auth.from_backend, read as root),
# TLS towards clients with mtr's certificates, one worker.
#
# Exit status: 0 when the run worked (and nothing asserted failed), 1 when an asserted target
# failed a test, 2 on bad usage or when the stack could not be started.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MTR_DIR=${RINGSQL_COMPAT_MTR_DIR:-/usr/share/mysql/mysql-test}
MYSQLTEST_BIN=${RINGSQL_COMPAT_MYSQLTEST:-/usr/bin/mariadb-test}
readonly RINGSQL_START_TIMEOUT_S=30
readonly STOP_TIMEOUT_S=30

tap=0
die() {
    echo "compat: $*" >&2
    ((tap)) && echo "Bail out! compat: $*"
    exit 2
}
say() { # a line of the report; a TAP comment with --tap
    if ((tap)); then echo "# $*"; else echo "$*"; fi
}
usage() {
    sed -n '/^#   tests\/compat\/run.sh/,/^#   --keep/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

list_file='' all=0 tests_opt='' parallel=1 results='' ringsql=$root/build/cmd/ringsql
targets=direct,session,txn testcase_timeout=5 total_timeout=7200 pool_size=16 tap=0
assert='' keep=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --list) list_file=${2:?}; shift 2 ;;
    --all) all=1; shift ;;
    --tests) tests_opt=${2:?}; shift 2 ;;
    --parallel) parallel=${2:?}; shift 2 ;;
    --results) results=${2:?}; shift 2 ;;
    --ringsql) ringsql=${2:?}; shift 2 ;;
    --targets) targets=${2:?}; shift 2 ;;
    --testcase-timeout) testcase_timeout=${2:?}; shift 2 ;;
    --timeout) total_timeout=${2:?}; shift 2 ;;
    --pool-size) pool_size=${2:?}; shift 2 ;;
    --assert) assert=${2:?}; shift 2 ;;
    --tap) tap=1; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage ;;
    *) echo "compat: unknown option '$1'" >&2; usage ;;
    esac
done
[[ $parallel =~ ^[1-9][0-9]*$ ]] || die "--parallel: expected a positive integer"
[[ $testcase_timeout =~ ^[1-9][0-9]*$ ]] || die "--testcase-timeout: expected minutes (> 0)"
[[ $total_timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout: expected seconds (> 0)"
[[ $pool_size =~ ^[1-9][0-9]*$ ]] || die "--pool-size: expected a positive integer"
IFS=, read -r -a target_list <<<"$targets"
for t in "${target_list[@]}"; do
    [[ $t == direct || $t == session || $t == txn ]] || die "--targets: unknown target '$t'"
done
(((all > 0) + (${#list_file} > 0) + (${#tests_opt} > 0) <= 1)) ||
    die "give one of --list, --all, --tests"
[[ $all == 1 || -n $tests_opt || -n $list_file ]] || list_file=$here/ci.list
mtr_installed() { [[ -x $MTR_DIR/mariadb-test-run.pl && -x $MYSQLTEST_BIN ]]; }
# Run by hand, it installs what it needs (the project's installer: mariadb-test and the rest).
if ! mtr_installed && ((!tap)); then
    echo "compat: mariadb-test is not installed: running scripts/install-deps.sh" >&2
    "$root/scripts/install-deps.sh" >&2 || die "scripts/install-deps.sh failed"
fi
if ! mtr_installed; then
    # As the driver tests do for a driver that is not installed: skipped, named.
    ((tap)) && { echo "1..0 # SKIP mariadb-test is not installed (scripts/install-deps.sh)"; exit 0; }
    die "mariadb-test-run is not installed (apt-get install mariadb-test; scripts/install-deps.sh)"
fi
[[ -x $ringsql ]] || die "no ringsql binary at $ringsql (--ringsql BIN)"
ringsql=$(cd "$(dirname "$ringsql")" && pwd)/$(basename "$ringsql")

if [[ -z $results ]]; then
    results=$(mktemp -d "${TMPDIR:-/tmp}/ringsql-compat-XXXXXX")
else
    mkdir -p "$results"
    results=$(cd "$results" && pwd)
    rm -rf "$results"/shard* "$results"/list* "$results/results.tsv" "$results/tests" "$results/restarting"
fi
# The path goes into mariadbd's options, which tests/mariadb.sh splits on whitespace.
[[ $results != *[[:space:]]* ]] || die "--results: no whitespace in the path, please"
deadline=$((SECONDS + total_timeout))
# mysqltest.sh restarts a server with these limits (mtr lowers them for what it runs).
export RINGSQL_COMPAT_NOFILE="$(ulimit -Sn) $(ulimit -Hn)"

# --- the test list ------------------------------------------------------------------------
tests=()
if [[ -n $list_file ]]; then
    [[ -r $list_file ]] || die "cannot read the list $list_file"
    while read -r line; do
        line=${line%%#*}
        line=${line//[[:space:]]/}
        [[ -n $line ]] && tests+=("${line#main.}")
    done <"$list_file"
elif [[ -n $tests_opt ]]; then
    IFS=, read -r -a raw <<<"$tests_opt"
    for t in "${raw[@]}"; do [[ -n $t ]] && tests+=("${t#main.}"); done
fi
[[ $all == 1 || ${#tests[@]} -gt 0 ]] || die "no tests to run"

# --- what this run starts, and stops on exit ----------------------------------------------
# Each shard records the PIDs of its ringsql and of its mtr (a `timeout`, which passes a TERM on
# to mtr's process group) in DIR/shardN/*.pid.
shard_pids=() nshards=0
kill_wait() { # PID...: TERM, then KILL after STOP_TIMEOUT_S
    local pid until=$((SECONDS + STOP_TIMEOUT_S))
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < until)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$? n f pids=()
    trap - EXIT INT TERM
    kill_wait "${shard_pids[@]}"
    for ((n = 0; n < nshards; n++)); do
        for f in "$results/shard$n"/*.pid; do
            [[ -s $f ]] && pids+=("$(cat "$f")")
        done
    done
    kill_wait "${pids[@]}"
    for ((n = 0; n < nshards; n++)); do
        f=$results/shard$n/var/mysqld.1
        [[ -f $f/mariadbd.pid ]] && "$root/tests/mariadb.sh" stop "$f" >/dev/null 2>&1
        ((keep)) || rm -rf "$f/data"
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
root_sql() { # PORT ARGS...: the CLI as root, straight to the server
    local port=$1
    shift
    mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot "$@"
}
# mtr_sql FILE: one of mtr's bootstrap files (delimiter `||;`, `--` lines) as the CLI reads it.
mtr_sql() { sed -e '/^[[:space:]]*--/d' -e 's/^delimiter ||;$/DELIMITER ||/' "$MTR_DIR/include/$1"; }

# The server options of mtr's include/default_mysqld.cnf that results depend on.
server_args() { # VARDIR
    local std=$MTR_DIR/std_data
    echo "--character-set-server=latin1 --connect-timeout=60 --secure-file-priv=$1
        --tmpdir=$1/tmp/mysqld.1
        --log-bin-trust-function-creators=1 --key-buffer-size=1M --sort-buffer-size=256K
        --max-heap-table-size=1M --loose-aria-pagecache-buffer-size=8M
        --binlog-direct-non-transactional-updates --default-storage-engine=myisam
        --use-stat-tables=preferably --histogram-type=json_hb --plugin-maturity=unknown
        --max-allowed-packet=16M --skip-name-resolve=OFF --server-id=1
        --log-bin=master-bin --general-log --slow-query-log
        --ssl-ca=$std/cacert.pem --ssl-cert=$std/server-cert.pem --ssl-key=$std/server-key.pem
        --performance-schema --loose-performance-schema-instrument=%=ON
        --performance-schema-max-thread-instances=400
        --performance-schema-consumer-events-stages-current=ON
        --performance-schema-consumer-events-stages-history=ON
        --performance-schema-consumer-events-stages-history-long=ON
        --performance-schema-consumer-events-statements-history-long=ON
        --performance-schema-consumer-events-transactions-current=ON
        --performance-schema-consumer-events-transactions-history=ON
        --performance-schema-consumer-events-transactions-history-long=ON
        --performance-schema-consumer-events-waits-current=ON
        --performance-schema-consumer-events-waits-history=ON
        --performance-schema-consumer-events-waits-history-long=ON" | tr -s ' \n' '  '
}

# start_server N: shard N's MariaDB, prepared as mtr's own, in mtr's layout: one vardir for the
# shard (DIR/shardN/var, what mtr makes of it: log, run, tmp, a copy of std_data) with the
# server in var/mysqld.1 (its data in var/mysqld.1/data: tests' "../../std_data" and
# "../../tmp" resolve as under mtr). Sets port_direct_N.
start_server() {
    local n=$1 sd=$results/shard$1 port
    mkdir -p "$sd/var/log" "$sd/var/run" "$sd/var/tmp/mysqld.1"
    cp -R "$MTR_DIR/std_data" "$sd/var/std_data"
    LC_ALL=C RINGSQL_MARIADB_EXTRA_ARGS=$(server_args "$sd/var") \
        "$root/tests/mariadb.sh" start "$sd/var/mysqld.1" >"$sd/mariadb-start.log" 2>&1 ||
        { cat "$sd/mariadb-start.log" >&2; die "shard $n: the MariaDB did not start"; }
    port=$(cat "$sd/var/mysqld.1/port")
    {
        echo "DROP DATABASE IF EXISTS ringsql_test;"
        echo "DROP USER IF EXISTS 'ringsql_test'@'%', 'ringsql_test'@'localhost';"
        echo "DROP DATABASE IF EXISTS test;"
        echo "CREATE DATABASE test CHARACTER SET latin1 COLLATE latin1_swedish_ci;"
        echo "CREATE DATABASE IF NOT EXISTS mtr CHARSET=latin1;"
        echo "ALTER TABLE mysql.gtid_slave_pos ENGINE=Aria transactional=0;"
        echo "USE mysql;"
        cat /usr/share/mysql/mysql_test_data_timezone.sql
        echo "USE mtr;"
        mtr_sql mtr_warnings.sql
        echo "DELIMITER ;"
        mtr_sql mtr_check.sql
        echo "DELIMITER ;"
        echo "RESET MASTER;"
    } >"$sd/prepare.sql"
    root_sql "$port" <"$sd/prepare.sql" >"$sd/prepare.log" 2>&1 ||
        { cat "$sd/prepare.log" >&2; die "shard $n: preparing the server failed"; }
    RINGSQL_COMPAT_PORT=$port "$here/mysqltest.sh" --state >"$sd/baseline.tsv" ||
        die "shard $n: cannot read the server's state"
    mariadb-dump --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot mysql global_priv \
        >"$sd/global_priv.sql" || die "shard $n: cannot dump mysql.global_priv"
    printf -v "port_direct_$n" %s "$port"
}

# start_ringsql N TARGET: shard N's ringsql for session or txn, serving; sets rs_pid and rs_port.
# It runs only while its target's tests do (idle pools of the others would count against the
# server's max_connections, which tests lower).
start_ringsql() {
    local n=$1 name=$2 sd=$results/shard$1 mode=session port admin until
    [[ $name == txn ]] && mode=transaction
    port=$(free_port)
    admin=$(free_port)
    cat >"$sd/ringsql-$name.yaml" <<YAML
listen: "127.0.0.1:$port"
workers: 1
backends:
  - name: mariadb
    address: "127.0.0.1:$(cat "$sd/var/mysqld.1/port")"
users:
  - name: root
    password_env: RINGSQL_COMPAT_EMPTY
  - name: ringsql_test
    password: test_pass
    backend_user: root
    backend_password_env: RINGSQL_COMPAT_EMPTY
    share_backend_user: true
auth:
  from_backend: true
  user: root
pool:
  size: $pool_size
  mode: $mode
tls:
  cert: "$MTR_DIR/std_data/server-cert.pem"
  key: "$MTR_DIR/std_data/server-key.pem"
admin:
  listen: "127.0.0.1:$admin"
shutdown:
  drain_timeout: 2s
YAML
    RINGSQL_COMPAT_EMPTY="" "$ringsql" -c "$sd/ringsql-$name.yaml" >"$sd/ringsql-$name.log" 2>&1 &
    rs_pid=$!
    rs_port=$port
    echo "$rs_pid" >"$sd/ringsql.pid"
    until=$((SECONDS + RINGSQL_START_TIMEOUT_S))
    until root_sql "$port" --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1; do
        if ! kill -0 "$rs_pid" 2>/dev/null || ((SECONDS >= until)); then
            tail -20 "$sd/ringsql-$name.log" >&2
            echo "compat: shard $n: ringsql ($name) did not serve within ${RINGSQL_START_TIMEOUT_S}s" >&2
            return 1
        fi
        sleep 0.1
    done
}

# stop_ringsql N TARGET: SIGTERM (then SIGKILL after STOP_TIMEOUT_S); its exit status goes to
# DIR/shardN/ringsql-TARGET.exit (report.py fails a target whose ringsql did not exit with 0).
stop_ringsql() {
    local sd=$results/shard$1 rc=0
    kill_wait "$rs_pid"
    wait "$rs_pid" || rc=$?
    : >"$sd/ringsql.pid"
    echo "$rc" >"$sd/ringsql-$2.exit"
}

# run_mtr SHARD TARGET PORT: the shard's tests on one target; mtr's output in var-TARGET.log, its
# logs of failed tests in log-TARGET/.
run_mtr() {
    local n=$1 target=$2 port=$3 sd=$results/shard$1 left
    left=$((deadline - SECONDS))
    if ((left <= 5)); then
        echo "compat: the run's time limit (--timeout $total_timeout) was reached before $target" \
            >"$sd/var-$target.log"
        return 0
    fi
    # mtr reads its own directory's files by relative paths.
    (
        cd "$MTR_DIR"
        MYSQL_TEST=$here/mysqltest.sh RINGSQL_COMPAT_MYSQLTEST=$MYSQLTEST_BIN \
            RINGSQL_COMPAT_PORT=$port RINGSQL_COMPAT_BASELINE=$sd/baseline.tsv \
            RINGSQL_COMPAT_RESET_LOG=$sd/reset-$target.log RINGSQL_COMPAT_PRIVS=$sd/global_priv.sql \
            RINGSQL_COMPAT_SERVER_DIR=$sd/var/mysqld.1 \
            MASTER_MYPORT=$port MASTER_MYSOCK=$sd/no-socket \
            exec timeout -k 30 "$left" perl ./mariadb-test-run.pl \
            --extern host=127.0.0.1 --extern port="$port" --extern user=root \
            --extern protocol=tcp --extern socket="$sd/no-socket" \
            --vardir="$sd/var" --tmpdir="$sd/var/tmp" --force --max-test-fail=0 --retry=1 \
            --testcase-timeout="$testcase_timeout" --suite-timeout=$(((left + 59) / 60)) \
            --suite=main $(sed 's/^/main./' "$sd/tests") </dev/null >"$sd/var-$target.log" 2>&1
    ) &
    echo $! >"$sd/mtr.pid"
    wait $! || true
    : >"$sd/mtr.pid"
    rm -rf "$sd/log-$target"
    mv "$sd/var/log" "$sd/log-$target"
    mkdir -p "$sd/var/log"
    find "$sd/var/tmp" -mindepth 1 -maxdepth 1 ! -name mysqld.1 -exec rm -rf {} + 2>/dev/null || true
}

run_shard() {
    local n=$1 t port p rs_pid rs_port
    for t in "${target_list[@]}"; do
        # The server as the last target's last test left it: up, root logs in.
        RINGSQL_COMPAT_PORT=$(cat "$results/shard$n/var/mysqld.1/port") \
            RINGSQL_COMPAT_SERVER_DIR=$results/shard$n/var/mysqld.1 \
            RINGSQL_COMPAT_PRIVS=$results/shard$n/global_priv.sql \
            RINGSQL_COMPAT_RESET_LOG=$results/shard$n/reset-$t.log "$here/mysqltest.sh" --server-back ||
            echo "compat: shard $n: the server does not answer before $t" >&2
        if [[ $t == direct ]]; then
            p=port_direct_$n
            port=${!p}
        elif start_ringsql "$n" "$t"; then
            port=$rs_port
        else
            echo "compat: ringsql ($t) did not serve: its tests are not run" >"$results/shard$n/var-$t.log"
            stop_ringsql "$n" "$t"
            continue
        fi
        run_mtr "$n" "$t" "$port"
        [[ $t == direct ]] || stop_ringsql "$n" "$t"
    done
}

for ((n = 0; n < parallel; n++)); do
    nshards=$((n + 1))
    start_server "$n"
done

if ((all)); then
    # What mtr would run: its own list, against shard 0's server.
    (cd "$MTR_DIR" && timeout 300 perl ./mariadb-test-run.pl --extern host=127.0.0.1 \
        --extern port="$port_direct_0" --extern user=root --extern protocol=tcp \
        --vardir="$results/list-var" --tmpdir="$results/list-var/tmp" \
        --suite=main --dry-run </dev/null 2>&1) >"$results/list.log" ||
        { tail -20 "$results/list.log" >&2; die "mtr --dry-run failed"; }
    mapfile -t tests < <(sed -n 's/^main\.\([^[:space:]]*\)$/\1/p' "$results/list.log")
    [[ ${#tests[@]} -gt 0 ]] || die "mtr --dry-run listed no tests (see $results/list.log)"
fi
# Tests that stop or restart the server cannot run with --extern: reported as skipped.
python3 "$here/restarting.py" "$MTR_DIR" "${tests[@]}" >"$results/restarting"
if [[ -s $results/restarting ]]; then
    mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -vxF -f "$results/restarting")
fi
printf '%s\n' "${tests[@]}" >"$results/tests"
# Round robin: neighbours in name (func_str, func_str_*) go to different shards.
for ((i = 0; i < ${#tests[@]}; i++)); do
    echo "${tests[i]}" >>"$results/shard$((i % parallel))/tests"
done
for ((n = 0; n < parallel; n++)); do touch "$results/shard$n/tests"; done

say "compat: ${#tests[@]} tests of the main suite (and $(wc -l <"$results/restarting") that restart the server, skipped) on ${target_list[*]}, $parallel shard(s), results in $results"
for ((n = 0; n < parallel; n++)); do
    run_shard "$n" &
    shard_pids+=($!)
done
for pid in "${shard_pids[@]}"; do wait "$pid" || true; done
shard_pids=()

report_args=(--results "$results" --targets "$targets")
[[ -n $assert ]] && report_args+=(--assert "$assert")
((tap)) && report_args+=(--tap)
python3 "$here/report.py" "${report_args[@]}"
