#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs what is missing, builds ringsql,
# starts a throwaway MariaDB and ringsql in front of it with examples/ringsql.yaml, and
# sends queries through ringsql with the mariadb client.
#   scripts/demo.sh          show it working, then stop both
#   scripts/demo.sh --keep   leave both running and print how to connect and stop them
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo_dir=$root/.demo
keep=false
[[ ${1:-} == --keep ]] && keep=true

scripts/install-deps.sh
scripts/build.sh normal >/dev/null
echo "demo: built $(build/cmd/ringsql --version)"

if [[ -f $demo_dir/ringsql.pid ]]; then
    kill "$(cat "$demo_dir/ringsql.pid")" 2>/dev/null || true
fi
[[ -f $demo_dir/mariadb/mariadbd.pid ]] && tests/mariadb.sh stop "$demo_dir/mariadb" || true
rm -rf "$demo_dir"
mkdir -p "$demo_dir"

eval "$(tests/mariadb.sh start "$demo_dir/mariadb")"
echo "demo: MariaDB $RINGSQL_TEST_MARIADB_PORT on 127.0.0.1 (data in $demo_dir/mariadb)"
# The example config's user, created on the throwaway server.
mariadb --no-defaults -h127.0.0.1 -P"$RINGSQL_TEST_MARIADB_PORT" -uroot -e "
    CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'secret';
    GRANT ALL PRIVILEGES ON ringsql_test.* TO 'app'@'%';"

# examples/ringsql.yaml as it is, but pointing at the throwaway server.
sed "s/address: \"127.0.0.1:3306\"/address: \"127.0.0.1:$RINGSQL_TEST_MARIADB_PORT\"/" \
    examples/ringsql.yaml >"$demo_dir/ringsql.yaml"
build/cmd/ringsql --check -c "$demo_dir/ringsql.yaml"

build/cmd/ringsql -c "$demo_dir/ringsql.yaml" 2>"$demo_dir/ringsql.log" &
echo $! >"$demo_dir/ringsql.pid"
stop_all() {
    kill -TERM "$(cat "$demo_dir/ringsql.pid")" 2>/dev/null || true
    wait "$(cat "$demo_dir/ringsql.pid")" 2>/dev/null || true
    tests/mariadb.sh stop "$demo_dir/mariadb"
}
$keep || trap stop_all EXIT

client=(mariadb --no-defaults -h127.0.0.1 -P6033 -uapp -psecret --connect-timeout=2)
deadline=$((SECONDS + 15))
until "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || ! kill -0 "$(cat "$demo_dir/ringsql.pid")" 2>/dev/null; then
        echo "demo: ringsql is not answering on 127.0.0.1:6033; its log:" >&2
        cat "$demo_dir/ringsql.log" >&2
        exit 1
    fi
    sleep 0.2
done

echo "demo: queries through ringsql (127.0.0.1:6033):"
"${client[@]}" -t ringsql_test -e "
    SELECT VERSION() AS server, CONNECTION_ID() AS backend_connection, DATABASE() AS db;
    CREATE TABLE IF NOT EXISTS greetings (id INT PRIMARY KEY, text VARCHAR(40));
    REPLACE INTO greetings VALUES (1, 'hello through ringsql');
    SELECT * FROM greetings;"
echo "demo: ringsql log:"
cat "$demo_dir/ringsql.log"

if $keep; then
    echo "demo: still running. Connect with: ${client[*]}"
    echo "demo: stop with: kill $(cat "$demo_dir/ringsql.pid"); tests/mariadb.sh stop $demo_dir/mariadb"
fi
