"""Helpers for the admin API scenarios: an akamai-mode stack (HAProxy + agent) whose agent serves
the admin API with a token, a small client for it, and HAProxy's own view through `show stat`."""
import http.client
import json
import os
import secrets
import urllib.parse

from harness import free_port, runtime_api, wait_port
from persist_stack import start_persist, wait_reason

EDGES = "127.0.0.0/8\n"


def write_token(stack):
    token = secrets.token_hex(24)
    return token, stack.write("admin.token", token + "\n")


def start_admin_stack(stack, replacements=(), extra_args=(), mode="akamai", config=None):
    """HAProxy + agent (akamai config, 200 ms polls) with --admin and --metrics. Returns a dict:
    agent, port (HTTP), admin (port), metrics (port), token, sock (runtime API). `mode` and
    `config`: another haproxy-conf/<mode> and an agent config file the test wrote (see start_persist)."""
    stack.write("akamai-edges.txt", EDGES)
    token, token_path = write_token(stack)
    admin_port, metrics_port = free_port(), free_port()
    agent, port, env = start_persist(
        stack, mode,
        agent_args=("--admin", f"127.0.0.1:{admin_port}", "--admin-token-file", token_path,
                    "--metrics", f"127.0.0.1:{metrics_port}", *extra_args),
        replacements=[("poll_interval: 1s", "poll_interval: 200ms"), *replacements], config=config)
    wait_port(admin_port)
    wait_reason(port)
    return {"agent": agent, "port": port, "admin": admin_port, "metrics": metrics_port, "token": token,
            "sock": stack.path("haproxy.sock"), "env": env}


class Admin:
    """One request per connection (the admin listener closes after each answer)."""

    def __init__(self, port, token, user="it"):
        self.port = port
        self.token = token
        self.user = user

    def raw(self, method, path, headers=None, body=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def call(self, method, path, query=None, token=None, timeout=10):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        headers = {"Authorization": f"Bearer {self.token if token is None else token}", "X-Admin-User": self.user}
        status, h, data = self.raw(method, path, headers, timeout=timeout)
        body = json.loads(data) if h.get("content-type", "").startswith("application/json") else data
        return status, body

    def get(self, path, query=None, **kw):
        return self.call("GET", path, query, **kw)

    def backend(self, name="app"):
        status, body = self.get(f"/api/v1/backends/{name}")
        assert status == 200, body
        return body

    def server(self, name, backend="app"):
        return {s["name"]: s for s in self.backend(backend)["servers"]}[name]


def haproxy_status(sock, backend, server):
    """HAProxy's own status column of `show stat` for one server: UP, DOWN, MAINT, DRAIN..."""
    lines = runtime_api(sock, "show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    px, sv, st = header.index("pxname"), header.index("svname"), header.index("status")
    for line in lines[1:]:
        f = line.split(",")
        if len(f) > st and f[px] == backend and f[sv] == server:
            return f[st]
    raise AssertionError(f"{backend}/{server} not in show stat")


def artifact_dir():
    d = os.environ.get("STICKY_ARTIFACT_DIR") or os.path.join(os.path.dirname(os.environ.get(
        "STICKY_AGENT_BIN", "/tmp/x/x/x")), "..", "..", "test-artifacts")
    os.makedirs(d, exist_ok=True)
    return os.path.abspath(d)
