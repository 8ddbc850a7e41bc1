"""Stacks for the persistence scenarios: the shipped haproxy-conf/<mode> configs on free ports,
with the agent config copied next to a generated secret and pointed at this HAProxy."""
import os
import re
import secrets

import harness
from harness import CONF_DIR, agent_metrics, free_port, settled, wait_until

# txn.stk.err when the agent missed `timeout processing` (50 ms in the shipped SPOE files): the
# same code on 2.6 and 3.x. HAProxy then routes by itself, which is the intended fail-open, but
# says nothing about pins. (An agent that is down gives other codes: 2 on 2.6, 257 on 3.x.)
SPOE_LATE = "1"
ERR_HEADER = "    http-response set-header X-Sticky-Err %[var(txn.stk.err)] if { var(txn.stk.err) -m found }\n"


def with_spoe_error_header(stack, cfg_path):
    """A copy of an HAProxy config whose backends also answer X-Sticky-Err (before every
    `option redispatch`), so a test can tell an agent that answered late from a wrong answer."""
    with open(cfg_path) as f:
        text = f.read()
    anchor = "    option redispatch\n"
    if anchor not in text or ERR_HEADER in text:
        return cfg_path
    return stack.write("err-" + os.path.basename(cfg_path), text.replace(anchor, ERR_HEADER + anchor))


def decided(send, tries=5):
    """send() -> (status, headers, body), repeated while HAProxy answered without the agent because
    the agent was late (a loaded 2-core box can blow the 50 ms budget now and then). Any other
    answer, right or wrong, is returned for the test to judge."""
    for _ in range(tries):
        status, h, body = send()
        if "x-sticky-reason" in h or h.get("x-sticky-err") != SPOE_LATE:
            return status, h, body
    raise AssertionError(f"the agent answered late {tries} times in a row")


def get(port, path="/", headers=None, source=None):
    """harness.get, asked again while the agent was late (see decided)."""
    return decided(lambda: harness.get(port, path, headers, source))


class Http(harness.Http):
    """harness.Http whose get is asked again while the agent was late (see decided)."""

    def get(self, path="/", headers=None):
        return decided(lambda: harness.Http.get(self, path, headers))


# The L7 retry opt-in the shipped configs describe next to their `retry-on conn-failure` (replays a
# GET whose server closed without an answer or answered junk, never a POST); not shipped for its cost.
L7_RETRY_OPT_IN = ("    retry-on conn-failure empty-response junk-response\n"
                   "    http-request disable-l7-retry unless { method GET HEAD OPTIONS }\n")


def with_l7_retries(text):
    """A shipped haproxy.cfg text with the L7 retry opt-in in place of `retry-on conn-failure`."""
    assert "    retry-on conn-failure\n" in text, "the shipped config lost its retry policy"
    return text.replace("    retry-on conn-failure\n", L7_RETRY_OPT_IN)


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
                  haproxy_cfg="haproxy.cfg", extra_env=None, agent_port=None, haproxy_args=(), config=None):
    """Starts agent + HAProxy for haproxy-conf/<mode>. Returns (agent, http_port, env).
    `config`: an agent config file the test wrote itself (instead of the shipped one with
    `replacements`). A second node goes in its own Stack (its own dir, runtime API socket and ports)."""
    cfg = config or agent_config(stack, mode, replacements)
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
    cfg_path = with_spoe_error_header(stack, os.path.join(CONF_DIR, mode, haproxy_cfg))
    stack.start_haproxy(cfg_path, env, wait_ports=[port],
                        name="haproxy" + name_suffix, args=haproxy_args)
    return agent, port, env


def wait_reason(port, path="/", headers=None, timeout=15.0):
    """Waits until the agent decides (X-Sticky-Reason present) and returns that response."""
    def probe():
        try:
            status, h, body = harness.get(port, path, headers)
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
