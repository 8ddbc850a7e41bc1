"""Node B cut off from Redis by a silent network partition (its own network namespace, a veth link whose
packets are all dropped): B keeps serving with its pins, and once the link returns both nodes converge on
the pins made on either side during the cut. Skipped where `ip netns` is not usable."""
import os
import shutil
import subprocess
import time
import unittest

import netns
from harness import (AGENT_BIN, CONF_DIR, HAPROXY_BIN, REDIS_BIN, Stack, free_port, runtime_api,
                     wait_port, wait_until)
from persist_stack import agent_config, start_persist, wait_reason
from shared_stack import (DecisionLog, Node, agent_metrics, ask as ask_on, count_keys as redis_count_existing,
                          haproxy_cfg_reporting_spoe_errors, redis_section)


def ask(host, port, tcip):
    return ask_on(port, tcip, host=host)

class RootNode(Node):
    """Node A: shared_stack.Node in the root namespace, with the SPOE error header."""
    host = "127.0.0.1"

    def __init__(self, *args, **kwargs):
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            if hasattr(self, "stack"):  # a half-started node: stop what did start
                self.stack.close()
            raise

    def start(self, agent_port=None):
        repl = [("poll_interval: 1s", "poll_interval: 200ms"),
                ("backends:\n", redis_section(self.redis_port, self.name) + "backends:\n")]
        self.agent, self.port, self.env = start_persist(
            self.stack, self.mode, replacements=repl, agent_port=agent_port,
            haproxy_cfg=haproxy_cfg_reporting_spoe_errors(self.stack))
        wait_reason(self.port, "/")


class NamespacedNode:
    """Node B: HAProxy + agent inside `ns`. The agent reaches Redis through `redis_link` only; test
    clients reach HAProxy (and the agent's metrics) through `client_link`, which the cut leaves alone."""

    def __init__(self, ns, redis_link, client_link, redis_port, test):
        self.name = "b"
        self.stack = Stack(prefix="sticky-b-ns-")
        test.addCleanup(self.stack.close)  # before anything starts: stopped even if set-up fails
        self.host = client_link.ns_addr
        # The test client arrives from the client link's root end: trust it as a CDN edge like 127/8.
        self.stack.write("akamai-edges.txt", f"127.0.0.0/8\n{client_link.root_addr}/32\n")
        section = redis_section(redis_port, "b").replace("127.0.0.1", redis_link.root_addr)
        cfg = agent_config(self.stack, "akamai", [("poll_interval: 1s", "poll_interval: 200ms"),
                                                  ("backends:\n", section + "backends:\n")])
        agent_port, self.port, self.metrics_port = free_port(), free_port(), free_port()
        self.agent = self.stack.start("agent", ns.argv([
            AGENT_BIN, "--listen", f"127.0.0.1:{agent_port}", "--threads", "2", "--config", cfg,
            "--metrics", f"{self.host}:{self.metrics_port}"]))
        env = {
            "STICKY_RUN_DIR": self.stack.dir,
            "STICKY_CONF_DIR": os.path.join(CONF_DIR, "akamai"),
            "STICKY_HTTP_BIND": f"{self.host}:{self.port}",
            "STICKY_AGENT_ADDR": f"127.0.0.1:{agent_port}",
            **{f"STICKY_S{i}_ADDR": f"127.0.0.1:{free_port()}" for i in (1, 2, 3)},
        }
        haproxy_cfg = haproxy_cfg_reporting_spoe_errors(self.stack)
        check = subprocess.run(ns.argv([HAPROXY_BIN, "-c", "-f", haproxy_cfg]), capture_output=True, text=True,
                               env={**os.environ, **env}, timeout=20)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c failed:\n{check.stdout}{check.stderr}")
        self.haproxy = self.stack.start("haproxy", ns.argv([HAPROXY_BIN, "-f", haproxy_cfg, "-db"]), env)
        wait_port(self.port, host=self.host)
        wait_port(self.metrics_port, host=self.host)
        wait_until(lambda: ask(self.host, self.port, "192.0.2.200")[2], timeout=15, what="B's agent deciding")

    def metrics(self):
        return agent_metrics(self.metrics_port, host=self.host)


