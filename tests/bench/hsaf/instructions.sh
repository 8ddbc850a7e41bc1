#!/bin/sh
# Instructions per route for every hsaf_bench throughput mode, counted by callgrind (exact, unlike timings
# on a shared VM): (Ir(N routes) - Ir(0 routes)) / N removes the fixed set-up cost.
# Usage: tests/bench/hsaf/instructions.sh <path to hsaf_bench> [N, default 100000]
set -eu
bench=${1:?usage: instructions.sh <hsaf_bench> [N]}
n=${2:-100000}
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" count "$1" "$2" 2>&1 >/dev/null |
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for mode in edge-long edge-short parent-long parent-short custom hashes; do
  base=$(ir "$mode" 0)
  full=$(ir "$mode" "$n")
  if [ -z "$base" ] || [ -z "$full" ]; then
    echo "callgrind gave no count for '$mode' (run it by hand to see why; valgrind 3.19 cannot read clang-14's DWARF 5)" >&2
    exit 1
  fi
  awk -v m="$mode" -v a="$base" -v b="$full" -v n="$n" 'BEGIN { printf "    %-12s %7.1f instructions/route\n", m, (b - a) / n }'
done
