"""The retry policy of the shipped configs (haproxy-conf/akamai/haproxy.cfg, `retry-on` and its
comment), against real application servers that misbehave. Shipped: only a failed connect is
retried (a POST whose connection was refused goes to another server on the last retry, and the agent
learns where the client went); a request that reached a server is never replayed (closed without an
answer, junk, timed out: the client gets the error), because HAProxy's replay copy costs a third
more instructions per request. With the opt-in the comment gives (`retry-on empty-response
junk-response` + `disable-l7-retry` for other methods), a GET closed without an answer or answered
with junk is retried and redispatched with no error seen, and a POST still is not. HAProxy's own
retry and redispatch counters confirm each case. Every shipped config carries the same policy in
each HTTP backend, and passes `haproxy -c`."""
import glob
import http.client
import os
import re
import subprocess
import tempfile
import unittest

from faulty_backend import FaultyBackend
from harness import CONF_DIR, HAPROXY_BIN, SOURCE_DIR, Stack, free_port, runtime_api
from persist_stack import agent_config, decided, with_l7_retries, with_spoe_error_header

EDGES = "127.0.0.0/16\n"  # every test client comes from 127.0.0.1: an edge, so True-Client-IP counts
SERVER_TIMEOUT = "1s"     # the shipped 60 s, shortened so a timeout case takes a second
POLICY = ["retries 2", "option redispatch", "retry-on conn-failure"]

SHIPPED = sorted(glob.glob(os.path.join(CONF_DIR, "*", "haproxy*.cfg"))) + [os.path.join(SOURCE_DIR, "docker", "haproxy.cfg")]


def request(port, method, tcip, body=None):
    """One request on a fresh connection: (status, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        headers = {"True-Client-IP": tcip}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, "/", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


def backend_stats(sock, backend="app"):
    """{server or BACKEND: {'retries': n, 'redispatches': n}} from HAProxy's `show stat`."""
    lines = runtime_api(sock, "show stat").splitlines()
    cols = lines[0].lstrip("# ").split(",")
    out = {}
    for line in lines[1:]:
        row = dict(zip(cols, line.split(",")))
        if row.get("pxname") == backend:
            out[row["svname"]] = {"retries": int(row["wretr"] or 0), "redispatches": int(row["wredis"] or 0)}
    return out


