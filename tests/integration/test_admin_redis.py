"""Deleting a pin, and clearing a backend, through the admin API with Redis sharing on: the entries
leave this agent's table, Redis, and (through the published tombstone) the other agent's table. Two
HAProxy + agent nodes, one real redis-server whose agent user is the ACL line shipped in
redis/redis.conf (so the shipped ACL is shown to allow what the admin API sends)."""
import os
import unittest

from admin_stack import Admin, start_admin_stack
from harness import Stack, wait_until
from shared_stack import ask as ask_once, redis_cli, redis_key, redis_section

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "it-admin-redis-password"


def shipped_acl():
    """The `user sticky ...` line of redis/redis.conf, with a test password, as redis-server args."""
    with open(os.path.join(REPO, "redis", "redis.conf")) as f:
        line = next(l for l in f if l.startswith("user sticky "))
    return line.replace(">CHANGE-ME-sticky-password", ">" + PASSWORD).split()[1:]


def ask(port, client):
    """shared_stack.ask, again while HAProxy answered without the agent (late on a loaded box)."""
    for _ in range(5):
        r = ask_once(port, client)
        if r[2]:
            return r
    raise AssertionError(f"the agent never decided for {client}")


class AdminDeleteAcrossNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis_stack = Stack(prefix="sticky-admin-redis-")
        cls.stacks = [cls.redis_stack]
        try:
            cls.redis = cls.redis_stack.start_redis(extra=("--user", *shipped_acl()))
            cls.nodes = {}
            for name in ("a", "b"):
                stack = Stack(prefix=f"sticky-admin-{name}-")
                cls.stacks.append(stack)
                stack.write("redis.pass", PASSWORD + "\n")
                section = redis_section(cls.redis.port, name) + "  user: sticky\n  password_file: redis.pass\n"
                s = start_admin_stack(stack, replacements=[("backends:\n", section + "backends:\n")])
                s["api"] = Admin(s["admin"], s["token"])
                cls.nodes[name] = s
        except Exception:
            for st in reversed(cls.stacks):
                st.close()
            raise

    @classmethod
    def tearDownClass(cls):
        for st in reversed(cls.stacks):
            st.close()

    def lookup(self, node, client):
        return self.nodes[node]["api"].get("/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": client})

    def test_a_delete_on_one_node_reaches_redis_and_the_other_node(self):
        a, b = self.nodes["a"], self.nodes["b"]
        client = "203.0.113.41"
        status, server, reason, _ = ask(a["port"], client)
        self.assertEqual((status, reason), (200, "new"))
        # Node b learns the pin through pub/sub; both lookups name node a as its origin.
        wait_until(lambda: self.lookup("b", client)[0] == 200, timeout=5, what="node b adopting the pin")
        for node in ("a", "b"):
            status, e = self.lookup(node, client)
            self.assertEqual((status, e["server"]), (200, server), e)
            self.assertEqual((e["shared"]["found"], e["shared"]["origin"], e["origin"]), (True, "a", "a"), e)
        self.assertEqual(redis_cli(self.redis.port, "EXISTS", redis_key(client)), "1")

        status, d = a["api"].call("DELETE", "/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": client})
        self.assertEqual(status, 200, d)
        self.assertTrue(d["deleted_local"])
        self.assertEqual((d["shared"]["ok"], d["shared"]["deleted"]), (True, 1), d)
        self.assertGreaterEqual(d["shared"]["published_to"], 2)  # both agents' subscribers
        self.assertIn("redis deleted 1, published to", a["agent"].output())
        self.assertEqual(redis_cli(self.redis.port, "EXISTS", redis_key(client)), "0")
        wait_until(lambda: self.lookup("b", client)[0] == 404, timeout=5, what="node b forgetting the pin")
        status, e = self.lookup("b", client)
        self.assertEqual((e["found"], e["shared"]["found"]), (False, False), e)
        self.assertEqual(self.lookup("a", client)[0], 404)
        # Node b has neither a local pin nor one in Redis: the client is placed as new there.
        status, _, reason, _ = ask(b["port"], client)
        self.assertEqual((status, reason), (200, "new"))

    def test_a_pin_only_in_redis_is_still_deleted_and_published(self):
        a = self.nodes["a"]
        client = "203.0.113.42"
        ask(a["port"], client)
        wait_until(lambda: self.lookup("b", client)[0] == 200, timeout=5, what="node b adopting the pin")
        # Drop it from b's table only (a local clear), then delete through b: Redis and a follow.
        status, c = self.nodes["b"]["api"].call("POST", "/api/v1/backends/app/clear")
        self.assertEqual(status, 200, c)
        status, d = self.nodes["b"]["api"].call("DELETE", "/api/v1/backends/app/entries",
                                                {"kind": "true_client_ip", "value": client})
        self.assertEqual(status, 200, d)
        self.assertEqual((d["deleted_local"], d["shared"]["deleted"]), (False, 1), d)
        wait_until(lambda: self.lookup("a", client)[0] == 404, timeout=5, what="node a forgetting the pin")

    def test_a_shared_clear_empties_redis_and_every_agent(self):
        a, b = self.nodes["a"], self.nodes["b"]
        clients = [f"203.0.113.{i}" for i in range(60, 66)]
        for client in clients:
            ask(a["port"], client)
        for client in clients:
            wait_until(lambda: self.lookup("b", client)[0] == 200, timeout=5, what=f"node b adopting {client}")
        keys = lambda: int(redis_cli(self.redis.port, "EVAL", "return #redis.call('KEYS', ARGV[1])", "0",
                                     "sticky:it:app:*"))
        self.assertGreaterEqual(keys(), len(clients))
        # A local clear (the default) leaves Redis and node a alone.
        status, c = b["api"].call("POST", "/api/v1/backends/app/clear")
        self.assertEqual((status, c["scope"]), (200, "local"), c)
        self.assertGreaterEqual(keys(), len(clients))
        self.assertEqual(self.lookup("a", clients[0])[0], 200)
        # A shared clear from node b: Redis emptied for app, node a's table too (the tombstone).
        status, c = b["api"].call("POST", "/api/v1/backends/app/clear", {"scope": "shared"})
        self.assertEqual((status, c["scope"], c["shared"]["ok"]), (200, "shared", True), c)
        self.assertGreaterEqual(c["shared"]["deleted"], len(clients))
        self.assertGreaterEqual(c["shared"]["published_to"], 2)
        self.assertEqual(keys(), 0)
        for client in clients:
            wait_until(lambda: self.lookup("a", client)[0] == 404, timeout=5, what=f"node a forgetting {client}")
            self.assertEqual(self.lookup("b", client)[0], 404)
        self.assertIn("redis deleted", b["agent"].output())
        # Bad scope: 400, nothing touched.
        status, c = b["api"].call("POST", "/api/v1/backends/app/clear", {"scope": "everywhere"})
        self.assertEqual(status, 400, c)


if __name__ == "__main__":
    unittest.main()
