#!/usr/bin/env python3
"""True-Client-IP persistence, end to end: HAProxy's native `stick on req.hdr_ip(True-Client-IP)`
vs HAProxy + sticky-agent doing the same job, in one HAProxy process, alternating rounds.
A varying True-Client-IP per request (wrk + Lua). The agent's table is first filled with
--prefill distinct clients (default 1,000,000), then measured.

Prints req/s both ways, the ratio, p50/p99, and the agent's CPU microseconds per request.
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "core"))
from harness import AGENT_BIN, Stack, free_port, get, proc_cpu_seconds, wait_until  # noqa: E402
from e2e_bench import parse_wrk  # noqa: E402

# The SPOP load generator (tests/bench/core/spop_load.cc), built next to the agent.
SPOP_LOAD = os.path.join(os.path.dirname(AGENT_BIN), "..", "..", "tests", "bench", "core", "spop_load")

SPOE = """
[sticky]
spoe-agent sticky-agent
    messages persist-req{res_msg}
    option var-prefix stk
    option set-on-error err
    option continue-on-error
    register-var-names srv reason key ckok set_cookie
    no option send-frag-payload
    timeout hello 500ms
    timeout idle 30s
    timeout processing 100ms
    use-backend sticky_agents
spoe-message persist-req
    args be=be_name src=src tcip=req.hdr(True-Client-IP,1)
    event on-backend-http-request
"""

# The response message as haproxy-conf/akamai ships it (only on a redispatch), or on every response.
RESPONSE = {
    "when-needed": "event on-http-response if { var(txn.stk.key) -m found } !{ srv_name,strcmp(txn.stk.srv) eq 0 }",
    "always": "event on-http-response",
}
RESPONSE_MSG = """spoe-message persist-res
    args be=be_name srv=srv_name pick=var(txn.stk.srv) key=var(txn.stk.key)
    {event}
"""

CFG = """
global
    nbthread 1
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
    default_backend app
backend app_native
    balance roundrobin
    stick-table type ip size 2m expire 30m
    stick on req.hdr_ip(True-Client-IP)
    server s1 127.0.0.1:{p_srv}
    server s2 127.0.0.1:{p_srv}
    server s3 127.0.0.1:{p_srv}
backend app
    balance roundrobin
    filter spoe engine sticky config {spoe}
    use-server %[var(txn.stk.srv)] if {{ var(txn.stk.srv) -m found }}
    http-response set-header X-Reason %[var(txn.stk.reason)] if {{ var(txn.stk.reason) -m found }}
    server s1 127.0.0.1:{p_srv}
    server s2 127.0.0.1:{p_srv}
    server s3 127.0.0.1:{p_srv}
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
backends:
  - name: app
    identity: [true_client_ip, source]
    capacity: 2000000
    servers: [{{name: s1, weight: 1}}, {{name: s2, weight: 1}}, {{name: s3, weight: 1}}]
    true_client_ip: {{trusted: ["127.0.0.0/8"]}}
