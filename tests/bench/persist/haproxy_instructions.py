#!/usr/bin/env python3
"""HAProxy's own instructions per request (valgrind --tool=callgrind), returning True-Client-IP
clients: the native `stick on req.hdr_ip(True-Client-IP)` backend vs the shipped fast path
(haproxy-conf/akamai/haproxy-fast.cfg rules, agent behind it) vs the shipped SPOE path (every
request asks the agent). Instruction counts do not drift with the machine's speed, unlike req/s.

Each variant runs in its own HAProxy under callgrind; the client set is warmed first (collection
off), then --requests requests from it are counted. Prints instructions per request and the ratio
to native. --haproxy BIN picks the HAProxy; --matrix runs every available one.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
import haproxy_versions  # noqa: E402
import harness  # noqa: E402
from harness import CONF_DIR, Stack, free_port, get, wait_port, wait_until  # noqa: E402
from persist_bench import AGENT, shipped_sections  # noqa: E402

CFG = """
global
    nbthread 1
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:{p_http}
{frontend}
    default_backend app
{backends}
backend sticky_agents
    mode tcp
    timeout connect 1s
    timeout server 1m
    server a1 127.0.0.1:{p_spoa}
listen origin
    bind 127.0.0.1:{p_srv}
    http-request return status 200 content-type text/plain string "ok"
"""

NATIVE = """backend app
    balance roundrobin
    stick-table type ip size 2m expire 30m
    stick on req.hdr_ip(True-Client-IP)
    server s1 127.0.0.1:{p_srv}
    server s2 127.0.0.1:{p_srv}
    server s3 127.0.0.1:{p_srv}"""


def wrk_requests(port, clients, seconds, offset=0, sequential=False):
    env = {**os.environ, "STICKY_CLIENTS": str(clients), "STICKY_SEQUENTIAL": "1" if sequential else "0",
           "STICKY_OFFSET": str(offset)}
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", os.path.join(HERE, "random_tcip.lua"),
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True, env=env).stdout
    return int(re.search(r"(\d+) requests in", out).group(1))


def measure(st, variant, args):
    ports = dict(p_http=free_port(), p_srv=free_port(), p_spoa=free_port())
    sock = st.path(f"{variant}.sock")
    if variant == "native":
        frontend, backends = "", NATIVE.format(**ports)
    else:
        cfg_name, spoe_name = {"fast": ("haproxy-fast.cfg", "spoe-sticky-fast.conf"),
                               "spoe": ("haproxy.cfg", "spoe-sticky.conf")}[variant]
        with open(os.path.join(CONF_DIR, "akamai", spoe_name)) as f:
            spoe = st.write(f"{variant}-spoe.conf", f.read().replace("timeout processing 50ms", "timeout processing 2s"))
        frontend, backends = shipped_sections(cfg_name, spoe, st.write("edges.txt", "127.0.0.0/8\n"),
                                              f"127.0.0.1:{ports['p_srv']}")
        table = "haproxy_table: app\n    " if variant == "fast" else ""
        agent_cfg = st.write(f"{variant}-agent.yaml", AGENT.format(sock=sock, table=table))
        st.start_agent("--threads", "1", "--config", agent_cfg, port=ports["p_spoa"], name=f"agent-{variant}")
    cfg = st.write(f"{variant}.cfg", CFG.format(frontend=frontend, backends=backends, sock=sock, **ports))
    out = st.path(f"{variant}.callgrind")
    p = st.start(f"haproxy-{variant}", ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                                        harness.HAPROXY_BIN, "-f", cfg, "-db"])
    wait_port(ports["p_http"], timeout=60)
    wait_until(lambda: get(ports["p_http"], headers={"True-Client-IP": "1.2.3.4"})[0] == 200, timeout=60)
    # Warm: every client once (HAProxy's table and the agent's learn them), collection off.
    done = 0
    while done < args.clients:
        done += wrk_requests(ports["p_http"], args.clients, 5, offset=done, sequential=True)
    subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True, check=True)
    n = wrk_requests(ports["p_http"], args.clients, args.seconds)
    subprocess.run(["callgrind_control", "-d", str(p.pid)], capture_output=True, check=True)
    time.sleep(1)
    # The dump after the zeroing holds exactly the measured run.
    dumps = sorted((f for f in os.listdir(st.dir) if f.startswith(f"{variant}.callgrind.")),
                   key=lambda f: int(f.rsplit(".", 1)[1]))
    with open(os.path.join(st.dir, dumps[-1])) as f:
        total = int(re.search(r"^summary:\s+(\d+)", f.read(), re.M).group(1))
    if args.keep:
        # For callgrind_annotate: where the extra instructions of a variant go, function by function.
        os.makedirs(args.keep, exist_ok=True)
        shutil.copy(os.path.join(st.dir, dumps[-1]), os.path.join(args.keep, f"{variant}.callgrind"))
    p.stop()
    return total / max(n, 1), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=2000, help="returning clients (warmed first)")
    ap.add_argument("--seconds", type=int, default=10, help="measured wrk run (under callgrind)")
    ap.add_argument("--variants", default="native,fast,spoe")
    ap.add_argument("--keep", metavar="DIR", help="copy each variant's callgrind dump of the measured run to DIR")
    haproxy_versions.add_arguments(ap)
    args = ap.parse_args()
    if args.matrix:
        rows = haproxy_versions.run_matrix(os.path.abspath(__file__), sys.argv[1:])
        print("\n| HAProxy | " + " | ".join(f"{v} instr/request" for v in args.variants.split(",")) + " |")
        print("|---|" + "---|" * len(args.variants.split(",")))
        for version, r in rows:
            cells = [f"{r[v]:,.0f} ({r[v] / r['native']:.3f})" if r and v in r else "failed" for v in args.variants.split(",")]
            print(f"| {version} | " + " | ".join(cells) + " |")
        return
    version = haproxy_versions.use(args.haproxy)
    result = {"version": version}
    with Stack(prefix="sticky-hinstr-") as st:
        for v in args.variants.split(","):
            per, n = measure(st, v, args)
            result[v] = per
            print(f"  {v:7s} {per:10,.0f} instructions/request ({n} requests counted)", flush=True)
    if "native" in result:
        for v in args.variants.split(","):
            print(f"HAProxy {version}: {v} / native = {result[v] / result['native']:.3f}")
    haproxy_versions.report(result)


if __name__ == "__main__":
    main()
