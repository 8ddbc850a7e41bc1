"""The fast path (haproxy-conf/akamai/haproxy-fast.cfg): HAProxy keeps the agent's True-Client-IP
pins in its own stick table (backend app) and sends a request to the agent (backend app_ask) only
on a miss or when a pin is due for confirmation. What the agent no longer sees on every request
must still work: servers going into maintenance, pins shared through Redis, restarts of HAProxy and
of the agent. Runs on whichever HAProxy HAPROXY_BIN names (2.6 and 3.x in the test command)."""
import os
import time
import unittest

from harness import CONF_DIR, Stack, free_port, runtime_api, wait_until
from persist_stack import message_counts, metric, start_persist
from shared_stack import EDGES, ask, redis_section

CONFIRM_S = 5  # the tests' confirmation interval (longer than a settled counter read); shipped: 60 s
SHIPPED_CONFIRM = "table_gpt0(app),add(60)"


def fast_haproxy_cfg(stack):
    """haproxy-fast.cfg as shipped, with a short confirmation interval, the SPOE error code in a
    response header (so an answer HAProxy gave without the agent says why), and `cached` as the
    reason of an answer from the table (the shipped hit path sets no header: it costs per request)."""
    with open(os.path.join(CONF_DIR, "akamai", "haproxy-fast.cfg")) as f:
        text = f.read()
    assert SHIPPED_CONFIRM in text, "the confirmation interval moved: update this test"
    text = text.replace(SHIPPED_CONFIRM, f"table_gpt0(app),add({CONFIRM_S})")
    anchor = "    option redispatch\n"
    header = "    http-response set-header X-Sticky-Err %[var(txn.stk.err)] if { var(txn.stk.err) -m found }\n"
    text = text.replace(anchor, header + anchor)
    hit = "    stick match var(txn.stk_fid)\n"  # backend app's (app_ask's names its table)
    assert text.count(hit) == 1, "the hit path moved: update this test"
    text = text.replace(hit, hit + "    http-response set-header X-Sticky-Reason cached\n")
    return stack.write("haproxy-fast.cfg", text)


class FastNode:
    """HAProxy with the fast path + its agent, optionally sharing pins through Redis."""

    def __init__(self, name, redis_port=None, clear_tables=True):
        self.name = name
        self.stack = Stack(prefix=f"sticky-fast-{name}-")
        self.stack.write("akamai-edges.txt", EDGES)
        repl = [("poll_interval: 1s", "poll_interval: 200ms")]
        if redis_port:
            repl.append(("backends:\n", redis_section(redis_port, name) + "backends:\n"))
        if clear_tables:
            repl.append(("    identity: [true_client_ip, source]\n",
                         "    identity: [true_client_ip, source]\n    haproxy_table: app\n"))
        self.metrics_port = free_port()
        self.agent, self.port, self.env = start_persist(
            self.stack, "akamai", replacements=repl, haproxy_cfg=fast_haproxy_cfg(self.stack),
            agent_args=("--metrics", f"127.0.0.1:{self.metrics_port}"),
            extra_env={"STICKY_EDGES_FILE": self.stack.path("akamai-edges.txt")})
        self.haproxy = next(p for p in self.stack.procs if p.name == "haproxy")
        wait_until(lambda: self.answer("198.51.100.250")[1] is not None, timeout=15,
                   what=f"{name}: agent decisions through HAProxy")

    def answer(self, tcip):
        """(server, reason, spoe error): reason is the agent's, or 'cached' for a table hit, or None
        when HAProxy routed without the agent (err says why: 1 = the 50 ms processing timeout)."""
        status, server, reason, err = ask(self.port, tcip)
        assert status == 200, (self.name, tcip, status)
        return server, reason, err

    def decided(self, tcip, tries=5):
        """The first answer that the agent or the table made (a loaded box may blow the agent's
        50 ms budget now and then: HAProxy then balances by itself, which is fail-open, not a pin)."""
        for _ in range(tries):
            server, reason, err = self.answer(tcip)
            if reason:
                return server, reason
            assert err is not None, f"{self.name} {tcip}: neither agent nor table decided, and no SPOE error"
        raise AssertionError(f"{self.name} never decided for {tcip}")

    def restart_haproxy(self):
        """A new HAProxy process on the same ports: its stick table starts empty."""
        cfg = self.haproxy.argv[2]
        self.haproxy.stop()
        self.stack.procs.remove(self.haproxy)
        port = int(self.env["STICKY_HTTP_BIND"].rsplit(":", 1)[1])
        self.haproxy = self.stack.start_haproxy(cfg, self.env, wait_ports=[port])

    def restart_agent(self):
        assert self.agent.stop() == 0
        self.agent = self.stack.start_agent("--config", self.stack.path("sticky-agent.yaml"),
                                            "--metrics", f"127.0.0.1:{self.metrics_port}",
                                            port=self.agent.port, name="agent-restarted")
        # HAProxy marked the stopped agent DOWN; wait until it asks the agent again (a new client
        # each probe: a known one may be served from the table whatever the agent's state).
        probes = iter(range(1, 250))
        wait_until(lambda: self.answer(f"198.51.99.{next(probes)}")[1] not in (None, "cached"), timeout=15,
                   what=f"{self.name}: HAProxy using the restarted agent")

    def cmd(self, command):
        out = runtime_api(self.stack.path("haproxy.sock"), command)
        assert out.strip() == "", f"{command}: {out}"

    def close(self):
        self.stack.close()


