#!/usr/bin/env bash
# The ringsql command line: --version, --help, --check on good and bad configs, exit codes.
# Usage: test_cli.sh PATH-TO-RINGSQL (run from the source root). Prints TAP.
set -u
ringsql=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# expect NAME WANT-EXIT WANT-OUTPUT-REGEX -- COMMAND...
expect() {
    local name=$1 want_rc=$2 want_re=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    n=$((n + 1))
    if [[ $rc -eq $want_rc ]] && grep -Eq -- "$want_re" <<<"$out"; then
        echo "ok $n - $name"
    else
        failed=$((failed + 1))
        echo "not ok $n - $name"
        echo "#   exit $rc (want $want_rc), output must match: $want_re"
        sed 's/^/#   | /' <<<"$out"
    fi
}

sed 's/^listen:/listne:/' examples/ringsql.yaml >"$tmp/typo.yaml"
printf 'backends: [\n' >"$tmp/broken.yaml"

echo "1..9"
expect "--version prints the version" 0 '^ringsql [0-9]+\.[0-9]+\.[0-9]+$' -- "$ringsql" --version
expect "--help documents exit codes" 0 'exit codes:' -- "$ringsql" --help
expect "--check accepts the example config" 0 \
    '^examples/ringsql.yaml: OK: listen 127.0.0.1:6033, [0-9]+ workers, 1 backend, 1 user, pool size 32' \
    -- "$ringsql" --check -c examples/ringsql.yaml
expect "--config is the long form of -c" 0 'OK: listen' \
    -- "$ringsql" --check --config examples/ringsql.yaml
expect "a typo'd key exits 2 naming line and column" 2 \
    "typo.yaml:4:1: top level: unknown key 'listne'" -- "$ringsql" --check -c "$tmp/typo.yaml"
expect "invalid YAML exits 2 with a position" 2 'broken.yaml:2:1: invalid YAML' \
    -- "$ringsql" --check -c "$tmp/broken.yaml"
expect "a missing file exits 2" 2 'cannot read the config file: No such file' \
    -- "$ringsql" --check -c "$tmp/absent.yaml"
expect "no config exits 2" 2 'no config given' -- "$ringsql"
expect "an unknown option exits 2" 2 'usage:' -- "$ringsql" --frobnicate
exit $((failed > 0))
