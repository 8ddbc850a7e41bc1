"""X-Forwarded-For persistence through the real HAProxy when proxies add their own header lines:
the agent gets the last three lines (xff, xff2, xff3 in spoe-sticky.conf) and walks them as one chain."""
import socket
import unittest

from harness import Stack
from persist_stack import decided, start_persist, wait_reason

PROXIES = "198.51.100.0/24"  # the proxy tier in front of this origin (each adds a header line)


def get_with_lines(port, xff_lines):
    """One request with several X-Forwarded-For header lines (http.client would merge them),
    asked again while the agent answered late (persist_stack.decided)."""
    status, headers, _ = decided(lambda: raw_get_with_lines(port, xff_lines))
    return status, headers


def raw_get_with_lines(port, xff_lines):
    head = "GET /xff HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n"
    head += "".join(f"X-Forwarded-For: {line}\r\n" for line in xff_lines)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall((head + "\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status_line, _, rest = data.decode(errors="replace").partition("\r\n")
    headers = {}
    for line in rest.split("\r\n\r\n", 1)[0].split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, b""


class ForwardedForLines(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        repl = [("identity: [agent_cookie, source]",
                 f'identity: [forwarded_for, source]\n    forwarded_for: {{trusted_proxies: ["127.0.0.0/8", "{PROXIES}"]}}')]
        cls.agent, cls.port, _ = start_persist(cls.stack, "cookie", replacements=repl)
        wait_reason(cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def test_client_in_an_earlier_line_is_found_behind_proxies_that_added_lines(self):
        # client -> CDN (writes "client, cdn-hop") -> proxy A (adds a line) -> proxy B (adds a line) -> us.
        # Seeing only the last line, every client would be the same trusted proxy and share one server.
        servers = {}
        for i in range(1, 31):
            lines = [f"203.0.113.{i}, 198.51.100.7", "198.51.100.8", "198.51.100.9"]
            status, h = get_with_lines(self.port, lines)
            self.assertEqual(status, 200)
            self.assertEqual(h.get("x-sticky-reason"), "new", h)
            servers[i] = h["x-server"]
        self.assertGreater(len(set(servers.values())), 1, "30 clients behind one proxy chain all on one server")
        for i, server in servers.items():
            status, h = get_with_lines(self.port, [f"203.0.113.{i}, 198.51.100.7", "198.51.100.8", "198.51.100.9"])
            self.assertEqual((h.get("x-sticky-reason"), h["x-server"]), ("xff", server), i)

    def test_an_untrusted_hop_in_a_later_line_is_the_client(self):
        # 192.0.2.50 is not a trusted proxy: walking right to left it is the first untrusted hop.
        status, h = get_with_lines(self.port, ["203.0.113.200", "192.0.2.50", "198.51.100.9"])
        first = h["x-server"]
        for earlier in ("203.0.113.201", "203.0.113.202", "203.0.113.203"):
            status, h = get_with_lines(self.port, [earlier, "192.0.2.50", "198.51.100.9"])
            self.assertEqual(status, 200)
            self.assertEqual((h.get("x-sticky-reason"), h["x-server"]), ("xff", first), earlier)


if __name__ == "__main__":
    unittest.main()
