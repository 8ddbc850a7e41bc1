#!/usr/bin/env bash
# The one command that runs every test on a fresh Debian machine:
#   1. installs missing packages, 2. builds with -Werror and runs unit + integration tests,
#   3. builds the unit tests again with ASan+UBSan and runs them, 4. fuzzes the SPOP decoder
#   for a bounded time (STICKY_FUZZ_SECONDS, default 60), 5. runs the integration suites again
#   against each upstream HAProxy release vendored in ../shared/vendor (3.2.0 and 3.4.0: the SPOE
#   mux of 3.1+), built once and cached under build/haproxy/. STICKY_HAPROXY_VERSIONS picks the
#   releases ("" skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# Each phase says how long the one before it took (what the CI time goes to).
phase_start=$SECONDS
phase() {
  echo "== (previous step: $((SECONDS - phase_start)) s)"
  phase_start=$SECONDS
  echo "== $*"
}

tests/install-deps.sh

# The upstream releases are built before any test runs, so a build failure stops us early;
# the cache makes this a no-op after the first run.
matrix=()
for v in ${STICKY_HAPROXY_VERSIONS-3.2.0 3.4.0}; do
  rc=0
  bin=$(tests/haproxy/build-haproxy.sh "$v") || rc=$?
  if [ "$rc" -eq 3 ]; then
    echo "== SKIPPED: integration tests on HAProxy $v (no vendored archive haproxy-$v.tar.gz in ../shared/vendor)"
  elif [ "$rc" -ne 0 ]; then
    echo "== HAProxy $v could not be built (see above)" >&2
    exit 1
  else
    matrix+=("$bin")
  fi
done

phase "build (Release, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSTICKY_WERROR=ON -DSTICKY_SKIP_LAYERS= >/dev/null
cmake --build build -j"$jobs"

phase "build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTICKY_SANITIZE=ON -DSTICKY_WERROR=ON -DSTICKY_BENCHES=OFF -DSTICKY_SKIP_LAYERS= >/dev/null
cmake --build build-asan -j"$jobs"

if [ -x tests/fuzz/run-fuzz.sh ]; then
  phase "fuzz (${STICKY_FUZZ_SECONDS:-60}s)"
  tests/fuzz/run-fuzz.sh "${STICKY_FUZZ_SECONDS:-60}"
fi

phase "unit and protocol tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE integration

phase "all tests (unit, protocol, integration with real haproxy and redis-server), $(haproxy -v | head -1)"
ctest --test-dir build --output-on-failure -j"$jobs"

for bin in "${matrix[@]}"; do
  phase "integration tests on $("$bin" -v | head -1)"
  HAPROXY_BIN=$bin ctest --test-dir build --output-on-failure -j"$jobs" -L integration
done
echo "== (previous step: $((SECONDS - phase_start)) s; all: $SECONDS s)"
