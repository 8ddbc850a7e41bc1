#!/usr/bin/env python3
"""Soak (issue 12): N minutes of steady load through HAProxy with the agent and Redis, printing one
line per minute. Not a CI test: it prints numbers.

The shipped haproxy-conf/akamai stack with a Redis section (tests/integration/fault_scenarios.py's
node), a short pin TTL and a capacity the ever-new clients outgrow, so expiry and the capacity
bound both show within the run. The first half of the run every request is a client never seen
before; the second half it is a returning set (clients from the first half, some already expired).

Every minute: requests, failed, answers without the agent, p50/p99 latency of that minute, the
agent's RSS and descriptors, sticky_table_entries (and capacity), evictions and expiries so far,
the Redis outage-queue depth, and the keys Redis holds. At the end: RSS and descriptor growth after
the warm-up minute, the table's peak against its capacity and against rate x TTL.

  tests/bench/soak/soak.py                          # 30 minutes on Debian's haproxy
  tests/bench/soak/soak.py --minutes 6 --rate 200 --ttl 2m --capacity 20000
  tests/bench/soak/soak.py --haproxy build/haproxy/3.2.0/haproxy --minutes 10

Only 127.0.0.1 is used; every process is stopped when the run ends.
"""
import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "protocol"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="length of the run (at most 240)")
    p.add_argument("--haproxy", default="haproxy")
    p.add_argument("--rate", type=float, default=200.0, help="requests per second, all threads together")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--ttl", default="2m", help="pin TTL in the agent config (e.g. 2m)")
    p.add_argument("--capacity", type=int, default=20000, help="the backend's table capacity")
    p.add_argument("--returning", type=int, default=5000, help="size of the returning set (second half)")
    return p.parse_args()


def main():
    args = parse_args()
    os.environ["HAPROXY_BIN"] = args.haproxy
    import fault_scenarios as fs
    import hostile_attacks as ha
    import steady_load
    from harness import Stack, agent_metrics
    from shared_stack import redis_cli

    minutes = min(args.minutes, 240.0)
    half = minutes * 30.0  # seconds: the ever-new phase
    print(f"== soak {minutes:g} min, {fs.haproxy_version()}, {args.rate:g} req/s over {args.threads} clients, "
          f"ttl {args.ttl}, capacity {args.capacity}, returning set {args.returning}")
    with Stack(prefix="sticky-soak-redis-") as rstack, Stack(prefix="sticky-soak-") as stack:
        redis = rstack.start_redis()
        agent, port, _ = fs.akamai_node(stack, redis_port=redis.port, agent_replacements=[
            ("ttl: 30m", f"ttl: {args.ttl}"), ("capacity: 1000000", f"capacity: {args.capacity}")])
        fresh = steady_load.ever_new()
        seen = []  # first-half clients, for the returning set
        seen_lock = threading.Lock()
        start = time.monotonic()

        def client_of(t, n):
            if time.monotonic() - start < half:
                c = fresh(t, n)
                if n % 7 == 0:
                    with seen_lock:
                        if len(seen) < args.returning:
                            seen.append(c)
                return c
            with seen_lock:
                return seen[(t * 7919 + n) % len(seen)] if seen else fresh(t, n)
        # Bounded by the run's own length (steady_load's default bound is 10 minutes).
        load = steady_load.Load(port, threads=args.threads, rate=args.rate, duration=minutes * 60 + 5,
                                max_duration=minutes * 60 + 5, client_of=client_of)
        print(" min  phase      requests failed no-agent  p50ms  p99ms   RSS MB  fds  table/capacity  evicted "
              "expired  queue  redis keys")
        rows, last = [], 0
        for minute in range(1, int(minutes + 0.999) + 1):
            end = start + min(minute * 60.0, minutes * 60.0)
            while time.monotonic() < end:
                time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            recs = load.snapshot()
            window = [r for r in recs[last:]]
            last = len(recs)
            lat = [r[1] * 1000 for r in window]
            m = agent_metrics(agent.metrics_port)
            row = {
                "minute": minute, "phase": "new" if (end - start) <= half + 1 else "returning",
                "requests": len(window), "failed": len(steady_load.failed(window)),
                "undecided": sum(steady_load.undecided(window).values()),
                "p50": steady_load.percentile(lat, 0.5), "p99": steady_load.percentile(lat, 0.99),
                "rss_mb": ha.proc_rss_kb(agent.pid) / 1024, "fds": ha.proc_fds(agent.pid),
                "table": m.get("sticky_table_entries", 0), "capacity": m.get("sticky_table_capacity", 0),
                "evicted": m.get("sticky_table_evicted_total", 0), "expired": m.get("sticky_table_expired_total", 0),
                "queue": m.get("sticky_redis_queue_depth", 0), "keys": redis_cli(redis.port, "DBSIZE"),
            }
            rows.append(row)
            print(f"{minute:4d}  {row['phase']:9s} {row['requests']:8d} {row['failed']:6d} {row['undecided']:8d} "
                  f"{row['p50']:6.2f} {row['p99']:6.2f} {row['rss_mb']:8.1f} {row['fds']:4d} "
                  f"{row['table']:7.0f}/{row['capacity']:<7.0f} {row['evicted']:7.0f} {row['expired']:7.0f} "
                  f"{row['queue']:6.0f}  {row['keys']}", flush=True)
        records = load.finish()
        exit_code = agent.stop()
    warm = rows[1] if len(rows) > 2 else rows[0]
    end = rows[-1]
    growth = (end["rss_mb"] - warm["rss_mb"]) / warm["rss_mb"] * 100 if warm["rss_mb"] else float("nan")
    peak = max(r["table"] for r in rows)
    print(f"-- {len(records)} requests, {len(steady_load.failed(records))} failed, "
          f"{sum(steady_load.undecided(records).values())} answered without the agent; agent exit {exit_code}")
    print(f"-- RSS {warm['rss_mb']:.1f} MB after minute {warm['minute']} -> {end['rss_mb']:.1f} MB at the end "
          f"({growth:+.1f}%); fds {warm['fds']} -> {end['fds']}; table peak {peak:.0f} of capacity "
          f"{end['capacity']:.0f} (new clients x TTL would be {args.rate * parse_seconds(args.ttl):.0f})")
    return 0


def parse_seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if text.endswith(u) and text[:-len(u)].isdigit():
            return int(text[:-len(u)]) * units[u]
    return float(text)


if __name__ == "__main__":
    sys.exit(main())
