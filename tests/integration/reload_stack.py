"""A stack for the hot reload scenarios: haproxy-conf/cookie's HAProxy (backends app_insert and
app_learn; its SPOE message sends every identity argument, so the agent config alone decides which
identities a backend uses) with an agent config the test writes and rewrites, the admin API on, and
the calls that reload the agent and read what it reports about its reloads."""
import os
import re
import secrets
import signal

from admin_stack import Admin, start_admin_stack
from harness import agent_metrics, wait_until
from stable_hash import cookie_key_id

SERVERS = "[{name: s1, weight: 1}, {name: s2, weight: 1}, {name: s3, weight: 1}]"
# The clients of these tests connect from 127.0.0.1 with a True-Client-IP header: that address is
# the trusted "edge". Other 127.x sources are untrusted edges (their header is not believed).
EDGES = "127.0.0.1/32\n"
APPLIED = 'sticky_config_reloads_total{outcome="applied"}'
REFUSED = 'sticky_config_reloads_total{outcome="refused"}'


def insert_backend(ttl="30m", secret_files=("cookie-a.key",), capacity=100000, trusted_inline=None):
    """app_insert: the agent's own cookie first, then True-Client-IP (trusted: edges.txt), then the
    source /24."""
    inline = f"      trusted: [{', '.join(trusted_inline)}]\n" if trusted_inline else ""
    return (f"  - name: app_insert\n"
            f"    identity: [agent_cookie, true_client_ip, source]\n"
            f"    ttl: {ttl}\n"
            f"    capacity: {capacity}\n"
            f"    servers: {SERVERS}\n"
            f"    agent_cookie:\n"
            f"      name: STKY\n"
            f"      secrets: [{', '.join(secret_files)}]\n"
            f"      max_idle: 1h\n"
            f"      max_life: 24h\n"
            f"      secure: false\n"
            f"      http_only: true\n"
            f"      same_site: Lax\n"
            f"    true_client_ip:\n"
            f"      header: True-Client-IP\n"
            f"      trusted_file: edges.txt\n"
            f"{inline}"
            f"      mask_v4: 32\n"
            f"      mask_v6: 128\n"
            f"    source: {{mask_v4: 24, mask_v6: 64}}\n")


def learn_backend(ttl="30m"):
    """app_learn: True-Client-IP (same edges), then the source /24."""
    return (f"  - name: app_learn\n"
            f"    identity: [true_client_ip, source]\n"
            f"    ttl: {ttl}\n"
            f"    servers: {SERVERS}\n"
            f"    true_client_ip: {{header: True-Client-IP, trusted_file: edges.txt}}\n"
            f"    source: {{mask_v4: 24, mask_v6: 64}}\n")


def line_of(text, needle):
    """1-based number of the first line of `text` holding `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the config")


class ReloadStack:
    """HAProxy + agent started on `backends` (config text blocks from insert_backend/learn_backend).
    The agent config is the stack's sticky-agent.yaml; write() replaces it, the reloads re-read it."""

    def __init__(self, stack, backends, redis="", **options):
        self.stack = stack
        self.write_file("edges.txt", EDGES)
        self.new_secret("cookie-a.key")
        self.path = self.write(backends, redis=redis, **options)
        s = start_admin_stack(stack, mode="cookie", config=self.path)
        self.s = s
        self.agent, self.port, self.metrics_port = s["agent"], s["port"], s["metrics"]
        self.admin = Admin(s["admin"], s["token"])

    # -- the config on disk -----------------------------------------------------------------------

    def text(self, backends, redis="", log_level="info", poll_interval="200ms", max_connections=10000):
        return (f"agent:\n  listen: []\n  log_level: {log_level}\n  max_connections: {max_connections}\n"
                f"haproxy:\n  runtime_api: unix:{self.stack.path('haproxy.sock')}\n"
                f"  poll_interval: {poll_interval}\n"
                f"{redis}backends:\n" + "".join(backends))

    def write(self, backends, **options):
        return self.write_text(self.text(backends, **options))

    def write_text(self, text):
        self.written = text
        return self.write_file("sticky-agent.yaml", text)

    def write_file(self, name, text):
        # Written whole and renamed: a reload never reads half a file.
        tmp = self.stack.write(name + ".tmp", text)
        os.replace(tmp, self.stack.path(name))
        return self.stack.path(name)

    def new_secret(self, name):
        return self.write_file(name, secrets.token_urlsafe(48) + "\n")

    def new_secret_sharing_id(self, name, old_name):
        """A new secret in `name` whose key id is the one of the secret in `old_name`: ids come from
        a hash of the secret, so 1 rotation in 16 meets this case, which must work like the others."""
        with open(self.stack.path(old_name)) as f:
            wanted = cookie_key_id(f.read())
        for _ in range(1000):
            candidate = secrets.token_urlsafe(48)
            if cookie_key_id(candidate) == wanted:
                return self.write_file(name, candidate + "\n")
        raise AssertionError("no secret with key id %d in 1000 tries" % wanted)

    # -- reloading and what the agent says about it ----------------------------------------------

    def reload(self, token=None):
        """POST /api/v1/reload: (status, JSON body)."""
        return self.admin.call("POST", "/api/v1/reload", token=token)

    def applied(self, tc):
        """POST /api/v1/reload that must apply; its answer."""
        status, body = self.reload()
        tc.assertEqual(status, 200, body)
        tc.assertEqual(body["outcome"], "applied", body)
        return body

    def sighup(self, outcome):
        """SIGHUP, then waits until the agent counts one more reload with this outcome; GET config."""
        counter = APPLIED if outcome == "applied" else REFUSED
        before = self.metrics().get(counter, 0)
        self.agent.p.send_signal(signal.SIGHUP)
        wait_until(lambda: self.metrics().get(counter, 0) == before + 1, timeout=10,
                   what=f"a SIGHUP reload counted as {outcome}")
        return self.config()

    def config(self):
        status, body = self.admin.get("/api/v1/config")
        assert status == 200, body
        return body

    def metrics(self):
        return agent_metrics(self.metrics_port)

    def lookup(self, client, backend="app_insert", kind="true_client_ip"):
        """The admin view of one pin: (HTTP status, entry)."""
        return self.admin.get(f"/api/v1/backends/{backend}/entries", {"kind": kind, "value": client})

    def log_lines(self, pattern):
        return [l for l in self.agent.output().splitlines() if re.search(pattern, l)]
