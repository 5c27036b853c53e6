#!/usr/bin/env bash
# Driver conformance checks for the MariaDB command-line tools (mariadb, mariadb-dump,
# mariadb-import, mariadb-slap, mariadb-admin), run by tests/drivers/run.sh with the DRV_*
# environment. Prints one line per check, "<check>: ok" / "FAIL <why>" / "skip <why>", and
# exits 0; the tools' own errors go to stderr. Every tool gets --no-defaults first and the
# host, port, user and password explicitly.
#
# With DRV_TLS_CA set only the TLS checks run (tls_login, tls_rows), each with the mariadb
# client and --ssl --ssl-ca=DRV_TLS_CA --ssl-verify-server-cert (TLS required, the server's
# certificate verified); the client's own status (\s) shows the cipher in use.
# shellcheck disable=SC2317 # the check_* functions are called by name, from the loop
set -uo pipefail
: "${DRV_HOST:?} ${DRV_PORT:?} ${DRV_USER:?} ${DRV_PASSWORD:?} ${DRV_DB:?}"
: "${DRV_USER2:?} ${DRV_PASSWORD2:?} ${DRV_DB2:?} ${DRV_TARGET:?} ${DRV_NAME:?} ${DRV_TMPDIR:?}"
readonly TOOL_TIMEOUT_S=30 # a hung tool is killed; every client also has --connect-timeout
prefix=$(printf 'drv_%s_%s' "$DRV_NAME" "$DRV_TARGET" | tr -c 'A-Za-z0-9_' '_')

# tool NAME ARGS...: a client tool with the connection options of the first user (only
# mariadb and mariadb-admin have --connect-timeout; the others rely on the timeout).
tool() {
    local name=$1 ct=()
    shift
    [[ $name == mariadb || $name == mariadb-admin ]] && ct=(--connect-timeout=10)
    timeout "$TOOL_TIMEOUT_S" "$name" --no-defaults -h"$DRV_HOST" -P"$DRV_PORT" -u"$DRV_USER" \
        -p"$DRV_PASSWORD" "${ct[@]}" "$@"
}
# sql ARGS...: the mariadb client in batch mode (tab-separated, no column names) on DRV_DB;
# a later -D ARG overrides the database.
sql() { tool mariadb -N -B -D"$DRV_DB" "$@"; }
# fail WHY: ends the check (each check runs in its own subshell) with that reason.
fail() {
    echo "$*"
    exit 1
}
# expect WHAT GOT WANT
expect() { [[ $2 == "$3" ]] || fail "$1: got '${2:0:80}', want '${3:0:80}'"; }
# fresh_table NAME COLUMNS [DB]: drops and creates a table.
fresh_table() {
    sql -D"${3:-$DRV_DB}" -e "DROP TABLE IF EXISTS $1; CREATE TABLE $1 ($2) ENGINE=InnoDB" ||
        fail "cannot create table $1"
}

check_login() { expect 'DATABASE()' "$(sql -e 'SELECT DATABASE()')" "$DRV_DB"; }

check_wrong_password() {
    local err
    err=$(timeout "$TOOL_TIMEOUT_S" mariadb --no-defaults -h"$DRV_HOST" -P"$DRV_PORT" -u"$DRV_USER" \
        -p"${DRV_PASSWORD}_wrong" --connect-timeout=10 -e 'SELECT 1' 2>&1 >/dev/null) &&
        fail "connected with a wrong password"
    [[ $err == *"ERROR 1045 (28000)"* ]] || fail "want ERROR 1045 (28000), got: ${err:0:120}"
}

check_select1() { expect 'SELECT 1' "$(sql -e 'SELECT 1')" 1; }

