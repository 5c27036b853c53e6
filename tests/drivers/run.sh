#!/usr/bin/env bash
# Driver conformance: every driver in DRIVERS below runs the same checks directly against
# MariaDB and through ringsql in both pool modes (session, transaction). Prints TAP: one line
# per driver x check x target, "ok N - driver check target" (a check that cannot run is a
# TAP skip that says why).
#
# Then the TLS column, the same three targets over TLS: tls-direct (the MariaDB of
# tests/mariadb.sh, whose certificates are in RINGSQL_TEST_CERTS), tls-session and tls-txn
# (two more ringsql instances with a tls: block, the server certificate of those certificates).
# There each driver runs only tls_login and tls_rows, with TLS required and the server's
# certificate verified against RINGSQL_TEST_CERTS/ca.pem. A TLS ringsql that does not serve
# fails its two targets (every driver's tls_login and tls_rows there), not the whole run.
#
#   tests/drivers/run.sh RINGSQL_BIN [DRIVER...]
#
# Needs RINGSQL_TEST_MARIADB_HOST/PORT (tests/mariadb.sh start) and the packages that
# scripts/install-deps.sh installs. A driver whose runtime is missing is skipped, named.
#
# Contract of a driver script: run with the environment
#   DRV_HOST DRV_PORT DRV_USER DRV_PASSWORD DRV_DB       the target and its first user
#   DRV_USER2 DRV_PASSWORD2 DRV_DB2                      a second user and database
#   DRV_TARGET (direct|session|txn|tls-direct|tls-session|tls-txn) DRV_NAME DRV_TMPDIR
#   DRV_TLS_CA                                           the TLS targets only: the CA file
# it prints one line per check, "<check>: ok", "<check>: FAIL <why>" or "<check>: skip <why>"
# (with DRV_TLS_CA only tls_login and tls_rows, TLS required and the server's certificate
# verified against that CA), and exits 0 (a non-zero exit with no FAIL line is reported as a
# failure of its own).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: run.sh RINGSQL_BIN [DRIVER...]}
shift
host=${RINGSQL_TEST_MARIADB_HOST:?set by tests/mariadb.sh}
dbport=${RINGSQL_TEST_MARIADB_PORT:?set by tests/mariadb.sh}
work=$(mktemp -d "${RINGSQL_TEST_TMPDIR:-/tmp}/ringsql-drivers-XXXXXX")
readonly SCRIPT_TIMEOUT_S=180
readonly TLS_SCRIPT_TIMEOUT_S=60
# The certificates of the TLS column: the MariaDB's own, or (a server started some other way,
# whose tls-direct is then skipped) a set made here for the TLS ringsql instances.
certs=${RINGSQL_TEST_CERTS:-}
if [[ -z $certs ]]; then
    certs=$work/certs
    "$here/../lib/make_certs.sh" "$certs" || { echo "Bail out! cannot make test certificates"; exit 1; }
fi

# name | command (run from the repository root) | what it needs on PATH
DRIVERS=(
    "pymysql|/usr/bin/python3 $here/python_dbapi.py pymysql|python3"
    "mysqlclient|/usr/bin/python3 $here/python_dbapi.py MySQLdb|python3"
    "php-pdo|php $here/php_driver.php pdo|php"
    "php-mysqli|php $here/php_driver.php mysqli|php"
    "go-sql-driver|$work/go-driver|go"
    "node-mysql2|node $here/node/mysql2_driver.js|node"
    "node-mariadb|node $here/node/mariadb_driver.js|node"
    "connector-j|java -cp $work/java:/usr/share/java/mariadb-java-client.jar DriverCheck|java"
    "perl-dbd-mariadb|perl $here/perl_dbi.pl MariaDB|perl"
    "perl-dbd-mysql|perl $here/perl_dbi.pl mysql|perl"
    "ruby-mysql2|ruby $here/ruby_mysql2.rb|ruby"
    "cli|bash $here/cli.sh|mariadb"
)

n=0
failed=0
tap() { # status text
    n=$((n + 1))
    case $1 in
    ok) echo "ok $n - $2" ;;
    skip) echo "ok $n - $2 # SKIP ${3:-}" ;;
    *) echo "not ok $n - $2${3:+ ($3)}"; failed=1 ;;
    esac
}
root_sql() { mariadb --no-defaults -h"$host" -P"$dbport" -uroot -e "$1"; }

# The second user and database the checks switch to.
root_sql "CREATE DATABASE IF NOT EXISTS ringsql_test2;
  CREATE USER IF NOT EXISTS ringsql_test2@'%' IDENTIFIED BY 'test_pass2';
  GRANT ALL ON *.* TO ringsql_test2@'%';" || { echo "Bail out! cannot create the second user"; exit 1; }

. "$here/../lib/ringsql.sh"
users='  - name: app
    password: "secret"
    backend_user: ringsql_test
    backend_password: test_pass
  - name: app2
    password: "secret2"
    backend_user: ringsql_test2
    backend_password: test_pass2'
tls_yaml="tls:
  cert: \"$certs/server-cert.pem\"
  key: \"$certs/server-key.pem\""
