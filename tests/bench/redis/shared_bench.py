#!/usr/bin/env python3
"""The cost of sharing pins through Redis, end to end, in one run.

One HAProxy process with two frontends: `on` -> backend app, whose agent has a `redis:` section;
`off` -> backend app_off, whose agent is the same config without it. Both agents 1 thread,
HAProxy 1 thread, a redis-server started here on a free port. Rounds alternate on/off.

1. Returning clients: both agents are pre-filled with the same --clients True-Client-IPs, then
   requests draw from that population. req/s, ratio, p50/p99, agent CPU us/request both ways,
   redis-server CPU us/request; then a "new clients" pass (every request a client never seen).
2. Redis commands per request (sticky_redis_commands_total from the sharing agent's metrics,
   read > 1 s after traffic stops so the workers' once-a-second flush has happened, divided by
   the decisions the agent made in the same window).
3. Propagation A -> B: a second HAProxy + agent B on the same Redis (started after the load
   phases so its subscriber does not steal CPU from them). New pins: pin a client through A,
   then ask B until it routes the same way from a shared pin (B's local miss -> Redis lookup).
   Moves: s3 put in maintenance on A only; each client pinned to s3 is moved by A, and B (which
   still has the old pin, s3 up there) routes to the new server only once pub/sub delivered it.
   Delays are measured from A's response to B's first agreeing response, polling B back to
   back on a keep-alive connection: an upper bound, coarse by one poll round trip (printed).
   Then the component-level redis_propagation_bench (client A -> subscriber B), if built.

Usage: shared_bench.py [--rounds N] [--seconds S] [--connections C] [--clients N] [--probes N]
Needs wrk, haproxy, redis-server and a built agent (STICKY_AGENT_BIN).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "core"))
from harness import AGENT_BIN, Http, Stack, free_port, get, proc_cpu_seconds, runtime_api, wait_until  # noqa: E402
from e2e_bench import parse_wrk  # noqa: E402

# One file per engine: the engines differ only in their name and the agent backend they use.
SPOE = """
[{engine}]
spoe-agent agent-{engine}
    messages persist-req
    option var-prefix stk
    option set-on-error err
    option continue-on-error
    register-var-names srv reason key ckok set_cookie
    no option send-frag-payload
    timeout hello 500ms
    timeout idle 30s
    timeout processing 100ms
    use-backend agents_{engine}
spoe-message persist-req
    args be=be_name src=src tcip=req.hdr(True-Client-IP,1)
    event on-backend-http-request
"""

BACKEND = """
backend {name}
    balance roundrobin
    filter spoe engine {engine} config {spoe}
    use-server %[var(txn.stk.srv)] if {{ var(txn.stk.srv) -m found }}
    http-response set-header X-Reason %[var(txn.stk.reason)] if {{ var(txn.stk.reason) -m found }}
    http-response set-header X-Server %[srv_name]
    server s1 127.0.0.1:{p_srv}
    server s2 127.0.0.1:{p_srv}
    server s3 127.0.0.1:{p_srv}
backend agents_{engine}
    mode tcp
    timeout connect 1s
    timeout server 1m
    server a1 127.0.0.1:{p_spoa}
"""

HEAD = """
global
    nbthread 1
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
"""

# Node 1: the measured pair. Node 2 (B) reuses node 1's origin.
CFG1 = HEAD + """
frontend fe_on
    bind 127.0.0.1:{p_on}
    default_backend app
frontend fe_off
    bind 127.0.0.1:{p_off}
    default_backend app_off
listen origin
    bind 127.0.0.1:{p_srv}
    http-request return status 200 content-type text/plain string "ok"
"""

CFG2 = HEAD + """
frontend fe_b
    bind 127.0.0.1:{p_b}
    default_backend app
"""

AGENT = """
haproxy:
  runtime_api: unix:{sock}
  poll_interval: 200ms
backends:
  - name: {backend}
    identity: [true_client_ip, source]
    ttl: {ttl}
    capacity: 1000000
    servers: [{{name: s1, weight: 1}}, {{name: s2, weight: 1}}, {{name: s3, weight: 1}}]
    true_client_ip: {{trusted: ["127.0.0.0/8"]}}
"""

REDIS = """
redis:
  address: 127.0.0.1:{port}
  cluster: bench
  node_id: {node}
"""

MEASURED = ("on", "off")


def wrk(port, conns, seconds, env):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s",
                          os.path.join(HERE, "clients.lua"), f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True, env={**os.environ, **env})
    return parse_wrk(out.stdout)


def scrape(port):
    """Prometheus text -> {name: value}; labelled series kept as name{labels} and summed under name."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
            if m.group(2):
                out[m.group(1) + m.group(2)] = float(m.group(3))
    return out


