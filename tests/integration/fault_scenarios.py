"""Faults under steady load (issue 12), shared by the ctests (test_faults_reload.py,
test_faults_redis.py, test_faults_backend.py: short runs, invariants asserted) and the bench
(tests/bench/faults/fault_suite.py: longer runs, figures printed).

Each scenario starts its own stack (the shipped haproxy-conf/akamai configs, HAPROXY_BIN, the
agent with /metrics, Redis where it matters), runs steady_load.Load through HAProxy, causes one
fault, and returns a dict of what happened: every request's outcome, latency windows before /
during / after the fault, the counters that moved, and what the fault itself did (old process
exit, engine ids, pins moved). Nothing here asserts; the callers do.

Every process is on 127.0.0.1 and stopped when the scenario ends; every wait is bounded."""
import os
import re
import signal
import subprocess
import sys
import time

import steady_load
from harness import (CONF_DIR, HAPROXY_BIN, Stack, agent_metrics, free_port, runtime_api, wait_port,
                     wait_until)
from persist_stack import ERR_HEADER, start_persist, wait_reason, with_l7_retries
from shared_stack import redis_cli, redis_section, start_redis_conf

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_RE = re.compile(r'^sticky_haproxy_engine_connections\{engine_id="([^"]*)"\}$')
REDIS_COUNTERS = ("lookups", "lookup_hits", "lookup_timeouts", "lookup_unavailable", "timeouts", "stalls",
                  "disconnects", "connects", "queued", "flushed", "dropped", "conflicts")


def engines(metrics):
    """{engine id: connections} of the HAProxy engines connected to the agent."""
    out = {}
    for key, v in metrics.items():
        m = ENGINE_RE.match(key)
        if m and v > 0:
            out[m.group(1)] = int(v)
    return out


def haproxy_version():
    return subprocess.run([HAPROXY_BIN, "-v"], capture_output=True, text=True).stdout.split("\n")[0]


def counter_deltas(m0, m1, names, prefix="sticky_redis_"):
    return {n: m1.get(f"{prefix}{n}_total", 0) - m0.get(f"{prefix}{n}_total", 0) for n in names}


def summarize(records, fault_at, fault_end, retried):
    """The common part of every result: outcomes and latency windows around the fault."""
    before = steady_load.window_latency(records, 0, fault_at)
    during = steady_load.window_latency(records, fault_at, fault_end)
    after = steady_load.window_latency(records, fault_end, float("inf"))
    fails = steady_load.failed(records)
    return {
        "haproxy": haproxy_version(), "requests": len(records), "failed": len(fails),
        "failures": sorted({r[2] for r in fails})[:5], "retried_on_new_connection": retried,
        "undecided": steady_load.undecided(records),
        "decided_during": sum(1 for r in records if fault_at <= r[0] < fault_end and r[5]),
        "latency_ms": {"before": before, "during": during, "after": after},
        "added_p99_ms": round(during[2] - before[1], 2) if during[0] else None,
    }


def after_fault(load, agent, fault_at, fault_end, post, redis_counters=False):
    """`post` more seconds of load, then its summary and the agent's metrics. With
    `redis_counters`, a second's wait first: the workers publish those about once a second."""
    time.sleep(post)
    records = load.finish()
    if redis_counters:
        time.sleep(1.2)
    return summarize(records, fault_at, fault_end, load.retried), agent_metrics(agent.metrics_port)


# Answers HAProxy may give alone after the 50 ms processing timeout (a loaded box): a share of them.
LATE_SHARE = 0.02


def check_served(test, r):
    """What every fault under load must keep: the agent up, enough load, no failed request, and no
    answer without the agent except a few late ones. Prints the result for the run's log."""
    sys.stderr.write(f"\nFAULT {r['fault']}: {r}\n")
    test.assertTrue(r["agent_alive"])
    test.assertGreater(r["requests"], 300)
    test.assertEqual(r["failed"], 0, r["failures"])
    test.assertLessEqual(set(r["undecided"]), {"1"}, "answers without the agent other than its late ones")
    test.assertLessEqual(sum(r["undecided"].values()), max(3, r["requests"] * LATE_SHARE))


def mixed_load(port, threads, rate, duration):
    """Half the threads ever-new clients (every request a local miss: a Redis lookup), half a
    returning set of 32 (pinned, table hits)."""
    fresh, back = steady_load.ever_new(), steady_load.returning(32)
    return steady_load.Load(port, threads=threads, rate=rate, duration=duration,
                            client_of=lambda t, n: fresh(t, n) if t % 2 else back(t, n))


