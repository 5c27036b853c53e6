#!/usr/bin/env bash
# sysbench through ringsql: oltp_read_write for 20 s with prepared statements and with
# --db-ps-mode=disable, zero errors other than the deadlocks sysbench itself retries; then
# point-select QPS direct and through ringsql, side by side (reported as TAP comments); then
# oltp_read_write (text protocol) through a second ringsql with pool.mode transaction and 3
# connections for 8 threads: transactions share the connections, zero errors.
#   test_sysbench.sh RINGSQL_BIN
set -uo pipefail
bin=$1
host=${RINGSQL_TEST_MARIADB_HOST:?set by tests/mariadb.sh}
port=${RINGSQL_TEST_MARIADB_PORT:?set by tests/mariadb.sh}
dir=$(mktemp -d "${RINGSQL_TEST_TMPDIR:-/tmp}/ringsql-sysbench-XXXXXX")
. "$(dirname "$0")/../lib/ringsql.sh"
app_user='  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass'
ringsql_start "$bin" "$dir" main session 16 "$app_user"
ringsql_start "$bin" "$dir" txn transaction 3 "$app_user"
lport=$port_main
pid=$pid_main
trap 'kill -TERM $pid_main $pid_txn 2>/dev/null; wait $pid_main $pid_txn 2>/dev/null' EXIT

echo "1..7"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
failed=0

for name in main txn; do
    ringsql_wait "$dir" "$name" 15
done

mariadb --no-defaults -h"$host" -P"$port" -uringsql_test -ptest_pass \
    -e 'DROP DATABASE IF EXISTS ringsql_sbtest; CREATE DATABASE ringsql_sbtest'
common=(--db-driver=mysql --mysql-user=app --mysql-password=secret --mysql-db=ringsql_sbtest
        --tables=2 --table-size=10000)
if sysbench oltp_read_write "${common[@]}" --mysql-host=127.0.0.1 --mysql-port="$lport" \
    prepare >"$dir/prepare.out" 2>&1; then
    ok "sysbench prepare through ringsql"
else
    not_ok "sysbench prepare through ringsql"; sed 's/^/# /' "$dir/prepare.out"
fi

# sysbench exits non-zero on any error it does not retry (it retries deadlocks, 1213/1205).
for mode in auto disable; do
    if sysbench oltp_read_write "${common[@]}" --mysql-host=127.0.0.1 --mysql-port="$lport" \
        --threads=4 --time=20 --db-ps-mode=$mode run >"$dir/rw-$mode.out" 2>&1 &&
        ! grep -q FATAL "$dir/rw-$mode.out"; then
        ok "oltp_read_write 20 s, db-ps-mode=$mode, no errors"
        grep -E "transactions:|ignored errors:" "$dir/rw-$mode.out" | sed 's/^ */# /'
    else
        not_ok "oltp_read_write 20 s, db-ps-mode=$mode"; tail -20 "$dir/rw-$mode.out" | sed 's/^/# /'
    fi
done

# Transaction pooling under load: 8 clients, 3 connections; every transaction holds one from
# BEGIN to COMMIT, the others wait for it (timeouts.pool_wait).
if sysbench oltp_read_write "${common[@]}" --mysql-host=127.0.0.1 --mysql-port="$port_txn" \
    --threads=8 --time=10 --db-ps-mode=disable run >"$dir/rw-txn.out" 2>&1 &&
    ! grep -q FATAL "$dir/rw-txn.out"; then
    ok "oltp_read_write 10 s through pool.mode transaction (8 clients, 3 connections), no errors"
    grep -E "transactions:|ignored errors:" "$dir/rw-txn.out" | sed 's/^ */# /'
else
    not_ok "oltp_read_write through pool.mode transaction"; tail -20 "$dir/rw-txn.out" | sed 's/^/# /'
fi

qps() {
    sysbench oltp_point_select "${common[@]}" "$@" --threads=8 --time=5 run 2>&1 |
        awk '/queries:/ { gsub(/[()]/, "", $3); print $3 }'
}
direct=$(qps --mysql-host="$host" --mysql-port="$port" --mysql-user=ringsql_test --mysql-password=test_pass)
proxied=$(qps --mysql-host=127.0.0.1 --mysql-port="$lport")
if [[ -n $direct && -n $proxied ]]; then
    ok "point-select QPS: direct $direct, through ringsql $proxied"
else
    not_ok "point-select QPS could not be measured"
fi

trap - EXIT
for name in main txn; do
    pid_var=pid_$name
    kill -TERM "${!pid_var}"
    wait "${!pid_var}"
    rc=$?
    if ((rc == 0)); then
        ok "SIGTERM: clean exit ($name)"
    else
        not_ok "SIGTERM: exit status $rc ($name)"; sed 's/^/# /' "$dir/$name.log" | tail -20
    fi
done
mariadb --no-defaults -h"$host" -P"$port" -uringsql_test -ptest_pass -e 'DROP DATABASE ringsql_sbtest'
exit $failed
