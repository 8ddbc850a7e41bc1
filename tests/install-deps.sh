#!/usr/bin/env bash
# Installs (from Debian's archive) whatever the build, the tests, the demo and the benchmarks
# need and this machine lacks. Safe to run again: it only calls apt-get when a package is missing.
#   tests/install-deps.sh          everything: build, tests (clang, valgrind, wrk...), demo, benchmarks
#   tests/install-deps.sh --demo   only what haproxy-conf/demo/run-demo.sh needs: the compiler, cmake,
#                                  the libraries, haproxy, redis-server, curl and python3
set -euo pipefail

mode=all
case "${1:-}" in
  "") ;;
  --demo) mode=demo ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps: unknown option '$1' (use --demo, or nothing for everything)" >&2; exit 2 ;;
esac

# What building the agent needs (without the tests: cmake -DSTICKY_TESTS=OFF drops catch2).
build_packages=(
  g++ cmake make pkg-config
  libev-dev libhiredis-dev libmsgpack-dev nettle-dev libyaml-cpp-dev
  libssl-dev  # benchmarks only: OpenSSL's HMAC as the reference the cookie MAC was measured against
)
demo_packages=("${build_packages[@]}" haproxy redis-server python3 curl)
packages=(
  "${demo_packages[@]}" git catch2
  redis-sentinel
  wrk iproute2 procps
  chromium
  clang libclang-rt-14-dev valgrind
  # packaging tests: CPack's dpkg-shlibdeps, readelf, the man page's groff/lexgrog, systemd-analyze,
  # strace (the unit's syscall filter), lintian (the .deb)
  dpkg-dev binutils groff-base man-db systemd strace lintian
)
if [ "$mode" = demo ]; then
  packages=("${demo_packages[@]}")
fi

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
