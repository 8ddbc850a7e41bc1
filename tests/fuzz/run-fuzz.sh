#!/bin/sh
# Builds the libFuzzer target with clang (ASan + UBSan) and fuzzes the SPOP codec for N seconds.
# Usage: tests/fuzz/run-fuzz.sh [SECONDS] (default 60). Build dir: $STICKY_FUZZ_BUILD_DIR or
# build-fuzz. New interesting inputs go to <build>/fuzz-corpus; crashes to <build>/fuzz-artifacts
# (copy a crash into tests/fuzz/corpus/ once fixed, so the replay test keeps it fixed).
set -eu
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${STICKY_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${STICKY_FUZZ_JOBS:-2}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTICKY_FUZZ=ON \
  -DSTICKY_WERROR=ON "-DSTICKY_SKIP_LAYERS=${STICKY_SKIP_LAYERS:-policy;hsaf;store;config;health;io;agent;metrics;bench;integration;protocol}" >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_frame fuzz_frame_replay

mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts"
# The first directory receives new inputs; the checked-in seeds are only read.
# libFuzzer's progress lines go to a log; on failure it is shown, on success only the summary.
log="$build/fuzz.log"
if ! "$build/tests/fuzz/fuzz_frame" "$build/fuzz-corpus" "$root/tests/fuzz/corpus" \
  -max_total_time="$seconds" -max_len=20000 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$build/fuzz-artifacts/" >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "fuzz_frame: FAILED (artifacts in $build/fuzz-artifacts)" >&2
  exit 1
fi
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" || true
echo "fuzz_frame: no crash in ${seconds}s"