class ShippedRetryPolicy(unittest.TestCase):
    L7 = False  # the opt-in lines in place of the shipped `retry-on conn-failure`

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(prefix="sticky-retry-")
        cls.stack.write("akamai-edges.txt", EDGES)
        cls.servers = {name: FaultyBackend(name) for name in ("s1", "s2", "s3")}
        with open(os.path.join(CONF_DIR, "akamai", "haproxy.cfg")) as f:
            text = f.read()
        # The shipped file with its retry policy untouched; only the demo listeners go (the servers
        # are the test's own) and the server timeout is shortened.
        text = text.split("\nlisten demo_s1")[0] + "\n"
        assert "    timeout server  60s\n" in text
        text = text.replace("    timeout server  60s\n", f"    timeout server  {SERVER_TIMEOUT}\n")
        if cls.L7:
            assert text.count("    retry-on conn-failure\n") == 1
            text = with_l7_retries(text)
        cfg = with_spoe_error_header(cls.stack, cls.stack.write("haproxy-retry.cfg", text))
        agent = cls.stack.start_agent("--config", agent_config(cls.stack, "akamai"))
        cls.port = free_port()
        env = {"STICKY_HTTP_BIND": f"127.0.0.1:{cls.port}", "STICKY_AGENT_ADDR": f"127.0.0.1:{agent.port}",
               "STICKY_CONF_DIR": os.path.join(CONF_DIR, "akamai")}
        env.update({f"STICKY_{n.upper()}_ADDR": s.addr for n, s in cls.servers.items()})
        cls.stack.start_haproxy(cfg, env, wait_ports=[cls.port])
        cls.sock = cls.stack.path("haproxy.sock")
        # Clients pinned by the agent, grouped by server: each case below takes its own from s1.
        cls.pins = {}
        for i in range(80):
            tcip = f"198.51.{i // 200}.{i % 200 + 1}"
            status, h = decided(lambda: request(cls.port, "GET", tcip) + (b"",))[:2]
            assert status == 200 and "x-sticky-reason" in h, (status, h)
            cls.pins[tcip] = h["x-server"]
        cls.on_s1 = [c for c, s in cls.pins.items() if s == "s1"]
        assert len(cls.on_s1) >= 8, cls.pins

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        for s in cls.servers.values():
            s.stop()

    def take(self, n):
        """n clients pinned to s1 that no other case has used."""
        taken, type(self).on_s1 = self.on_s1[:n], self.on_s1[n:]
        self.assertEqual(len(taken), n, "not enough clients pinned to s1")
        return taken

    def counts(self, method):
        return {n: s.count(method) for n, s in self.servers.items()}

    def setUp(self):
        for s in self.servers.values():
            s.mode = "ok"

    def test_get_closed_without_answer_is_not_replayed(self):
        if self.L7:
            self.skipTest("replayed with the opt-in (see the subclass)")
        clients = self.take(2)
        self.servers["s1"].mode = "close"
        before, stats0 = self.counts("GET"), backend_stats(self.sock)
        for c in clients:
            status, _ = request(self.port, "GET", c)
            self.assertEqual(status, 502)
        after, stats1 = self.counts("GET"), backend_stats(self.sock)
        self.assertEqual({n: after[n] - before[n] for n in after}, {"s1": len(clients), "s2": 0, "s3": 0})
        self.assertEqual(stats1["BACKEND"]["redispatches"], stats0["BACKEND"]["redispatches"])

    def test_get_answered_with_junk_is_not_replayed(self):
        if self.L7:
            self.skipTest("replayed with the opt-in (see the subclass)")
        [c] = self.take(1)
        self.servers["s1"].mode = "junk"
        before = self.counts("GET")
        status, _ = request(self.port, "GET", c)
        self.assertEqual(status, 502)
        self.assertEqual(self.counts("GET")["s1"] - before["s1"], 1)

    def test_post_closed_without_answer_is_not_replayed(self):
        [c] = self.take(1)
        self.servers["s1"].mode = "close"
        before, stats0 = self.counts("POST"), backend_stats(self.sock)
        status, _ = request(self.port, "POST", c, body="order=1")
        self.assertEqual(status, 502)
        after, stats1 = self.counts("POST"), backend_stats(self.sock)
        self.assertEqual({n: after[n] - before[n] for n in after}, {"s1": 1, "s2": 0, "s3": 0})
        self.assertEqual(stats1["BACKEND"], stats0["BACKEND"])

    def test_post_that_times_out_is_not_replayed(self):
        [c] = self.take(1)
        self.servers["s1"].mode = "hang"
        before = self.counts("POST")
        status, _ = request(self.port, "POST", c, body="order=2")
        self.assertEqual(status, 504)
        after = self.counts("POST")
        self.assertEqual({n: after[n] - before[n] for n in after}, {"s1": 1, "s2": 0, "s3": 0})

    def test_get_that_times_out_is_not_replayed_either(self):
        [c] = self.take(1)
        self.servers["s1"].mode = "hang"
        before = self.counts("GET")
        status, _ = request(self.port, "GET", c)
        self.assertEqual(status, 504)
        after = self.counts("GET")
        self.assertEqual({n: after[n] - before[n] for n in after}, {"s1": 1, "s2": 0, "s3": 0})

    def test_zz_post_refused_is_retried_elsewhere(self):
        """Last (zz): s1 stops listening for good. The POST never reached a server, so it may go on."""
        [c] = self.take(1)
        stats0 = backend_stats(self.sock)
        before = self.counts("POST")
        self.servers["s1"].stop()
        status, h = request(self.port, "POST", c, body="order=3")
        self.assertEqual(status, 200, h)
        self.assertNotEqual(h["x-server"], "s1")
        after, stats1 = self.counts("POST"), backend_stats(self.sock)
        self.assertEqual(after["s1"], before["s1"])
        self.assertEqual(sum(after.values()) - sum(before.values()), 1)
        self.assertEqual(stats1["BACKEND"]["redispatches"] - stats0["BACKEND"]["redispatches"], 1)
        # The agent learnt where it went.
        status, h2 = request(self.port, "GET", c)
        self.assertEqual((status, h2["x-server"]), (200, h["x-server"]))


