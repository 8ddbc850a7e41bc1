"""Cookie persistence with the real HAProxy: the agent's signed insert cookie, and a learned
application session cookie (JSESSIONID)."""
import base64
import re
import unittest

from harness import Stack, free_port
from persist_stack import get, message_counts, start_persist, wait_reason

SERVERS = ("s1", "s2", "s3")


def cookie_from(headers, name="STKY"):
    m = re.search(name + r"=([^;]+)", headers.get("set-cookie", ""))
    return m.group(1) if m else None


class CookieStack(unittest.TestCase):
    """haproxy-conf/cookie with its agent (metrics on), once per class."""
    probe_path = "/"  # a path of the backend the class tests, to wait for the agent's answers

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.metrics_port = free_port()
        cls.agent, cls.port, cls.env = start_persist(cls.stack, "cookie",
                                                     agent_args=("--metrics", f"127.0.0.1:{cls.metrics_port}"))
        wait_reason(cls.port, cls.probe_path)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()


class InsertCookie(CookieStack):

    def first_visit(self, path="/"):
        status, h, _ = get(self.port, path)
        self.assertEqual(status, 200)
        ck = cookie_from(h)
        self.assertIsNotNone(ck, h)
        return h["x-server"], ck, h

    def test_cookie_is_issued_and_keeps_the_client_on_its_server(self):
        server, ck, h = self.first_visit()
        self.assertIn("HttpOnly", h["set-cookie"])
        self.assertIn("Path=/", h["set-cookie"])
        for i in range(30):
            status, h2, _ = get(self.port, f"/page/{i}", {"Cookie": f"STKY={ck}"})
            self.assertEqual(h2["x-server"], server)
            self.assertEqual(h2["x-sticky-reason"], "cookie")
            # A fresh, valid cookie is not re-issued on every response.
            self.assertNotIn("set-cookie", h2)

    def test_persist_res_goes_out_only_when_a_cookie_must_be_issued(self):
        # spoe-sticky.conf sends persist-res only with work to do. A first visit needs a cookie;
        # 20 visits with that valid cookie need nothing (the response SPOE round trip is skipped).
        requests0, responses0 = message_counts(self.metrics_port)
        server, ck, _ = self.first_visit("/count")
        requests1, responses1 = message_counts(self.metrics_port)
        self.assertEqual((requests1, responses1), (requests0 + 1, responses0 + 1))
        for i in range(20):
            _, h, _ = get(self.port, f"/count/{i}", {"Cookie": f"STKY={ck}"})
            self.assertEqual(h["x-server"], server)
        requests2, responses2 = message_counts(self.metrics_port)
        self.assertEqual(requests2, requests1 + 20)
        self.assertEqual(responses2, responses1)

    def test_client_keeps_its_server_when_its_ip_changes(self):
        # Clients start in 12 different /24s (so placement spreads them), then come back from
        # other subnets, as a client behind rotating ISP proxies would: the cookie wins.
        seen = {}
        for i in range(12):
            _, h, _ = get(self.port, f"/ip/{i}", source=f"127.0.{10 + i}.1")
            seen[cookie_from(h)] = h["x-server"]
        self.assertGreater(len(set(seen.values())), 1, "placement spread the clients")
        for n, (ck, server) in enumerate(seen.items()):
            for other in (f"127.0.{100 + n}.7", f"127.{n + 1}.0.9"):
                _, h, _ = get(self.port, "/again", {"Cookie": f"STKY={ck}"}, source=other)
                self.assertEqual(h["x-server"], server)
                self.assertEqual(h["x-sticky-reason"], "cookie")

    def test_no_server_name_or_address_in_the_cookie(self):
        _, ck, h = self.first_visit()
        raw = base64.urlsafe_b64decode(ck + "=" * (-len(ck) % 4))
        for s in SERVERS:
            self.assertNotIn(s.encode(), raw)
            self.assertNotIn(s, ck)
        self.assertNotIn("127.0.0.1", ck)
        for addr in self.env.values():
            port = addr.rsplit(":", 1)[-1]
            self.assertNotIn(port.encode(), raw)

    def test_forged_cookie_gets_a_fresh_pin(self):
        server, ck, _ = self.first_visit()
        # Flip one character in the middle: the MAC must fail.
        i = len(ck) // 2
        forged = ck[:i] + ("A" if ck[i] != "A" else "B") + ck[i + 1:]
        status, h, _ = get(self.port, "/", {"Cookie": f"STKY={forged}"})
        self.assertEqual(status, 200)
        self.assertNotEqual(h["x-sticky-reason"], "cookie")
        new = cookie_from(h)
        self.assertIsNotNone(new, "a forged cookie is replaced")
        self.assertNotEqual(new, forged)
        # The replacement is honoured.
        _, h2, _ = get(self.port, "/", {"Cookie": f"STKY={new}"})
        self.assertEqual(h2["x-sticky-reason"], "cookie")
        self.assertEqual(h2["x-server"], h["x-server"])

    def test_garbage_cookie_is_ignored_not_fatal(self):
        for junk in ["", "x", "%%%%", "A" * 300, "..;;==", "\u00e9t\u00e9"]:
            status, h, _ = get(self.port, "/", {"Cookie": f"STKY={junk}"})
            self.assertEqual(status, 200, junk)
            self.assertIn(h["x-server"], SERVERS)


