#!/usr/bin/env python3
"""Hostile SPOP peers at a bigger scale than the ctest (tests/protocol/test_hostile_peers.py), per
HAProxy binary. Not a CI test: it prints numbers.

The shipped haproxy-conf/akamai stack (real HAProxy, real agent) serves a GET every 5 ms through
HAProxy while each attack runs against the agent port: idle connections that never say HELLO
(--idle, from several 127.0.0.x sources), slowloris (--slowloris peers before and as many after the
HELLO, a byte every 0.5 s), a HELLO flood (--flood-seconds), and a burst of frames of exactly
max-frame-size. Per attack: HAProxy's p50/p99/max, answers HAProxy gave alone after the 50 ms
processing timeout, the agent's peak descriptors and RSS, RSS per idle connection, and how long
until the descriptors are back.

  tests/bench/faults/hostile_peers.py                     # Debian's haproxy (2.6) and 3.2.0
  tests/bench/faults/hostile_peers.py --haproxy haproxy --idle 18000 --max-connections 15000
  tests/bench/faults/hostile_peers.py --agent /path/to/older/sticky-agent   # compare a build

Only 127.0.0.0/8 is used; every process is stopped when the run ends.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "protocol"))
sys.path.insert(0, os.path.join(HERE, ".."))
import haproxy_versions  # noqa: E402
DEFAULT_HAPROXY = ["haproxy", os.path.join(HERE, "..", "..", "..", "build", "haproxy", "3.2.0", "haproxy")]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--haproxy", default=",".join(DEFAULT_HAPROXY), help="comma-separated HAProxy binaries")
    p.add_argument("--agent", default="", help="sticky-agent binary (default: STICKY_AGENT_BIN or build/)")
    p.add_argument("--idle", type=int, default=18000, help="idle connections to open (max 100000)")
    p.add_argument("--max-connections", type=int, default=15000)
    p.add_argument("--slowloris", type=int, default=200, help="peers before the HELLO (and as many inside a NOTIFY)")
    p.add_argument("--flood-seconds", type=float, default=10.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def child(args):
    import harness
    import hostile_attacks as ha
    import persist_stack
    import test_protocol_abuse as pa

    nofile = ha.raise_nofile(min(args.idle, 100000) + 2048)
    out = {"haproxy": subprocess.run([harness.HAPROXY_BIN, "-v"], capture_output=True, text=True).stdout.split("\n")[0],
           "agent": harness.AGENT_BIN, "attacks": []}
    with harness.Stack(prefix="sticky-bench-hostile-") as stack:
        stack.write("akamai-edges.txt", "127.0.0.0/8\n")
        metrics_port = harness.free_port()
        agent, port, _ = persist_stack.start_persist(
            stack, "akamai", agent_args=("--metrics", f"127.0.0.1:{metrics_port}", "--log-level", "warn"),
            replacements=[("agent:\n", f"agent:\n  max_connections: {args.max_connections}\n")])
        persist_stack.wait_reason(port, headers={"True-Client-IP": "198.51.100.1"})
        probe = ha.HttpProbe(port)
        time.sleep(1.0)
        probe.pause()
        out["start_rss_mb"] = round(ha.proc_rss_kb(agent.pid) / 1024, 1)

        def run(name, attack):
            base_fds, base_rss = ha.proc_fds(agent.pid), ha.proc_rss_kb(agent.pid)
            m0 = harness.agent_metrics(metrics_port)
            probe.resume()
            time.sleep(0.3)
            sampler = ha.Sampler(agent.pid)
            t0 = time.monotonic()
            extra = attack(base_fds, base_rss) or {}
            records = probe.pause()
            sampler.stop()
            waited = time.monotonic()
            while ha.proc_fds(agent.pid) > base_fds and time.monotonic() - waited < 30:
                time.sleep(0.05)
            back = time.monotonic() - waited
            m1 = harness.agent_metrics(metrics_port)
            s = ha.summarize(records)
            row = {"attack": name, "seconds": round(time.monotonic() - t0, 1), "requests": s["n"],
                   "p50_ms": round(s["p50"], 2), "p99_ms": round(s["p99"], 2), "max_ms": round(s["max"], 1),
                   "outcomes": s["outcomes"], "fds": [base_fds, sampler.peak_fds, ha.proc_fds(agent.pid)],
                   "fds_back_s": round(back, 2),
                   "rss_mb": [round(base_rss / 1024, 1), round(sampler.peak_rss_kb / 1024, 1),
                              round(ha.proc_rss_kb(agent.pid) / 1024, 1)],
                   "counters": {k.replace("sticky_", "").replace("_total", ""): m1.get(k, 0) - m0.get(k, 0) for k in (
                       "sticky_timeouts_hello_total", "sticky_timeouts_frame_total",
                       "sticky_connections_refused_limit_total", "sticky_connections_evicted_pre_hello_total",
                       "sticky_hello_received_total", "sticky_healthchecks_total", "sticky_protocol_errors_total")
                       if m1.get(k, 0) != m0.get(k, 0)},
                   **extra}
            out["attacks"].append(row)

        def idle(base_fds, base_rss):
            target = min(args.idle, nofile - 1024, 100000)
            sources = [f"127.0.0.{i}" for i in range(1, 2 + target // 20000)]
            t = time.monotonic()
            socks, why = ha.open_idle(agent.port, target, sources=sources, limit_s=120)
            opened_in = time.monotonic() - t
            time.sleep(0.3)
            held = ha.proc_fds(agent.pid) - base_fds
            per_conn = (ha.proc_rss_kb(agent.pid) - base_rss) * 1024.0 / max(1, held)
            time.sleep(max(0.0, pa.HELLO_TIMEOUT + 2.5 - (time.monotonic() - t - opened_in)))
            timed_out, silent, other = ha.read_endings(socks, limit_s=30)
            for s in socks:
                s.close()
            return {"opened": len(socks), "opened_in_s": round(opened_in, 2), "stopped": why, "held": held,
                    "rss_bytes_per_idle_conn": round(per_conn), "timed_out": timed_out, "closed_at_once": silent,
                    "other": other}

        def slowloris(base_fds, base_rss):
            pre, post, statuses, sent = ha.slowloris(agent.port, args.slowloris, pa.HELLO_TIMEOUT,
                                                     pa.FRAME_TIMEOUT, pa.Conn)
            done = [t for t in pre + post if t is not None]
            return {"peers": 2 * args.slowloris, "never_dropped": len(pre + post) - len(done),
                    "pre_hello_dropped_s": [round(min(pre), 2), round(max(pre), 2)] if None not in pre else None,
                    "in_notify_dropped_s": [round(min(post), 2), round(max(post), 2)] if None not in post else None,
                    "status_2": statuses.count(ha.TIMEOUT)}

        def flood(base_fds, base_rss):
            results = []
            threads = [threading.Thread(target=lambda: results.append(
                ha.hello_flood(agent.port, args.flood_seconds, 200000))) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return {"hellos": sum(results), "per_second": round(sum(results) / args.flood_seconds)}

        def max_frames(base_fds, base_rss):
            import spop_wire as w
            c = pa.Conn(agent.port)
            c.handshake(**{"engine-id": "big"})
            n, t = 2000, time.monotonic()
            frames = b"".join(ha.notify_of_len(16380, sid=i + 1) for i in range(n))
            writer = threading.Thread(target=c.send, args=(frames,))
            writer.start()
            acks = 0
            for _ in range(n):
                if c.read_frame(timeout=20).type == w.ACK:
                    acks += 1
            writer.join(20)
            c.close()
            return {"frames": n, "acks": acks, "mb_per_s": round(n * 16384 / (time.monotonic() - t) / 1e6, 1)}

        run("idle connections", idle)
        run("slowloris", slowloris)
        run("HELLO flood", flood)
        run("max-frame-size frames", max_frames)
        probe.stop()
        out["end_rss_mb"] = round(ha.proc_rss_kb(agent.pid) / 1024, 1)
        out["agent_exit"] = agent.stop()
    return out


def show(r):
    print(f"\n== {r['haproxy']}  (agent {r['agent']}; RSS {r['start_rss_mb']} MB at start, {r['end_rss_mb']} MB at end,"
          f" exit {r['agent_exit']})")
    for a in r["attacks"]:
        fixed = {"attack", "seconds", "requests", "p50_ms", "p99_ms", "max_ms", "outcomes", "fds", "fds_back_s",
                 "rss_mb", "counters"}
        print(f"-- {a['attack']} ({a['seconds']} s): HAProxy n={a['requests']} p50 {a['p50_ms']} ms, "
              f"p99 {a['p99_ms']} ms, max {a['max_ms']} ms, {a['outcomes']}")
        print(f"   agent fds {a['fds'][0]} -> peak {a['fds'][1]} -> {a['fds'][2]} (back in {a['fds_back_s']} s); "
              f"RSS {a['rss_mb'][0]} -> peak {a['rss_mb'][1]} -> {a['rss_mb'][2]} MB")
        print(f"   {', '.join(f'{k} {v}' for k, v in a.items() if k not in fixed)}")
        print(f"   counters: {', '.join(f'{k} +{v:.0f}' for k, v in a['counters'].items())}")


def main():
    args = parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args)))
        return 0
    for binary in [b for b in args.haproxy.split(",") if b]:
        env = dict(os.environ)
        if args.agent:
            env["STICKY_AGENT_BIN"] = args.agent
        argv = [sys.executable, os.path.abspath(__file__), "--child", "--idle", str(args.idle),
                "--max-connections", str(args.max_connections), "--slowloris", str(args.slowloris),
                "--flood-seconds", str(args.flood_seconds)]
        r = haproxy_versions.child_result(argv, binary, env=env, timeout=600)
        if r is not None:
            print(json.dumps(r)) if args.json else show(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
