#!/usr/bin/env python3
"""What a dead or stopping agent costs HAProxy's clients (issues 10 and 12). Not a CI test: it
prints numbers.

Steady, bounded load (default 4 threads, ~50 req/s in all) through the shipped
haproxy-conf/akamai/haproxy.cfg (persist_stack.start_persist), then a fault on the agent:
`kill` (SIGKILL) or `term` (SIGTERM, the agent's graceful stop), and a restart on the same port a
few seconds later. Per HAProxy binary it reports failed requests, the added latency (over the
pre-fault median) per second after the fault as p50/p99/max, how long until HAProxy's check marks
the agent DOWN (and UP again), and how many requests took longer than 1 s.

  tests/bench/faults/agent_outage.py                       # Debian's haproxy (2.6) and 3.2.0
  tests/bench/faults/agent_outage.py --haproxy haproxy --fault term
  tests/bench/faults/agent_outage.py --backend 'mode tcp|timeout connect 1s|timeout server 1m|option spop-check|server agent1 "${STICKY_AGENT_ADDR}" check inter 1s'
        # try other `backend sticky_agents` lines ('|' separates them) before editing the shipped files
  tests/bench/faults/agent_outage.py --spoe 'timeout hello 500ms|timeout processing 50ms'
        # replace these `timeout` lines of the spoe-agent section

Only 127.0.0.1 is used; every process is stopped when the run ends.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
import haproxy_versions  # noqa: E402

DEFAULT_HAPROXY = ["haproxy", os.path.join(HERE, "..", "..", "..", "build", "haproxy", "3.2.0", "haproxy")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--haproxy", default=",".join(DEFAULT_HAPROXY), help="comma-separated HAProxy binaries")
    p.add_argument("--fault", choices=["kill", "term"], default="kill")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--rate", type=float, default=50.0, help="requests per second, all threads together")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load in all (max 60)")
    p.add_argument("--fault-at", type=float, default=4.0, help="seconds into the load")
    p.add_argument("--restart-after", type=float, default=6.0, help="seconds after the fault (<0: never)")
    p.add_argument("--backend", default="", help="replacement lines of backend sticky_agents, '|'-separated")
    p.add_argument("--spoe", default="", help="replacement `timeout` lines of the spoe-agent, '|'-separated")
    p.add_argument("--agent-args", default="", help="extra sticky-agent arguments, space-separated")
    p.add_argument("--json", action="store_true", help="one JSON line per binary instead of tables")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def patched_configs(stack, conf_dir, backend, spoe):
    """Copies of akamai/haproxy.cfg and spoe-sticky.conf with the given replacements, in the stack dir."""
    with open(os.path.join(conf_dir, "haproxy.cfg")) as f:
        cfg = f.read()
    if backend:
        body = "".join(f"    {line.strip()}\n" for line in backend.split("|") if line.strip())
        cfg, n = re.subn(r"(?ms)^backend sticky_agents\n.*?(?=^\S|\Z)", "backend sticky_agents\n" + body + "\n", cfg)
        assert n == 1, "no backend sticky_agents section"
    with open(os.path.join(conf_dir, "spoe-sticky.conf")) as f:
        spoe_text = f.read()
    for line in [x.strip() for x in spoe.split("|") if x.strip()]:
        key = " ".join(line.split()[:2])  # "timeout processing"
        spoe_text, n = re.subn(rf"(?m)^    {re.escape(key)}\s.*$", "    " + line, spoe_text)
        if n == 0:
            spoe_text = spoe_text.replace("    use-backend sticky_agents", f"    {line}\n    use-backend sticky_agents")
    stack.write("spoe-sticky.conf", spoe_text)
    return stack.write("haproxy-bench.cfg", cfg)


def agent_state(sock):
    """(status, check status) of sticky_agents/agent1 from HAProxy's `show stat`."""
    import harness
    try:
        out = harness.runtime_api(sock, "show stat", timeout=1.0)
    except OSError:
        return None
    lines = out.splitlines()
    if not lines:
        return None
    head = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        f = line.split(",")
        if len(f) >= len(head) and f[0] == "sticky_agents" and f[1] == "agent1":
            row = dict(zip(head, f))
            return row.get("status"), row.get("check_status")
    return None