class LearnedAppCookie(CookieStack):
    probe_path = "/learn/x"

    def test_persist_res_goes_out_only_when_a_session_cookie_is_set(self):
        # This backend issues no cookie of its own: only a response that sets JSESSIONID (or a
        # redispatch) has anything to teach the agent, so only the login costs a second round trip.
        requests0, responses0 = message_counts(self.metrics_port)
        _, h, _ = get(self.port, "/learn/login?u=count", source="127.0.77.1")
        sid = re.search(r"JSESSIONID=([^;]+)", h["set-cookie"]).group(1)
        for j in range(10):
            _, h, _ = get(self.port, f"/learn/page/{j}", {"Cookie": f"JSESSIONID={sid}"}, source="127.0.78.1")
            self.assertEqual(h["x-sticky-reason"], "learned")
        requests1, responses1 = message_counts(self.metrics_port)
        self.assertEqual((requests1 - requests0, responses1 - responses0), (11, 1))

    def test_learned_jsessionid_routes_to_the_issuing_server(self):
        sessions = []
        for i in range(15):
            status, h, _ = get(self.port, f"/learn/login?u={i}", source=f"127.0.{20 + i}.1")
            self.assertEqual(status, 200)
            m = re.search(r"JSESSIONID=([^;]+)", h.get("set-cookie", ""))
            self.assertIsNotNone(m, h)
            sid = m.group(1)
            self.assertTrue(sid.startswith(h["x-server"] + "-"), (sid, h["x-server"]))
            sessions.append(sid)
        issuers = {sid.split("-")[0] for sid in sessions}
        self.assertGreater(len(issuers), 1, "sessions were started on several servers")
        for sid in sessions:
            for j in range(5):
                # From another subnet than the login: only the learned cookie can route it.
                _, h, _ = get(self.port, f"/learn/page/{j}", {"Cookie": f"JSESSIONID={sid}"},
                              source=f"127.0.{200 + j}.1")
                self.assertEqual(h["x-server"], sid.split("-")[0], sid)
                self.assertEqual(h["x-sticky-reason"], "learned")

    def test_unknown_session_falls_back_without_error(self):
        status, h, _ = get(self.port, "/learn/page", {"Cookie": "JSESSIONID=never-issued"})
        self.assertEqual(status, 200)
        self.assertIn(h["x-sticky-reason"], ("subnet", "new"))


if __name__ == "__main__":
    unittest.main()