"""


def wrk(port, conns, seconds, env):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s",
                          os.path.join(HERE, "random_tcip.lua"), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True, env={**os.environ, **env})
    return parse_wrk(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--prefill", type=int, default=1_000_000)
    ap.add_argument("--response-message", choices=["when-needed", "always", "off"], default="when-needed",
                    help="persist-res as shipped (only on redispatch), on every response, or not declared")
    ap.add_argument("--unix", action="store_true", help="agent on a unix socket instead of TCP loopback")
    ap.add_argument("--agent-maxconn", type=int, default=0,
                    help="maxconn on HAProxy's agent server line (0: none): fewer connections, more pipelining")
    args = ap.parse_args()
    with Stack(prefix="sticky-pbench-") as st:
        ports = dict(p_native=free_port(), p_agent=free_port(), p_srv=free_port(), p_spoa=free_port(),
                     p_metrics=free_port())
        res_msg = "" if args.response_message == "off" else " persist-res"
        spoe_text = SPOE.format(res_msg=res_msg)
        if res_msg:
            spoe_text += RESPONSE_MSG.format(event=RESPONSE[args.response_message])
        spoe = st.write("spoe.conf", spoe_text)
        agent_cfg = st.write("agent.yaml", AGENT.format())
        agent_args = ["--threads", "1", "--config", agent_cfg, "--metrics", f"127.0.0.1:{ports['p_metrics']}"]
        if args.unix:
            agent_args += ["--listen", f"unix:{st.path('agent.sock')}"]
        agent = st.start_agent(*agent_args, port=ports["p_spoa"])
        agent_addr = f"unix@{st.path('agent.sock')}" if args.unix else f"127.0.0.1:{ports['p_spoa']}"
        opts = f" maxconn {args.agent_maxconn}" if args.agent_maxconn else ""
        cfg = st.write("haproxy.cfg", CFG.format(spoe=spoe, agent_addr=agent_addr, agent_server_opts=opts, **ports))
        haproxy = st.start_haproxy(cfg, {}, wait_ports=[ports["p_native"], ports["p_agent"]])
        wait_until(lambda: "x-reason" in get(ports["p_agent"])[1], what="agent answering")
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
            while done < args.prefill:
                env = {"STICKY_CLIENTS": str(args.prefill), "STICKY_SEQUENTIAL": "1", "STICKY_OFFSET": str(done)}
                _, total, _ = wrk(ports["p_agent"], args.connections, 10, env)
                done += total
        if args.prefill:
            entries = table_entries(ports["p_metrics"])
            print(f"prefill: {done} requests, {entries:.0f} table entries; "
                  f"agent RSS {rss0 / 1024:.0f} MB -> {rss_kb(agent.pid) / 1024:.0f} MB", flush=True)
        env = {"STICKY_CLIENTS": str(max(args.prefill, 1000))}
        res = {"native": [], "agent": []}
        cpu = []
        hap = {"native": [], "agent": []}
        for r in range(args.rounds):
            for name in (["agent", "native"] if r % 2 == 0 else ["native", "agent"]):
                port = ports["p_agent"] if name == "agent" else ports["p_native"]
                c0, h0 = proc_cpu_seconds(agent.pid), proc_cpu_seconds(haproxy.pid)
                rps, total, lat = wrk(port, args.connections, args.seconds, env)
                c1, h1 = proc_cpu_seconds(agent.pid), proc_cpu_seconds(haproxy.pid)
                res[name].append((rps, lat))
                hap[name].append((h1 - h0) * 1e6 / total)
                if name == "agent":
                    cpu.append((c1 - c0) * 1e6 / total)
    med = statistics.median
    ra, rn = med([x[0] for x in res["agent"]]), med([x[0] for x in res["native"]])
    print(f"True-Client-IP persistence, {args.connections} connections, {args.rounds} alternating rounds of "
          f"{args.seconds}s, clients drawn from {max(args.prefill, 1000)} (persist-res {args.response_message}; HAProxy 1 thread, agent 1 thread on "
          f"{'a unix socket' if args.unix else 'TCP loopback'}"
          f"{f', agent server maxconn {args.agent_maxconn}' if args.agent_maxconn else ''})")
    for name, r in (("native stick table", rn), ("sticky-agent", ra)):
        key = "native" if name.startswith("native") else "agent"
        print(f"  {name:20s} req/s median {r:9.0f}   p50 {med([x[1]['50'] for x in res[key]]):.3f} ms"
              f"   p99 {med([x[1]['99'] for x in res[key]]):.3f} ms")
    print(f"  ratio agent/native  {ra / rn:.3f}   (target >= 0.90)")
    print(f"  agent CPU per request median {med(cpu):.2f} us (rounds: {', '.join(f'{c:.2f}' for c in cpu)})")
    print(f"  HAProxy CPU per request median: native stick table {med(hap['native']):.2f} us,"
          f" with the SPOE filter {med(hap['agent']):.2f} us")


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