def akamai_node(stack, redis_port=None, haproxy_args=(), haproxy_cfg="haproxy.cfg", extra_env=None,
                agent_replacements=()):
    """Agent (with /metrics) + HAProxy for haproxy-conf/akamai, loopback trusted as the CDN edge."""
    stack.write("akamai-edges.txt", "127.0.0.0/8\n")
    metrics_port = free_port()
    repl = [("poll_interval: 1s", "poll_interval: 200ms"), *agent_replacements]
    if redis_port:
        repl.append(("backends:\n", redis_section(redis_port, "a") + "backends:\n"))
    agent, port, env = start_persist(stack, "akamai", agent_args=("--metrics", f"127.0.0.1:{metrics_port}"),
                                     replacements=repl, haproxy_args=haproxy_args, haproxy_cfg=haproxy_cfg,
                                     extra_env=extra_env)
    agent.metrics_port = metrics_port
    wait_reason(port, headers={"True-Client-IP": "198.51.100.250"})
    return agent, port, env


def proc_named(stack, name):
    return next(p for p in stack.procs if p.name == name)


def children(pid):
    """Pids whose parent is `pid` (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- HAProxy graceful reload ------------------------------------------------------------------

def haproxy_reload(mode="sf", pre=3.0, post=4.0, rate=100.0, threads=4):
    """mode "sf": a new HAProxy with -sf <old pid>; "usr2": master-worker (-W) reloaded by SIGUSR2.
    The old process (or worker) must finish and exit, and its SPOE engine leave the agent."""
    with Stack(prefix=f"sticky-reload-{mode}-") as stack:
        agent, port, _ = akamai_node(stack, haproxy_args=("-W",) if mode == "usr2" else ())
        old = proc_named(stack, "haproxy")
        old_workers = children(old.pid) if mode == "usr2" else [old.pid]
        wait_until(lambda: engines(agent_metrics(agent.metrics_port)), timeout=10, what="HAProxy's engine")
        load = steady_load.Load(port, threads=threads, rate=rate, duration=pre + post + 30)
        time.sleep(pre)
        engines_before = engines(agent_metrics(agent.metrics_port))
        fault_at = time.monotonic()
        if mode == "sf":
            new = stack.start("haproxy-new", [HAPROXY_BIN, "-f", old.cfg, "-db", "-sf", str(old.pid)], old.env)
        else:
            os.kill(old.pid, signal.SIGUSR2)
            new = old
        old_exit = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(p) for p in old_workers):
            time.sleep(0.05)
        if not any(alive(p) for p in old_workers):
            old_exit = time.monotonic() - fault_at
        old_code = old.p.wait(5) if mode == "sf" and old_exit is not None else None
        drained = None
        while time.monotonic() < deadline:
            now = engines(agent_metrics(agent.metrics_port))
            if now and not set(now) & set(engines_before):
                drained = time.monotonic() - fault_at
                break
            time.sleep(0.1)
        fault_end = time.monotonic()
        time.sleep(post)
        records = load.finish()
        m = agent_metrics(agent.metrics_port)
        result = summarize(records, fault_at, fault_end, load.retried)
        result.update({
            "fault": "reload -sf" if mode == "sf" else "master-worker USR2",
            "old_process_exit_s": round(old_exit, 2) if old_exit is not None else None, "old_exit_code": old_code,
            "old_engine_gone_s": round(drained, 2) if drained is not None else None,
            "engines_before": engines_before, "engines_after": engines(m),
            "new_alive": new.alive(), "decided_after": sum(1 for r in records if r[0] > fault_end and r[5]),
            "agent_alive": agent.alive(),
        })
        return result


# -- the agent's own hot reload ---------------------------------------------------------------

def agent_reload(pre=3.0, post=4.0, rate=100.0, threads=4, reloads=10, every=0.2):
    """`reloads` SIGHUPs to the agent, `every` s apart, each with a changed TTL (a new generation of
    engines each time), under load from returning clients: nothing may fail, pins must hold."""
    with Stack(prefix="sticky-agent-reload-") as stack:
        agent, port, _ = akamai_node(stack)
        path = stack.path("sticky-agent.yaml")
        with open(path) as f:
            text = f.read()
        assert "    ttl: 30m\n" in text
        load = steady_load.Load(port, threads=threads, rate=rate, duration=pre + post + 30,
                                client_of=steady_load.returning(64))
        time.sleep(pre)
        m0 = agent_metrics(agent.metrics_port)
        fault_at = time.monotonic()
        for i in range(reloads):
            stack.write("sticky-agent.yaml", text.replace("    ttl: 30m\n", f"    ttl: {30 + i % 2}m\n"))
            os.kill(agent.pid, signal.SIGHUP)
            time.sleep(every)
        applied = 'sticky_config_reloads_total{outcome="applied"}'
        wait_until(lambda: agent_metrics(agent.metrics_port).get(applied, 0) >= reloads, timeout=10,
                   what="every reload applied")
        fault_end = time.monotonic()
        result, m1 = after_fault(load, agent, fault_at, fault_end, post)
        moved = m1.get('sticky_persist_decisions_total{reason="moved"}', 0) - \
            m0.get('sticky_persist_decisions_total{reason="moved"}', 0)
        result.update({
            "fault": f"agent hot reload x{reloads}, every {every} s", "reloads_applied": m1.get(applied, 0),
            "generation": m1.get("sticky_config_generation"), "pins_moved": moved,
            "table_entries": m1.get("sticky_table_entries"), "agent_alive": agent.alive(),
        })
        return result


def redis_switch(pre=3.0, post=4.0, rate=100.0, threads=4):
    """The agent reloaded (SIGHUP) with another Redis address under load, half ever-new clients (a
    Redis lookup each), half returning: every worker connects to the new Redis before it leaves the
    old one. Nothing may fail or move; the new clients after the switch are in the new Redis."""
    with Stack(prefix="sticky-redis-switch-") as rstack, Stack(prefix="sticky-node-switch-") as stack:
        old = rstack.start_redis("redis-old")
        agent, port, _ = akamai_node(stack, redis_port=old.port)
        new = rstack.start_redis("redis-new")
        path = stack.path("sticky-agent.yaml")
        with open(path) as f:
            text = f.read()
        assert f"address: 127.0.0.1:{old.port}\n" in text
        load = mixed_load(port, threads, rate, duration=pre + post + 30)
        time.sleep(pre)
        m0 = agent_metrics(agent.metrics_port)
        fault_at = time.monotonic()
        stack.write("sticky-agent.yaml", text.replace(f"address: 127.0.0.1:{old.port}\n",
                                                      f"address: 127.0.0.1:{new.port}\n"))
        os.kill(agent.pid, signal.SIGHUP)

        def agent_links(p):
            return sum(1 for line in redis_cli(p, "CLIENT", "LIST").splitlines() if "cmd=client" not in line)
        wait_until(lambda: agent_links(old.port) == 0 and agent_links(new.port) > 0, timeout=10,
                   what="every connection moved to the new Redis")
        fault_end = time.monotonic()
        result, m1 = after_fault(load, agent, fault_at, fault_end, post, redis_counters=True)
        moved = m1.get('sticky_persist_decisions_total{reason="moved"}', 0) - \
            m0.get('sticky_persist_decisions_total{reason="moved"}', 0)
        result.update({
            "fault": "agent reloaded with another Redis address", "switch_s": round(fault_end - fault_at, 2),
            "pins_moved": moved, "settings_pending_end": m1.get("sticky_redis_settings_pending"),
            "redis": counter_deltas(m0, m1, REDIS_COUNTERS), "queue_depth_end": m1.get("sticky_redis_queue_depth"),
            "keys_old_new": [int(redis_cli(old.port, "DBSIZE") or -1), int(redis_cli(new.port, "DBSIZE") or -1)],
            "agent_alive": agent.alive(),
        })
        return result


# -- Redis faults -----------------------------------------------------------------------------

def redis_fault(kind="kill", pre=3.0, post=4.0, down=2.0, rate=100.0, threads=4):
    """kind "kill": SIGKILL, restarted empty on the same port `down` s later; "sleep": DEBUG SLEEP
    `down` (Redis alive but answering nothing). Half the load are ever-new clients (every request
    a local miss: a Redis lookup within the 20 ms lookup deadline), half a returning set."""
    with Stack(prefix=f"sticky-redis-{kind}-") as rstack, Stack(prefix=f"sticky-node-{kind}-") as stack:
        redis = rstack.start_redis(extra=("--enable-debug-command", "local"))
        agent, port, _ = akamai_node(stack, redis_port=redis.port)
        load = mixed_load(port, threads, rate, duration=pre + post + down + 30)
        time.sleep(pre)
        m0 = agent_metrics(agent.metrics_port)
        fault_at = time.monotonic()
        if kind == "kill":
            redis.p.kill()
            redis.p.wait(5)
            time.sleep(down)
            redis = rstack.start_redis(name="redis-restarted", port=redis.port,
                                       extra=("--enable-debug-command", "local"))
        else:
            sleeper = subprocess.Popen(["redis-cli", "-p", str(redis.port), "DEBUG", "SLEEP", str(down)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sleeper.wait(down + 10)
        fault_end = time.monotonic()
        # Back to normal: connected again, the outage queue written out.
        recovered = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = agent_metrics(agent.metrics_port)
            if m.get("sticky_redis_queue_depth", 1) == 0 and m.get("sticky_redis_connects_total", 0) >= 1 and (
                    kind != "kill" or m["sticky_redis_connects_total"] > m0["sticky_redis_connects_total"]):
                recovered = time.monotonic() - fault_end
                break
            time.sleep(0.1)
        result, m1 = after_fault(load, agent, fault_at, fault_end, post, redis_counters=True)
        keys = int(redis_cli(redis.port, "DBSIZE") or -1)
        result.update({
            "fault": f"Redis kill -9, restarted after {down:g} s" if kind == "kill" else f"Redis DEBUG SLEEP {down:g}",
            "recovered_s": round(recovered, 2) if recovered is not None else None,
            "redis": counter_deltas(m0, m1, REDIS_COUNTERS), "queue_depth_end": m1.get("sticky_redis_queue_depth"),
            "keys_in_redis_end": keys, "agent_alive": agent.alive(),
            "degraded": sum(counter_deltas(m0, m1, ("lookup_timeouts", "lookup_unavailable")).values()),
        })
        return result


# -- Sentinel failover --------------------------------------------------------------------------

def sentinel_failover(pre=3.0, post=4.0, rate=100.0, threads=4, master_name="sticky-fault"):
    """A master + replica + one sentinel (quorum 1, down-after 1 s); the agent finds the master
    through the sentinel. The master is SIGKILLed under load: decisions keep flowing (local, the
    lookups counted as degraded) until the sentinel promotes the replica and the agent follows."""
    with Stack(prefix="sticky-sentinel-fault-") as rstack, Stack(prefix="sticky-node-sentinel-") as stack:
        data = "save \"\"\nappendonly no\nrepl-diskless-sync-delay 0\n"
        master = start_redis_conf(rstack, "master", data)
        replica = start_redis_conf(rstack, "replica", data + f"replicaof 127.0.0.1 {master.port}\n")
        wait_until(lambda: "master_link_status:up" in redis_cli(replica.port, "INFO", "replication"),
                   timeout=10, what="replica in sync")
        sentinel = start_redis_conf(rstack, "sentinel", (
            f"sentinel monitor {master_name} 127.0.0.1 {master.port} 1\n"
            f"sentinel down-after-milliseconds {master_name} 1000\n"
            f"sentinel failover-timeout {master_name} 3000\n"), sentinel=True)
        wait_until(lambda: str(replica.port) in redis_cli(sentinel.port, "SENTINEL", "REPLICAS", master_name),
                   timeout=10, what="sentinel discovering the replica")
        section = redis_section(0, "a").replace(
            "  address: 127.0.0.1:0\n", f'  sentinels: ["127.0.0.1:{sentinel.port}"]\n  master_name: {master_name}\n')
        agent, port, _ = akamai_node(stack, agent_replacements=(("backends:\n", section + "backends:\n"),))
        load = mixed_load(port, threads, rate, duration=pre + post + 40)
        time.sleep(pre)
        m0 = agent_metrics(agent.metrics_port)
        fault_at = time.monotonic()
        master.p.kill()
        master.p.wait(5)
        promoted = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = redis_cli(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_name).split()
            if len(out) == 2 and out[1] == str(replica.port):
                promoted = time.monotonic() - fault_at
                break
            time.sleep(0.05)
        # The agent on the new master: connected again after the fault, its outage queue written out.
        followed = None
        while time.monotonic() < deadline:
            m = agent_metrics(agent.metrics_port)
            if m.get("sticky_redis_connects_total", 0) > m0.get("sticky_redis_connects_total", 0) and \
                    m.get("sticky_redis_queue_depth", 1) == 0:
                followed = time.monotonic() - fault_at
                break
            time.sleep(0.1)
        fault_end = time.monotonic()
        result, m1 = after_fault(load, agent, fault_at, fault_end, post, redis_counters=True)
        result.update({
            "fault": "Sentinel failover (master kill -9)",
            "replica_promoted_s": round(promoted, 2) if promoted is not None else None,
            "agent_on_new_master_s": round(followed, 2) if followed is not None else None,
            "redis": counter_deltas(m0, m1, REDIS_COUNTERS), "queue_depth_end": m1.get("sticky_redis_queue_depth"),
            "keys_on_new_master": int(redis_cli(replica.port, "DBSIZE") or -1), "agent_alive": agent.alive(),
            "degraded": sum(counter_deltas(m0, m1, ("lookup_timeouts", "lookup_unavailable")).values()),
        })
        return result


# -- a backend server killed ----------------------------------------------------------------------

def backend_cfg(stack):
    """The shipped akamai haproxy.cfg with the application servers as processes of their own
    (tiny_backend.py) instead of HAProxy's demo listeners, so one can be killed, and with the L7
    retry opt-in its comment describes (`retry-on ... empty-response` for GETs): it resends a
    request that was in flight on the killed server, which is otherwise a 502 whatever the agent
    does (the shipped policy retries failed connects only, for the opt-in's cost)."""
    with open(os.path.join(CONF_DIR, "akamai", "haproxy.cfg")) as f:
        text = f.read()
    text = text.split("\nlisten demo_s1")[0] + "\n"
    text = with_l7_retries(text)
    text = text.replace("    option redispatch\n", ERR_HEADER + "    option redispatch\n")
    return stack.write("haproxy-backends.cfg", text)


def backend_kill(pre=3.0, post=5.0, rate=100.0, threads=4, clients=96, victim="s1"):
    """Kills one application server (SIGKILL) under load from a returning set of clients: its
    clients must move, everyone else's pin must stay."""
    with Stack(prefix="sticky-backend-kill-") as stack:
        addrs = {f"s{i}": f"127.0.0.1:{free_port()}" for i in (1, 2, 3)}
        servers = {name: stack.start(f"backend-{name}", [sys.executable, os.path.join(HERE, "tiny_backend.py"), a, name])
                   for name, a in addrs.items()}
        for a in addrs.values():
            wait_port(int(a.rsplit(":", 1)[1]))
        env = {f"STICKY_{n.upper()}_ADDR": a for n, a in addrs.items()}
        agent, port, _ = akamai_node(stack, haproxy_cfg=backend_cfg(stack), extra_env=env)
        load = steady_load.Load(port, threads=threads, rate=rate, duration=pre + post + 30,
                                client_of=steady_load.returning(clients))
        time.sleep(pre)
        fault_at = time.monotonic()
        pins_before = {}
        for r in load.snapshot():
            if r[5] and r[4]:  # decided by the agent: the client's pin
                pins_before[r[3]] = r[4]
        servers[victim].p.kill()
        servers[victim].p.wait(5)
        down_at = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            state = runtime_api(stack.path("haproxy.sock"), "show servers state app")
            if any(line.split()[3] == victim and line.split()[5] == "0" for line in state.splitlines()
                   if len(line.split()) > 5 and not line.startswith("#")):
                down_at = time.monotonic() - fault_at
                break
            time.sleep(0.05)
        fault_end = time.monotonic()
        time.sleep(post)
        records = load.finish()
        result = summarize(records, fault_at, fault_end, load.retried)
        # Every client's servers after the kill, in order, from the answers HAProxy sent back.
        after = {}
        for r in records:
            if r[0] > fault_at and r[2] == "ok" and r[4]:
                after.setdefault(r[3], []).append(r[4])
        victims = [c for c, s in pins_before.items() if s == victim]
        others = [c for c, s in pins_before.items() if s != victim]
        moved_ok = [c for c in victims if c in after and after[c][-1] != victim]
        others_changed = {c: (pins_before[c], sorted(set(after.get(c, [])))) for c in others
                          if any(s != pins_before[c] for s in after.get(c, []))}
        result.update({
            "fault": f"backend {victim} killed", "marked_down_s": round(down_at, 2) if down_at else None,
            "clients": len(pins_before), "on_victim": len(victims), "victims_moved": len(moved_ok),
            "victims_not_moved": sorted(set(victims) - set(moved_ok)),
            "victims_final": sorted({after[c][-1] for c in moved_ok}),
            "others": len(others), "others_changed": others_changed,
            # Sent to the dead server, a request waits out HAProxy's retries (1 s turn-around each)
            # before the redispatch: once HAProxy has marked it DOWN and the agent has seen that,
            # no request should take that long any more.
            "slow_after_down": sum(1 for r in records if down_at and r[0] > fault_at + down_at + 1.0 and r[1] > 0.5),
            "agent_alive": agent.alive(),
        })
        return result
