"""Hash Serial and Forward with the real HAProxy: the edge tier (one serial set) and the
two-region parent tier, across two HAProxy nodes, an agent restart and peer maintenance."""
import collections
import unittest

from harness import Http, Stack, get, runtime_api, wait_until
from persist_stack import start_persist

URLS = [f"/assets/{i}/img-{i * 7919 % 10007}.jpg?v={i % 3}" for i in range(400)]


def edge(stack, **kw):
    return start_persist(stack, "hsaf", haproxy_cfg="haproxy-edge.cfg",
                         replacements=[("poll_interval: 1s", "poll_interval: 200ms")], **kw)


def peers_for(port, urls, host="cdn.example.com"):
    h = Http(port)
    out = {}
    for u in urls:
        status, headers, _ = h.get(u, {"Host": host})
        assert status == 200, (u, status)
        out[u] = (headers.get("x-peer"), headers.get("x-hsaf-serial"))
    h.close()
    return out


def wait_routed(port):
    wait_until(lambda: peers_for(port, URLS[:1])[URLS[0]][1] is not None, timeout=15, what="hsaf answers")


class EdgeTier(unittest.TestCase):
    def setUp(self):
        self.a, self.b = Stack(), Stack()

    def tearDown(self):
        self.a.close()
        self.b.close()

    def test_same_url_same_peer_on_two_nodes_and_after_agent_restart(self):
        agent_a, port_a, _ = edge(self.a)
        _, port_b, _ = edge(self.b)
        wait_routed(port_a)
        wait_routed(port_b)
        on_a = peers_for(port_a, URLS)
        on_b = peers_for(port_b, URLS)
        self.assertEqual(on_a, on_b)
        self.assertEqual({p for p, _ in on_a.values()}, {"c1", "c2", "c3", "c4"})
        serials = {int(s) for _, s in on_a.values()}
        self.assertTrue(all(100 <= s <= 500 for s in serials))
        # The query string is dropped by this profile: ?v=0/1/2 variants share a serial.
        self.assertEqual(peers_for(port_a, ["/assets/1/img-7919.jpg?v=9"])["/assets/1/img-7919.jpg?v=9"],
                         on_a["/assets/1/img-7919.jpg?v=1"])
        # Restart node A's agent on the same port: nothing moves.
        self.assertEqual(agent_a.stop(), 0)
        self.a.start_agent("--config", self.a.path("sticky-agent.yaml"), port=agent_a.port, name="agent2")
        wait_routed(port_a)
        self.assertEqual(peers_for(port_a, URLS), on_a)

    def test_peer_in_maintenance_moves_only_its_serials(self):
        _, port, _ = edge(self.a)
        wait_routed(port)
        before = peers_for(port, URLS)
        out = runtime_api(self.a.path("haproxy.sock"), "set server cache_east/c2 state maint")
        self.assertEqual(out.strip(), "")
        wait_until(lambda: "c2" not in {p for p, _ in peers_for(port, URLS[:60]).values()}, timeout=10,
                   what="c2's serials moving")
        after = peers_for(port, URLS)
        moved = [u for u in URLS if after[u][0] != before[u][0]]
        self.assertTrue(moved)
        self.assertTrue(all(before[u][0] == "c2" for u in moved), "only c2's URLs move")
        self.assertTrue(all(after[u][0] != "c2" for u in URLS))
        self.assertTrue(all(after[u][1] == before[u][1] for u in URLS), "serials never change")
        # c2 back: its serials come back to it.
        runtime_api(self.a.path("haproxy.sock"), "set server cache_east/c2 state ready")
        wait_until(lambda: peers_for(port, URLS) == before, timeout=10, what="c2's serials returning")


class ParentTier(unittest.TestCase):
    def setUp(self):
        self.st = Stack()
        _, self.port, _ = start_persist(self.st, "hsaf", haproxy_cfg="haproxy-parent.cfg",
                                        replacements=[("poll_interval: 1s", "poll_interval: 200ms")])
        wait_until(lambda: self.ask("/x").get("x-hsaf-order"), timeout=15, what="parent routes")

    def tearDown(self):
        self.st.close()

    def ask(self, url):
        return get(self.port, url, {"Host": "origin.example.com"})[1]

    def test_regions_split_evenly_and_second_hop_is_the_other_region(self):
        h = Http(self.port)
        first = collections.Counter()
        n = 2000
        for i in range(n):
            _, headers, body = h.get(f"/video/{i % 50}/chunk.ts", {"Host": "origin.example.com"})
            order = headers["x-hsaf-order"].split(",")
            self.assertEqual(sorted(order), ["east", "west"])
            first[order[0]] += 1
            self.assertTrue(headers["x-peer"].startswith(order[0] + "/"))
            # The cache got the second hop: the other region's backend and peer.
            self.assertIn(b"next hop cache_" + order[1].encode(), body)
        h.close()
        # Even split: 1000 expected, sd ~22; 5 sd bounds.
        self.assertLess(abs(first["east"] - n / 2), 5 * (n ** 0.5) / 2, first)

    def test_same_url_keeps_its_two_serials_and_peers(self):
        h = Http(self.port)
        seen = collections.defaultdict(set)
        for _ in range(20):
            for u in URLS[:30]:
                _, headers, _ = h.get(u, {"Host": "origin.example.com"})
                seen[u].add((headers["x-hsaf-serials"], headers["x-peer"]))
        h.close()
        for u, answers in seen.items():
            serials = {s for s, _ in answers}
            self.assertEqual(len(serials), 1, u)
            s1, s2 = map(int, next(iter(serials)).split(","))
            self.assertTrue(100 <= s1 <= 298 and 400 <= s2 <= 610)
            self.assertLessEqual(len({p for _, p in answers}), 2)  # one peer per region

    def test_overflow_takes_over_a_region_with_no_usable_peer(self):
        sock = self.st.path("haproxy.sock")
        for s in ("w1", "w2", "w3"):
            runtime_api(sock, f"set server cache_west/{s} state maint")
        wait_until(lambda: self.ask("/o").get("x-hsaf-overflow"), timeout=10, what="overflow in use")
        for i in range(50):
            headers = self.ask(f"/o/{i}")
            self.assertNotIn("west", headers["x-peer"])
            self.assertIn(headers["x-peer"].split("/")[0], ("east", "overflow"))


if __name__ == "__main__":
    unittest.main()
