"""A stopping or dead agent under steady load (issues 10 and 12), through the shipped akamai
configs, on whichever HAProxy HAPROXY_BIN names (Debian's 2.6 by default, or 3.x).

SIGTERM: the agent first fails HAProxy's health checks for agent.drain_grace (3 s by default)
while still answering on its open connections, so HAProxy marks it DOWN and stops sending before
it closes: no request may fail or hang, and the agent exits 0.

kill -9: nothing is graceful, but the shipped `backend sticky_agents` (retries 0, timeout connect
100ms, observe layer4 error-limit 1 on-error mark-down) marks the agent DOWN at the first refused
connection, and until then `timeout processing` (50 ms) bounds what a request waits for it.
"""
import signal
import threading
import time
import unittest

from harness import Http, Stack, wait_until
from persist_stack import SPOE_LATE, start_persist, wait_reason

# txn.stk.err once HAProxy knows the agent is down (or its connection was lost): 2 on 2.6
# (SPOE_CTX_ERR_RES: no applet and no server up), 257 on 3.x (0x100 + SPOP_ERR_IO from the
# released applet). 256 on 2.6 (0x100 + status 0) is a frame HAProxy wrote just before it read
# the agent's normal AGENT-DISCONNECT at the end of a drain: the applet is released with the
# agent's own status, and the request falls back like any other. A missed `timeout processing`
# is 1 on both (persist_stack.SPOE_LATE).
AGENT_DOWN = ("2", "256", "257")

# The worst a request may take. Tuned, a dead agent costs a request at most one `timeout
# processing` (50 ms); the old settings hung some for 3-6 s. One second is 20 times the tuned
# bound (room for a loaded 2-core machine) and still fails on the multi-second hangs.
MAX_LATENCY = 1.0


class Load:
    """`threads` keep-alive clients, `rate` requests per second in all, for at most `duration` s."""

    def __init__(self, port, threads=4, rate=40.0, duration=20.0):
        self.port, self.period, self.records = port, threads / rate, []
        self.lock = threading.Lock()
        self.stop_at = time.monotonic() + min(duration, 30.0)
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def client(self, i):
        h, nxt = None, time.monotonic()
        while not self.halt.is_set() and time.monotonic() < self.stop_at:
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            nxt += self.period
            h = h or Http(self.port, timeout=10.0)
            sent = time.monotonic()
            try:
                status, headers, _ = h.get("/", {"True-Client-IP": f"198.51.100.{20 + i}"})
                outcome = "ok" if status == 200 else f"HTTP {status}"
                err = headers.get("x-sticky-err")
                decided = "x-sticky-reason" in headers
            except Exception as e:  # noqa: BLE001 (a failed request is the result)
                outcome, err, decided = repr(e), None, False
                h.close()
                h = None
            with self.lock:
                self.records.append((sent, time.monotonic() - sent, outcome, err, decided))
        if h:
            h.close()

    def finish(self):
        self.halt.set()
        for t in self.threads:
            t.join(20)
        return list(self.records)


class AgentStopUnderLoad(unittest.TestCase):
    def setUp(self):
        self.stack = Stack()
        self.stack.write("akamai-edges.txt", "127.0.0.0/8\n")
        self.agent, self.port, _ = start_persist(self.stack, "akamai")
        wait_reason(self.port, headers={"True-Client-IP": "198.51.100.9"})
        self.sock = self.stack.path("haproxy.sock")

    def tearDown(self):
        self.stack.close()

    def restart_agent(self):
        agent = self.stack.start_agent("--config", self.stack.path("sticky-agent.yaml"), port=self.agent.port,
                                       name="agent-restarted")
        wait_reason(self.port, headers={"True-Client-IP": "198.51.100.9"}, timeout=15)
        return agent

    def check_records(self, records, fault_at):
        self.assertGreater(len(records), 100)
        failed = [r for r in records if r[2] != "ok"]
        self.assertEqual(failed, [], f"{len(failed)} requests failed")
        slow = sorted(((round(r[0] - fault_at, 2), round(r[1], 3)) for r in records if r[1] > MAX_LATENCY))
        self.assertEqual(slow, [], "requests slower than 1 s (seconds after the fault, latency)")
        codes = {r[3] for r in records if not r[4]}
        self.assertLessEqual(codes, {SPOE_LATE, *AGENT_DOWN}, "undecided answers with an unexpected SPOE error")
        self.assertTrue(any(r[4] for r in records if r[0] > fault_at), "no decision after the restart")

    def test_sigterm_drains_then_exits_zero_and_loses_nothing(self):
        load = Load(self.port, duration=14.0)
        time.sleep(2.0)
        fault_at = time.monotonic()
        self.agent.p.send_signal(signal.SIGTERM)
        # While draining, HAProxy's check fails and it marks the agent DOWN; the agent still runs.
        wait_until(lambda: "DOWN" in self.agent_status(), timeout=3.0, what="agent1 DOWN while draining")
        self.assertTrue(self.agent.alive(), "the agent stopped before HAProxy had marked it DOWN")
        self.agent.p.wait(15.0)  # (Proc.stop would signal again, which ends the drain early)
        stopped_after = time.monotonic() - fault_at
        self.assertEqual(self.agent.stop(), 0)
        self.restart_agent()
        time.sleep(1.0)
        records = load.finish()
        self.assertGreater(stopped_after, 1.0, "no drain: the agent exited at once")
        self.check_records(records, fault_at)

    def test_kill9_fails_open_quickly(self):
        load = Load(self.port, duration=12.0)
        time.sleep(2.0)
        fault_at = time.monotonic()
        self.agent.p.kill()
        self.agent.p.wait(5)
        # observe layer4 + on-error mark-down: the first refused connection marks it DOWN.
        wait_until(lambda: "DOWN" in self.agent_status(), timeout=3.0, what="agent1 DOWN after kill -9")
        time.sleep(2.0)
        self.restart_agent()
        time.sleep(1.0)
        records = load.finish()
        self.check_records(records, fault_at)
        # Before DOWN a request may pay one processing timeout; after it, none.
        late = [r for r in records if r[0] > fault_at + 1.5 and r[1] > 0.2]
        self.assertLessEqual(len(late), 3, f"requests waited for a dead agent already marked DOWN: {late}")

    def agent_status(self):
        from harness import runtime_api
        out = runtime_api(self.sock, "show stat")
        lines = out.splitlines()
        head = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            f = line.split(",")
            if f[:2] == ["sticky_agents", "agent1"]:
                return dict(zip(head, f)).get("status", "")
        return ""


if __name__ == "__main__":
    unittest.main()
