"""Two HAProxy nodes, each with its own sticky-agent, sharing pins through one redis-server,
and the helpers the Redis scenarios share (asking a node, reading Redis keys and metrics)."""
import ipaddress
import os
import subprocess
import time

from harness import CONF_DIR, REDIS_BIN, Http, Stack, agent_metrics, free_port, wait_port  # noqa: F401 (agent_metrics: re-exported)
from persist_stack import start_persist, wait_reason

EDGES = "127.0.0.0/8\n"
CLUSTER = "it"  # redis_section() names the cluster "it": keys are sticky:it:app:<kind>:<hex key>
KIND_TRUE_CLIENT_IP = 3  # policy::IdentityKind::TrueClientIp (spoa/policy/identity.h)


def redis_key(tcip, backend="app"):
    return f"sticky:{CLUSTER}:{backend}:{KIND_TRUE_CLIENT_IP}:{ipaddress.ip_address(tcip).packed.hex()}"


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=5).stdout.strip()


def count_keys(port, clients):
    """How many of these True-Client-IP clients have a pin in Redis (-1 if Redis did not answer)."""
    out = redis_cli(port, "EXISTS", *[redis_key(c) for c in clients])
    return int(out) if out.isdigit() else -1


def ask(port, tcip, host="127.0.0.1"):
    """One request as client `tcip` (True-Client-IP); (status, server, reason, spoe error)."""
    h = Http(port, host=host, timeout=5)
    try:
        status, headers, _ = h.get("/", {"True-Client-IP": tcip})
    finally:
        h.close()
    return status, headers.get("x-server"), headers.get("x-sticky-reason"), headers.get("x-sticky-err")


def haproxy_cfg_reporting_spoe_errors(stack):
    """The shipped akamai haproxy.cfg plus one response header with the SPOE error code, so an answer
    HAProxy gave without the agent says why (1 = the 50 ms processing timeout of spoe-sticky.conf)."""
    with open(os.path.join(CONF_DIR, "akamai", "haproxy.cfg")) as f:
        text = f.read()
    anchor = "    option redispatch\n"
    assert anchor in text
    header = "    http-response set-header X-Sticky-Err %[var(txn.stk.err)] if { var(txn.stk.err) -m found }\n"
    return stack.write("haproxy-spoe-errors.cfg", text.replace(anchor, header + anchor))


def start_redis_conf(stack, name, conf, sentinel=False):
    """A redis-server (or a sentinel) on a free port with its own directory and config file."""
    port = free_port()
    d = os.path.join(stack.dir, name)
    os.mkdir(d)
    path = os.path.join(d, "redis.conf")
    with open(path, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d}/log.txt\n{conf}\n")
    p = stack.start(name, [REDIS_BIN, path] + (["--sentinel"] if sentinel else []))
    p.port = port
    wait_port(port)
    return p


def redis_section(port, node):
    return (f"redis:\n  address: 127.0.0.1:{port}\n  cluster: it\n  node_id: {node}\n"
            f"  lookup_deadline: 20ms\n  connect_timeout: 200ms\n  command_timeout: 200ms\n")


class Node:
    def __init__(self, name, mode, redis_port, agent_port=None, servers_line=True, metrics=False):
        self.name = name
        self.stack = Stack(prefix=f"sticky-{name}-")
        self.stack.write("akamai-edges.txt", EDGES)
        self.mode = mode
        self.redis_port = redis_port
        # With `metrics`, the agent serves /metrics on self.metrics_port.
        self.metrics_port = free_port() if metrics else None
        self.start(agent_port)

    def start(self, agent_port=None):
        repl = [("poll_interval: 1s", "poll_interval: 200ms"),
                ("backends:\n", redis_section(self.redis_port, self.name) + "backends:\n")]
        args = ("--metrics", f"127.0.0.1:{self.metrics_port}") if getattr(self, "metrics_port", None) else ()
        self.agent, self.port, self.env = start_persist(self.stack, self.mode, replacements=repl,
                                                        agent_port=agent_port, agent_args=args)
        wait_reason(self.port, "/learn/x" if self.mode == "cookie" else "/")

    def restart_agent(self):
        assert self.agent.stop() == 0
        self.agent = self.stack.start_agent("--config", self.stack.path("sticky-agent.yaml"),
                                            port=self.agent.port, name="agent-restarted")
        # The shipped checks mark a stopped agent DOWN at once and need `rise 2` checks to bring
        # it back: wait for HAProxy to use it again.
        wait_reason(self.port, "/learn/x" if self.mode == "cookie" else "/")

    def close(self):
        self.stack.close()


class DecisionLog:
    """Mixin for unittest.TestCase: asks nodes as True-Client-IP clients and records answers HAProxy
    gave without the agent. Call start_decision_log() in setUp; set self.event_at when the fault
    (cut, kill) happens so the record says how long after it each such answer came."""

    def start_decision_log(self):
        self.requests = 0
        self.undecided = []  # (seconds since the event, node, client, SPOE error)
        self.event_at = None

    def on(self, node, tcip):
        """The server `node` sends `tcip` to, or None when HAProxy answered without the agent.
        Every answer must be a 200. HAProxy waits 50 ms for the agent (spoe-sticky.conf) and then
        routes on its own; on a loaded shared 2-core machine the scheduler alone can exceed that, so
        such answers are recorded (bounded by each test), but only with SPOE's timeout code: any other
        error is the agent failing and fails the test."""
        status, server, reason, err = ask(node.port, tcip, host=getattr(node, "host", "127.0.0.1"))
        self.requests += 1
        self.assertEqual(status, 200, f"{node.name} {tcip}")
        if reason:
            return server
        self.assertEqual(err, "1", f"{node.name} {tcip}: no agent decision and not a SPOE timeout")
        since = time.monotonic() - self.event_at if self.event_at else -1.0
        self.undecided.append((round(since, 2), node.name, tcip, err))
        return None

    def pin(self, node, tcip):
        """A new client's pin: its first decided answer (a later ask sees what the agent chose)."""
        for _ in range(3):
            server = self.on(node, tcip)
            if server:
                return server
        self.fail(f"{node.name} never decided for {tcip}")

    def serves_all(self, node, pins):
        host = getattr(node, "host", "127.0.0.1")
        return all(ask(node.port, c, host=host)[1] == s for c, s in pins.items())
