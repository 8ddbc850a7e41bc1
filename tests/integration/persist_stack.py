"""Stacks for the persistence scenarios: the shipped haproxy-conf/<mode> configs on free ports,
with the agent config copied next to a generated secret and pointed at this HAProxy."""
import os
import re
import secrets

from harness import CONF_DIR, agent_metrics, free_port, get, settled, wait_until


def agent_config(stack, mode, extra_replacements=()):
    """Copies haproxy-conf/<mode>/sticky-agent.yaml into the stack dir with test values."""
    with open(os.path.join(CONF_DIR, mode, "sticky-agent.yaml")) as f:
        text = f.read()
    text = text.replace("unix:/run/haproxy/admin.sock", "unix:" + stack.path("haproxy.sock"))
    text = text.replace('listen: ["127.0.0.1:12345"]', "listen: []")
    for old, new in extra_replacements:
        text = text.replace(old, new)
    for name in set(re.findall(r"[\w.-]+\.key", text)):
        if not os.path.exists(stack.path(name)):  # a test may provide a shared secret
            with open(stack.path(name), "w") as f:
                f.write(secrets.token_urlsafe(48))
    for name in set(re.findall(r"[\w.-]+\.txt", text)):
        src = os.path.join(CONF_DIR, mode, name)
        if os.path.exists(src) and not os.path.exists(stack.path(name)):
            with open(src) as s, open(stack.path(name), "w") as d:
                d.write(s.read())
    return stack.write("sticky-agent.yaml", text)


def start_persist(stack, mode, agent_args=(), replacements=(), servers=3, name_suffix="",
                  haproxy_cfg="haproxy.cfg", extra_env=None, agent_port=None):
    """Starts agent + HAProxy for haproxy-conf/<mode>. Returns (agent, http_port, env).
    A second node goes in its own Stack (its own dir, runtime API socket and ports)."""
    cfg = agent_config(stack, mode, replacements)
    agent = stack.start_agent("--config", cfg, *agent_args, name="agent" + name_suffix, port=agent_port)
    env = {
        "STICKY_RUN_DIR": stack.dir,
        "STICKY_CONF_DIR": os.path.join(CONF_DIR, mode),
        "STICKY_HTTP_BIND": f"127.0.0.1:{free_port()}",
        "STICKY_AGENT_ADDR": f"127.0.0.1:{agent.port}",
    }
    for i in range(1, servers + 1):
        env[f"STICKY_S{i}_ADDR"] = f"127.0.0.1:{free_port()}"
    env["STICKY_CACHE_ADDR"] = f"127.0.0.1:{free_port()}"
    env.update(extra_env or {})
    port = int(env["STICKY_HTTP_BIND"].rsplit(":", 1)[1])
    stack.start_haproxy(os.path.join(CONF_DIR, mode, haproxy_cfg), env, wait_ports=[port],
                        name="haproxy" + name_suffix)
    return agent, port, env


def wait_reason(port, path="/", headers=None, timeout=15.0):
    """Waits until the agent decides (X-Sticky-Reason present) and returns that response."""
    def probe():
        try:
            status, h, body = get(port, path, headers)
        except OSError:
            return None
        return (status, h, body) if "x-sticky-reason" in h else None
    return wait_until(probe, timeout, what="agent decisions through HAProxy")


def metric(metrics_port, name):
    """One unlabelled metric of the agent's /metrics page; fails the caller if it is not exported."""
    values = agent_metrics(metrics_port)
    if name not in values:
        raise AssertionError(f"{name} not exported")
    return values[name]


def message_counts(metrics_port):
    """(persist-req, persist-res) messages the agent has handled, once its counters are settled
    (workers publish them about once a second)."""
    def read():
        values = agent_metrics(metrics_port)
        return values["sticky_request_messages_total"], values["sticky_response_messages_total"]
    return settled(read, what="message counters")
