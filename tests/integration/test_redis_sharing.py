"""Pins shared across two HAProxy nodes through Redis: moved clients, learned cookies, insert
cookies, agent restarts, a Redis outage in the middle of traffic, simultaneous new clients; and the
Redis round trips and links on /metrics."""
import threading
import unittest

from harness import Http, Stack, agent_metrics, get, runtime_api, settled, wait_until
from shared_stack import Node, count_keys

HISTOGRAM = "sticky_redis_command_seconds"


def tcip_server(port, tcip, attempts=3):
    """(server, reason) of the agent's decision for client `tcip`. HAProxy gives the agent 50 ms
    (spoe-sticky.conf) and then balances by itself, which is correct degraded behaviour but says
    nothing about pins: such an answer (no X-Sticky-Reason) is asked again, a bounded few times."""
    for _ in range(attempts):
        status, h, _ = get(port, "/", {"True-Client-IP": tcip})
        assert status == 200, status
        if "x-sticky-reason" in h:
            return h["x-server"], h["x-sticky-reason"]
    raise AssertionError(f"no agent decision for {tcip} in {attempts} attempts")


class SharedTrueClientIp(unittest.TestCase):
    def setUp(self):
        self.redis_stack = Stack(prefix="sticky-redis-")
        self.redis = self.redis_stack.start_redis()
        self.a = Node("a", "akamai", self.redis.port)
        self.b = Node("b", "akamai", self.redis.port)

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.redis_stack.close()

    def maint_on_a(self, server):
        runtime_api(self.a.stack.path("haproxy.sock"), f"set server app/{server} state maint")
        # Wait until A's agent stops placing new clients there.
        n = iter(range(10**6))
        wait_until(lambda: all(tcip_server(self.a.port, f"10.250.{i // 250}.{i % 250}")[0] != server
                               for i in (next(n) for _ in range(20))), timeout=10, what=f"A avoiding {server}")

    def test_client_pinned_through_a_reaches_the_same_server_through_b(self):
        # On A, s1 is in maintenance, so A's pins differ from what B (all servers up) would
        # choose by itself: only the shared table can make B agree.
        self.maint_on_a("s1")
        pinned = {f"198.18.5.{i}": tcip_server(self.a.port, f"198.18.5.{i}")[0] for i in range(1, 81)}
        self.assertNotIn("s1", pinned.values())
        wait_until(lambda: all(tcip_server(self.b.port, c)[0] == s for c, s in pinned.items()), timeout=5,
                   what="B serving A's pins")
        fresh_on_b = {tcip_server(self.b.port, f"100.80.0.{i}")[0] for i in range(1, 60)}
        self.assertIn("s1", fresh_on_b, "B places its own new clients on s1: the agreement came from Redis")

    def test_restarted_agent_gets_its_pins_back_from_redis(self):
        self.maint_on_a("s3")
        pinned = {f"198.18.6.{i}": tcip_server(self.a.port, f"198.18.6.{i}")[0] for i in range(1, 61)}
        runtime_api(self.a.stack.path("haproxy.sock"), "set server app/s3 state ready")
        self.a.restart_agent()
        wait_until(lambda: tcip_server(self.a.port, "198.18.6.1")[1] != "new", timeout=10, what="agent back")
        for c, s in pinned.items():
            self.assertEqual(tcip_server(self.a.port, c)[0], s, c)

    def test_redis_outage_fails_no_request_and_queued_pins_land_afterwards(self):
        self.maint_on_a("s2")
        before = {f"198.18.7.{i}": tcip_server(self.a.port, f"198.18.7.{i}")[0] for i in range(1, 21)}
        # B holds them once A's publishes arrived; stopping Redis earlier would test the race instead.
        wait_until(lambda: count_keys(self.redis.port, before) == len(before), timeout=5, what="A's pins in Redis")
        wait_until(lambda: all(tcip_server(self.b.port, c)[0] == s for c, s in before.items()), timeout=5,
                   what="B serving A's pins before the outage")
        self.redis.stop()
        # Traffic during the outage: every request answered, every pin kept.
        during = {}
        for i in range(1, 41):
            c = f"198.18.8.{i}"
            during[c] = tcip_server(self.a.port, c)[0]
        for c, s in before.items():
            self.assertEqual(tcip_server(self.a.port, c)[0], s)
            self.assertEqual(tcip_server(self.b.port, c)[0], s)
        # Redis back on the same port (empty: no persistence in this test): A's queued pins
        # are written and B sees them. B is asked only once they are in Redis: a client B met
        # first would get B's own pin (SET NX, first writer wins) and A would adopt it.
        self.redis = self.redis_stack.start_redis(name="redis2", port=self.redis.port)
        wait_until(lambda: count_keys(self.redis.port, during) == len(during), timeout=15,
                   what="A's queued pins written to Redis")
        wait_until(lambda: all(tcip_server(self.b.port, c)[0] == s for c, s in during.items()), timeout=15,
                   what="B seeing pins A made during the outage")

    def test_two_nodes_meeting_a_new_client_at_once_agree(self):
        results = {}

        def ask(node, tcip):
            results[(node.name, tcip)] = tcip_server(node.port, tcip)[0]

        for i in range(1, 41):
            tcip = f"203.0.113.{i}"
            ts = [threading.Thread(target=ask, args=(n, tcip)) for n in (self.a, self.b)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(10)
            self.assertEqual(results[("a", tcip)], results[("b", tcip)], tcip)


class SharedCookies(unittest.TestCase):
    def setUp(self):
        self.redis_stack = Stack(prefix="sticky-redis-")
        self.redis = self.redis_stack.start_redis()
        self.a = Node("a", "cookie", self.redis.port)
        self.b = Node("b", "cookie", self.redis.port)

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.redis_stack.close()

    def test_learned_application_cookie_is_known_to_both_nodes(self):
        import re
        sessions = []
        for i in range(12):
            _, h, _ = get(self.a.port, f"/learn/login?u={i}", source=f"127.0.{40 + i}.1")
            sessions.append(re.search(r"JSESSIONID=([^;]+)", h["set-cookie"]).group(1))
        for sid in sessions:
            wait_until(lambda: get(self.b.port, "/learn/p", {"Cookie": f"JSESSIONID={sid}"},
                                   source="127.0.99.1")[1]["x-server"] == sid.split("-")[0],
                       timeout=5, what=f"B routing {sid}")

    def test_insert_cookie_from_a_is_honoured_by_b(self):
        # Both nodes share the secret (same file content) as an HA pair would.
        with open(self.a.stack.path("cookie-1.key")) as f:
            secret = f.read()
        self.b.close()
        self.b = Node.__new__(Node)
        self.b.name, self.b.mode, self.b.redis_port = "b", "cookie", self.redis.port
        self.b.stack = Stack(prefix="sticky-b-")
        self.b.stack.write("cookie-1.key", secret)
        self.b.stack.write("akamai-edges.txt", "127.0.0.0/8\n")
        self.b.start()
        import re
        for i in range(10):
            _, h, _ = get(self.a.port, f"/c{i}", source=f"127.0.{60 + i}.1")
            ck = re.search(r"STKY=([^;]+)", h["set-cookie"]).group(1)
            _, hb, _ = get(self.b.port, "/", {"Cookie": f"STKY={ck}"}, source="127.0.200.1")
            self.assertEqual(hb["x-server"], h["x-server"])
            self.assertEqual(hb["x-sticky-reason"], "cookie")


class RedisRoundTrips(unittest.TestCase):
    def setUp(self):
        self.redis_stack = Stack(prefix="sticky-redis-")
        self.redis = self.redis_stack.start_redis()
        self.a = Node("a", "akamai", self.redis.port, metrics=True)

    def tearDown(self):
        self.a.close()
        self.redis_stack.close()

    def metrics(self):
        return agent_metrics(self.a.metrics_port)

    def round_trips(self):
        """(histogram, replies counted as round trips) from one scrape, once the counters settle."""
        def read():
            m = self.metrics()
            buckets = sorted(((float(k.split('le="')[1].rstrip('"}')), v) for k, v in m.items()
                              if k.startswith(HISTOGRAM + "_bucket{")))
            return (tuple(buckets), m[HISTOGRAM + "_count"], m[HISTOGRAM + "_sum"],
                    m["sticky_redis_replies_total"] + m["sticky_redis_late_replies_total"]
                    - m["sticky_redis_pubsub_messages_total"], m["sticky_redis_commands_total"])
        return settled(read, what="Redis counters")

    def test_every_reply_is_a_round_trip_in_the_histogram_and_buckets_are_cumulative(self):
        _, count0, _, _, _ = self.round_trips()
        for i in range(1, 61):
            tcip_server(self.a.port, f"198.18.9.{i}")  # new clients: SET NX + PUBLISH each
        buckets, count, total, replies, commands = self.round_trips()
        self.assertEqual(count, replies, "histogram count != replies + late replies - pub/sub messages")
        self.assertGreaterEqual(count - count0, 2 * 60)
        self.assertLessEqual(count, commands)  # nothing timed that was not sent
        self.assertEqual(len(buckets), 13)
        self.assertEqual(buckets[-1], (float("inf"), count))
        values = [v for _, v in buckets]
        self.assertEqual(values, sorted(values), f"buckets not cumulative: {buckets}")
        self.assertGreater(total, 0)
        # Loopback: most round trips well under 100 ms even on a loaded machine.
        self.assertGreater(dict(buckets)[0.1], count / 2)

    def test_connected_counts_the_workers_whose_link_is_up(self):
        # The agent runs two workers (harness: --threads 2), each with its own connection.
        wait_until(lambda: self.metrics()["sticky_redis_connected"] == 2, timeout=10, what="both links up")
        self.redis.stop()
        wait_until(lambda: self.metrics()["sticky_redis_connected"] == 0, timeout=10, what="both links down")
        self.redis = self.redis_stack.start_redis(name="redis2", port=self.redis.port)
        wait_until(lambda: self.metrics()["sticky_redis_connected"] == 2, timeout=15, what="both links back")


if __name__ == "__main__":
    unittest.main()
