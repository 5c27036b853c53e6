#!/usr/bin/env bash
# What mariadb-test-run runs as mariadb-test (mysqltest) for tests/compat/run.sh (MYSQL_TEST in
# its environment). Against its own servers mtr checks after each test that the server is as
# before and restarts it from a clean data directory when not; with --extern it cannot, and a
# test that fails half way leaves its tables, users, locks and global settings to the tests
# after it (which then fail too, and differently on each target). So before each test this puts
# the server back to the state run.sh recorded when it prepared it (the baseline), through the
# target the test is about to use (so that ringsql sees a SET GLOBAL as its clients' own):
#   - statements still running on the server are killed (on the server itself);
#   - prepared XA transactions (which outlive their connection, with their locks) roll back;
#   - every database that was not there is dropped (with files the server does not know that
#     a test left in its directory), `test` is dropped and created empty;
#   - every user and role that was not there is dropped, the baseline's rows of
#     mysql.global_priv (root's) that a test changed or deleted are put back;
#   - every global variable that differs is set back (those that cannot be set are logged);
#   - mtr.test_suppressions is emptied.
# When the target does not answer: a server that is down (a test stopped or killed it) is
# started again (tests/mariadb.sh restart), a server that refuses root (a test emptied
# mysql.global_priv) is restarted with --skip-grant-tables, given the baseline's
# mysql.global_priv back and restarted as before.
# A mysqltest that a test starts itself ($MYSQL_TEST in a test) resets nothing.
#
#   mysqltest.sh --state          print the state (run.sh: the baseline)
#   mysqltest.sh --server-back    the server up and the target answering (run.sh, per target)
#   mysqltest.sh MYSQLTEST-ARGS   reset, then the real mariadb-test
#
# Environment (set by run.sh): RINGSQL_COMPAT_PORT (the target's port on 127.0.0.1),
# RINGSQL_COMPAT_BASELINE (the state), RINGSQL_COMPAT_PRIVS (mysql.global_priv as mariadb-dump
# wrote it), RINGSQL_COMPAT_SERVER_DIR (the server's tests/mariadb.sh directory),
# RINGSQL_COMPAT_RESET_LOG (what went wrong), RINGSQL_COMPAT_NOFILE (run.sh's soft and hard
# limits of open files), RINGSQL_COMPAT_MYSQLTEST (the real mariadb-test).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log=${RINGSQL_COMPAT_RESET_LOG:-/dev/null}
dir=${RINGSQL_COMPAT_SERVER_DIR:-}
test_file=

# The state (mariadb -B: tab-separated, \t \n \\ escaped as in a SQL string): a row per
# database, table of the system schemas, user, mysql.global_priv row and global variable, then
# the prepared XA transactions (XA RECOVER: formatID, two lengths, the xid as SQL). Separate
# statements, read with --force: a test may have renamed mysql.global_priv away.
state_sql="SELECT 'db', SCHEMA_NAME, '', '' FROM information_schema.SCHEMATA;
SELECT 'table', TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES
  WHERE TABLE_SCHEMA IN ('mysql', 'mtr', 'sys');
SELECT 'user', User, Host, IF(is_role = 'Y', 'role', 'user') FROM mysql.user;
SELECT 'priv', User, Host, Priv FROM mysql.global_priv;
SELECT 'var', VARIABLE_NAME, IFNULL(VARIABLE_VALUE, 'NULL'), ''
  FROM information_schema.GLOBAL_VARIABLES;
XA RECOVER FORMAT='SQL';"

# read_state: the state into `state`; fails when the target does not answer (the variables
# are always there when it does).
read_state() {
    state=$(client -N -B --force <<<"$state_sql" 2>>"$log")
    [[ $state == *$'\nvar\t'* ]]
}

client() { # the target, as root
    mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$RINGSQL_COMPAT_PORT" -uroot \
        --connect-timeout=10 "$@"
}
server() { # the server itself, as root
    mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$(cat "$dir/port")" -uroot \
        --connect-timeout=10 "$@"
}