def settled_scrape(port):
    # Workers copy their counters out about once a second: wait past one flush.
    time.sleep(1.3)
    return scrape(port)


def delta(m1, m0, name):
    return m1.get(name, 0.0) - m0.get(name, 0.0)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


class Bench:
    def __init__(self, st, args):
        self.st, self.args = st, args
        self.redis = st.start_redis()
        self.ports = dict(p_on=free_port(), p_off=free_port(), p_srv=free_port(), p_b=free_port())
        self.spoa = {e: free_port() for e in ("on", "off", "b")}
        self.mport = {e: free_port() for e in ("on", "off", "b")}
        self.sock1, self.sock2 = st.path("haproxy1.sock"), st.path("haproxy2.sock")
        self.agents = {"on": self.start_agent("on", "app", self.sock1, redis=True),
                       "off": self.start_agent("off", "app_off", self.sock1, redis=False)}
        cfg1 = CFG1.format(sock=self.sock1, **self.ports) + self.backend("app", "on") + self.backend("app_off", "off")
        st.start_haproxy(st.write("haproxy1.cfg", cfg1), {}, wait_ports=[self.ports["p_on"], self.ports["p_off"]],
                         name="haproxy1")
        for e in MEASURED:
            port = self.ports["p_" + e]
            wait_until(lambda: "x-reason" in get(port, headers={"True-Client-IP": "10.0.0.1"})[1], timeout=15,
                       what=f"agent {e} answering")

    def backend(self, name, engine):
        spoe = self.st.write(f"spoe-{engine}.conf", SPOE.format(engine=engine))
        return BACKEND.format(name=name, engine=engine, spoe=spoe, p_srv=self.ports["p_srv"], p_spoa=self.spoa[engine])

    def start_agent(self, engine, backend, sock, redis):
        text = AGENT.format(sock=sock, backend=backend, ttl=self.args.ttl)
        if redis:
            text += REDIS.format(port=self.redis.port, node=engine)
        cfg = self.st.write(f"agent-{engine}.yaml", text)
        return self.st.start_agent("--threads", "1", "--config", cfg, "--metrics", f"127.0.0.1:{self.mport[engine]}",
                                   name=f"agent-{engine}", port=self.spoa[engine])

    def run(self, engine, env, seconds=None):
        a, r = self.agents[engine], self.redis
        c0, r0 = proc_cpu_seconds(a.pid), proc_cpu_seconds(r.pid)
        rps, total, lat = wrk(self.ports["p_" + engine], self.args.connections, seconds or self.args.seconds, env)
        c1, r1 = proc_cpu_seconds(a.pid), proc_cpu_seconds(r.pid)
        return dict(rps=rps, total=total, p50=lat["50"], p99=lat["99"],
                    cpu_us=(c1 - c0) * 1e6 / total, redis_us=(r1 - r0) * 1e6 / total)

    def prefill(self):
        """Every request a new client until each agent has seen all --clients ids once."""
        env = {"STICKY_SEQUENTIAL": "1", "STICKY_BASE": "0"}
        for e in MEASURED:
            t0 = time.monotonic()
            # A short run gives the rate; the next runs are sized to what is left (wrk takes whole seconds).
            done, secs = 0, 2
            while done < self.args.clients:
                env["STICKY_BASE"] = str(done)
                r = self.run(e, env, seconds=secs)
                done += r["total"]
                secs = max(1, min(30, round((self.args.clients - done) / max(r["rps"], 1.0))))
            print(f"  prefill {e:3s}: {done} new clients in {time.monotonic() - t0:.1f} s")

    def alternate(self, label, env_for):
        res = {e: [] for e in MEASURED}
        m0 = settled_scrape(self.mport["on"])
        for rnd in range(self.args.rounds):
            for e in (MEASURED if rnd % 2 == 0 else MEASURED[::-1]):
                res[e].append(self.run(e, env_for(rnd, e)))
        m1 = settled_scrape(self.mport["on"])
        return self.report(label, res, m0, m1)

    def report(self, label, res, m0, m1):
        med = statistics.median
        print(f"{label}: {self.args.rounds} alternating rounds of {self.args.seconds}s, "
              f"{self.args.connections} connections")
        rate = {}
        for e, name in (("on", "sharing ON "), ("off", "sharing OFF")):
            rs = res[e]
            rate[e] = med([x["rps"] for x in rs])
            print(f"  {name} req/s median {rate[e]:9.0f}   p50 {med([x['p50'] for x in rs]):.3f} ms   p99 "
                  f"{med([x['p99'] for x in rs]):.3f} ms   agent CPU {med([x['cpu_us'] for x in rs]):.2f} us/req"
                  f"   (rounds: {', '.join('%.0f' % x['rps'] for x in rs)})")
        # Adjacent ON/OFF runs share the machine's load of the moment: their ratio cancels slow drift.
        paired = med([on["rps"] / off["rps"] for on, off in zip(res["on"], res["off"])])
        print(f"  ratio ON/OFF {rate['on'] / rate['off']:.3f} (of medians), {paired:.3f} (median of same-round pairs)"
              f"   (target >= 0.90)   redis-server CPU "
              f"{med([x['redis_us'] for x in res['on']]):.2f} us per ON request")
        decisions = delta(m1, m0, "sticky_persist_decisions_total")
        served = sum(x["total"] for x in res["on"])
        cmds = delta(m1, m0, "sticky_redis_commands_total")
        per = (lambda n: n / decisions) if decisions else (lambda n: float("nan"))
        new = delta(m1, m0, 'sticky_persist_decisions_total{reason="new"}')
        print(f"  Redis commands per request (ON): {per(cmds):.4f}   = {cmds:.0f} commands / {decisions:.0f} "
              f"decisions (wrk counted {served}; {new:.0f} of them new pins)")
        print(f"    per request: writes {per(delta(m1, m0, 'sticky_redis_writes_total')):.4f}, lookups "
              f"{per(delta(m1, m0, 'sticky_redis_lookups_total')):.4f} (hits "
              f"{per(delta(m1, m0, 'sticky_redis_lookup_hits_total')):.4f}, past deadline "
              f"{per(delta(m1, m0, 'sticky_redis_lookup_timeouts_total')):.4f}), errors "
              f"{delta(m1, m0, 'sticky_redis_errors_total'):.0f}, timeouts {delta(m1, m0, 'sticky_redis_timeouts_total'):.0f}"
              f", dropped {delta(m1, m0, 'sticky_redis_dropped_total'):.0f}  (command timeouts count each command of a"
              f" lookup past its deadline)")
        return rate["on"]

    def start_b(self):
        t0 = time.monotonic()
        self.agents["b"] = self.start_agent("b", "app", self.sock2, redis=True)
        cfg2 = CFG2.format(sock=self.sock2, **self.ports) + self.backend("app", "b")
        self.st.start_haproxy(self.st.write("haproxy2.cfg", cfg2), {}, wait_ports=[self.ports["p_b"]], name="haproxy2")
        wait_until(lambda: "x-reason" in get(self.ports["p_b"], headers={"True-Client-IP": "10.0.0.2"})[1],
                   timeout=15, what="agent b answering")
        # Warm-up copies every pin already in Redis into B: done when the key count stops moving.
        last = -1.0
        while True:
            keys = scrape(self.mport["b"]).get("sticky_redis_warmup_keys_total", 0.0)
            if keys == last and keys > 0:
                break
            last = keys
            time.sleep(1.1)
        print(f"  node B up: warm-up read {keys:.0f} keys from Redis, settled within "
              f"{time.monotonic() - t0:.1f} s of start")

    def propagation(self):
        a, b = Http(self.ports["p_on"]), Http(self.ports["p_b"])
        polls_rtt = []

        def ask(conn, client):
            t = time.monotonic()
            _, h, _ = conn.get("/", {"True-Client-IP": client})
            now = time.monotonic()
            return h.get("x-server"), h.get("x-reason"), now, now - t

        def until_b(client, server, t_a, accept):
            polls = 0
            while True:
                s, reason, now, rtt = ask(b, client)
                polls += 1
                polls_rtt.append(rtt)
                if s == server and accept(reason):
                    return (now - t_a) * 1e3, polls
                if now - t_a > 5:
                    return None, polls

        # New pins: B has never seen these clients; it agrees only from A's pin in Redis.
        new_ms, first_poll, on_s3 = [], 0, []
        for i in range(self.args.probes):
            client = f"198.19.{i // 250}.{i % 250 + 1}"
            s, reason, t_a, _ = ask(a, client)
            assert reason == "new", (client, reason)
            ms, polls = until_b(client, s, t_a, lambda r: r != "new")
            if ms is None:
                print(f"  ! B never agreed on {client} within 5 s")
                continue
            new_ms.append(ms)
            first_poll += polls == 1
            if s == "s3":
                on_s3.append(client)
        print(f"  new pin on A -> B routes it the same way (B looks it up on its local miss): "
              f"n={len(new_ms)} p50 {pct(new_ms, .5):.2f} ms  p99 {pct(new_ms, .99):.2f} ms  "
              f"max {max(new_ms):.2f} ms; agreed at B's first request {first_poll}/{len(new_ms)}")
        # Moves: only A sees s3 in maintenance; B keeps routing to s3 until pub/sub brings A's move.
        if len(on_s3) < 2:
            print("  too few probe clients on s3 for the move measurement (raise --probes)")
            return
        sacrificial, probes = on_s3[0], on_s3[1:]
        runtime_api(self.sock1, "set server app/s3 state maint")
        wait_until(lambda: ask(a, sacrificial)[1] == "moved" or None, timeout=10, what="A seeing s3 in maintenance")
        move_ms = []
        for client in probes:
            s, reason, t_a, _ = ask(a, client)
            if reason != "moved":
                print(f"  ! A answered {reason} for {client}, expected moved")
                continue
            ms, _ = until_b(client, s, t_a, lambda r: True)
            if ms is None:
                print(f"  ! B never followed the move of {client} within 5 s")
                continue
            move_ms.append(ms)
        runtime_api(self.sock1, "set server app/s3 state ready")
        if move_ms:
            print(f"  move on A -> B follows it (pub/sub, B had the old pin): n={len(move_ms)} "
                  f"p50 {pct(move_ms, .5):.2f} ms  p99 {pct(move_ms, .99):.2f} ms  max {max(move_ms):.2f} ms")
        print(f"  (upper bounds: include B's HTTP round trip; one poll round trip = p50 "
              f"{pct(polls_rtt, .5) * 1e3:.2f} ms, p99 {pct(polls_rtt, .99) * 1e3:.2f} ms)")
        a.close()
        b.close()


