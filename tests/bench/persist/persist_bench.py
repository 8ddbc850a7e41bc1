#!/usr/bin/env python3
"""True-Client-IP persistence, end to end: HAProxy's native `stick on req.hdr_ip(True-Client-IP)`
vs HAProxy + sticky-agent doing the same job, in one HAProxy process, alternating rounds.
A varying True-Client-IP per request (wrk + Lua). The agent's table is first filled with
--prefill distinct clients (default 1,000,000), then measured.

Two ways to use the agent, both as haproxy-conf/akamai ships them (the backend rules and SPOE file
are read from there):
  --path spoe   haproxy.cfg + spoe-sticky.conf: every request asks the agent over SPOE.
  --path fast   haproxy-fast.cfg + spoe-sticky-fast.conf: HAProxy keeps the agent's pins in its
                own stick table; a confirmed pin is served by a backend without the SPOE filter,
                a miss or a pin due for confirmation (60 s) by one that asks the agent.
--returning N draws the measured clients from N clients that both frontends have already seen
(a warm-up pass), so returning clients are measured; 0 draws from --prefill clients, most of them
new to HAProxy's tables.

Prints req/s both ways, the ratio, p50/p99, the agent's and HAProxy's CPU microseconds per request,
and SPOE frames per request. --haproxy BIN picks the HAProxy; --matrix runs every available one.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "core"))
sys.path.insert(0, os.path.join(HERE, ".."))
import haproxy_versions  # noqa: E402
from harness import AGENT_BIN, CONF_DIR, Stack, agent_metrics, free_port, get, proc_cpu_seconds, wait_until  # noqa: E402
from e2e_bench import parse_wrk  # noqa: E402

# The SPOP load generator (tests/bench/core/spop_load.cc), built next to the agent.
SPOP_LOAD = os.path.join(os.path.dirname(AGENT_BIN), "..", "..", "tests", "bench", "core", "spop_load")

SHIPPED = {
    "spoe": ("haproxy.cfg", "spoe-sticky.conf"),
    "fast": ("haproxy-fast.cfg", "spoe-sticky-fast.conf"),
}

CFG = """
global
    nbthread 1
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend native
    bind 127.0.0.1:{p_native}
    default_backend app_native
frontend agent
    bind 127.0.0.1:{p_agent}
{agent_frontend}
    default_backend app
backend app_native
    balance roundrobin
    stick-table type ip size 2m expire 30m
    stick on req.hdr_ip(True-Client-IP)
    server s1 127.0.0.1:{p_srv}
    server s2 127.0.0.1:{p_srv}
    server s3 127.0.0.1:{p_srv}
{agent_backends}
backend sticky_agents
    mode tcp
    timeout connect 1s
    timeout server 1m
    server a1 {agent_addr}{agent_server_opts}
listen origin
    bind 127.0.0.1:{p_srv}
    http-request return status 200 content-type text/plain string "ok"
"""

AGENT = """
haproxy:
  runtime_api: unix:{sock}
  poll_interval: 1s
backends:
  - name: app
    identity: [true_client_ip, source]
    capacity: 2000000
    {table}servers: [{{name: s1, weight: 1}}, {{name: s2, weight: 1}}, {{name: s3, weight: 1}}]
    true_client_ip: {{trusted: ["127.0.0.0/8"], mask_v4: 32, mask_v6: 128}}
    source: {{mask_v4: 24, mask_v6: 64}}
