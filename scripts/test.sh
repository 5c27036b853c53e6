#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine or a used one:
# installs what is missing, builds the normal and the ASan+UBSan builds, starts a throwaway
# MariaDB, runs every test in both builds (fuzz targets in the sanitize build) and the
# integration tests again on the epoll I/O engine (all in the normal build, a subset in the
# sanitize build), stops the server, and ends with the line "N passed, N failed" (", N skipped" when any were skipped).
# Exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run_dir=$root/.test-run

summary() {
    local passed=$1 failed=$2 skipped=$3
    if ((skipped > 0)); then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
}

scripts/install-deps.sh || { summary 0 1 0; exit 1; }
for kind in normal sanitize; do
    if ! scripts/build.sh "$kind"; then
        echo "test.sh: the $kind build failed" >&2
        summary 0 1 0
        exit 1
    fi
done

rm -rf "$run_dir"
mkdir -p "$run_dir/tmp"
export RINGSQL_TEST_TMPDIR=$run_dir/tmp
if ! env_lines=$(tests/mariadb.sh start "$run_dir/mariadb"); then
    echo "test.sh: the test MariaDB server did not start" >&2
    summary 0 1 0
    exit 1
fi
eval "$env_lines"
trap 'tests/mariadb.sh stop "$run_dir/mariadb"' EXIT

# Sanitizers stop at the first error so that a finding fails its test.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
jobs=$(nproc)
rm -f build/meson-logs/testlog*.json build-san/meson-logs/testlog*.json
meson test -C build --num-processes "$jobs" --print-errorlogs
meson test -C build-san --num-processes "$jobs" --print-errorlogs --timeout-multiplier 3
# The epoll engine (what runs where io_uring is blocked): the integration tests in the normal
# build but the two long load runs (sysbench, chaos: minutes that CI's 20 do not have room
# for twice; the proxy, fault, TLS and driver tests drive the same paths) and but those that
# run on each engine themselves (suite engines: they did epoll above), and in the sanitize
# build those that drive the most paths through it (its whole integration suite would double
# that build's share of the time).
meson test -C build --setup epoll --suite integration --no-suite long --no-suite engines \
    --num-processes "$jobs" --print-errorlogs
meson test -C build-san --setup epoll --num-processes "$jobs" --print-errorlogs \
    --timeout-multiplier 3 proxy faults txn_pool txn_stmt

# Count every test of both builds and both engines from meson's own logs.
read -r passed failed skipped < <(python3 - build/meson-logs/testlog.json \
    build-san/meson-logs/testlog.json build/meson-logs/testlog-epoll.json \
    build-san/meson-logs/testlog-epoll.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        f = open(path)
    except OSError:
        failed += 1  # that build's tests never ran
        continue
    with f:
        for line in f:
            result = json.loads(line)["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print(passed, failed, skipped)
PY
)
summary "$passed" "$failed" "$skipped"
((failed == 0 && passed > 0))
