#!/usr/bin/env python3
"""The agent's own instructions per persist-req (valgrind --tool=callgrind), driven by spop_load.

Exact where timings on a shared machine are not: callgrind counts every instruction the agent
executes (all threads) between a zeroing and a dump, and the count is divided by the requests
spop_load had acknowledged in between. Two cases, True-Client-IP as the Akamai drop-in sends it:
  returning  clients already in the table (a hit, slid)           -- the common case
  new        clients never seen (identity, Maglev placement, insert)
The table is first filled with --prefill sequential clients (collection running but zeroed after).
With --redis the agent shares its table through a redis-server started here: a new client then
costs a SET NX and a PUBLISH, and returning ones a TTL refresh now and then, all counted with the
request (the replies are read on the same worker thread).

Usage: agent_instructions.py [--agent BIN] [--spop-load BIN] [--prefill N] [--requests N] [--redis]
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
from harness import AGENT_BIN, Stack, free_port, wait_port  # noqa: E402

SPOP_LOAD = os.path.join(os.path.dirname(AGENT_BIN), "..", "..", "tests", "bench", "core", "spop_load")

AGENT = """
agent:
  threads: 1
backends:
  - name: app
    identity: [true_client_ip, source]
    capacity: 2000000
    servers: [{name: s1, weight: 1}, {name: s2, weight: 1}, {name: s3, weight: 1}]
    true_client_ip: {trusted: ["127.0.0.0/8"], mask_v4: 32, mask_v6: 128}
    source: {mask_v4: 24, mask_v6: 64}
"""


def spop_load(binary, port, requests, clients, offset=0, sequential=False):
    argv = [binary, "--addr", f"127.0.0.1:{port}", "--conns", "4", "--depth", "16", "--requests", str(requests),
            "--clients", str(clients), "--offset", str(offset), "--backend", "app"]
    if sequential:
        argv.append("--sequential")
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600).stdout
    return int(re.search(r"requests (\d+)", out).group(1))


def counted(st, pid, tag):
    """Dumps callgrind's counters for `pid` and returns the instructions since the last zeroing."""
    subprocess.run(["callgrind_control", f"--dump={tag}", str(pid)], capture_output=True, check=True, timeout=120)
    deadline = time.time() + 30
    while time.time() < deadline:
        dumps = [f for f in os.listdir(st.dir) if f.startswith("agent.callgrind.")]
        for name in sorted(dumps, key=lambda f: int(f.rsplit(".", 1)[1].split("-")[0]), reverse=True):
            with open(os.path.join(st.dir, name)) as f:
                text = f.read()
            if re.search(rf"^desc: Trigger: .*\b{tag}$", text, re.M):
                m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
                if m:
                    return int(m.group(1))
        time.sleep(0.2)
    raise RuntimeError(f"no callgrind dump for {tag}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default=AGENT_BIN)
    ap.add_argument("--spop-load", default=SPOP_LOAD)
    ap.add_argument("--prefill", type=int, default=100_000, help="clients put in the table first")
    ap.add_argument("--requests", type=int, default=20_000, help="measured requests per case")
    ap.add_argument("--redis", action="store_true", help="share the table through a local redis-server")
    args = ap.parse_args()
    with Stack(prefix="sticky-ainstr-") as st:
        agent = AGENT
        if args.redis:
            redis = st.start_redis()
            agent = agent.replace("backends:\n", f"redis:\n  address: 127.0.0.1:{redis.port}\n  cluster: bench\n"
                                                  "  node_id: a\n  lookup_deadline: 50ms\n  command_timeout: 1s\n"
                                                  "backends:\n")
        cfg = st.write("agent.yaml", agent)
        port = free_port()
        out = st.path("agent.callgrind")
        p = st.start("agent", ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", args.agent,
                               "--listen", f"127.0.0.1:{port}", "--threads", "1", "--config", cfg])
        wait_port(port, timeout=120)
        spop_load(args.spop_load, port, args.prefill, args.prefill, sequential=True)
        results = {}
        cases = [("returning", dict(clients=args.prefill)),
                 # Ids offset, offset + 1, ... modulo --clients: the modulus must exceed the last id, or
                 # the "new" clients wrap around into the prefilled ones (returning, not new).
                 ("new", dict(clients=args.prefill + 1 + args.requests, offset=args.prefill + 1, sequential=True))]
        for name, kw in cases:
            subprocess.run(["callgrind_control", "-z", str(p.pid)], capture_output=True, check=True, timeout=120)
            n = spop_load(args.spop_load, port, args.requests, **kw)
            total = counted(st, p.pid, name)
            results[name] = total / max(n, 1)
            print(f"  {name:9s} {results[name]:10,.0f} instructions/request ({n} requests counted)", flush=True)
        p.stop()
    print("agent instructions/request: " + ", ".join(f"{k} {v:,.0f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
