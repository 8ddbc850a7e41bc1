#!/usr/bin/env bash
# The demo stack on loopback: sticky-agent + HAProxy + two demo backends (served by HAProxy
# itself). Installs what is missing, builds, starts everything, shows a few requests and the
# agent's answer on each, then keeps serving until Ctrl-C (DEMO_ONCE=1: stop right away).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

tests/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target sticky-agent

run=$(mktemp -d /tmp/sticky-demo.XXXXXX)
export STICKY_RUN_DIR=$run
export STICKY_CONF_DIR=$root/haproxy-conf/demo
export STICKY_HTTP_BIND=127.0.0.1:${DEMO_HTTP_PORT:-8080}
export STICKY_S1_ADDR=127.0.0.1:${DEMO_S1_PORT:-8081}
export STICKY_S2_ADDR=127.0.0.1:${DEMO_S2_PORT:-8082}
export STICKY_AGENT_ADDR=127.0.0.1:${DEMO_AGENT_PORT:-12345}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT INT TERM

build/spoa/agent/sticky-agent --listen "$STICKY_AGENT_ADDR" --metrics 127.0.0.1:${DEMO_METRICS_PORT:-9124} \
  >"$run/agent.log" 2>&1 &
pids+=($!)
haproxy -f haproxy-conf/demo/haproxy.cfg -db >"$run/haproxy.log" 2>&1 &
pids+=($!)

url="http://$STICKY_HTTP_BIND"
for _ in $(seq 1 100); do
  curl -s -o /dev/null -D - "$url/" 2>/dev/null | grep -qi x-sticky-agent && break
  sleep 0.1
done

echo "== sticky-agent demo: HAProxy on $url asks the agent on every request"
for path in /hello /cart/42 /checkout; do
  echo "-- GET $path"
  curl -s -D - -o /dev/null "$url$path" | grep -iE '^(HTTP|x-server|x-sticky)' | tr -d '\r'
done
echo "-- agent metrics (http://127.0.0.1:${DEMO_METRICS_PORT:-9124}/metrics), excerpt:"
curl -s "http://127.0.0.1:${DEMO_METRICS_PORT:-9124}/metrics" | grep -E '^sticky_(notify_received|acks_sent|connections_open)' || true

if [ "${DEMO_ONCE:-0}" = 1 ] || [ ! -t 0 ]; then
  exit 0
fi
echo "== serving on $url until Ctrl-C (logs in $run)"
wait