# plan < STATE: the statements that make STATE the baseline's again. Variables that move on
# their own (the binary log's position) are left alone.
plan() {
    awk -F'\t' -v q="'" '
        function sqlstr(s) { gsub(q, q q, s); return q s q }
        function ident(s) { gsub(/`/, "``", s); return "`" s "`" }
        NR == FNR {
            if ($1 == "db") base["db" SUBSEP $2] = 1
            else if ($1 == "table") base["table" SUBSEP $2 SUBSEP $3] = 1
            else if ($1 == "user") base["user" SUBSEP $2 SUBSEP $3] = 1
            else if ($1 == "priv") { priv[$2 SUBSEP $3] = $4; privs[++np] = $2 SUBSEP $3 }
            else if ($1 == "var") base["var" SUBSEP $2] = $3
            next
        }
        $1 ~ /^[0-9]+$/ { print "XA ROLLBACK " $4 ";"; next }
        $1 == "db" && !(("db" SUBSEP $2) in base) { print "DROP DATABASE IF EXISTS " ident($2) ";" }
        $1 == "user" && !(("user" SUBSEP $2 SUBSEP $3) in base) {
            if ($4 == "role") print "DROP ROLE IF EXISTS " sqlstr($2) ";"
            else print "DROP USER IF EXISTS " sqlstr($2) "@" sqlstr($3) ";"
        }
        $1 == "priv" { now[$2 SUBSEP $3] = $4 }
        $1 == "table" { table[$2 SUBSEP $3] = $4 }
        $1 == "var" && (("var" SUBSEP $2) in base) && base["var" SUBSEP $2] != $3 &&
            tolower($2) !~ /^(gtid_|last_gtid|log_bin_basename|log_bin_index)/ {
            v = base["var" SUBSEP $2]
            if (v == "NULL") val = "NULL"
            else if (v ~ /^-?[0-9]+(\.[0-9]+)?$/) val = v
            else val = sqlstr(v)
            print "SET GLOBAL " tolower($2) " = " val ";"
        }
        END {
            flush = 0
            # include/switch_to_mysql_user.inc left half way: mysql.user a table, the view in
            # mysql.user_bak, mysql.global_priv in mysql.global_priv_bak. Switch back.
            if (("mysql" SUBSEP "user_bak") in table) {
                if (table["mysql" SUBSEP "user"] == "BASE TABLE") print "DROP TABLE mysql.user;"
                if (("mysql" SUBSEP "user") in table && table["mysql" SUBSEP "user"] != "BASE TABLE")
                    print "DROP TABLE mysql.user_bak;"
                else
                    print "RENAME TABLE mysql.user_bak TO mysql.user;"
                flush = 1
            }
            if (("mysql" SUBSEP "global_priv_bak") in table) {
                if (("mysql" SUBSEP "global_priv") in table) print "DROP TABLE mysql.global_priv_bak;"
                else print "RENAME TABLE mysql.global_priv_bak TO mysql.global_priv;"
                flush = 1
            }
            # Other tables and views a test left in the system schemas.
            for (k in table) {
                if (("table" SUBSEP k) in base) continue
                split(k, st, SUBSEP)
                if (st[1] == "mysql" && (st[2] == "user_bak" || st[2] == "global_priv_bak")) continue
                print "DROP " (table[k] == "VIEW" ? "VIEW" : "TABLE") " IF EXISTS " \
                    ident(st[1]) "." ident(st[2]) ";"
            }
            for (i = 1; i <= np; i++) {
                k = privs[i]
                if ((k in now) && now[k] == priv[k]) continue
                split(k, uh, SUBSEP)
                print "REPLACE INTO mysql.global_priv (User, Host, Priv) VALUES (" \
                    sqlstr(uh[1]) ", " sqlstr(uh[2]) ", " sqlstr(priv[k]) ");"
                flush = 1
            }
            if (flush) print "FLUSH PRIVILEGES;"
        }
    ' "$RINGSQL_COMPAT_BASELINE" -
}

# reset_sql FIXES: the fixes, then `test` dropped and created; the client's output in
# reset_out and, when it failed, in the log.
# (On stdin: with -e the client stops at the first error, --force or not.)
reset_sql() {
    reset_out=$(client --force 2>&1 <<<"SET SESSION lock_wait_timeout = 10, innodb_lock_wait_timeout = 10;
$1
DROP DATABASE IF EXISTS test;
CREATE DATABASE test CHARACTER SET latin1 COLLATE latin1_swedish_ci;
TRUNCATE TABLE mtr.test_suppressions;") && return 0
    { echo "$reset_out"; echo "reset before $test_file: the statements above failed:"; echo "$1"; } >>"$log"
    return 1
}

# restart_server: tests/mariadb.sh restart, with run.sh's limit of open files (mtr lowers it
# for mysqltest; the server's open_files_limit follows it) and in a session of its own (mtr
# kills a test's process group when its time is up).
restart_server() {
    (
        read -r soft hard <<<"${RINGSQL_COMPAT_NOFILE:-}"
        [[ -n ${hard:-} ]] && ulimit -Hn "$hard" 2>/dev/null
        [[ -n ${soft:-} ]] && ulimit -Sn "$soft" 2>/dev/null
        setsid -w "$here/../mariadb.sh" restart "$dir"
    ) >>"$log" 2>&1
}

# repair_grants: the server refuses root: --skip-grant-tables, the baseline's mysql.global_priv
# back, and a normal restart (which waits until root logs in again).
repair_grants() {
    local args rc=0
    [[ -r ${RINGSQL_COMPAT_PRIVS:-} && -f $dir/extra-args ]] || return 1
    echo "reset: the server refuses root before $test_file: restoring mysql.global_priv" >>"$log"
    args=$(cat "$dir/extra-args")
    "$here/../mariadb.sh" stop "$dir" >>"$log" 2>&1
    echo "$args --skip-grant-tables" >"$dir/extra-args"
    restart_server || rc=1
    echo "$args" >"$dir/extra-args"
    ((rc == 0)) && server mysql <"$RINGSQL_COMPAT_PRIVS" >>"$log" 2>&1 || rc=1
    "$here/../mariadb.sh" stop "$dir" >>"$log" 2>&1
    restart_server || rc=1
    return "$rc"
}

# server_back: the server up (restarted if a test stopped it, its grants repaired if a test
# broke them), then a bounded wait until the target answers (ringsql reconnects its pools).
server_back() {
    local until out
    [[ -n $dir ]] || return 1
    if ! kill -0 "$(cat "$dir/mariadbd.pid" 2>/dev/null)" 2>/dev/null; then
        echo "reset: the server was down before ${test_file:-this target}: restarting it" >>"$log"
        restart_server || return 1
    elif ! out=$(server -e 'SELECT 1' 2>&1); then
        case $out in
        *1045* | *1130* | *1698* | *"not allowed to connect"* | *"Access denied"*)
            repair_grants || return 1 ;;
        esac
    fi
    until=$((SECONDS + 60))
    until client -e 'SELECT 1' >/dev/null 2>&1; do
        ((SECONDS < until)) || return 1
        sleep 0.2
    done
}

# kill_leftovers: statements still running from the last test (a `send` whose KILL failed, a
# loop whose client left: the server does not notice a closed connection until it writes to
# it) are killed, on the server itself (ringsql lets a client kill only its own sessions).
kill_leftovers() {
    local ids id
    [[ -n $dir ]] || return 0
    ids=$(server -N -B -e "SELECT ID FROM information_schema.PROCESSLIST
        WHERE COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') AND ID <> CONNECTION_ID()
          AND USER NOT IN ('system user', 'event_scheduler')" 2>/dev/null) || return 0
    for id in $ids; do
        echo "reset before $test_file: killed server thread $id, still running" >>"$log"
        server -e "KILL $id" >>"$log" 2>&1
    done
}

reset_server() {
    local state fixes db
    read_state || { server_back && read_state; } || {
        echo "reset: the target (port $RINGSQL_COMPAT_PORT) does not answer before $test_file" >>"$log"
        return 0
    }
    kill_leftovers
    fixes=$(plan <<<"$state")
    reset_sql "$fixes" && return 0
    # A test may leave files the server does not know in a database's directory (an OUTFILE,
    # a copied .par): DROP DATABASE fails (errno 39), where mtr would have wiped the data
    # directory. Remove them and try once more.
    [[ $reset_out == *"errno: 39"* && -n $dir ]] || return 0
    read_state || return 0
    fixes=$(plan <<<"$state")
    for db in test $(sed -n 's/^DROP DATABASE IF EXISTS `\([A-Za-z0-9_]*\)`;$/\1/p' <<<"$fixes"); do
        [[ -d $dir/data/$db ]] && find "$dir/data/$db" -mindepth 1 -maxdepth 1 ! -name db.opt \
            -exec rm -rf {} + 2>>"$log"
    done
    echo "reset before $test_file: removed the files left in the data directory" >>"$log"
    reset_sql "$fixes" || echo "reset before $test_file: failed again" >>"$log"
}

case ${1:-} in
--state)
    read_state && echo "$state"
    exit ;;
--server-back)
    client -e 'SELECT 1' >/dev/null 2>&1 || server_back
    exit ;;
esac

if [[ -z ${RINGSQL_COMPAT_NESTED:-} ]]; then
    export RINGSQL_COMPAT_NESTED=1
    for arg in "$@"; do
        [[ $arg == --test-file=* ]] && test_file=${arg#--test-file=}
    done
    [[ -n $test_file ]] && reset_server
fi
exec "${RINGSQL_COMPAT_MYSQLTEST:-/usr/bin/mariadb-test}" "$@"