# The client has no parameters: the 1 000 rows go in one multi-row INSERT built here, and
# the rows read back are compared with the same values.
check_rows_1000() {
    local t=${prefix}_rows want got
    fresh_table "$t" 'id INT PRIMARY KEY, v VARCHAR(64)'
    want=$(for i in $(seq 1000); do printf '%d\trow-%d-%d\n' "$i" "$i" $((i * 7919 % 1000)); done)
    { printf 'INSERT INTO %s (id, v) VALUES ' "$t"
      awk -F'\t' '{ printf "%s(%s, '\''%s'\'')", (NR > 1 ? ", " : ""), $1, $2 }' <<<"$want"
      echo ';'; } | sql || fail "INSERT failed"
    got=$(sql -e "SELECT id, v FROM $t ORDER BY id") || fail "SELECT failed"
    expect 'rows read back' "$(wc -l <<<"$got")" 1000
    expect 'sha1 of the rows' "$(sha1sum <<<"$got")" "$(sha1sum <<<"$want")"
    expect 'COUNT(*)' "$(sql -e "SELECT COUNT(*) FROM $t; DROP TABLE $t")" 1000
}

check_rollback() {
    local t=${prefix}_rollback
    fresh_table "$t" 'id INT PRIMARY KEY'
    expect 'counts inside and after the transaction' \
        "$(sql -e "BEGIN; INSERT INTO $t VALUES (7); SELECT COUNT(*) FROM $t;
                   ROLLBACK; SELECT COUNT(*) FROM $t; DROP TABLE $t" | tr '\n' ' ')" '1 0 '
}

# The client splits its input at the delimiter itself; with another delimiter both
# statements go to the server in one COM_QUERY (the client sets CLIENT_MULTI_STATEMENTS).
check_multi_statement() {
    expect 'results' "$(printf 'DELIMITER //\nSELECT 1; SELECT 2//\n' | sql | tr '\n' ' ')" '1 2 '
}

# --force goes on after the error on the same connection; @x shows that it is the same one.
# (With -e the client drops the rest of a line after an error, so the input has one
# statement a line.)
check_error_then_query() {
    local out err
    err=$DRV_TMPDIR/error_then_query.err
    out=$(printf 'SET @x = 5;\nSELECT * FROM drv_no_such_table;\nSELECT 1, @x;\n' | sql --force 2>"$err")
    grep -q 'ERROR 1146' "$err" || fail "want ERROR 1146, got: $(head -c 120 "$err")"
    expect 'SELECT 1, @x after the error' "$out" $'1\t5'
}

# Each line is "seq<TAB>x...x<NL>": the digits of 1..20000 plus 1 002 bytes a row.
check_result_20mb() {
    local counts lines bytes
    counts=$(sql -e "SELECT seq, REPEAT('x', 1000) FROM seq_1_to_20000" | wc -lc) ||
        fail "SELECT failed"
    read -r lines bytes <<<"$counts"
    expect 'lines and bytes' "$lines $bytes" "20000 $(($(seq 20000 | wc -c) + 20000 * 1001))"
}

# The client's "use" command (it sends COM_INIT_DB).
check_use_db() {
    expect 'DATABASE() after use' "$(sql -e "use $DRV_DB2
SELECT DATABASE()")" "$DRV_DB2"
}

check_dump_restore() {
    local t=${prefix}_dump dump=$DRV_TMPDIR/dump.sql a b
    fresh_table "$t" 'id INT PRIMARY KEY, v VARCHAR(64)'
    sql -e "INSERT INTO $t SELECT seq, CONCAT('v', seq, '-', MD5(seq)) FROM seq_1_to_1000" ||
        fail "filling the table failed"
    sql -D"$DRV_DB2" -e "DROP TABLE IF EXISTS $t" || fail "cannot drop $DRV_DB2.$t"
    tool mariadb-dump "$DRV_DB" "$t" >"$dump" || fail "mariadb-dump failed"
    sql -D"$DRV_DB2" <"$dump" || fail "restore into $DRV_DB2 failed"
    a=$(sql -e "CHECKSUM TABLE $DRV_DB.$t" | cut -f2)
    b=$(sql -e "CHECKSUM TABLE $DRV_DB2.$t; SELECT COUNT(*) FROM $DRV_DB2.$t" | cut -f2 | tr '\n' ' ')
    [[ -n $a && $a != NULL ]] || fail "no checksum of the original"
    expect 'checksum and count of the restored table' "$b" "$a 1000 "
    sql -e "DROP TABLE $DRV_DB.$t; DROP TABLE $DRV_DB2.$t"
}

