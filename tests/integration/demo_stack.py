"""The demo stack (haproxy-conf/demo): demo servers + HAProxy + sticky-agent, on free ports."""
import os

from harness import CONF_DIR, free_port, get, wait_until


def demo_env(stack, agent_addr):
    return {
        "STICKY_RUN_DIR": stack.dir,
        "STICKY_CONF_DIR": os.path.join(CONF_DIR, "demo"),
        "STICKY_HTTP_BIND": f"127.0.0.1:{free_port()}",
        "STICKY_S1_ADDR": f"127.0.0.1:{free_port()}",
        "STICKY_S2_ADDR": f"127.0.0.1:{free_port()}",
        "STICKY_S3_ADDR": f"127.0.0.1:{free_port()}",
        "STICKY_AGENT_ADDR": agent_addr,
    }


def start_demo(stack, agent_addr):
    env = demo_env(stack, agent_addr)
    http_port = int(env["STICKY_HTTP_BIND"].rsplit(":", 1)[1])
    servers = [int(env[f"STICKY_S{i}_ADDR"].rsplit(":", 1)[1]) for i in (1, 2, 3)]
    stack.start_haproxy(os.path.join(CONF_DIR, "demo", "servers.cfg"), env, wait_ports=servers,
                        name="demo-servers")
    stack.start_haproxy(os.path.join(CONF_DIR, "demo", "haproxy.cfg"), env, wait_ports=[http_port])
    return http_port, env


def agent_answers(port):
    """True once a request through HAProxy carries the agent's variables."""
    try:
        status, headers, _ = get(port, "/probe")
    except OSError:
        return False
    return status == 200 and "x-sticky-agent" in headers


def wait_agent_answers(port, timeout=10.0):
    return wait_until(lambda: agent_answers(port), timeout, what="agent answering through HAProxy")