def component_bench():
    exe = os.environ.get("STICKY_PROPAGATION_BENCH", os.path.join(
        os.path.dirname(AGENT_BIN), "..", "..", "tests", "unit", "store", "redis_propagation_bench"))
    if not os.path.exists(exe):
        print(f"  redis_propagation_bench not built ({exe}): skipped")
        return
    out = subprocess.run([exe, "1000", "100"], capture_output=True, text=True, timeout=120)
    print("  component level (redis_propagation_bench 1000 100: RedisClient A -> RedisSubscriber B):")
    for line in out.stdout.splitlines():
        print("    " + line)


def ttl_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not m:
        raise SystemExit(f"--ttl: expected <number>(ms|s|m|h), got {text!r}")
    return int(m.group(1)) * {"ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=4, help="length of one measured wrk run")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--clients", type=int, default=100_000, help="returning-client population")
    ap.add_argument("--new-rounds", type=int, default=3, help="alternating rounds of the new-clients pass")
    ap.add_argument("--probes", type=int, default=300, help="clients pinned through A for the propagation delay")
    ap.add_argument("--ttl", default="30m", help="pin TTL in both agents (refreshes: about 2 per pin per TTL)")
    args = ap.parse_args()
    ttl_seconds(args.ttl)
    t_start = time.monotonic()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"Redis sharing benchmark on {os.cpu_count()} cores, load average {load} at start: every process "
          "(wrk, HAProxy, 2-3 agents, redis-server) shares these cores, and the machine may be busy with other work.")
    print("HAProxy 1 thread, agents 1 thread each, wrk 1 thread; Redis on loopback; pin TTL " + args.ttl)
    with Stack(prefix="redis-share-bench-") as st:
        bench = Bench(st, args)
        bench.prefill()
        rate = bench.alternate(f"Returning clients (drawn at random from {args.clients})",
                               lambda rnd, e: {"STICKY_CLIENTS": str(args.clients)})
        # A window shorter than TTL/2 sees no TTL refresh: bound what the long run adds.
        half_ttl = ttl_seconds(args.ttl) / 2
        print(f"    long run: TTL refreshes add <= 1 PEXPIRE per active pin per TTL/2 = {args.clients} pins / "
              f"({rate:.0f} req/s x {half_ttl:.0f} s) = {args.clients / (rate * half_ttl):.4f} commands per request")
        rounds = args.rounds
        args.rounds = args.new_rounds
        # Fresh id ranges per run: 10M ids each, far above the prefilled ones.
        bench.alternate("New clients (every request a client never seen)",
                        lambda rnd, e: {"STICKY_SEQUENTIAL": "1",
                                        "STICKY_BASE": str(10_000_000 * (1 + 2 * rnd + MEASURED.index(e)))})
        args.rounds = rounds
        print("Propagation A -> B through Redis (second HAProxy + agent on the same redis-server)")
        bench.start_b()
        bench.propagation()
        component_bench()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"total wall time {time.monotonic() - t_start:.0f} s; load average at the end {load}")


if __name__ == "__main__":
    main()