"""


def shipped_sections(path, spoe, edges, server_addr):
    """(frontend rules, backends) of a shipped haproxy-conf/akamai config, pointed at this run's
    SPOE file, edges list and server address: the sticky lines of its frontend (the fast path
    decides there), and every backend but sticky_agents with their servers' names, checks and
    tracking as shipped (weights and the per-path read timeout left out: native has neither)."""
    with open(os.path.join(CONF_DIR, "akamai", path)) as f:
        text = f.read()
    frontend = re.search(r"^frontend origin\n(.*?)(?=^\S)", text, re.M | re.S).group(1)
    rules = [line for line in frontend.splitlines()
             if line.strip() and not line.strip().startswith("#") and not re.match(r"\s+(bind|default_backend)\s", line)]
    backends = []
    for m in re.finditer(r"^backend (\S+)\n.*?(?=^\S|\Z)", text, re.M | re.S):
        if m.group(1) == "sticky_agents":
            continue
        keep = []
        for line in m.group(0).rstrip().splitlines():
            server = re.match(r"\s+server (\S+) ", line)
            if server:
                track = re.search(r" track (\S+)", line)
                opts = f" track {track.group(1)}" if track else (" check inter 10s" if " check" in line else "")
                keep.append(f"    server {server.group(1)} {server_addr}{opts}")
            elif not re.match(r"\s+retries\s", line) and "set-timeout" not in line:
                keep.append(line)
        backends.append("\n".join(keep))

    def local(body):
        body = re.sub(r'"\$\{STICKY_CONF_DIR\}/[\w.-]+"', spoe, body)
        return body.replace('"${STICKY_EDGES_FILE}"', edges)
    return local("\n".join(rules)), local("\n".join(backends))


def wrk(port, conns, seconds, env):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s",
                          os.path.join(HERE, "random_tcip.lua"), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True, env={**os.environ, **env})
    return parse_wrk(out.stdout)


def warm(port, clients, conns):
    """Sends every client of 0..clients-1 once through `port` (sequential ids, several wrk runs)."""
    done = 0
    while done < clients:
        env = {"STICKY_CLIENTS": str(clients), "STICKY_SEQUENTIAL": "1", "STICKY_OFFSET": str(done)}
        _, total, _ = wrk(port, conns, max(1, min(10, (clients - done) // 20000 + 1)), env)
        done += total


def spoe_counts(metrics_port):
    """(NOTIFY frames, SPOP connections accepted) so far."""
    m = agent_metrics(metrics_port)
    return m.get("sticky_notify_received_total", 0.0), m.get("sticky_connections_accepted_total", 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--prefill", type=int, default=1_000_000)
    ap.add_argument("--path", choices=sorted(SHIPPED), default="spoe",
                    help="spoe: the agent asked on every request; fast: HAProxy's table in front")
    ap.add_argument("--returning", type=int, default=0,
                    help="measure N returning clients (warmed through both frontends first); 0: draw from --prefill")
    ap.add_argument("--unix", action="store_true", help="agent on a unix socket instead of TCP loopback")
    ap.add_argument("--agent-maxconn", type=int, default=0,
                    help="maxconn on HAProxy's agent server line (0: none): fewer connections, more pipelining")
    haproxy_versions.add_arguments(ap)
    args = ap.parse_args()
    if args.matrix:
        return print_matrix(haproxy_versions.run_matrix(os.path.abspath(__file__), sys.argv[1:]), args)
    version = haproxy_versions.use(args.haproxy)

    with Stack(prefix="sticky-pbench-") as st:
        ports = dict(p_native=free_port(), p_agent=free_port(), p_srv=free_port(), p_spoa=free_port(),
                     p_metrics=free_port())
        cfg_name, spoe_name = SHIPPED[args.path]
        with open(os.path.join(CONF_DIR, "akamai", spoe_name)) as f:
            spoe = st.write("spoe.conf", f.read())
        edges = st.write("edges.txt", "127.0.0.0/8\n")
        sock = st.path("haproxy.sock")
        table = "haproxy_table: app\n    " if args.path == "fast" else ""
        agent_cfg = st.write("agent.yaml", AGENT.format(sock=sock, table=table))
        agent_args = ["--threads", "1", "--config", agent_cfg, "--metrics", f"127.0.0.1:{ports['p_metrics']}"]
        if args.unix:
            agent_args += ["--listen", f"unix:{st.path('agent.sock')}"]
        agent = st.start_agent(*agent_args, port=ports["p_spoa"])
        agent_addr = f"unix@{st.path('agent.sock')}" if args.unix else f"127.0.0.1:{ports['p_spoa']}"
        opts = f" maxconn {args.agent_maxconn}" if args.agent_maxconn else ""
        frontend, backends = shipped_sections(cfg_name, spoe, edges, f"127.0.0.1:{ports['p_srv']}")
        cfg = st.write("haproxy.cfg", CFG.format(agent_frontend=frontend, agent_backends=backends, agent_addr=agent_addr,
                                                 sock=sock, agent_server_opts=opts, **ports))
        haproxy = st.start_haproxy(cfg, {}, wait_ports=[ports["p_native"], ports["p_agent"]])
        wait_until(lambda: "x-sticky-reason" in get(ports["p_agent"], headers={"True-Client-IP": "1.2.3.4"})[1],
                   what="agent answering")
        rss0 = rss_kb(agent.pid)
        if args.prefill and os.path.exists(SPOP_LOAD):
            # Straight to the agent over SPOP (the same persist-req message HAProxy sends): seconds
            # instead of minutes through HAProxy. Sequential ids: every request is a new client.
            subprocess.run([SPOP_LOAD, "--addr", f"127.0.0.1:{ports['p_spoa']}", "--requests", str(args.prefill),
                            "--sequential", "--clients", str(args.prefill), "--conns", "8", "--depth", "8"],
                           check=True, capture_output=True)
            done = args.prefill
        elif args.prefill:
            done = 0
            warm(ports["p_agent"], args.prefill, args.connections)
            done = args.prefill
        if args.prefill:
            entries = table_entries(ports["p_metrics"])
            print(f"prefill: {done} requests, {entries:.0f} table entries; "
                  f"agent RSS {rss0 / 1024:.0f} MB -> {rss_kb(agent.pid) / 1024:.0f} MB", flush=True)
        clients = args.returning or max(args.prefill, 1000)
        if args.returning:
            # Both tables (HAProxy's native one, and the fast path's or the agent's) learn the set.
            for port in (ports["p_native"], ports["p_agent"]):
                warm(port, args.returning, args.connections)
        env = {"STICKY_CLIENTS": str(clients)}
        res = {"native": [], "agent": []}
        cpu, frames, conns = [], [], []
        hap = {"native": [], "agent": []}
        for r in range(args.rounds):
            for name in (["agent", "native"] if r % 2 == 0 else ["native", "agent"]):
                port = ports["p_agent"] if name == "agent" else ports["p_native"]
                f0 = spoe_counts(ports["p_metrics"]) if name == "agent" else (0, 0)
                c0, h0 = proc_cpu_seconds(agent.pid), proc_cpu_seconds(haproxy.pid)
                rps, total, lat = wrk(port, args.connections, args.seconds, env)
                c1, h1 = proc_cpu_seconds(agent.pid), proc_cpu_seconds(haproxy.pid)
                res[name].append((rps, lat))
                hap[name].append((h1 - h0) * 1e6 / total)
                if name == "agent":
                    cpu.append((c1 - c0) * 1e6 / total)
                    time.sleep(1.2)  # workers publish their counters about once a second
                    f1 = spoe_counts(ports["p_metrics"])
                    frames.append((f1[0] - f0[0]) / total)
                    conns.append((f1[1] - f0[1]) / total)
    med = statistics.median
    ra, rn = med([x[0] for x in res["agent"]]), med([x[0] for x in res["native"]])
    print(f"True-Client-IP persistence on HAProxy {version}, path {args.path}, {args.connections} connections, "
          f"{args.rounds} alternating rounds of {args.seconds}s, clients drawn from {clients}"
          f"{' returning (warmed)' if args.returning else ''}; agent table {args.prefill} prefilled "
          f"(HAProxy 1 thread, agent 1 thread on {'a unix socket' if args.unix else 'TCP loopback'}"
          f"{f', agent server maxconn {args.agent_maxconn}' if args.agent_maxconn else ''})")
    for name, r in (("native stick table", rn), ("sticky-agent", ra)):
        key = "native" if name.startswith("native") else "agent"
        print(f"  {name:20s} req/s median {r:9.0f}   p50 {med([x[1]['50'] for x in res[key]]):.3f} ms"
              f"   p99 {med([x[1]['99'] for x in res[key]]):.3f} ms")
    print(f"  ratio agent/native  {ra / rn:.3f}   (rounds: "
          + ", ".join(f"{a[0] / n[0]:.3f}" for a, n in zip(res["agent"], res["native"])) + ")")
    print(f"  agent CPU per request median {med(cpu):.2f} us (rounds: {', '.join(f'{c:.2f}' for c in cpu)})")
    print(f"  SPOE frames per request median {med(frames):.3f}, agent connections accepted per request {med(conns):.4f}")
    print(f"  HAProxy CPU per request median: native stick table {med(hap['native']):.2f} us,"
          f" with the agent {med(hap['agent']):.2f} us")
    haproxy_versions.report({"version": version, "path": args.path, "native_rps": rn, "agent_rps": ra,
                             "ratio": ra / rn, "agent_us": med(cpu), "frames": med(frames), "conns": med(conns),
                             "hap_native_us": med(hap["native"]), "hap_agent_us": med(hap["agent"])})


def print_matrix(rows, args):
    print(f"\nmatrix: path {args.path}, {args.connections} connections, {args.rounds} rounds of {args.seconds}s, "
          f"{'returning ' + str(args.returning) if args.returning else 'clients from ' + str(args.prefill)}")
    print("| HAProxy | native req/s | agent req/s | ratio | agent CPU/request | SPOE frames/request | "
          "HAProxy CPU/request native -> with agent |")
    print("|---|---|---|---|---|---|---|")
    for version, r in rows:
        if r is None:
            print(f"| {version} | failed | | | | | |")
            continue
        print(f"| {version} | {r['native_rps']:,.0f} | {r['agent_rps']:,.0f} | {r['ratio']:.3f} | "
              f"{r['agent_us']:.2f} us | {r['frames']:.3f} | {r['hap_native_us']:.1f} -> {r['hap_agent_us']:.1f} us |")


def table_entries(metrics_port):
    body = get(metrics_port, "/metrics")[2].decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith("sticky_table_entries"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