class PartitionedNode(DecisionLog, unittest.TestCase):
    def setUp(self):
        if not shutil.which("redis-cli"):
            self.skipTest("redis-cli (redis-tools) is not installed")
        reason = netns.unavailable_reason()
        if reason:
            self.skipTest(f"network namespaces not usable: {reason}")
        self.ns = netns.Namespace("part")
        self.addCleanup(self.ns.close)  # cleanups run last-in first-out: the namespace goes last
        self.redis_link = self.ns.add_link()
        self.client_link = self.ns.add_link()
        self.redis_stack = Stack(prefix="sticky-redis-")
        self.addCleanup(self.redis_stack.close)
        port = free_port()
        self.redis = self.redis_stack.start("redis", [
            REDIS_BIN, "--port", str(port), "--bind", "127.0.0.1", self.redis_link.root_addr,
            "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", self.redis_stack.dir])
        self.redis.port = port
        wait_port(port)
        self.a = RootNode("a", "akamai", port)
        self.addCleanup(self.a.close)
        self.b = NamespacedNode(self.ns, self.redis_link, self.client_link, port, self)
        self.start_decision_log()

    def drain(self, node, server):
        runtime_api(node.stack.path("haproxy.sock"), f"set server app/{server} state drain")
        n = iter(range(10**6))
        wait_until(lambda: all(ask(node.host, node.port, f"10.251.{i // 250}.{i % 250}")[1] != server
                               for i in (next(n) for _ in range(20))), timeout=10, what=f"no new client on {server}")

    def make_nodes_disagree(self):
        # Drained servers keep their pinned clients but get no new ones: A never places a new client on
        # s1, B never on s3, so each node's own choices differ and only Redis can make them agree.
        self.drain(self.a, "s1")
        self.drain(self.b, "s3")

    def test_b_cut_off_from_redis_keeps_serving_and_converges_when_the_link_returns(self):
        a, b = self.a, self.b
        self.make_nodes_disagree()
        before_a = {f"198.18.20.{i}": self.pin(a, f"198.18.20.{i}") for i in range(1, 31)}
        before_b = {f"198.18.21.{i}": self.pin(b, f"198.18.21.{i}") for i in range(1, 31)}
        # Each node is asked about the other's pins only once they are in Redis: asked earlier, it could
        # (lookup past its deadline on a loaded machine) place the client itself and win the SET NX
        # race, and the first node would adopt that pin (the documented first-writer-wins rule).
        wait_until(lambda: redis_count_existing(self.redis.port, {**before_a, **before_b}) == 60, timeout=10,
                   what="the pins written to Redis")
        wait_until(lambda: self.serves_all(b, before_a), timeout=5, what="B serving A's pins")
        wait_until(lambda: self.serves_all(a, before_b), timeout=5, what="A serving B's pins")

        m0 = b.metrics()
        self.redis_link.cut()
        self.event_at = time.monotonic()
        requests_at_cut = self.requests
        during_b = {f"198.18.22.{i}": self.pin(b, f"198.18.22.{i}") for i in range(1, 31)}
        during_a = {f"198.18.23.{i}": self.pin(a, f"198.18.23.{i}") for i in range(1, 31)}
        self.assertNotIn("s3", during_b.values())
        self.assertIn("s1", during_b.values(), "B placed its own new clients (on s1, which A avoids)")
        self.assertNotIn("s1", during_a.values())
        self.assertIn("s3", during_a.values(), "A placed its own new clients (on s3, which B avoids)")
        # A's pins made now are not required on B (B cannot hear of them): B is not asked about them.

        # B under steady traffic while cut off: every request a 200, every pin held, until B's agent
        # has noticed (link dropped by stall detection, the new pins queued) and at least 4 s have
        # passed. Bounded by count and time.
        held = {**before_a, **before_b, **during_b}
        noticed, rounds = False, 0
        while time.monotonic() - self.event_at < 20 and rounds < 60:
            rounds += 1
            for c, s in held.items():
                server = self.on(b, c)
                if server is not None:
                    self.assertEqual(server, s, f"B moved {c} while cut off from Redis")
            m = b.metrics()
            noticed = (m["sticky_redis_disconnects_total"] > m0["sticky_redis_disconnects_total"] and
                       m["sticky_redis_queued_total"] >= m0["sticky_redis_queued_total"] + len(during_b))
            if noticed and time.monotonic() - self.event_at >= 4:
                break
        partition_s = time.monotonic() - self.event_at
        during_requests = self.requests - requests_at_cut
        self.assertTrue(noticed, f"B's agent did not notice the silent partition in {partition_s:.1f}s: {m}")
        dropped = self.redis_link.dropped_packets()
        self.assertGreater(dropped, 0, "the cut dropped nothing: not a partition")
        self.assertEqual(redis_count_existing(self.redis.port, during_b), 0,
                         "B's partition-time pins reached Redis through the cut")

        self.redis_link.restore()
        healed_at = time.monotonic()
        # B's queued pins land first (for the reason given above: asked earlier, A could win the race).
        wait_until(lambda: redis_count_existing(self.redis.port, during_b) == len(during_b), timeout=20,
                   what="B's queued pins written to Redis after the link returned")
        flushed_s = time.monotonic() - healed_at
        self.assertEqual(redis_count_existing(self.redis.port, during_a), len(during_a))  # A kept writing
        wait_until(lambda: self.serves_all(b, during_a), timeout=20, what="B serving A's partition-time pins")
        wait_until(lambda: self.serves_all(a, during_b), timeout=20, what="A serving B's partition-time pins")
        converged_s = time.monotonic() - healed_at
        for c, s in {**before_a, **before_b}.items():
            for node in (a, b):
                server = self.on(node, c)
                self.assertIn(server, (s, None), f"{node.name} {c}")
        self.assertLessEqual(len(self.undecided), max(2, self.requests // 100),
                             f"too many answers without the agent: {self.undecided}")
        print(f"\n  partition {partition_s:.1f}s, {during_requests} requests during it (all 200, pins held); "
              f"B's queue flushed {flushed_s:.1f}s and both nodes converged {converged_s:.1f}s after the link "
              f"returned; {dropped} packets dropped by the cut; SPOE timeouts: {self.undecided}")

    def test_client_met_on_both_sides_of_the_cut_ends_on_the_pin_that_reached_redis_first(self):
        a, b = self.a, self.b
        self.make_nodes_disagree()
        self.redis_link.cut()
        self.event_at = time.monotonic()
        # The same new clients on both sides: A's pins reach Redis at once, B's wait in its queue.
        clients = [f"198.18.24.{i}" for i in range(1, 31)]
        on_a = {c: self.pin(a, c) for c in clients}
        time.sleep(1.1)  # B meets them a moment later than A (the table keeps whole-second timestamps)
        on_b = {c: self.pin(b, c) for c in clients}
        split = [c for c in clients if on_a[c] != on_b[c]]
        self.assertTrue(split, "the nodes placed every client alike: nothing to reconcile")
        self.assertEqual(redis_count_existing(self.redis.port, clients), len(clients))
        m0 = b.metrics()
        time.sleep(1.5)  # past B's stall timeout (1 s): its link is dropped and the writes queued
        self.redis_link.restore()
        # B's queued SET NX all lose to A's keys (sticky_redis_conflicts_total); each loser adopts the
        # winner (redis/README.md: "on NX loss GET k -> caller adopts winner"), so both nodes end on A's pin.
        wait_until(lambda: b.metrics()["sticky_redis_conflicts_total"] - m0["sticky_redis_conflicts_total"]
                   >= len(clients), timeout=20, what="B's queued pins meeting A's in Redis")
        # A request HAProxy had to route without the agent (its 50 ms SPOE timeout, possible on a
        # loaded machine while B reconnects and flushes) is served where HAProxy chose, and the
        # agent follows that (a move, written to Redis): such a client legitimately leaves the
        # winner, and then both nodes must agree on where it went.
        followed = set()

        def b_serves_the_winners():
            for c, s in on_a.items():
                if c in followed:
                    continue
                got = self.on(b, c)  # records the answers given without the agent
                if got is None:
                    followed.add(c)
                elif got != s:
                    return False
            return True
        # Each of B's workers has its own link, reconnecting with its own backoff (up to 5 s): the
        # last one may flush its queue seconds after the first (and the conflicts count above can
        # be reached early: metrics are published once a second). Wait for all of them.
        wait_until(lambda: b.metrics().get("sticky_redis_queue_depth", 1) == 0, timeout=20,
                   what="B's queues written out")
        try:
            wait_until(b_serves_the_winners, timeout=10, what="B serving the pins that won in Redis")
        except TimeoutError:
            wrong = {c: (on_a[c], ask(b.host, b.port, c)[1], ask(a.host, a.port, c)[1], on_b[c])
                     for c in clients if c not in followed}
            wrong = {c: v for c, v in wrong.items() if v[0] != v[1]}
            self.fail(f"B does not serve the winner for {len(wrong)} of {len(split)} split clients (client: "
                      f"(A's pin, B now, A now, B's pin during the cut)): {wrong}; routed without the agent: "
                      f"{followed}; B's Redis counters since the cut: "
                      f"{ {k: v - m0.get(k, 0) for k, v in b.metrics().items() if k.startswith('sticky_redis_')} }")
        self.assertLessEqual(len(followed), max(3, len(clients) // 5), f"too many SPOE timeouts: {self.undecided}")
        self.assertTrue(self.serves_all(a, {c: s for c, s in on_a.items() if c not in followed}))
        def agree(c):
            on_a_now, on_b_now = self.on(a, c), self.on(b, c)
            return on_a_now is not None and on_a_now == on_b_now
        wait_until(lambda: all(agree(c) for c in followed), timeout=10,
                   what=f"both nodes agreeing on the clients routed without the agent: {followed}")

    def test_client_moved_on_both_sides_of_the_cut_ends_on_one_server(self):
        a, b = self.a, self.b
        self.make_nodes_disagree()  # A places no new client on s1, B none on s3
        clients = [f"198.18.26.{i}" for i in range(1, 41)]
        pins = {c: self.pin(a, c) for c in clients}
        wait_until(lambda: redis_count_existing(self.redis.port, pins) == len(pins), timeout=10,
                   what="A's pins written to Redis")
        wait_until(lambda: self.serves_all(b, pins), timeout=5, what="B serving A's pins")
        movers = [c for c, s in pins.items() if s == "s2"]
        self.assertGreater(len(movers), 3, pins)
        m0 = b.metrics()
        self.redis_link.cut()
        self.event_at = time.monotonic()
        # s2 goes away on both sides while they cannot talk: each node moves s2's clients by itself,
        # A to s3 (s1 drained there), B to s1 (s3 drained there). Both moves are version 2.
        for node in (a, b):
            runtime_api(node.stack.path("haproxy.sock"), "set server app/s2 state maint")

        def moved_to(node, c):
            server = self.on(node, c)
            return server if server not in (None, "s2") else None
        on_a = {c: wait_until(lambda: moved_to(a, c), timeout=5, what=f"A moving {c}") for c in movers}
        on_b = {c: wait_until(lambda: moved_to(b, c), timeout=5, what=f"B moving {c}") for c in movers}
        self.assertEqual(set(on_a.values()), {"s3"})
        self.assertEqual(set(on_b.values()), {"s1"})
        time.sleep(1.5)  # past B's stall timeout: its moves wait in its outage queue
        self.redis_link.restore()
        # B's queued moves meet A's moves of the same version in Redis: they must not overwrite them
        # (sticky_redis_moves_superseded_total); B adopts A's, and both nodes end on one server.
        wait_until(lambda: b.metrics()["sticky_redis_moves_superseded_total"] -
                   m0.get("sticky_redis_moves_superseded_total", 0) >= len(movers), timeout=20,
                   what="B's queued moves meeting A's in Redis")
        wait_until(lambda: self.serves_all(b, on_a), timeout=5, what="B serving the moves that reached Redis first")
        self.assertTrue(self.serves_all(a, on_a))
        print(f"\n  {len(movers)} clients moved on both sides of the cut (A: s3, B: s1); after the link returned "
              f"both serve s3; SPOE timeouts: {self.undecided}")


if __name__ == "__main__":
    unittest.main()
