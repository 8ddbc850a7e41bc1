#!/usr/bin/env python3
"""An application server that can be killed on its own: answers every GET with 200, "NAME\\n" and
X-Server: NAME, HTTP/1.1 keep-alive. Usage: tiny_backend.py HOST:PORT NAME. Loopback only."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        # The whole answer in one write: killed mid-answer, the server has sent all or nothing
        # (HAProxy can retry nothing; a truncated body it could not).
        body = (self.server.name + "\n").encode()
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                f"X-Server: {self.server.name}\r\n\r\n").encode()
        self.wfile.write(head + body)

    def log_message(self, *args):
        pass


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    assert host.startswith("127."), "loopback only"
    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    server.name = sys.argv[2]
    server.serve_forever()


if __name__ == "__main__":
    main()
