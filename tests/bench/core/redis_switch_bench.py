#!/usr/bin/env python3
"""What a reload that changes the Redis settings costs: the agent moves every connection to the
other of two redis-servers while new clients keep arriving, --rounds times (A -> B -> A ...).

Printed per round and as medians:
  switch_ms   from the reload call to the moment the old Redis holds none of the agent's
              connections and the new one holds as many as the old one did (workers, subscriber)
  lost        clients placed during the round (spop_load, all new: --offset moves per round) that
              are in neither Redis afterwards: writes in flight or queued at the switch must be
              handed to the new connections, so this must be 0
  twice       keys in both Redis at the end (writes sent again after the old connection closed
              with their reply outstanding: harmless, the old Redis is no longer read)
  rate        requests/s of that load, against a round of the same load without a switch
              (alternating, ratio of medians); a switch round includes the subscriber's warm-up
              from the new Redis, which here holds every earlier round's keys

Usage: redis_switch_bench.py [--agent BIN] [--spop-load BIN] [--rounds N] [--clients N]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
from harness import AGENT_BIN, Stack, free_port, wait_port  # noqa: E402
from reload_bench import SPOP_LOAD, TOKEN, reload_call  # noqa: E402


def agent_config(metrics, admin, redis_port):
    return "\n".join([
        "agent:", "  threads: 2", f"  metrics: 127.0.0.1:{metrics}", f"  admin: 127.0.0.1:{admin}",
        "  admin_token_file: token",
        "redis:", f"  address: 127.0.0.1:{redis_port}", "  cluster: bench", "  node_id: n1",
        "  lookup_deadline: 20ms", "  queue_max_entries: 1000000", "  queue_max_bytes: 1g",
        "backends:", "  - name: app", "    identity: [true_client_ip, source]", "    capacity: 2000000",
        "    servers: [{name: s1}, {name: s2}, {name: s3}]", '    true_client_ip: {trusted: ["127.0.0.0/8"]}',
    ]) + "\n"


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=10).stdout.strip()


def agent_links(port):
    """Connections to this Redis, redis-cli's own (running CLIENT LIST) left out."""
    return sum(1 for l in redis_cli(port, "CLIENT", "LIST").splitlines() if "cmd=client" not in l)


def key_sets(ports):
    return [set(redis_cli(port, "--scan").split()) for port in ports]


def keys(ports):
    """Distinct keys over both Redis: a write in flight at the switch may land in both (its reply
    was lost with the old connection, so it is sent again to the new one)."""
    return len(set().union(*key_sets(ports)))


def spop_load(binary, port, clients, offset):
    # Ids are (offset + n) % --clients: a range of ids never used before.
    argv = [binary, "--addr", f"127.0.0.1:{port}", "--conns", "4", "--depth", "16", "--requests", str(clients),
            "--clients", str(offset + clients), "--offset", str(offset), "--sequential", "--backend", "app"]
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600).stdout
    return int(re.search(r"requests (\d+)", out).group(1)) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default=AGENT_BIN)
    ap.add_argument("--spop-load", default=SPOP_LOAD)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--clients", type=int, default=100_000, help="new clients per round")
    args = ap.parse_args()
    with Stack(prefix="sticky-redis-switch-") as st:
        redis = [st.start_redis("redis-a"), st.start_redis("redis-b")]
        metrics, admin, port = free_port(), free_port(), free_port()
        st.write("token", TOKEN + "\n")
        st.write("agent.yaml", agent_config(metrics, admin, redis[0].port))
        st.start("agent", [args.agent, "--listen", f"127.0.0.1:{port}", "--config", st.path("agent.yaml")])
        wait_port(port, timeout=30)
        wait_port(admin, timeout=30)
        current = 0
        deadline = time.monotonic() + 10
        while agent_links(redis[0].port) < 4 and time.monotonic() < deadline:  # 2 workers + subscriber's 2
            time.sleep(0.05)
        links = agent_links(redis[0].port)

        offset = 0
        switch_ms, lost, with_switch, without = [], [], [], []
        for r in range(args.rounds):
            for mode in (("switch", "quiet") if r % 2 == 0 else ("quiet", "switch")):
                ports = [redis[0].port, redis[1].port]
                before = keys(ports)
                if mode == "quiet":
                    without.append(spop_load(args.spop_load, port, args.clients, offset))
                else:
                    target = 1 - current
                    rates = []
                    load = threading.Thread(target=lambda: rates.append(
                        spop_load(args.spop_load, port, args.clients, offset)))
                    load.start()
                    time.sleep(0.2)  # the load is running
                    st.write("agent.yaml", agent_config(metrics, admin, redis[target].port))
                    t0 = time.perf_counter()
                    _, body = reload_call(admin)
                    assert body["outcome"] == "applied" and body["restart_needed"] == [], body
                    while agent_links(redis[current].port) > 0 or agent_links(redis[target].port) < links:
                        if time.perf_counter() - t0 > 30:
                            raise SystemExit("the agent did not move to the new Redis within 30 s")
                        time.sleep(0.01)
                    switch_ms.append((time.perf_counter() - t0) * 1000.0)
                    load.join()
                    with_switch.append(rates[0])
                    current = target
                # Every client of the round is in one of the two Redis once the queues drained.
                end = time.monotonic() + 15
                while True:
                    placed = keys(ports) - before
                    if placed >= args.clients or time.monotonic() > end:
                        break
                    time.sleep(0.1)
                if mode == "switch":
                    lost.append(args.clients - placed)
                    print(f"round {r}: switch {switch_ms[-1]:7.1f} ms  lost {lost[-1]}  "
                          f"rate {with_switch[-1]:,.0f} req/s")
                offset += args.clients
        m = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10).read().decode()
        dropped = re.search(r"^sticky_redis_dropped_total (\S+)", m, re.M)
        warmed = re.search(r"^sticky_redis_warmup_keys_total (\S+)", m, re.M)
        print(f"switch_ms  median {statistics.median(switch_ms):.1f}  min {min(switch_ms):.1f}  "
              f"max {max(switch_ms):.1f}  ({links} agent connections moved each time)")
        print(f"lost       {sum(lost)} of {len(lost) * args.clients} clients placed during a switch; "
              f"sticky_redis_dropped_total {dropped.group(1) if dropped else '?'}")
        a, b = key_sets([redis[0].port, redis[1].port])
        print(f"twice      {len(a & b)} keys in both Redis ({len(a)} and {len(b)} keys)")
        # The subscriber warms the table up from each new Redis: here it holds the earlier rounds'
        # keys, so each switch reads them all (the main cost of a switch round below).
        print(f"warm-up    {warmed.group(1) if warmed else '?'} keys read by the subscriber's warm-ups in all")
        print(f"rate       with a switch {statistics.median(with_switch):,.0f} req/s  without "
              f"{statistics.median(without):,.0f} req/s  ratio "
              f"{statistics.median(with_switch) / statistics.median(without):.3f}")


if __name__ == "__main__":
    main()
