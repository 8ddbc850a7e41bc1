#!/usr/bin/env python3
"""End-to-end benchmark: HAProxy calling sticky-agent on every request vs the same HAProxy
without the SPOE filter, alternating in one run. Prints req/s, ratio, p50/p99 latency, the
agent's CPU microseconds per request, and the latency the agent adds under low load.

Usage: e2e_bench.py [--rounds N] [--seconds S] [--connections C] [--haproxy BIN | --matrix]
Needs wrk and haproxy (tests/install-deps.sh) and a built agent (STICKY_AGENT_BIN).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import haproxy_versions  # noqa: E402
from harness import AGENT_BIN, Stack, free_port, get, proc_cpu_seconds, wait_until  # noqa: E402

CFG = """
global
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend with_agent
    bind 127.0.0.1:{p_agent}
    filter spoe engine echo config {spoe}
    http-response set-header X-Agent %[var(txn.stk.agent)] if {{ var(txn.stk.agent) -m found }}
    default_backend app
frontend without_agent
    bind 127.0.0.1:{p_plain}
    default_backend app
backend app
    server s1 127.0.0.1:{p_srv}
backend sticky_agents
    mode tcp
    timeout connect 1s
    timeout server 1m
    server a1 {agent_addr}{agent_server_opts}
listen origin
    bind 127.0.0.1:{p_srv}
    http-request return status 200 content-type text/plain string "ok"
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        lat[pct] = float(val) * UNITS[unit]
    return rps, total, lat


def wrk(port, conns, seconds):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True)
    return parse_wrk(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--unix", action="store_true", help="agent on a unix socket instead of TCP loopback")
    ap.add_argument("--agent-maxconn", type=int, default=0,
                    help="maxconn on HAProxy's agent server line (0: none), to trade connections for pipelining")
    haproxy_versions.add_arguments(ap)
    args = ap.parse_args()
    if args.matrix:
        return print_matrix(haproxy_versions.run_matrix(os.path.abspath(__file__), sys.argv[1:]))
    version = haproxy_versions.use(args.haproxy)

    with Stack(prefix="sticky-bench-") as st:
        ports = dict(p_agent=free_port(), p_plain=free_port(), p_srv=free_port(), p_spoa=free_port())
        spoe = st.write("spoe.conf", open(os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                                       "haproxy-conf", "demo", "spoe-demo.conf")).read())
        if args.unix:
            sock = st.path("agent.sock")
            agent = st.start("agent", [AGENT_BIN, "--listen", f"unix:{sock}", "--threads", "1"])
            wait_until(lambda: os.path.exists(sock), what="agent socket")
            agent_addr = f"unix@{sock}"
        else:
            agent = st.start_agent("--threads", "1", port=ports["p_spoa"])
            agent_addr = f"127.0.0.1:{ports['p_spoa']}"
        opts = f" maxconn {args.agent_maxconn}" if args.agent_maxconn else ""
        cfg = st.write("haproxy.cfg", CFG.format(spoe=spoe, agent_addr=agent_addr, agent_server_opts=opts, **ports))
        haproxy = st.start_haproxy(cfg, {}, wait_ports=[ports["p_agent"], ports["p_plain"]])
        wait_until(lambda: "x-agent" in get(ports["p_agent"])[1], what="agent answering")

        hi = {"with": [], "without": []}
        cpu_us = []
        hap_us = {"with": [], "without": []}
        for r in range(args.rounds):
            for name in (["with", "without"] if r % 2 == 0 else ["without", "with"]):
                port = ports["p_agent"] if name == "with" else ports["p_plain"]
                c0, h0 = proc_cpu_seconds(agent.pid), proc_cpu_seconds(haproxy.pid)
                rps, total, lat = wrk(port, args.connections, args.seconds)
                c1, h1 = proc_cpu_seconds(agent.pid), proc_cpu_seconds(haproxy.pid)
                hi[name].append((rps, lat))
                hap_us[name].append((h1 - h0) * 1e6 / total)
                if name == "with":
                    cpu_us.append((c1 - c0) * 1e6 / total)
        lo = {"with": [], "without": []}
        for r in range(3):
            for name in ("with", "without"):
                port = ports["p_agent"] if name == "with" else ports["p_plain"]
                lo[name].append(wrk(port, 1, max(2, args.seconds // 2))[2]["50"])

    def med(xs):
        return statistics.median(xs)

    rw, rp = med([x[0] for x in hi["with"]]), med([x[0] for x in hi["without"]])
    print(f"end to end on HAProxy {version}, {args.connections} connections, {args.rounds} alternating rounds of {args.seconds}s"
          f" (HAProxy 1 thread, agent 1 thread on {'a unix socket' if args.unix else 'TCP loopback'},"
          " wrk 1 thread, all on this machine)")
    print(f"  req/s with agent    median {rw:10.0f}   p50 {med([x[1]['50'] for x in hi['with']]):.3f} ms"
          f"   p99 {med([x[1]['99'] for x in hi['with']]):.3f} ms")
    print(f"  req/s without agent median {rp:10.0f}   p50 {med([x[1]['50'] for x in hi['without']]):.3f} ms"
          f"   p99 {med([x[1]['99'] for x in hi['without']]):.3f} ms")
    print(f"  ratio with/without  {rw / rp:.3f}   (target >= 0.85)")
    print(f"  agent CPU per request median {med(cpu_us):.2f} us   (rounds: "
          + ", ".join(f"{c:.2f}" for c in cpu_us) + ")   (target <= 2)")
    print(f"  HAProxy CPU per request median: with the SPOE filter {med(hap_us['with']):.2f} us,"
          f" without {med(hap_us['without']):.2f} us (HAProxy's own SPOE work: "
          f"{med(hap_us['with']) - med(hap_us['without']):.2f} us)")
    added = (med(lo["with"]) - med(lo["without"])) * 1000
    print(f"  low load (1 connection): p50 with {med(lo['with']) * 1000:.1f} us, without"
          f" {med(lo['without']) * 1000:.1f} us, added {added:.1f} us   (target <= 20)")
    haproxy_versions.report({"version": version, "with_rps": rw, "without_rps": rp, "ratio": rw / rp,
                             "agent_us": med(cpu_us), "hap_with_us": med(hap_us["with"]),
                             "hap_without_us": med(hap_us["without"]), "added_p50_us": added})


def print_matrix(rows):
    print("\n| HAProxy | req/s with agent | without | ratio | agent CPU/request | HAProxy CPU/request without -> with | added p50 at low load |")
    print("|---|---|---|---|---|---|---|")
    for version, r in rows:
        if r is None:
            print(f"| {version} | failed | | | | | |")
            continue
        print(f"| {version} | {r['with_rps']:,.0f} | {r['without_rps']:,.0f} | {r['ratio']:.3f} | {r['agent_us']:.2f} us | "
              f"{r['hap_without_us']:.1f} -> {r['hap_with_us']:.1f} us | {r['added_p50_us']:.0f} us |")


if __name__ == "__main__":
    main()
