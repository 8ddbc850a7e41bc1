"""A Redis whose ACL refuses the agent's keys and channel (the README's `cluster: prod` against an
ACL written for another prefix): traffic is still answered, the refusal is logged once per kind
with what the ACL must allow, counted on /metrics, and the agent never reconnects in a loop."""
import time
import unittest

from harness import Stack, agent_metrics, free_port
from persist_stack import start_persist, wait_reason
from shared_stack import EDGES, ask, redis_section

# Every command the agent sends is allowed; no key and no channel it uses is.
DENYING_ACL = ("sticky on >it-password resetkeys ~other:* resetchannels &other:* -@all +get +set +mget "
               "+pexpire +pttl +publish +subscribe +scan +role +ping")


class RedisAclRefusal(unittest.TestCase):
    def setUp(self):
        self.redis_stack = Stack(prefix="sticky-redis-acl-")
        self.redis = self.redis_stack.start_redis(extra=("--user", *DENYING_ACL.split()))
        self.stack = Stack(prefix="sticky-acl-node-")
        self.stack.write("akamai-edges.txt", EDGES)
        pass_file = self.stack.write("redis.pass", "it-password\n")
        section = redis_section(self.redis.port, "a").replace("cluster: it", "cluster: prod")
        section += f"  user: sticky\n  password_file: {pass_file}\n"
        self.metrics_port = free_port()
        self.agent, self.port, _ = start_persist(
            self.stack, "akamai", agent_args=("--metrics", f"127.0.0.1:{self.metrics_port}"),
            replacements=[("backends:\n", section + "backends:\n")])
        wait_reason(self.port, "/")

    def tearDown(self):
        self.stack.close()
        self.redis_stack.close()

    def test_refused_acl_is_logged_once_counted_and_traffic_still_answered(self):
        decided = 0
        deadline = time.monotonic() + 5.0
        i = 0
        while time.monotonic() < deadline:
            status, server, reason, _ = ask(self.port, f"198.18.40.{i % 250 + 1}")
            self.assertEqual(status, 200)
            decided += 1 if reason else 0
            i += 1
            time.sleep(0.01)
        self.assertGreater(decided, i * 0.9, "the agent keeps deciding while Redis refuses it")

        m = agent_metrics(self.metrics_port)
        self.assertGreater(m["sticky_redis_permission_errors_total"], 0)
        # Writes connection: once. Subscriber: backoff from 50 ms doubling, ~7 attempts in 5 s (a
        # reconnect storm made ~27 a second).
        self.assertLessEqual(m["sticky_redis_connects_total"], 2 + 2 + 10, m)

        log = self.agent.output()
        refusals = [line for line in log.splitlines() if "refused" in line]
        redis_lines = [line for line in log.splitlines() if "redis" in line]
        self.assertGreaterEqual(len(refusals), 1, log)
        self.assertLessEqual(len(refusals), 3, log)
        self.assertLessEqual(len(redis_lines), 4, log)  # "sharing pins through redis" + the refusals
        self.assertIn("NOPERM", refusals[0])
        self.assertIn("~sticky:*", refusals[0])
        self.assertIn("sticky:prod", log)


if __name__ == "__main__":
    unittest.main()