# mariadb-import loads FILE into the table named like the file, with LOAD DATA LOCAL INFILE.
check_import_local() {
    local t=${prefix}_import file
    file=$DRV_TMPDIR/$t.txt
    fresh_table "$t" 'id INT PRIMARY KEY, v VARCHAR(64)'
    for i in $(seq 1000); do printf '%d\tline %d\n' "$i" "$i"; done >"$file"
    tool mariadb-import --local "$DRV_DB" "$file" >&2 || fail "mariadb-import failed"
    expect 'COUNT(*), SUM(id), v of id 500' \
        "$(sql -e "SELECT COUNT(*), SUM(id), (SELECT v FROM $t WHERE id = 500) FROM $t; DROP TABLE $t")" \
        $'1000\t500500\tline 500'
}

# 50 clients at once. No schema of its own: it runs in DRV_DB and leaves it (--no-drop).
# A client that cannot connect (after mariadb-slap's own retries) only prints an error and
# the exit status stays 0, so its stderr must be empty too.
check_slap_50() {
    local err=$DRV_TMPDIR/slap.err
    tool mariadb-slap --concurrency=50 --iterations=1 --number-of-queries=500 \
        --query='SELECT 1' --create-schema="$DRV_DB" --no-drop >&2 2>"$err" ||
        fail "mariadb-slap exited with status $?: $(head -c 120 "$err")"
    cat "$err" >&2
    [[ ! -s $err ]] || fail "$(grep -c . "$err") errors, first: $(head -n 1 "$err" | head -c 150)"
}

check_admin_ping() {
    local out
    out=$(tool mariadb-admin ping) || fail "mariadb-admin ping exited with status $?"
    expect 'mariadb-admin ping' "$out" 'mysqld is alive'
}

# The client quits cleanly (exit 0, nothing on stderr), and a new connection works after.
check_close() {
    local err=$DRV_TMPDIR/close.err
    expect 'SELECT 1' "$(sql -e 'SELECT 1' 2>"$err")" 1
    [[ ! -s $err ]] || fail "stderr: $(head -c 120 "$err")"
    expect 'SELECT 1 on a new connection' "$(sql -e 'SELECT 1')" 1
}

# tls_sql ARGS...: sql over TLS, the server's certificate verified against DRV_TLS_CA; ends the
# check with the client's error when it fails.
tls_sql() {
    local err=$DRV_TMPDIR/tls.err
    sql --ssl --ssl-ca="$DRV_TLS_CA" --ssl-verify-server-cert "$@" 2>"$err" ||
        { cat "$err" >&2; fail "$(head -n 1 "$err" | head -c 200)"; }
}
# The client's status line of its TLS ("SSL: Cipher in use is ..."), after the rows.
readonly STATUS=$'\n\\s'

check_tls_login() {
    local out
    out=$(tls_sql -e "SELECT DATABASE();$STATUS") || fail "$out"
    expect 'DATABASE()' "$(head -n 1 <<<"$out")" "$DRV_DB"
    grep -q $'^SSL:\t*Cipher in use is ' <<<"$out" || fail "the client shows no TLS cipher in use"
}

# 5 000 rows of about 105 bytes, some 500 KiB: many TLS records.
check_tls_rows() {
    local out
    out=$(tls_sql -e "SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000;$STATUS") || fail "$out"
    expect 'rows and sum of seq' \
        "$(awk -F'\t' '$2 ~ /^x{100}$/ { n++; s += $1 } END { print n + 0, s + 0 }' <<<"$out")" '5000 12502500'
    grep -q $'^SSL:\t*Cipher in use is ' <<<"$out" || fail "the client shows no TLS cipher in use"
}

checks=(login wrong_password select1 rows_1000 rollback multi_statement error_then_query
    result_20mb use_db dump_restore import_local slap_50 admin_ping close)
[[ -n ${DRV_TLS_CA:-} ]] && checks=(tls_login tls_rows)
for check in "${checks[@]}"; do
    if why=$("check_$check"); then
        echo "$check: ok"
    else
        echo "$check: FAIL ${why:-exit status $?}" | head -n 1
    fi
done
exit 0
