#!/usr/bin/env bash
# Builds one upstream HAProxy release from the vendored source archive, once, and prints the
# path of the binary. Tests and benchmarks use it through HAPROXY_BIN; it is never shipped.
#
#   tests/haproxy/build-haproxy.sh VERSION [CACHE_DIR]
#
# VERSION is 3.2.0, 3.4.0... (an archive haproxy-VERSION.tar.gz in the vendor directory).
# CACHE_DIR defaults to build/haproxy; the binary lands in CACHE_DIR/VERSION/haproxy and is
# reused while the archive's checksum is unchanged. The vendor directory is
# STICKY_HAPROXY_VENDOR, else ../shared/vendor beside the repository.
# Exit codes: 0 built or cached (path on stdout), 3 archive absent (nothing to test with:
# the caller skips and says so), 1 checksum mismatch or build failure.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
version=${1:?usage: build-haproxy.sh VERSION [CACHE_DIR]}
cache=${2:-$here/build/haproxy}
vendor=${STICKY_HAPROXY_VENDOR:-$here/../shared/vendor}
archive=$vendor/haproxy-$version.tar.gz
sums=$vendor/SHA256SUMS

if [ ! -f "$archive" ] || [ ! -f "$sums" ]; then
  echo "build-haproxy: no $archive (or no SHA256SUMS beside it)" >&2
  exit 3
fi
# SHA256SUMS names the archives by a path relative to the vendor's parent; match on the file name.
want=$(awk -v f="haproxy-$version.tar.gz" '{ n = $2; sub(".*/", "", n); if (n == f) print $1 }' "$sums")
if [ -z "$want" ]; then
  echo "build-haproxy: SHA256SUMS has no line for haproxy-$version.tar.gz" >&2
  exit 1
fi
have=$(sha256sum "$archive" | awk '{print $1}')
if [ "$have" != "$want" ]; then
  echo "build-haproxy: checksum mismatch for $archive (have $have, want $want)" >&2
  exit 1
fi

out=$cache/$version
if [ -x "$out/haproxy" ] && [ "$(cat "$out/sha256" 2>/dev/null)" = "$want" ]; then
  echo "$out/haproxy"
  exit 0
fi

# The build needs these on top of the agent's own packages (Debian names).
need=()
for p in make gcc libssl-dev libpcre2-dev liblua5.4-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "build-haproxy: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Serialise concurrent callers (several ctest entries may ask for the same version at once).
mkdir -p "$cache"
exec 9>"$cache/.lock-$version"
flock 9
if [ -x "$out/haproxy" ] && [ "$(cat "$out/sha256" 2>/dev/null)" = "$want" ]; then
  echo "$out/haproxy"
  exit 0
fi

src=$(mktemp -d "$cache/src-$version.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -xzf "$archive" -C "$src" --strip-components=1
echo "build-haproxy: building HAProxy $version (a few minutes, once)" >&2
log=$cache/build-$version.log
if ! make -C "$src" -j"$(nproc 2>/dev/null || echo 2)" TARGET=linux-glibc USE_OPENSSL=1 USE_PCRE2=1 \
    USE_LUA=1 LUA_INC=/usr/include/lua5.4 LUA_LIB_NAME=lua5.4 >"$log" 2>&1; then
  echo "build-haproxy: build failed, last lines of $log:" >&2
  tail -20 "$log" >&2
  exit 1
fi
mkdir -p "$out"
install -m 0755 "$src/haproxy" "$out/haproxy.new"
mv "$out/haproxy.new" "$out/haproxy"
echo "$want" >"$out/sha256"
"$out/haproxy" -v | head -1 >&2
echo "$out/haproxy"
