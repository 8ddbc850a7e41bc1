"""Two HAProxy nodes, each with its own sticky-agent, sharing pins through one redis-server."""
from harness import Stack, wait_until, get
from persist_stack import start_persist, wait_reason

EDGES = "127.0.0.0/8\n"


def redis_section(port, node):
    return (f"redis:\n  address: 127.0.0.1:{port}\n  cluster: it\n  node_id: {node}\n"
            f"  lookup_deadline: 20ms\n  connect_timeout: 200ms\n  command_timeout: 200ms\n")


class Node:
    def __init__(self, name, mode, redis_port, agent_port=None, servers_line=True):
        self.name = name
        self.stack = Stack(prefix=f"sticky-{name}-")
        self.stack.write("akamai-edges.txt", EDGES)
        self.mode = mode
        self.redis_port = redis_port
        self.start(agent_port)

    def start(self, agent_port=None):
        repl = [("poll_interval: 1s", "poll_interval: 200ms"),
                ("backends:\n", redis_section(self.redis_port, self.name) + "backends:\n")]
        self.agent, self.port, self.env = start_persist(self.stack, self.mode, replacements=repl,
                                                        agent_port=agent_port)
        wait_reason(self.port, "/learn/x" if self.mode == "cookie" else "/")

    def restart_agent(self):
        assert self.agent.stop() == 0
        self.agent = self.stack.start_agent("--config", self.stack.path("sticky-agent.yaml"),
                                            port=self.agent.port, name="agent-restarted")

    def close(self):
        self.stack.close()