def clients(n, base=10):
    return [f"203.0.{base + i // 200}.{i % 200 + 1}" for i in range(n)]


class FastPathOneNode(unittest.TestCase):
    def setUp(self):
        self.node = FastNode("a")

    def tearDown(self):
        self.node.close()

    def test_a_returning_client_does_not_cross_spoe_until_its_pin_is_due(self):
        n = self.node
        server, reason = n.decided("203.0.113.5")
        self.assertIn(reason, ("new", "client-ip"))
        req0, res0 = message_counts(n.metrics_port)
        for _ in range(50):
            self.assertEqual(n.answer("203.0.113.5")[:2], (server, "cached"))
        self.assertEqual(message_counts(n.metrics_port), (req0, res0), "table hits must not reach the agent")
        # Past the confirmation interval the agent is asked again (its TTL slides, Redis refreshes)
        # and the pin holds; then the table serves again.
        time.sleep(CONFIRM_S + 1)
        self.assertEqual(n.decided("203.0.113.5"), (server, "client-ip"))
        self.assertEqual(n.answer("203.0.113.5")[:2], (server, "cached"))

    def test_untrusted_true_client_ip_is_not_a_table_key(self):
        """A header from outside the edge ranges must not pin anybody: HAProxy keys such requests by
        the source subnet, exactly as the agent does."""
        n = self.node
        with open(n.stack.path("akamai-edges.txt"), "w") as f:
            f.write("192.0.2.0/24\n")  # no test client is an edge (HAProxy reads it at start)
        n.restart_haproxy()
        n.restart_agent()
        first = n.decided("203.0.113.9")
        self.assertIn(first[1], ("new", "subnet", "cached"))  # the source subnet may be pinned already
        # Any other spoofed header from the same subnet lands on the same server: one key.
        for i in range(20):
            self.assertEqual(n.decided(f"198.18.0.{i + 1}")[0], first[0])

    def test_maint_moves_only_that_servers_clients_and_the_agent_decides_where(self):
        n = self.node
        homes = {c: n.decided(c)[0] for c in clients(60)}
        self.assertEqual(set(homes.values()), {"s1", "s2", "s3"})
        for c, s in homes.items():
            self.assertEqual(n.answer(c)[:2], (s, "cached"))
        n.cmd("set server app/s2 state maint")
        wait_until(lambda: metric(n.metrics_port, "sticky_haproxy_table_clears_total") >= 1, timeout=10,
                   what="the agent clearing s2's pins from HAProxy's table")
        moved = {}
        for c, s in homes.items():
            server, reason = n.decided(c)
            if s == "s2":
                self.assertNotEqual(server, "s2")
                self.assertEqual(reason, "moved", c)  # the agent placed it, not HAProxy's round robin
                moved[c] = server
            else:
                self.assertEqual((server, reason), (s, "cached"), f"{c} must not move")
        self.assertTrue(moved)
        for c, s in moved.items():
            self.assertEqual(n.answer(c)[:2], (s, "cached"), "the table learned the move")
        # s2 back: moved clients stay where they went (as without the fast path).
        n.cmd("set server app/s2 state ready")
        time.sleep(CONFIRM_S + 1)
        for c, s in moved.items():
            self.assertEqual(n.decided(c)[0], s)