ringsql_start "$bin" "$work" session session 24 "$users"
ringsql_start "$bin" "$work" txn transaction 24 "$users"
ringsql_start "$bin" "$work" tls_session session 8 "$users" "$tls_yaml"
ringsql_start "$bin" "$work" tls_txn transaction 8 "$users" "$tls_yaml"
cleanup() {
    kill -TERM "$pid_session" "$pid_txn" "$pid_tls_session" "$pid_tls_txn" 2>/dev/null
    wait "$pid_session" "$pid_txn" "$pid_tls_session" "$pid_tls_txn" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
for name in session txn; do
    ringsql_wait "$work" "$name" 20
done
# A TLS ringsql that does not serve (it may refuse its tls: block) fails only its targets.
declare -A tls_down=()
for name in tls_session tls_txn; do
    if ! ringsql_up "$work" "$name" 20; then
        tls_down[$name]=1
        echo "# ringsql ($name) does not serve; its targets fail. Its log:"
        sed 's/^/#   /' "$work/$name.log"
    fi
done

# Compiled drivers are built once, into the run's work directory.
build_go() {
    GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$work/gocache GOFLAGS=-mod=mod \
        go build -o "$work/go-driver" "$here/go/main.go"
}
build_java() { mkdir -p "$work/java" && javac -d "$work/java" -cp /usr/share/java/mariadb-java-client.jar "$here/java/DriverCheck.java"; }

wanted=" $* "
for entry in "${DRIVERS[@]}"; do
    IFS='|' read -r name cmd need <<<"$entry"
    [[ $# -gt 0 && $wanted != *" $name "* ]] && continue
    if ! command -v "$need" >/dev/null 2>&1; then
        tap skip "$name" "$need is not installed (scripts/install-deps.sh)"
        continue
    fi
    build_ok=1
    case $name in
    go-sql-driver) build_go >"$work/build-go.log" 2>&1 || build_ok=0 ;;
    connector-j) build_java >"$work/build-java.log" 2>&1 || build_ok=0 ;;
    esac
    if ((!build_ok)); then
        tap fail "$name build" "see below"
        sed 's/^/# /' "$work"/build-*.log
        continue
    fi
    for target in direct session txn tls-direct tls-session tls-txn; do
        case $target in
        direct | tls-direct)
            t_port=$dbport t_user=ringsql_test t_pw=test_pass t_user2=ringsql_test2 t_pw2=test_pass2 ;;
        session | tls-session) t_port=$port_session t_user=app t_pw=secret t_user2=app2 t_pw2=secret2 ;;
        txn | tls-txn) t_port=$port_txn t_user=app t_pw=secret t_user2=app2 t_pw2=secret2 ;;
        esac
        t_ca='' limit=$SCRIPT_TIMEOUT_S
        case $target in
        tls-*)
            t_ca=$certs/ca.pem limit=$TLS_SCRIPT_TIMEOUT_S
            instance=${target//-/_}
            [[ $target != tls-direct ]] && t_port=port_$instance && t_port=${!t_port}
            if [[ $target == tls-direct && -z ${RINGSQL_TEST_CERTS:-} ]]; then
                for check in tls_login tls_rows; do
                    tap skip "$name $check $target" \
                        "RINGSQL_TEST_CERTS is not set (a MariaDB not started by tests/mariadb.sh)"
                done
                continue
            fi
            if [[ -n ${tls_down[$instance]:-} ]]; then
                for check in tls_login tls_rows; do
                    tap fail "$name $check $target" "ringsql ($instance) does not serve"
                done
                continue
            fi
            ;;
        esac
        out=$work/$name.$target.out
        mkdir -p "$work/tmp.$name.$target"
        DRV_HOST=127.0.0.1 DRV_PORT=$t_port DRV_USER=$t_user DRV_PASSWORD=$t_pw \
            DRV_DB=ringsql_test DRV_USER2=$t_user2 DRV_PASSWORD2=$t_pw2 DRV_DB2=ringsql_test2 \
            DRV_TARGET=$target DRV_NAME=$name DRV_TMPDIR=$work/tmp.$name.$target DRV_TLS_CA=$t_ca \
            timeout "$limit" $cmd >"$out" 2>"$out.err" </dev/null
        rc=$?
        saw_fail=0
        while IFS= read -r line; do
            check=${line%%: *}
            verdict=${line#*: }
            case $verdict in
            ok) tap ok "$name $check $target" ;;
            skip*) tap skip "$name $check $target" "${verdict#skip }" ;;
            FAIL*) tap fail "$name $check $target" "${verdict#FAIL }"; saw_fail=1 ;;
            *) echo "# $name $target: $line" ;;
            esac
        done <"$out"
        if ((rc != 0 && !saw_fail)); then
            tap fail "$name exit $target" "exit status $rc$( ((rc == 124)) && echo ", over ${limit}s")"
        fi
        if ((rc != 0 || saw_fail)); then
            tail -n 20 "$out.err" | sed 's/^/#   /'
        fi
    done
done
# Each ringsql stops on SIGTERM with status 0, and no sanitizer report in its log.
for name in session txn tls_session tls_txn; do
    p=pid_$name
    log=$work/$name.log
    kill -TERM "${!p}" 2>/dev/null
    wait "${!p}"
    rc=$?
    if ((rc != 0)) || grep -q 'Sanitizer\|runtime error' "$log"; then
        tap fail "ringsql $name exit" "status $rc"
        grep -A12 'Sanitizer\|runtime error' "$log" | head -40 | sed 's/^/#   /'
    else
        tap ok "ringsql $name exit"
    fi
    if grep -q 'level=error' "$log"; then
        echo "# ringsql ($name) logged errors:"
        grep 'level=error' "$log" | head -20 | sed 's/^/#   /'
    fi
done
echo "1..$n"
exit $failed
