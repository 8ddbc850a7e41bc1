#!/usr/bin/env bash
# Installs (from Debian's archive) whatever the build, the tests, the demo and the benchmarks
# need and this machine lacks. Safe to run again: it only calls apt-get when a package is missing.
set -euo pipefail

packages=(
  g++ cmake make pkg-config git
  libev-dev libhiredis-dev libmsgpack-dev libssl-dev libyaml-cpp-dev catch2
  haproxy redis-server redis-sentinel
  python3 curl wrk iproute2 procps
  clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Package scripts must not start services: the tests start their own on free ports.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
