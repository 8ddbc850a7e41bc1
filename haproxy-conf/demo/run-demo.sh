#!/usr/bin/env bash
# The demo stack on loopback: Redis, two HAProxy nodes (A and B), each with its own sticky-agent,
# sharing pins through Redis, in front of three demo application servers. Installs what is
# missing, builds, starts everything, then walks through what the agent does and what it shows
# on each request. Keeps serving until Ctrl-C (DEMO_ONCE=1, or no terminal: stop at the end).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tests/install-deps.sh --demo   # the build, haproxy, redis, curl: not the test toolchain
# Its own build directory (DEMO_BUILD_DIR), without the tests: a development build/ keeps its settings.
build=${DEMO_BUILD_DIR:-build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTICKY_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target sticky-agent

base=${DEMO_BASE_PORT:-18080}
run=$(mktemp -d /tmp/sticky-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT INT TERM

export STICKY_CONF_DIR=$root/haproxy-conf/demo
export STICKY_S1_ADDR=127.0.0.1:$((base + 11)) STICKY_S2_ADDR=127.0.0.1:$((base + 12)) STICKY_S3_ADDR=127.0.0.1:$((base + 13))
redis_addr=127.0.0.1:$((base + 20))

redis-server --bind 127.0.0.1 --port $((base + 20)) --save '' --appendonly no --dir "$run" >"$run/redis.log" 2>&1 &
pids+=($!)
haproxy -f haproxy-conf/demo/servers.cfg -db >"$run/servers.log" 2>&1 &
pids+=($!)
# The application servers must listen before the nodes start: HAProxy marks a server DOWN on
# its first failed check, and the agents (rightly) move clients away from it until it is UP.
for addr in "$STICKY_S1_ADDR" "$STICKY_S2_ADDR" "$STICKY_S3_ADDR"; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null && break
    sleep 0.05
  done
done
head -c 48 /dev/urandom | base64 >"$run/demo-cookie.key"   # both nodes share the cookie secret

start_node() {  # name http_port agent_port metrics_port
  local name=$1 dir=$run/$1
  mkdir -p "$dir"
  cp "$run/demo-cookie.key" "$dir/"
  sed -e "s#@AGENT_ADDR@#127.0.0.1:$3#" -e "s#@METRICS_ADDR@#127.0.0.1:$4#" -e "s#@RUN_DIR@#$dir#" \
      -e "s#@REDIS_ADDR@#$redis_addr#" -e "s#@NODE@#node-$name#" haproxy-conf/demo/sticky-agent.yaml >"$dir/agent.yaml"
  "$build/spoa/agent/sticky-agent" --config "$dir/agent.yaml" >"$dir/agent.log" 2>&1 &
  pids+=($!)
  STICKY_RUN_DIR=$dir STICKY_HTTP_BIND=127.0.0.1:$2 STICKY_AGENT_ADDR=127.0.0.1:$3 \
    haproxy -f haproxy-conf/demo/haproxy.cfg -db >"$dir/haproxy.log" 2>&1 &
  pids+=($!)
}
start_node a "$base" $((base + 30)) $((base + 40))
start_node b $((base + 1)) $((base + 31)) $((base + 41))
A=http://127.0.0.1:$base B=http://127.0.0.1:$((base + 1))

for _ in $(seq 1 100); do
  curl -s -o /dev/null -D - "$A/" 2>/dev/null | grep -qi x-sticky-reason &&
    curl -s -o /dev/null -D - "$B/" 2>/dev/null | grep -qi x-sticky-reason && break
  sleep 0.1
done

show() {  # label url [curl args...]
  local label=$1 url=$2
  shift 2
  printf '  %-46s' "$label"
  curl -s -D - -o /dev/null "$@" "$url" | tr -d '\r' |
    awk -F': ' 'tolower($1)=="x-server"{s=$2} tolower($1)=="x-sticky-reason"{r=$2} tolower($1)=="x-sticky-agent"{a=$2}
                tolower($1)=="set-cookie"{c=" set-cookie: " substr($2,1,30) "..."}
                END{printf "-> %s  (reason: %s, %s)%s\n", s, r, a, c}'
}

echo "== sticky-agent demo: node A $A and node B $B share pins through Redis $redis_addr"
echo "-- 1. True-Client-IP: a CDN edge (loopback here) carries many clients on one connection"
show "client 203.0.113.7 via A (first visit)" "$A/" -H "True-Client-IP: 203.0.113.7"
show "client 203.0.113.7 via A again" "$A/cart" -H "True-Client-IP: 203.0.113.7"
show "client 203.0.113.7 via B (the other node)" "$B/cart" -H "True-Client-IP: 203.0.113.7"
show "client 198.51.100.20 via A" "$A/" -H "True-Client-IP: 198.51.100.20"

echo "-- 2. Maintenance: the pinned server of 203.0.113.7 goes into MAINT on node A"
srv=$(curl -s -D - -o /dev/null -H "True-Client-IP: 203.0.113.7" "$A/" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-server"{print $2}')
echo "set server app/$srv state maint" | python3 -c "
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('$run/a/haproxy.sock'); s.sendall(sys.stdin.read().encode()); s.recv(100)"
sleep 1.2
show "client 203.0.113.7 via A ($srv in MAINT)" "$A/" -H "True-Client-IP: 203.0.113.7"
show "client 203.0.113.7 via A again" "$A/" -H "True-Client-IP: 203.0.113.7"
sleep 0.2
show "client 203.0.113.7 via B (learns the move)" "$B/" -H "True-Client-IP: 203.0.113.7"

echo "-- 3. Insert cookie: sealed (HMAC), no server name inside, honoured by both nodes"
cookie=$(curl -s -D - -o /dev/null "$A/login" | tr -d '\r' | awk -F': ' 'tolower($1)=="set-cookie"{split($2,a,";"); print a[1]}')
echo "  cookie issued by A: $cookie"
show "same cookie via B" "$B/account" -H "Cookie: $cookie"
# Forge it: another last character (always a different one) breaks the MAC.
last=${cookie: -1}
forged=${cookie%?}$([ "$last" = A ] && echo B || echo A)
show "forged cookie via B (ignored, re-pinned)" "$B/account" -H "Cookie: $forged"
metrics_b=http://127.0.0.1:$((base + 41))/metrics
sleep 1.2   # workers publish their counters about once a second
rejected=$(curl -s "$metrics_b" | grep -E '^sticky_agent_cookie_rejected_total\{status="bad_mac"\}' || true)
if [ -z "$rejected" ] || [ "${rejected##* }" = 0 ]; then
  echo "  node B did not count the forged cookie as bad_mac ($metrics_b): ${rejected:-no such metric}" >&2
  exit 1
fi
echo "  node B rejected it: $rejected"

echo "-- agent metrics, excerpt (node A: http://127.0.0.1:$((base + 40))/metrics, node B: $metrics_b):"
for node in "A $((base + 40))" "B $((base + 41))"; do
  set -- $node
  curl -s "http://127.0.0.1:$2/metrics" |
    grep -E '^sticky_(persist_decisions_total|notify_received_total|redis_writes_total|agent_cookie_rejected_total)' |
    grep -v ' 0$' | sed "s/^/  $1 /" || true
done

if [ "${DEMO_ONCE:-0}" = 1 ] || [ ! -t 0 ]; then
  exit 0
fi
echo "== serving on $A and $B until Ctrl-C (logs in $run)"
wait
