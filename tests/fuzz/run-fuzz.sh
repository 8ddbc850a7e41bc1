#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for a share of one time
# budget. Usage: tests/fuzz/run-fuzz.sh [SECONDS] (total, default 60; each target gets an equal
# share, at least 1 s). Build dir: $STICKY_FUZZ_BUILD_DIR or build-fuzz (a directory of its own:
# a STICKY_FUZZ build instruments the layers in place). $STICKY_FUZZ_TARGETS picks targets
# (space-separated, e.g. "fuzz_frame fuzz_cookie"); one fuzzer runs at a time, on one core.
# New interesting inputs go to <build>/fuzz-corpus (fuzz_frame) and <build>/fuzz-corpus-<target>;
# crashes to <build>/fuzz-artifacts. Once fixed, add a crash to tests/fuzz/make_corpus.py as a
# regression-* seed and re-run it, so the replay tests keep it fixed.
set -eu
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${STICKY_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${STICKY_FUZZ_JOBS:-2}"
all="fuzz_frame fuzz_notify fuzz_cookie fuzz_set_cookie fuzz_identity fuzz_record fuzz_config fuzz_servers_state"
targets="${STICKY_FUZZ_TARGETS:-$all}"

build_targets=""
for t in $targets; do build_targets="$build_targets $t ${t}_replay"; done
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTICKY_FUZZ=ON \
  -DSTICKY_WERROR=ON -DSTICKY_BENCHES=OFF "-DSTICKY_SKIP_LAYERS=${STICKY_SKIP_LAYERS:-bench;integration;protocol}" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $build_targets

count=0
for t in $targets; do count=$((count + 1)); done
share=$((seconds / count))
[ "$share" -ge 1 ] || share=1

mkdir -p "$build/fuzz-artifacts"
failed=""
summary=""
for t in $targets; do
  if [ "$t" = fuzz_frame ]; then
    # As before this script fuzzed several targets: the same corpus, log and size limit.
    corpus="$build/fuzz-corpus"; seeds="$root/tests/fuzz/corpus"; log="$build/fuzz.log"; extra="-max_len=20000"
  else
    corpus="$build/fuzz-corpus-${t#fuzz_}"; seeds="$root/tests/fuzz/corpora/${t#fuzz_}"; log="$build/$t.log"; extra=""
  fi
  mkdir -p "$corpus"
  # The first directory receives new inputs; the checked-in seeds are only read. libFuzzer's
  # progress lines go to the log; on failure its tail is shown, on success only the figures.
  # shellcheck disable=SC2086
  if "$build/tests/fuzz/$t" "$corpus" "$seeds" -max_total_time="$share" $extra -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" >"$log" 2>&1; then
    status="no crash"
  else
    status="FAILED"
    failed="$failed $t"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|NEW|REDUCE|pulse)' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  rate=$(sed -n 's/^#[0-9]*[[:space:]]*DONE .* exec\/s: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  line=$(printf '%-20s %-9s execs %-10s exec/s %-7s cov %-6s (%ss)' "$t:" "$status" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$share")
  echo "$line"
  summary="$summary$line
"
  if [ "$status" = FAILED ]; then
    tail -n 60 "$log"
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "$t: FAILED; reproducer: ${repro:-none written (see $log)}; replay: $build/tests/fuzz/$t ${repro:-FILE}" >&2
  fi
done

echo "== fuzz summary (${seconds}s over $count targets)"
printf '%s' "$summary"
if [ -n "$failed" ]; then
  echo "fuzz: FAILED:$failed (artifacts in $build/fuzz-artifacts)" >&2
  exit 1
fi
echo "fuzz: no crash in ${seconds}s"