def child(args):
    import harness
    import persist_stack
    from harness import Stack

    duration = min(args.duration, 60.0)
    with Stack(prefix="sticky-bench-faults-") as stack:
        conf_dir = os.path.join(harness.CONF_DIR, "akamai")
        cfg = patched_configs(stack, conf_dir, args.backend, args.spoe)
        agent, port, env = persist_stack.start_persist(
            stack, "akamai", agent_args=args.agent_args.split(), haproxy_cfg=cfg,
            extra_env={"STICKY_CONF_DIR": stack.dir})
        # The copied agent config reads the edge list next to itself: trust loopback.
        persist_stack.wait_reason(port, headers={"True-Client-IP": "198.51.100.7"})
        sock = stack.path("haproxy.sock")

        records = []  # (t_sent relative to the fault, latency s, outcome, err)
        lock = threading.Lock()
        fault = {"t": None}
        t0 = time.monotonic()
        stop_at = t0 + duration
        period = args.threads / args.rate

        def load(i):
            h = None
            nxt = time.monotonic()
            while True:
                now = time.monotonic()
                if now >= stop_at:
                    break
                if nxt > now:
                    time.sleep(nxt - now)
                nxt += period
                if h is None:
                    h = harness.Http(port, timeout=15.0)
                sent = time.monotonic()
                try:
                    status, hdr, _ = h.get("/", {"True-Client-IP": f"198.51.100.{10 + i}"})
                    outcome = "ok" if status == 200 else f"http{status}"
                    err = hdr.get("x-sticky-err", "")
                except Exception as e:  # noqa: BLE001 (a failed request is a result)
                    outcome, err = type(e).__name__, ""
                    h.close()
                    h = None
                lat = time.monotonic() - sent
                with lock:
                    records.append((sent, lat, outcome, err))
            if h:
                h.close()

        states = []  # (t, status)

        def monitor():
            last = None
            while time.monotonic() < stop_at + 0.5:
                s = agent_state(sock)
                st = f"{s[0]}({s[1]})" if s and s[0].startswith("DOWN") else (s[0] if s else None)
                if st != last:
                    states.append((time.monotonic(), st))
                    last = st
                time.sleep(0.02)

        threads = [threading.Thread(target=load, args=(i,)) for i in range(args.threads)]
        mon = threading.Thread(target=monitor)
        for t in threads + [mon]:
            t.start()
        time.sleep(args.fault_at)
        fault["t"] = time.monotonic()
        agent.p.send_signal(signal.SIGKILL if args.fault == "kill" else signal.SIGTERM)
        exit_code = None
        stop_took = None
        restarted_at = None
        if args.restart_after >= 0:
            try:
                agent.p.wait(min(args.restart_after + 10, 30))
            except subprocess.TimeoutExpired:
                pass
            exit_code = agent.p.poll()
            stop_took = time.monotonic() - fault["t"]
            wait = fault["t"] + args.restart_after - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            agent.log.close()
            stack.procs.remove(agent)
            stack.start_agent("--config", stack.path("sticky-agent.yaml"), *args.agent_args.split(),
                              port=agent.port, name="agent-restarted")
            restarted_at = time.monotonic() - fault["t"]
        for t in threads + [mon]:
            t.join()

        tf = fault["t"]
        before = [r for r in records if r[0] < tf]
        base = statistics.median([r[1] for r in before]) if before else 0.0
        out = {
            "haproxy": subprocess.run([harness.HAPROXY_BIN, "-v"], capture_output=True, text=True).stdout.split("\n")[0],
            "fault": args.fault, "requests": len(records), "base_p50_ms": round(base * 1000, 2),
            "failed": sum(1 for r in records if r[2] != "ok"),
            "failures": sorted({r[2] for r in records if r[2] != "ok"}),
            "over_1s": sum(1 for r in records if r[1] > 1.0),
            "max_ms": round(max(r[1] for r in records) * 1000, 1),
            "agent_exit": exit_code, "agent_stop_s": round(stop_took, 2) if stop_took is not None else None,
            "restarted_at_s": round(restarted_at, 2) if restarted_at is not None else None,
            "states": [(round(t - tf, 2), s) for t, s in states],
            "seconds": [],
        }
        # Bucket by send time relative to the fault; a request sent before it but answered after
        # is in-flight at the fault: bucket -1.
        buckets = {}
        for sent, lat, outcome, err in records:
            b = int((sent - tf) // 1) if sent >= tf else (-1 if sent + lat >= tf else None)
            if b is None:
                continue
            buckets.setdefault(b, []).append((lat, outcome, err))
        for b in sorted(buckets):
            lats = sorted(max(0.0, x[0] - base) * 1000 for x in buckets[b])
            errs = {}
            for _, o, e in buckets[b]:
                k = o if o != "ok" else (f"err={e}" if e else "decided")
                errs[k] = errs.get(k, 0) + 1
            out["seconds"].append({
                "s": b, "n": len(lats), "p50": round(lats[len(lats) // 2], 1),
                "p99": round(lats[min(len(lats) - 1, int(len(lats) * 0.99))], 1), "max": round(lats[-1], 1),
                "answers": errs})
        return out


def show(r):
    print(f"\n== {r['haproxy']} - {r['fault']}: {r['requests']} requests, pre-fault p50 {r['base_p50_ms']} ms")
    print(f"   failed {r['failed']} {r['failures'] or ''}  over 1 s: {r['over_1s']}  max latency {r['max_ms']} ms"
          f"  agent exit {r['agent_exit']} after {r['agent_stop_s']} s, restarted at +{r['restarted_at_s']} s")
    print("   agent1 in HAProxy: " + ", ".join(f"{s}@{t:+.2f}s" for t, s in r["states"]))
    print("   s after fault   n   added p50    p99     max (ms)  answers")
    for b in r["seconds"]:
        label = "in flight" if b["s"] == -1 else f"{b['s']:+d}"
        answers = " ".join(f"{k}:{v}" for k, v in sorted(b["answers"].items()))
        print(f"   {label:>9} {b['n']:6d} {b['p50']:9.1f} {b['p99']:8.1f} {b['max']:8.1f}   {answers}")


def main():
    args = parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args)))
        return 0
    for binary in [b for b in args.haproxy.split(",") if b]:
        argv = [sys.executable, os.path.abspath(__file__), "--child", "--fault", args.fault,
                "--threads", str(args.threads), "--rate", str(args.rate), "--duration", str(args.duration),
                "--fault-at", str(args.fault_at), "--restart-after", str(args.restart_after),
                "--backend=" + args.backend, "--spoe=" + args.spoe, "--agent-args=" + args.agent_args]
        r = haproxy_versions.child_result(argv, binary, timeout=180)
        if r is not None:
            print(json.dumps(r)) if args.json else show(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
