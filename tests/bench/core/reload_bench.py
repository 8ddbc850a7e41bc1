#!/usr/bin/env python3
"""What a hot reload costs: how long POST /api/v1/reload takes, and what it does to requests.

The agent runs with a persistence backend `app` (True-Client-IP) filled with --prefill clients,
--backends more small backends, and a two-tier HSAF profile of 200 x 200 serials. Printed:
  reload_ms        the reload call's wall time (median of --rounds), for an unchanged file, a file
                   adding a backend, and the file back (removing it)
  pins_kept        entries in the table before and after all those reloads (they must be equal)
  throughput       spop_load requests/s with a reload every 100 ms against the same load without
                   (rounds alternate A and B; the ratio of medians is printed)
  drop_ms          the reload removing `app` itself: its --prefill pins dropped, and how long that took

Usage: reload_bench.py [--agent BIN] [--spop-load BIN] [--prefill N] [--rounds N] [--backends N]
"""
import argparse
import json
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

SPOP_LOAD = os.path.join(os.path.dirname(AGENT_BIN), "..", "..", "tests", "bench", "core", "spop_load")
TOKEN = "reload-bench-token-0123456789"


def config(metrics, admin, backends, extra=False, with_app=True):
    lines = ["agent:", "  threads: 2", f"  metrics: 127.0.0.1:{metrics}", f"  admin: 127.0.0.1:{admin}",
             "  admin_token_file: token", "backends:"]
    if with_app:
        lines += ["  - name: app", "    identity: [true_client_ip, source]", "    capacity: 2000000",
                  "    servers: [{name: s1}, {name: s2}, {name: s3}]",
                  '    true_client_ip: {trusted: ["127.0.0.0/8"]}']
    for i in range(backends):
        lines += [f"  - name: be{i}", "    capacity: 10000", "    servers: [{name: a}, {name: b}]"]
    if extra:
        lines += ["  - name: extra", "    capacity: 50000", "    servers: [{name: x1}, {name: x2}]"]
    lines += ["hsaf:", "  - name: cache", "    tiers: [{min: 100, max: 299}, {min: 300, max: 499}]",
              "    regions: [{name: east, backend: cache_east}, {name: west, backend: cache_west}]",
              "    servers:",
              "      cache_east: [" + ", ".join(f"{{name: e{i}}}" for i in range(8)) + "]",
              "      cache_west: [" + ", ".join(f"{{name: w{i}}}" for i in range(8)) + "]"]
    return "\n".join(lines) + "\n"


def reload_call(admin):
    req = urllib.request.Request(f"http://127.0.0.1:{admin}/api/v1/reload", method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    return (time.perf_counter() - t0) * 1000.0, body


def table_entries(metrics):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10).read().decode()
    return int(float(re.search(r"^sticky_table_entries (\S+)", text, re.M).group(1)))


def spop_load(binary, port, requests, clients, sequential=False):
    argv = [binary, "--addr", f"127.0.0.1:{port}", "--conns", "4", "--depth", "16", "--requests", str(requests),
            "--clients", str(clients), "--backend", "app"]
    if sequential:
        argv.append("--sequential")
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600).stdout
    acked = int(re.search(r"requests (\d+)", out).group(1))
    return acked / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default=AGENT_BIN)
    ap.add_argument("--spop-load", default=SPOP_LOAD)
    ap.add_argument("--prefill", type=int, default=500_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--backends", type=int, default=48)
    ap.add_argument("--requests", type=int, default=200_000, help="requests per throughput round")
    args = ap.parse_args()
    with Stack(prefix="sticky-reload-bench-") as st:
        metrics, admin, port = free_port(), free_port(), free_port()
        st.write("token", TOKEN + "\n")
        path = st.write("agent.yaml", config(metrics, admin, args.backends))
        st.start("agent", [args.agent, "--listen", f"127.0.0.1:{port}", "--config", path])
        wait_port(port, timeout=30)
        wait_port(admin, timeout=30)
        spop_load(args.spop_load, port, args.prefill, args.prefill, sequential=True)
        before = table_entries(metrics)

        times = {"unchanged": [], "add_backend": [], "remove_backend": []}
        for _ in range(args.rounds):
            times["unchanged"].append(reload_call(admin)[0])
            st.write("agent.yaml", config(metrics, admin, args.backends, extra=True))
            ms, body = reload_call(admin)
            assert body["outcome"] == "applied", body
            times["add_backend"].append(ms)
            st.write("agent.yaml", config(metrics, admin, args.backends))
            times["remove_backend"].append(reload_call(admin)[0])
        after = table_entries(metrics)
        for k, v in times.items():
            print(f"reload_ms {k:15s} median {statistics.median(v):7.1f}  min {min(v):7.1f}  max {max(v):7.1f}")
        print(f"pins_kept       before {before}  after {after}  ({'equal' if before == after else 'DIFFERENT'})")

        # Throughput with and without reloads every 100 ms, alternating.
        quiet, busy = [], []
        for r in range(args.rounds):
            for mode in (("quiet", "busy") if r % 2 == 0 else ("busy", "quiet")):
                stop = threading.Event()
                reloads = [0]

                def reloader():
                    while not stop.wait(0.1):
                        reload_call(admin)
                        reloads[0] += 1

                t = threading.Thread(target=reloader) if mode == "busy" else None
                if t:
                    t.start()
                rate = spop_load(args.spop_load, port, args.requests, args.prefill)
                stop.set()
                if t:
                    t.join()
                (busy if mode == "busy" else quiet).append(rate)
        print(f"throughput      quiet {statistics.median(quiet):,.0f} req/s  with a reload every 100 ms "
              f"{statistics.median(busy):,.0f} req/s  ratio {statistics.median(busy) / statistics.median(quiet):.3f}")

        st.write("agent.yaml", config(metrics, admin, args.backends, with_app=False))
        ms, body = reload_call(admin)
        print(f"drop_ms         removing 'app': {ms:.1f} ms, {body['dropped_pins']} pins dropped, "
              f"table now {table_entries(metrics)}")


if __name__ == "__main__":
    main()