class FastPathWithoutTableClearing(unittest.TestCase):
    """haproxy_table not configured (or the runtime API unreachable): HAProxy itself skips a pin
    whose server is down and balances those requests; at the pin's next confirmation the agent,
    which follows the same server states, places the client, and the table serves it from there."""

    def setUp(self):
        self.node = FastNode("a", clear_tables=False)

    def tearDown(self):
        self.node.close()

    def test_clients_of_a_maint_server_are_placed_by_the_agent_at_their_confirmation(self):
        n = self.node
        homes = {c: n.decided(c)[0] for c in clients(45)}
        on_s3 = [c for c, s in homes.items() if s == "s3"]
        self.assertTrue(on_s3)
        n.cmd("set server app/s3 state maint")
        for c in on_s3:
            self.assertNotEqual(n.answer(c)[0], "s3", "HAProxy must skip a pin on a server in MAINT")
        time.sleep(CONFIRM_S + 1)
        went = {}
        for c in on_s3:
            server, reason = n.decided(c)
            self.assertNotEqual(server, "s3")
            self.assertEqual(reason, "moved", c)
            went[c] = server
        for c, s in went.items():
            self.assertEqual(n.answer(c)[:2], (s, "cached"), "the table serves the agent's placement")


class FastPathSharedThroughRedis(unittest.TestCase):
    def setUp(self):
        self.redis_stack = Stack(prefix="sticky-fast-redis-")
        self.redis = self.redis_stack.start_redis()
        self.a = FastNode("a", self.redis.port)
        self.b = FastNode("b", self.redis.port)

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.redis_stack.close()

    def test_pins_cross_nodes_and_survive_haproxy_and_agent_restarts(self):
        homes = {c: self.a.decided(c)[0] for c in clients(40, base=30)}
        for c, s in homes.items():
            self.assertEqual(self.b.decided(c)[0], s, f"{c}: node B must use node A's pin")
        # A new HAProxy has an empty table: every client goes to the agent, which still knows.
        self.a.restart_haproxy()
        for c, s in homes.items():
            self.assertEqual(self.a.decided(c)[0], s)
        # A restarted agent warms up from Redis; meanwhile HAProxy's table keeps serving.
        self.a.restart_agent()
        for c, s in homes.items():
            self.assertEqual(self.a.decided(c)[0], s)
        time.sleep(CONFIRM_S + 1)
        for c, s in homes.items():
            self.assertEqual(self.a.decided(c), (s, "client-ip"))

    def test_a_move_on_one_node_reaches_the_other(self):
        homes = {c: self.a.decided(c)[0] for c in clients(40, base=50)}
        for c, s in homes.items():
            self.assertEqual(self.b.decided(c)[0], s)
        # Maintenance on node A only (its own HAProxy): A moves s1's clients, Redis carries it, and
        # B takes the moves at its next confirmation, though its own s1 is still up.
        self.a.cmd("set server app/s1 state maint")
        wait_until(lambda: metric(self.a.metrics_port, "sticky_haproxy_table_clears_total") >= 1, timeout=10,
                   what="node A clearing s1's pins")
        moved = {c: self.a.decided(c)[0] for c, s in homes.items() if s == "s1"}
        self.assertTrue(moved)
        self.assertNotIn("s1", moved.values())
        time.sleep(CONFIRM_S + 1)
        for c, s in moved.items():
            self.assertEqual(self.b.decided(c)[0], s, f"{c}: node B must follow node A's move")


if __name__ == "__main__":
    unittest.main()