class OptInL7Retries(ShippedRetryPolicy):
    """The same server faults with the opt-in lines: GETs are replayed, POSTs still are not."""
    L7 = True

    def test_get_closed_without_answer_is_retried_elsewhere_and_the_agent_follows(self):
        clients = self.take(3)
        self.servers["s1"].mode = "close"
        before, stats0 = self.counts("GET"), backend_stats(self.sock)
        landed = {}
        for c in clients:
            status, h = request(self.port, "GET", c)
            self.assertEqual(status, 200, h)
            self.assertNotEqual(h["x-server"], "s1")
            landed[c] = h["x-server"]
        after, stats1 = self.counts("GET"), backend_stats(self.sock)
        # Each GET reached s1 twice (the first try and a retry there), then the last retry went elsewhere.
        self.assertEqual(after["s1"] - before["s1"], 2 * len(clients))
        self.assertEqual(stats1["BACKEND"]["redispatches"] - stats0["BACKEND"]["redispatches"], len(clients))
        # persist-res told the agent: the next request goes straight to the new server.
        for c in clients:
            status, h = request(self.port, "GET", c)
            self.assertEqual((status, h["x-server"]), (200, landed[c]))
        self.assertEqual(self.counts("GET")["s1"], after["s1"])

    def test_get_answered_with_junk_is_retried_elsewhere(self):
        clients = self.take(2)
        self.servers["s1"].mode = "junk"
        before = self.counts("GET")
        for c in clients:
            status, h = request(self.port, "GET", c)
            self.assertEqual(status, 200, h)
            self.assertNotEqual(h["x-server"], "s1")
        self.assertEqual(self.counts("GET")["s1"] - before["s1"], 2 * len(clients))


def http_backends(text):
    """{name: [stripped lines]} of every backend that forwards HTTP to servers, including the
    `#   backend NAME` blocks of a snippet (the lines to add to the user's own backend)."""
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^(?:#\s+)?(backend|listen|frontend|defaults|global|resolvers)\b\s*(\S*)", line)
        if m:
            current = f"{m.group(1)} {m.group(2)}"
            sections[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            sections[current].append(re.sub(r"\s+#.*", "", line.strip()))
    return {name: lines for name, lines in sections.items()
            if name.startswith("backend ") and "mode tcp" not in lines}


class ShippedConfigs(unittest.TestCase):
    def test_every_http_backend_has_the_policy(self):
        seen = 0
        for path in SHIPPED:
            with open(path) as f:
                text = f.read()
            for name, lines in http_backends(text).items():
                seen += 1
                for rule in POLICY:
                    self.assertIn(rule, lines, f"{path}: {name}")
                # `retries` elsewhere in the section would override the policy's.
                self.assertEqual(sum(1 for line in lines if line.startswith(("retries", "retry-on"))), 2,
                                 f"{path}: {name}")
        self.assertGreaterEqual(seen, 15)

    def test_complete_configs_pass_haproxy_check_without_warnings(self):
        env = dict(os.environ, STICKY_RUN_DIR=tempfile.gettempdir(), STICKY_HTTP_BIND="127.0.0.1:1",
                   STICKY_AGENT_ADDR="127.0.0.1:2", STICKY_S1_ADDR="127.0.0.1:3", STICKY_S2_ADDR="127.0.0.1:4",
                   STICKY_S3_ADDR="127.0.0.1:5", STICKY_CACHE_ADDR="127.0.0.1:6", STICKY_PEER_AGENT_ADDR="127.0.0.1:7",
                   STICKY_RUNTIME_API_BIND="127.0.0.1:8", STICKY_NODE="a",
                   STICKY_EDGES_FILE=os.path.join(CONF_DIR, "akamai", "akamai-edges.txt"))
        checked = 0
        for path in SHIPPED:
            if "snippet" in path:
                continue  # test_dropin_configs adds those to an existing config
            conf_dir = os.path.join(CONF_DIR, "cookie") if "docker" in path else os.path.dirname(path)
            r = subprocess.run([HAPROXY_BIN, "-c", "-f", path], env=dict(env, STICKY_CONF_DIR=conf_dir),
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, path + r.stdout + r.stderr)
            self.assertNotIn("WARNING", r.stdout + r.stderr, path)
            checked += 1
        self.assertGreaterEqual(checked, 7)


if __name__ == "__main__":
    unittest.main()
