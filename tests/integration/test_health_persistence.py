"""Server health through HAProxy's runtime API: MAINT and DOWN move pinned clients (and the
table learns where they went), DRAIN and weight 0 keep them but take no new ones."""
import collections
import unittest

from harness import Stack, runtime_api, wait_until
from persist_stack import Http, start_persist, wait_reason


class HealthAwarePinning(unittest.TestCase):
    def setUp(self):
        self.stack = Stack()
        self.stack.write("akamai-edges.txt", "127.0.0.0/8\n")
        # No static servers: the agent must learn the backend from HAProxy itself.
        self.agent, self.port, _ = start_persist(
            self.stack, "akamai",
            replacements=[("    servers: [{name: s1, weight: 100}, {name: s2, weight: 100}, {name: s3, weight: 200}]\n", ""),
                          ("poll_interval: 1s", "poll_interval: 200ms")])
        wait_reason(self.port)
        self.sock = self.stack.path("haproxy.sock")
        self.h = Http(self.port)
        self.next_client = 0

    def tearDown(self):
        self.h.close()
        self.stack.close()

    def ask(self, tcip):
        status, headers, _ = self.h.get("/", {"True-Client-IP": tcip})
        self.assertEqual(status, 200)
        return headers["x-server"], headers["x-sticky-reason"]

    def pin_clients(self, n=90):
        homes = {}
        for i in range(n):
            tcip = f"198.18.{i // 100}.{i % 100 + 1}"
            homes[tcip] = self.ask(tcip)[0]
        self.assertEqual(set(homes.values()), {"s1", "s2", "s3"})
        return homes

    def cmd(self, command):
        out = runtime_api(self.sock, command)
        self.assertEqual(out.strip(), "", f"{command}: {out}")

    def fresh_batch(self, size=30):
        """Servers given to `size` brand-new clients (addresses never used before)."""
        start = self.next_client
        self.next_client += size
        return [self.ask(f"100.{70 + n // 60000}.{n // 250 % 240}.{n % 250}")[0]
                for n in range(start, start + size)]

    def fresh_clients_avoid(self, server, what):
        wait_until(lambda: server not in self.fresh_batch(), timeout=10, what=what)

    def test_maint_moves_only_its_clients_and_they_stay_moved(self):
        homes = self.pin_clients()
        on_s2 = [c for c, s in homes.items() if s == "s2"]
        self.cmd("set server app/s2 state maint")
        self.fresh_clients_avoid("s2", "the agent noticing s2 in maintenance")
        new_home = {}
        for c in on_s2:
            # "moved" when the agent re-places the client; "client-ip" when HAProxy already
            # redispatched it before the agent noticed and the response taught the table.
            server, reason = self.ask(c)
            self.assertNotEqual(server, "s2")
            self.assertIn(reason, ("moved", "client-ip"), c)
            new_home[c] = server
        for c, s in new_home.items():
            self.assertEqual(self.ask(c), (s, "client-ip"), c)
        for c, s in homes.items():
            if s != "s2":
                self.assertEqual(self.ask(c), (s, "client-ip"), c)
        # Back from maintenance: moved clients stay where the table now says.
        self.cmd("set server app/s2 state ready")
        wait_until(lambda: "s2" in self.fresh_batch(), timeout=10, what="s2 taking new clients again")
        for c, s in new_home.items():
            self.assertEqual(self.ask(c), (s, "client-ip"), c)

    def test_down_server_clients_move(self):
        homes = self.pin_clients()
        on_s3 = [c for c, s in homes.items() if s == "s3"]
        # Stop the demo server behind s3: health checks fail and HAProxy marks it DOWN.
        self.cmd("disable frontend demo_s3")
        wait_until(lambda: self.ask(on_s3[0])[0] != "s3", timeout=15, what="s3 clients leaving")
        for c in on_s3:
            self.assertNotEqual(self.ask(c)[0], "s3")
        self.cmd("enable frontend demo_s3")

    def test_drain_keeps_existing_clients_and_takes_no_new_ones(self):
        homes = self.pin_clients()
        self.cmd("set server app/s1 state drain")
        self.fresh_clients_avoid("s1", "new clients avoiding s1")
        for c, s in homes.items():
            self.assertEqual(self.ask(c)[0], s, c)  # drain keeps everyone pinned, s1 included
        counts = collections.Counter(self.ask(f"100.99.{i // 200}.{i % 200}")[0] for i in range(300))
        self.assertEqual(counts["s1"], 0, counts)

    def test_weight_zero_behaves_as_drain(self):
        homes = self.pin_clients()
        self.cmd("set server app/s3 weight 0")
        self.fresh_clients_avoid("s3", "new clients avoiding s3")
        for c, s in homes.items():
            self.assertEqual(self.ask(c)[0], s, c)


if __name__ == "__main__":
    unittest.main()
