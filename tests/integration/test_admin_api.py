"""The admin API against a real HAProxy: token auth, pin lookup and delete, per-server pin counts,
drain/ready through HAProxy's runtime API (its own `show stat` must change), a bounded wait, the
dry run (its prediction checked by really putting the server in maintenance), /healthz and the
latency histogram; and bad input that gets a clear 4xx and leaves the table and HAProxy alone."""
import collections
import signal
import socket
import threading
import time
import unittest

from admin_stack import Admin, haproxy_status, start_admin_stack
from harness import Stack, agent_metrics, get, runtime_api, wait_until
from persist_stack import Http


class AdminApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(prefix="sticky-admin-")
        try:
            s = start_admin_stack(cls.stack)
        except Exception:
            cls.stack.close()
            raise
        cls.s = s
        cls.admin = Admin(s["admin"], s["token"])
        cls.h = Http(s["port"])

    @classmethod
    def tearDownClass(cls):
        cls.h.close()
        cls.stack.close()

    def ask(self, tcip):
        status, headers, _ = self.h.get("/", {"True-Client-IP": tcip})
        self.assertEqual(status, 200)
        return headers["x-server"], headers["x-sticky-reason"]

    def pin(self, prefix, n):
        return {f"{prefix}.{i}": self.ask(f"{prefix}.{i}")[0] for i in range(1, n + 1)}

    def entries(self):
        return self.admin.backend()["entries"]

    def haproxy_states(self):
        """Admin states as HAProxy shows them (UP, DRAIN, MAINT...), without the transient check
        counters it appends ("UP 1/3" while checks settle)."""
        return {s: haproxy_status(self.s["sock"], "app", s).split()[0] for s in ("s1", "s2", "s3")}

    # -- auth and plumbing ------------------------------------------------------------------------

    def test_a_token_is_needed_and_checked(self):
        status, body = self.admin.get("/api/v1/backends", token="")
        self.assertEqual(status, 401, body)
        self.assertIn("missing bearer token", body["error"])
        status, body = self.admin.get("/api/v1/backends", token=self.s["token"] + "x")
        self.assertEqual(status, 401, body)
        self.assertEqual(body["error"], "wrong token")
        status, h, _ = self.admin.raw("GET", "/api/v1/backends", {"Authorization": "Basic " + self.s["token"]})
        self.assertEqual(status, 401)
        self.assertIn("Bearer", h["www-authenticate"])
        status, body = self.admin.get("/api/v1/backends")
        self.assertEqual(status, 200, body)
        self.assertEqual([b["name"] for b in body["backends"]], ["app"])
        # The server list comes from HAProxy's runtime API (the config's static list until then).
        wait_until(lambda: self.admin.get("/api/v1/backends")[1]["live_view"], timeout=5, what="a live view")
        self.assertIn("refused for it@127.0.0.1", self.s["agent"].output())

    def test_healthz_and_the_page_need_no_token_and_the_page_loads_nothing_from_elsewhere(self):
        for port in (self.s["admin"], self.s["metrics"]):
            status, _, body = get(port, "/healthz")
            self.assertEqual((status, body), (200, b"ok\n"))
        status, h, body = self.admin.raw("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        page = body.decode()
        self.assertIn("<title>sticky-agent admin</title>", page)
        self.assertNotIn("http://", page)
        self.assertNotIn("https://", page)
        self.assertNotIn("src=", page)  # no external script or image: everything is inline
        self.assertIn("default-src 'none'", h["content-security-policy"])

    def test_latency_histogram_counts_every_ack(self):
        self.pin("198.18.9", 20)
        m = agent_metrics(self.s["metrics"])
        count = m["sticky_request_latency_seconds_count"]
        self.assertGreaterEqual(count, 20)
        buckets = sorted((float(k.split('le="')[1].rstrip('"}')), v) for k, v in m.items()
                         if k.startswith("sticky_request_latency_seconds_bucket") and "+Inf" not in k)
        self.assertEqual(len(buckets), 12)
        values = [v for _, v in buckets]
        self.assertEqual(values, sorted(values))  # cumulative
        self.assertEqual(m['sticky_request_latency_seconds_bucket{le="+Inf"}'], count)
        # The agent answers in well under 50 ms on loopback: nearly all ACKs are in the low buckets.
        self.assertGreaterEqual(dict(buckets)[0.05], 0.9 * count)
        self.assertGreater(m["sticky_request_latency_seconds_sum"], 0)

    # -- lookup and delete --------------------------------------------------------------------------

    def test_lookup_shows_the_pin_and_delete_forgets_it(self):
        homes = self.pin("198.18.1", 5)
        client, server = "198.18.1.3", homes["198.18.1.3"]
        status, e = self.admin.get("/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": client})
        self.assertEqual(status, 200, e)
        self.assertTrue(e["found"])
        self.assertEqual((e["server"], e["reason"], e["kind"], e["key"]), (server, "client-ip", "true_client_ip", client))
        self.assertEqual(e["origin"], "local")
        now = time.time() * 1000
        self.assertLessEqual(e["created_ms"], e["last_seen_ms"])
        self.assertLess(abs(e["last_seen_ms"] - now), 5000)
        self.assertAlmostEqual(e["expires_ms"] - e["last_seen_ms"], 30 * 60 * 1000, delta=2000)
        # The identity token names the same entry.
        status, t = self.admin.get("/api/v1/backends/app/entries", {"kind": "token", "value": "3" + e["key_hex"]})
        self.assertEqual((status, t["server"]), (200, server))

        status, d = self.admin.call("DELETE", "/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": client})
        self.assertEqual(status, 200, d)
        self.assertTrue(d["deleted_local"])
        self.assertEqual(d["server"], server)
        self.assertIn(f"it@127.0.0.1", self.s["agent"].output())
        self.assertIn(f"deleted true_client_ip entry {client} of backend app", self.s["agent"].output())
        status, e = self.admin.get("/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": client})
        self.assertEqual((status, e["found"]), (404, False))
        status, d = self.admin.call("DELETE", "/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": client})
        self.assertEqual((status, d["deleted_local"]), (404, False))
        # The client has no pin any more: it is placed again, as a new client.
        self.assertEqual(self.ask(client)[1], "new")
        # Its neighbours kept theirs.
        self.assertEqual(self.ask("198.18.1.2"), (homes["198.18.1.2"], "client-ip"))

    def test_pin_counts_per_server_follow_traffic(self):
        before = {s["name"]: s["pins"] for s in self.admin.backend()["servers"]}
        homes = self.pin("198.18.2", 40)
        tally = collections.Counter(homes.values())
        after = {s["name"]: s for s in self.admin.backend()["servers"]}
        for name in ("s1", "s2", "s3"):
            self.assertEqual(after[name]["pins"] - before[name], tally[name], name)
            self.assertGreaterEqual(after[name]["active_pins"], tally[name])
            self.assertGreaterEqual(after[name]["new_pins_last_minute"], tally[name])
            self.assertEqual(after[name]["state"], "up")
        self.assertEqual((after["s1"]["weight"], after["s3"]["weight"]), (100, 200))
        b = self.admin.backend()
        self.assertGreaterEqual(b["pins_by_reason"]["client-ip"], 40)

    # -- drain --------------------------------------------------------------------------------------

    def test_drain_goes_through_haproxy_and_wait_ends_when_the_pins_are_gone(self):
        homes = self.pin("198.18.3", 30)
        on_s1 = [c for c, s in homes.items() if s == "s1"]
        self.assertTrue(on_s1)
        status, r = self.admin.call("POST", "/api/v1/backends/app/servers/s1/drain")
        self.assertEqual(status, 200, r)
        self.assertEqual((r["ok"], r["command"], r["state_before"]), (True, "set server app/s1 state drain", "up"))
        self.assertIn("asked HAProxy 'set server app/s1 state drain' (was up): done", self.s["agent"].output())
        self.assertEqual(haproxy_status(self.s["sock"], "app", "s1"), "DRAIN")
        try:
            # The agent follows HAProxy's view: the server reads "drain" within a poll or two.
            wait_until(lambda: self.admin.server("s1")["state"] == "drain", timeout=5, what="s1 seen draining")
            status, st = self.admin.get("/api/v1/backends/app/servers/s1")
            self.assertEqual(status, 200, st)
            self.assertGreaterEqual(st["active_pins"], len(on_s1))
            self.assertGreater(st["last_expiry_ms"], time.time() * 1000 + 25 * 60 * 1000)
            # Drained clients stay; new ones avoid s1.
            for c in on_s1:
                self.assertEqual(self.ask(c)[0], "s1")
            # A bounded wait that cannot be met returns at its timeout, with reached = false.
            t0 = time.monotonic()
            status, w = self.admin.get("/api/v1/backends/app/servers/s1/wait", {"below": 1, "timeout": "1500ms"})
            waited = time.monotonic() - t0
            self.assertEqual((status, w["reached"]), (200, False), w)
            self.assertGreaterEqual(waited, 1.3)
            self.assertLess(waited, 6)
            # Delete s1's pins while a wait is pending: it returns as soon as they are gone.
            result = {}

            def waiter():
                result["r"] = self.admin.get("/api/v1/backends/app/servers/s1/wait",
                                             {"below": 1, "timeout": "20s"}, timeout=30)

            t = threading.Thread(target=waiter)
            t.start()
            time.sleep(0.5)
            self.assertTrue(t.is_alive(), "the wait returned before the pins were gone")
            for kind, value in self.s1_entries():
                status, d = self.admin.call("DELETE", "/api/v1/backends/app/entries", {"kind": kind, "value": value})
                self.assertEqual(status, 200, d)
            t0 = time.monotonic()
            t.join(25)
            status, w = result["r"]
            self.assertEqual((status, w["reached"], w["active_pins"]), (200, True, 0), w)
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            status, r = self.admin.call("POST", "/api/v1/backends/app/servers/s1/ready")
        self.assertEqual((status, r["ok"]), (200, True), r)
        self.assertEqual(haproxy_status(self.s["sock"], "app", "s1"), "UP")
        wait_until(lambda: self.admin.server("s1")["state"] == "up", timeout=5, what="s1 seen up again")

    def s1_entries(self):
        """(kind, value) of every pin on s1, found by looking up the clients this test class plays
        (the API lists counts, not keys; lookups are what an operator does): the True-Client-IP
        addresses, and the source subnet of the harness's first probe (it sends no header)."""
        candidates = [("source", "127.0.0.1")]
        for prefix in ("198.18.1", "198.18.2", "198.18.3", "198.18.4", "198.18.5", "198.18.9"):
            candidates += [("true_client_ip", f"{prefix}.{i}") for i in range(1, 61)]
        out = []
        for kind, value in candidates:
            status, e = self.admin.get("/api/v1/backends/app/entries", {"kind": kind, "value": value})
            if status == 200 and e["server"] == "s1":
                out.append((kind, value))
        return out

    # -- dry run ------------------------------------------------------------------------------------

    def test_dry_run_predicts_where_a_maintenance_moves_clients_and_changes_nothing(self):
        status, c = self.admin.call("POST", "/api/v1/backends/app/clear")
        self.assertEqual(status, 200, c)
        self.assertIn("cleared backend app", self.s["agent"].output())
        self.assertEqual(self.entries(), 0)
        homes = self.pin("198.18.4", 60)
        on_s2 = [c for c, s in homes.items() if s == "s2"]
        states = self.haproxy_states()
        status, d = self.admin.get("/api/v1/dryrun", {"backend": "app", "server": "s2", "change": "maint"})
        self.assertEqual(status, 200, d)
        p = d["persistence"]
        self.assertEqual(p["pins"], 60)
        self.assertEqual(p["pins_moving"], len(on_s2))
        self.assertAlmostEqual(p["share_moving"], len(on_s2) / 60, places=3)
        self.assertEqual(sum(p["moving_to"].values()), len(on_s2))
        self.assertNotIn("s2", p["moving_to"])
        self.assertAlmostEqual(p["new_client_share_moved"], 0.25, delta=0.01)  # s2: 100 of 400
        # A weight change or a new server moves no pinned client; it only reshapes new placements.
        status, w = self.admin.get("/api/v1/dryrun", {"backend": "app", "server": "s3", "change": "weight", "weight": 50})
        self.assertEqual((status, w["persistence"]["pins_moving"]), (200, 0), w)
        self.assertGreater(w["persistence"]["new_client_share_moved"], 0.2)
        status, a = self.admin.get("/api/v1/dryrun", {"backend": "app", "server": "s4", "change": "add", "weight": 256})
        self.assertEqual((status, a["persistence"]["pins_moving"]), (200, 0), a)
        self.assertAlmostEqual(a["persistence"]["new_client_share_moved"], 256 / 656, delta=0.1)
        # Nothing changed: the same pins, HAProxy's states as they were.
        self.assertEqual(self.entries(), 60)
        self.assertEqual(self.haproxy_states(), states)
        for c in on_s2[:3]:
            self.assertEqual(self.ask(c), ("s2", "client-ip"))
        # Now really: maintenance, and the moved clients land where the dry run said.
        out = runtime_api(self.s["sock"], "set server app/s2 state maint")
        self.assertEqual(out.strip(), "")
        try:
            wait_until(lambda: self.admin.server("s2")["state"] == "maint", timeout=5, what="s2 seen in maint")
            time.sleep(0.3)  # the engines rebuild their view from the same poll within 50 ms
            landed = collections.Counter(self.ask(c)[0] for c in on_s2)
            self.assertEqual(dict(landed), p["moving_to"])
        finally:
            runtime_api(self.s["sock"], "set server app/s2 state ready")
        wait_until(lambda: self.admin.server("s2")["state"] == "up", timeout=5, what="s2 seen up")

    # -- bad input ----------------------------------------------------------------------------------

    def test_bad_input_gets_a_clear_4xx_and_touches_nothing(self):
        self.pin("198.18.5", 10)
        entries, states = self.entries(), self.haproxy_states()
        cases = [
            ("GET", "/api/v1/backends/nope", {}, 404, "unknown backend 'nope'"),
            ("DELETE", "/api/v1/backends/nope/entries", {"kind": "true_client_ip", "value": "1.2.3.4"}, 404, "unknown backend"),
            ("GET", "/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": "300.1.2.3"}, 400, "not an IP address"),
            ("DELETE", "/api/v1/backends/app/entries", {"kind": "true_client_ip", "value": "zzz"}, 400, "not an IP address"),
            ("DELETE", "/api/v1/backends/app/entries", {"kind": "token", "value": "3cb0"}, 400, "token:"),
            ("DELETE", "/api/v1/backends/app/entries", {"kind": "colour", "value": "red"}, 400, "kind:"),
            ("DELETE", "/api/v1/backends/app/entries", {"kind": "source", "value": "10.0.0.0/8"}, 400, "by /24"),
            ("DELETE", "/api/v1/backends/app/entries", {"kind": "forwarded_for", "value": "1.2.3.4"}, 400, "does not use"),
            ("DELETE", "/api/v1/backends/app/entries", {}, 400, "give kind= and value="),
            ("GET", "/api/v1/backends/app/servers/s1/drain", {}, 405, "takes POST"),
            ("POST", "/api/v1/backends/app/servers/s9/drain", {}, 404, "no server 's9'"),
            ("POST", "/api/v1/backends/app/servers/s1%20state%20maint/drain", {}, 400, "names may hold only"),
            ("POST", "/api/v1/backends/app/servers/s1%0Ashow/ready", {}, 400, "names may hold only"),
            ("GET", "/api/v1/backends/app/servers/s1/wait", {"timeout": "10m"}, 400, "timeout:"),
            ("GET", "/api/v1/backends/app/servers/s1/wait", {"below": "-1"}, 400, "below:"),
            ("GET", "/api/v1/dryrun", {"backend": "app", "server": "s1", "change": "explode"}, 400, "change:"),
            ("GET", "/api/v1/dryrun", {"backend": "app", "server": "s1", "change": "weight", "weight": 999}, 400, "weight:"),
            ("GET", "/api/v1/dryrun", {"backend": "app", "server": "nope", "change": "maint"}, 404, "no server 'nope'"),
            ("GET", "/api/v1/backends/%zz", {}, 400, "%-escape"),
            ("GET", "/api/v1/backends", {"active": "soon"}, 400, "active:"),
            ("GET", "/api/v1/nothing", {}, 404, "no such endpoint"),
        ]
        for method, path, query, want, text in cases:
            with self.subTest(method=method, path=path, query=query):
                status, body = self.admin.call(method, path, query)
                self.assertEqual(status, want, body)
                self.assertIn(text, body["error"])
        # The listener's own refusals: huge body, chunked, header flood, garbage.
        auth = b"Authorization: Bearer " + self.s["token"].encode() + b"\r\n"
        for head, want in [
                (b"POST /api/v1/backends/app/clear HTTP/1.1\r\n" + auth + b"Content-Length: 100000\r\n\r\n", b"413"),
                (b"POST /api/v1/backends/app/clear HTTP/1.1\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n", b"501"),
                (b"GET /api/v1/backends HTTP/1.1\r\n" + auth + b"X-Flood: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
                (b"CLEAR EVERYTHING\r\n\r\n", b"400")]:
            with self.subTest(want=want), socket.create_connection(("127.0.0.1", self.s["admin"]), timeout=5) as s:
                s.sendall(head)
                answer = s.recv(200)
                self.assertTrue(answer.startswith(b"HTTP/1.0 " + want + b" "), answer)
        # A client trickling its request is dropped at the listener's timeout (5 s).
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.s["admin"]), timeout=10) as s:
            s.sendall(b"POST /api/v1/backends/app/clear HTTP/1.1\r\nAuthorization: Bearer " + self.s["token"].encode())
            self.assertEqual(s.recv(100), b"")
        self.assertLess(time.monotonic() - t0, 8)
        self.assertGreater(time.monotonic() - t0, 3)
        self.assertEqual(self.entries(), entries)
        self.assertEqual(self.haproxy_states(), states)


class HealthzDuringStop(unittest.TestCase):
    def test_healthz_says_503_once_a_sigterm_drain_begins(self):
        with Stack(prefix="sticky-admin-stop-") as stack:
            s = start_admin_stack(stack)
            for port in (s["admin"], s["metrics"]):
                self.assertEqual(get(port, "/healthz")[0], 200)
            s["agent"].p.send_signal(signal.SIGTERM)
            # The drain (3 s by default) keeps answering HAProxy; /healthz already says "not ready".
            wait_until(lambda: get(s["metrics"], "/healthz")[0] == 503, timeout=2, what="/healthz 503 on metrics")
            self.assertEqual(get(s["admin"], "/healthz")[0], 503)
            self.assertEqual(s["agent"].p.wait(15), 0)


if __name__ == "__main__":
    unittest.main()
