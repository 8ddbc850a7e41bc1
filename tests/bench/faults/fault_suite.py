#!/usr/bin/env python3
"""Faults under steady load, with figures (issue 12). Not a CI test: it prints numbers. The same
scenarios as the ctests (tests/integration/fault_scenarios.py), run longer, per HAProxy binary:

  reload-sf     HAProxy reloaded with -sf <old pid>
  reload-usr2   master-worker HAProxy reloaded with SIGUSR2
  redis-kill    Redis killed (SIGKILL) and restarted empty --down seconds later
  redis-sleep   Redis `DEBUG SLEEP --down` (alive, answering nothing)
  backend-kill  one application server killed (SIGKILL)
  agent-reload  the agent reloaded (SIGHUP) 10 times, 0.2 s apart, each with a changed TTL
  redis-switch  the agent reloaded (SIGHUP) with another Redis address: connections moved live

For each: requests, failed, retried on a new connection (a keep-alive connection the old HAProxy
closed while idle), answers HAProxy gave without the agent (by SPOE error), latency p50/p99/max
before / during / after the fault and the added p99, and what the fault did (old process exit,
engine drain, Redis counters, pins moved).

  tests/bench/faults/fault_suite.py                      # all, on Debian's haproxy (2.6) and 3.2.0
  tests/bench/faults/fault_suite.py --only redis-sleep --haproxy haproxy --rate 200 --down 2

Only 127.0.0.1 is used; every process is stopped when the run ends.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
import haproxy_versions  # noqa: E402
DEFAULT_HAPROXY = ["haproxy", os.path.join(HERE, "..", "..", "..", "build", "haproxy", "3.2.0", "haproxy")]
SCENARIOS = ["reload-sf", "reload-usr2", "redis-kill", "redis-sleep", "sentinel-failover", "backend-kill",
             "agent-reload", "redis-switch"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--haproxy", default=",".join(DEFAULT_HAPROXY), help="comma-separated HAProxy binaries")
    p.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    p.add_argument("--rate", type=float, default=150.0, help="requests per second, all threads together")
    p.add_argument("--threads", type=int, default=6)
    p.add_argument("--pre", type=float, default=5.0, help="seconds of load before the fault")
    p.add_argument("--post", type=float, default=6.0, help="seconds of load after it is over")
    p.add_argument("--down", type=float, default=2.0, help="Redis down / asleep for this long (s)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    return p.parse_args()


def child(args):
    import fault_scenarios as fs
    common = {"pre": args.pre, "post": args.post, "rate": args.rate, "threads": args.threads}
    if args.child == "reload-sf":
        return fs.haproxy_reload("sf", **common)
    if args.child == "reload-usr2":
        return fs.haproxy_reload("usr2", **common)
    if args.child == "redis-kill":
        return fs.redis_fault("kill", down=args.down, **common)
    if args.child == "redis-sleep":
        return fs.redis_fault("sleep", down=args.down, **common)
    if args.child == "sentinel-failover":
        return fs.sentinel_failover(**common)
    if args.child == "backend-kill":
        return fs.backend_kill(**common)
    if args.child == "agent-reload":
        return fs.agent_reload(**common)
    if args.child == "redis-switch":
        return fs.redis_switch(**common)
    raise SystemExit(f"unknown scenario {args.child}")


def show(r):
    lat = r["latency_ms"]

    def w(name):
        n, p50, p99, mx = lat[name]
        return f"{name} n={n} p50 {p50:.1f} p99 {p99:.1f} max {mx:.1f}"
    print(f"-- {r['fault']}: {r['requests']} requests, failed {r['failed']} {r['failures'] or ''}, retried on a new "
          f"connection {r['retried_on_new_connection']}, without the agent {r['undecided'] or 0}")
    print(f"   latency ms: {w('before')} | {w('during')} | {w('after')}; added p99 during {r['added_p99_ms']} ms")
    skip = {"haproxy", "fault", "requests", "failed", "failures", "retried_on_new_connection", "undecided",
            "latency_ms", "added_p99_ms"}
    print("   " + ", ".join(f"{k} {v}" for k, v in r.items() if k not in skip))


def main():
    args = parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args)))
        return 0
    for binary in [b for b in args.haproxy.split(",") if b]:
        if not shutil.which(binary):
            print(f"== {binary}: not found, skipped (tests/haproxy/build-haproxy.sh VERSION builds one)")
            continue
        version = subprocess.run([binary, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
        print(f"\n== {version} ({binary}); load {args.rate:g} req/s over {args.threads} keep-alive clients")
        for name in [s for s in args.only.split(",") if s]:
            argv = [sys.executable, os.path.abspath(__file__), "--child", name, "--rate", str(args.rate),
                    "--threads", str(args.threads), "--pre", str(args.pre), "--post", str(args.post),
                    "--down", str(args.down)]
            r = haproxy_versions.child_result(argv, binary, timeout=300)
            if r is None:
                print(f"-- {name}: run failed")
                continue
            print(json.dumps(r)) if args.json else show(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
