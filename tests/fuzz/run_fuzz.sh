#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: first over its saved crash regressions (each
# must pass), then fuzzing from its seed corpus. New inputs go to a scratch directory, never
# into the source tree; a crash fails the test and leaves its input in the build directory.
#   run_fuzz.sh TARGET_BINARY SEED_DIR REGRESSION_DIR WORK_DIR SECONDS
set -euo pipefail
target=$1 seeds=$2 regressions=$3 work=$4 seconds=$5
name=$(basename "$target")
mkdir -p "$work/corpus" "$work/artifacts"
shopt -s nullglob
saved=("$regressions"/*)
if ((${#saved[@]} > 0)); then
    "$target" -error_exitcode=1 -runs=1 "${saved[@]}"
fi
"$target" -error_exitcode=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
echo "$name: clean after ${seconds}s"
