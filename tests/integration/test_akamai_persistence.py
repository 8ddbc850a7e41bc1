"""True-Client-IP persistence behind a CDN, and source-subnet persistence, with the real HAProxy."""
import collections
import random
import unittest

from harness import Stack, free_port, wait_until
from persist_stack import Http, get, message_counts, metric, start_persist, wait_reason

EDGES = "127.0.0.0/16\n"  # the "CDN": every test client inside 127.0.x.y is an edge


class TrueClientIp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.stack.write("akamai-edges.txt", EDGES)
        cls.metrics_port = free_port()
        cls.agent, cls.port, _ = start_persist(cls.stack, "akamai",
                                               agent_args=("--metrics", f"127.0.0.1:{cls.metrics_port}"))
        wait_reason(cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def metric(self, name):
        return metric(self.metrics_port, name)

    def test_one_keepalive_connection_carrying_50_clients_pins_each_one(self):
        clients = [f"198.18.{i // 200}.{i % 200 + 1}" for i in range(50)]
        order = [c for c in clients for _ in range(20)]
        random.Random(7).shuffle(order)  # interleaved, as an edge multiplexes them
        h = Http(self.port, source="127.0.0.1")
        served = collections.defaultdict(set)
        for tcip in order:
            status, headers, _ = h.get("/", {"True-Client-IP": tcip})
            self.assertEqual(status, 200)
            served[tcip].add(headers["x-server"])
        h.close()
        for tcip, servers in served.items():
            self.assertEqual(len(servers), 1, f"{tcip} reached {servers}")
        self.assertGreater(len({next(iter(s)) for s in served.values()}), 1)

    def test_returning_clients_cost_haproxy_one_round_trip(self):
        # persist-res is conditional (spoe-sticky.conf): with no redispatch there is nothing to learn,
        # so HAProxy sends only persist-req. Counters reach /metrics about once a second.
        clients = [f"198.19.7.{i}" for i in range(1, 11)]
        h = Http(self.port, source="127.0.0.1")
        pinned = {c: h.get("/", {"True-Client-IP": c})[1]["x-server"] for c in clients}
        requests0, responses0 = message_counts(self.metrics_port)
        for _ in range(10):
            for c in clients:
                self.assertEqual(h.get("/", {"True-Client-IP": c})[1]["x-server"], pinned[c])
        h.close()
        requests1, responses1 = message_counts(self.metrics_port)
        self.assertGreaterEqual(requests1, requests0 + 100)
        self.assertEqual(responses1, responses0)

    def test_new_clients_spread_by_weight(self):
        # s3 has weight 200, s1 and s2 100 each: expect 50% / 25% / 25%.
        h = Http(self.port, source="127.0.0.1")
        counts = collections.Counter()
        n = 1200
        for i in range(n):
            _, headers, _ = h.get("/", {"True-Client-IP": f"100.{64 + i // 60000}.{i // 250 % 240}.{i % 250 + 1}"})
            counts[headers["x-server"]] += 1
        h.close()
        self.assertAlmostEqual(counts["s3"] / n, 0.50, delta=0.06, msg=counts)
        self.assertAlmostEqual(counts["s1"] / n, 0.25, delta=0.05, msg=counts)
        self.assertAlmostEqual(counts["s2"] / n, 0.25, delta=0.05, msg=counts)

    def test_header_from_untrusted_source_does_not_move_the_client(self):
        before = self.metric("sticky_tci_untrusted_total")
        outsider = "127.1.0.1"  # outside 127.0.0.0/16: not a CDN edge
        _, h, _ = get(self.port, "/", source=outsider)
        home = h["x-server"]
        for i in range(40):
            _, h, _ = get(self.port, "/", {"True-Client-IP": f"203.0.113.{i + 1}"}, source=outsider)
            self.assertEqual(h["x-server"], home)
            self.assertEqual(h["x-sticky-reason"], "subnet")
        wait_until(lambda: self.metric("sticky_tci_untrusted_total") >= before + 40, timeout=5,
                   what="untrusted True-Client-IP counted")

    def test_header_from_an_edge_is_reported_as_client_ip(self):
        _, h, _ = get(self.port, "/", {"True-Client-IP": "192.0.2.99"}, source="127.0.3.3")
        self.assertIn(h["x-sticky-reason"], ("new", "client-ip"))
        _, h2, _ = get(self.port, "/", {"True-Client-IP": "192.0.2.99"}, source="127.0.9.9")
        self.assertEqual(h2["x-sticky-reason"], "client-ip")
        self.assertEqual(h2["x-server"], h["x-server"])

    def test_invalid_header_from_an_edge_falls_back_to_subnet(self):
        for junk in ["not-an-ip", "999.1.1.1", "1.2.3.4, 5.6.7.8", "x" * 200]:
            status, h, _ = get(self.port, "/", {"True-Client-IP": junk})
            self.assertEqual(status, 200)
            self.assertIn(h["x-sticky-reason"], ("subnet", "new"), junk)


class SourceSubnet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.stack.write("akamai-edges.txt", "192.0.2.0/24\n")  # no test client is an edge
        cls.agent, cls.port, _ = start_persist(cls.stack, "akamai")
        wait_reason(cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def test_two_addresses_in_one_slash24_share_a_server(self):
        for net in range(20):
            _, a, _ = get(self.port, "/", source=f"127.0.{net}.1")
            _, b, _ = get(self.port, "/", source=f"127.0.{net}.200")
            self.assertEqual(a["x-server"], b["x-server"], net)
            self.assertEqual(b["x-sticky-reason"], "subnet")

    def test_different_subnets_spread(self):
        servers = {get(self.port, "/", source=f"127.3.{n}.5")[1]["x-server"] for n in range(40)}
        self.assertEqual(servers, {"s1", "s2", "s3"})


if __name__ == "__main__":
    unittest.main()
