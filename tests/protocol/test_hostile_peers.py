"""Hostile SPOP peers (issue 12): the agent port is reachable by anything on the host, and a real
HAProxy (HAPROXY_BIN, the shipped haproxy-conf/akamai configs) is using the same agent meanwhile.

One HAProxy + agent stack runs for the whole class. An HTTP probe in its own process sends a GET
through HAProxy every 5 ms and times each answer. Each test subjects the agent to one attack and
then asserts: HAProxy's requests all got a 200 decided by the agent (not by HAProxy alone after
the 50 ms `timeout processing`, save a tiny share on a loaded box) with p99 under 3x that timeout;
max_connections held; the agent's descriptors came back to their baseline and its RSS near it;
the agent is alive; /metrics counted what happened. Figures go to stderr ("HOSTILE ..."); the
bigger run is tests/bench/faults/hostile_peers.py.

Every loop is bounded in count and in time; all traffic goes to 127.0.0.1."""
import os
import struct
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hostile_attacks as ha  # noqa: E402
import spop_wire as w  # noqa: E402
import test_protocol_abuse as pa  # noqa: E402
from harness import Stack, agent_metrics, free_port, settled  # noqa: E402
from persist_stack import start_persist, wait_reason  # noqa: E402

MAX_CONN = 6000          # the agent's max_connections in this test
IDLE_TARGET = 10000      # idle connections the test opens (bounded by RLIMIT_NOFILE)
RESERVE = 2 * 8          # healthcheck_reserve (8) per worker, 2 workers
HELLO_TIMEOUT = pa.HELLO_TIMEOUT
FRAME_TIMEOUT = pa.FRAME_TIMEOUT
MAX_FRAME = 16380
PROCESSING_TIMEOUT_MS = 50.0  # haproxy-conf/akamai/spoe-sticky.conf
# Answers HAProxy gave alone because the agent missed the processing timeout: the scheduler of a
# shared 2-core machine alone causes a few; more than 1% is the agent being slowed by the attack.
LATE_SHARE = 0.01
# A pre-HELLO connection's memory (the Connection, its 512-byte input buffer, the map node): it
# was ~53 KB before the buffers grew on demand.
IDLE_CONN_BYTES = 4096
# Heap the attacks may leave resident after they end (allocator caches), beyond the baseline.
RSS_SLACK_KB = 16 * 1024
NO_CAPABILITIES = 7
MIN_PROBE_S = 2.0  # each attack's verdict covers at least this much of HAProxy's traffic


def value(metrics, key):
    return metrics.get(key, 0.0)


class HostilePeersBehindHAProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nofile = ha.raise_nofile(IDLE_TARGET + 1024)
        cls.stack = Stack(prefix="sticky-hostile-")
        try:
            cls.stack.write("akamai-edges.txt", "127.0.0.0/8\n")
            cls.metrics_port = free_port()
            cls.agent, cls.http_port, _ = start_persist(
                cls.stack, "akamai", agent_args=("--metrics", "127.0.0.1:%d" % cls.metrics_port, "--log-level", "warn"),
                replacements=[("agent:\n", "agent:\n  max_connections: %d\n" % MAX_CONN)])
            wait_reason(cls.http_port, headers={"True-Client-IP": "198.51.100.1"})
            cls.probe = ha.HttpProbe(cls.http_port)
            time.sleep(1.0)
            cls.probe.pause()
            cls.start_rss_kb = ha.proc_rss_kb(cls.agent.pid)
        except BaseException:
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.probe.stop()
        end_rss = ha.proc_rss_kb(cls.agent.pid) if cls.agent.alive() else 0
        sys.stderr.write("\nHOSTILE agent RSS %.1f MB at the start, %.1f MB after every attack\n" %
                         (cls.start_rss_kb / 1024, end_rss / 1024))
        status = cls.agent.stop()
        cls.stack.close()
        assert status == 0, "agent did not exit 0 on SIGTERM: %r" % status

    # -- helpers -----------------------------------------------------------------------------

    def metrics(self, keys=("sticky_messages_received_total", "sticky_request_messages_total",
                            "sticky_response_messages_total", "sticky_notify_received_total")):
        """/metrics once `keys` have stopped moving (HAProxy's traffic is paused; its health checks
        go on, so counters they touch are compared with a margin instead)."""
        snap = {}

        def read():
            snap.clear()
            snap.update(agent_metrics(self.metrics_port))
            return tuple(snap.get(k) for k in keys)
        settled(read, quiet=1.2, timeout=15, what="agent counters")
        return dict(snap)

    def delta(self, key):
        return value(self.after, key) - value(self.before, key)

    def fds(self):
        return ha.proc_fds(self.agent.pid)

    def fds_besides_connections(self):
        """The agent's descriptors other than its SPOP connections and metrics scrapes: HAProxy
        (3.x above all) opens and pools connections to the agent as it likes."""
        return ha.proc_fds_besides(self.agent.pid, {self.agent.port, self.metrics_port})

    def wait_fds_baseline(self, limit=20.0):
        started = time.monotonic()
        while self.fds_besides_connections() > self.baseline_other_fds and time.monotonic() - started < limit:
            time.sleep(0.05)
        self.assertLessEqual(self.fds_besides_connections(), self.baseline_other_fds,
                             "descriptors not back to the baseline")
        return time.monotonic() - started

    def setUp(self):
        self.assertTrue(self.agent.alive(), "agent died:\n" + self.agent.output())
        self.probe.pause()  # (a test that failed before finish() left it running)
        time.sleep(0.2)  # the previous test's connections are gone (each test waited for that)
        self.before = self.metrics()
        self.baseline_fds = self.fds()
        self.baseline_other_fds = self.fds_besides_connections()
        self.baseline_rss_kb = ha.proc_rss_kb(self.agent.pid)
        self.probe.resume()
        time.sleep(0.3)
        self.sampler = ha.Sampler(self.agent.pid)
        self.t0 = time.monotonic()

    def finish(self, name, extra=""):
        """Common end of an attack: HAProxy's answers judged, descriptors back, agent alive."""
        time.sleep(max(0.0, MIN_PROBE_S - (time.monotonic() - self.t0)))  # enough of HAProxy's traffic to judge
        records = self.probe.pause()
        self.sampler.stop()
        back = self.wait_fds_baseline()
        self.after = self.metrics()
        rss_after = ha.proc_rss_kb(self.agent.pid)
        self.assertTrue(self.agent.alive(), "agent died:\n" + self.agent.output())
        s = ha.summarize(records)
        sys.stderr.write(
            "\nHOSTILE %s: HAProxy requests n=%d p50=%.2fms p99=%.2fms max=%.1fms %s; agent fds %d -> peak %d, "
            "back in %.2fs; RSS %.1f -> peak %.1f -> %.1f MB; %.1fs%s\n" %
            (name, s["n"], s["p50"], s["p99"], s["max"], s["outcomes"], self.baseline_fds, self.sampler.peak_fds,
             back, self.baseline_rss_kb / 1024, self.sampler.peak_rss_kb / 1024, rss_after / 1024,
             time.monotonic() - self.t0, extra))
        self.assertGreater(s["n"], 100, "HAProxy's traffic was barely served")  # ~150/s for MIN_PROBE_S at least
        bad = {o: n for o, n in s["outcomes"].items() if o not in ("decided", "late")}
        self.assertEqual(bad, {}, "requests failed or the agent erred")
        self.assertLessEqual(s["outcomes"].get("late", 0), max(2, s["n"] * LATE_SHARE),
                             "answers HAProxy gave alone after the processing timeout")
        # The agent's side of the bound is the late share above (an answer past the processing
        # timeout is HAProxy's alone). The p99 is the whole HTTP request as a Python probe sees it,
        # on a 2-core box that ctest shares with other suites: bounded, with room for scheduling.
        self.assertLess(s["p99"], 3 * PROCESSING_TIMEOUT_MS, "HAProxy request p99")
        self.assertLessEqual(value(self.after, "sticky_connections_open"), MAX_CONN)
        # Only HAProxy's connections are left, about as many as before.
        self.assertLessEqual(value(self.after, "sticky_connections_open"),
                             value(self.before, "sticky_connections_open") + 4)
        self.assertLessEqual(rss_after, self.baseline_rss_kb + RSS_SLACK_KB, "RSS not back near its baseline")

    # -- attacks -----------------------------------------------------------------------------

    def test_idle_connections_that_never_say_hello(self):
        target = min(IDLE_TARGET, self.nofile - 512)
        socks, why = ha.open_idle(self.agent.port, target)
        opened = len(socks)
        open_time = time.monotonic() - self.t0
        try:
            time.sleep(0.3)
            held = self.fds() - self.baseline_fds  # idle connections the agent holds now
            per_conn = (ha.proc_rss_kb(self.agent.pid) - self.baseline_rss_kb) * 1024.0 / max(1, held)
            # Until every accepted one has met its hello timeout; then read what each received.
            time.sleep(max(0.0, HELLO_TIMEOUT + 2.5 - (time.monotonic() - self.t0 - open_time)))
            timed_out, silent, other = ha.read_endings(socks)
        finally:
            for s in socks:
                s.close()
        self.finish("idle x%d" % opened,
                    " (opened in %.2fs, stopped: %s, RLIMIT_NOFILE %d; agent held %d at once, %.0f bytes of RSS "
                    "each; %d timed out with status 2, %d closed at once)" %
                    (open_time, why, self.nofile, held, per_conn, timed_out, silent))
        self.assertEqual(opened, target, why)
        self.assertEqual(other, 0)
        self.assertEqual(timed_out + silent, opened, "%d connections never ended" % (opened - timed_out - silent))
        self.assertEqual(self.delta("sticky_timeouts_hello_total"), timed_out)
        # Past the cap the oldest silent connection is closed for each newcomer (evicted), or a
        # newcomer is refused; every one of those was ours: none of HAProxy's was turned away.
        evicted = self.delta("sticky_connections_evicted_pre_hello_total")
        self.assertEqual(evicted + self.delta("sticky_connections_refused_limit_total"), silent)
        # The cap held: never more than max_connections plus the health-check reserve (and a few
        # for the metrics scrapes and HAProxy's checks).
        self.assertLessEqual(self.sampler.peak_fds, self.baseline_fds + MAX_CONN + RESERVE + 4)
        self.assertGreater(silent, 0, "nothing refused past max_connections")
        self.assertGreater(held, MAX_CONN // 2)
        self.assertLess(per_conn, IDLE_CONN_BYTES, "memory per idle connection")

    def test_slowloris_one_byte_every_half_second(self):
        # Before the HELLO (dropped by the hello timeout, counted from accept) and after it, inside
        # a NOTIFY (dropped by the frame timeout, counted from the frame's first byte).
        n = 20
        pre_t, post_t, statuses, sent = ha.slowloris(self.agent.port, n, HELLO_TIMEOUT, FRAME_TIMEOUT, pa.Conn)
        self.assertNotIn(None, pre_t + post_t, "a slowloris was never dropped")
        self.finish("slowloris x%d+%d" % (n, n),
                    " (pre-HELLO dropped after %.2f-%.2fs having sent %d bytes; in a NOTIFY dropped after "
                    "%.2f-%.2fs having sent %d bytes)" %
                    (min(pre_t), max(pre_t), sent[0], min(post_t), max(post_t), sent[1]))
        self.assertEqual(statuses, [ha.TIMEOUT] * (2 * n))
        for t in pre_t:
            self.assertTrue(HELLO_TIMEOUT - 0.5 < t < HELLO_TIMEOUT + 1.5, t)
        for t in post_t:
            self.assertTrue(FRAME_TIMEOUT - 0.5 < t < FRAME_TIMEOUT + 1.5, t)
        self.assertEqual(self.delta("sticky_timeouts_hello_total"), n)
        self.assertEqual(self.delta("sticky_timeouts_frame_total"), n)

    def test_hello_flood(self):
        count = ha.hello_flood_niced(self.agent.port, 4.0, 10000)
        # Every HELLO is read and answered even though its sender is gone.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = agent_metrics(self.metrics_port)
            if value(m, "sticky_hello_received_total") - value(self.before, "sticky_hello_received_total") >= count:
                break
            time.sleep(0.1)
        self.finish("hello flood x%d" % count, " (%.0f connect+HELLO+close per second)" % (count / 4.0))
        self.assertGreater(count, 1000)
        # HAProxy's health checks (every 500 ms) also say HELLO and close: apart from them, and a
        # few connections HAProxy itself may open, exactly the flood.
        checks = self.delta("sticky_healthchecks_total")
        for key in ("sticky_hello_received_total", "sticky_connections_accepted_total",
                    "sticky_connections_closed_total"):
            self.assertGreaterEqual(self.delta(key) - checks, count - 2, key)
            self.assertLessEqual(self.delta(key) - checks, count + 4, key)
        # No engine left behind by the flood: only HAProxy's are connected (one per thread on 2.6).
        self.assertEqual(value(self.after, 'sticky_haproxy_engine_connections{engine_id="flood"}'), 0)
        # At most HAProxy's own (3.x may have closed an idle pooled connection meanwhile).
        self.assertLessEqual(value(self.after, "sticky_haproxy_engines"), value(self.before, "sticky_haproxy_engines"))

    def test_frames_of_max_frame_size_and_one_byte_more(self):
        too_big = 0
        # The HELLO itself: LEN = our max-frame-size passes, one more is refused before any parsing.
        c = pa.Conn(self.agent.port)
        c.send(ha.hello_of_len(MAX_FRAME))
        self.assertEqual(c.read_frame().type, w.AGENT_HELLO)
        # NOTIFYs of exactly the negotiated size, pipelined (2.5 MB), then one byte more.
        big = [ha.notify_of_len(MAX_FRAME, sid=i) for i in range(150)]
        self.assertEqual({struct.unpack(">I", f[:4])[0] for f in big}, {MAX_FRAME})
        writer = threading.Thread(target=c.send, args=(b"".join(big),))
        writer.start()
        for i in range(150):
            f = c.read_frame(timeout=10)
            self.assertEqual((f.type, f.sid), (w.ACK, i))
        writer.join(10)
        c.send(ha.notify_of_len(MAX_FRAME + 1, sid=999))
        f = c.read_frame()
        self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, ha.TOO_BIG))
        c.close()
        too_big += 1
        c = pa.Conn(self.agent.port)
        c.send(ha.hello_of_len(MAX_FRAME + 1))
        f = c.read_frame()
        self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, ha.TOO_BIG))
        c.close()
        too_big += 1
        # A smaller offer from HAProxy is the limit from then on.
        for offer in (256, 1024):
            c = pa.Conn(self.agent.port)
            self.assertEqual(c.handshake(max_frame_size=offer).kv()["max-frame-size"], offer)
            c.send(ha.notify_of_len(offer, sid=7))
            f = c.read_frame()
            self.assertEqual((f.type, f.sid), (w.ACK, 7))
            c.send(ha.notify_of_len(offer + 1, sid=8))
            f = c.read_frame()
            self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, ha.TOO_BIG))
            c.close()
            too_big += 1
        self.finish("max-frame-size")
        self.assertEqual(self.delta('sticky_protocol_errors_by_status_total{status="3"}'), too_big)

    def test_255_arguments_and_many_messages_per_frame(self):
        c = pa.Conn(self.agent.port)
        c.handshake(**{"engine-id": "wide"})
        values = ha.wide_values()
        args = [("a%d" % i, values[i % len(values)]) for i in range(255)]
        wide = w.notify(1, 1, w.message("echo", *args))
        self.assertLessEqual(len(wide) - 4, MAX_FRAME)
        c.send(wide)
        f = c.read_frame()
        self.assertEqual((f.type, f.sid), (w.ACK, 1))
        self.assertIn(("echo", (w.T_STRING, b"first")), [(n, v) for _, _, n, v in f.actions()])
        # 255 arguments in each of several messages of one frame, all unnamed.
        several = w.notify(2, 1, *[w.message("echo", *[("", w.string("y"))] * 255)] * 4)
        self.assertLessEqual(len(several) - 4, MAX_FRAME)
        c.send(several)
        self.assertEqual(c.read_frame().sid, 2)
        # As many tiny messages as fit one frame: echo with no argument (6 bytes each), and
        # unnamed messages nobody handles (2 bytes each); 100 frames of each, pipelined.
        per_echo, per_unknown = (MAX_FRAME - 16) // 6, (MAX_FRAME - 16) // 2
        rounds = 100
        burst = b"".join(w.notify(10 + i, 1, w.message("echo") * per_echo) +
                         w.notify(10 + i, 2, w.message("") * per_unknown) for i in range(rounds))
        writer = threading.Thread(target=c.send, args=(burst,))
        writer.start()
        seen = set()
        for _ in range(2 * rounds):
            f = c.read_frame(timeout=10)
            self.assertEqual(f.type, w.ACK)
            self.assertTrue(f.actions())
            seen.add((f.sid, f.fid))
        writer.join(10)
        self.assertEqual(len(seen), 2 * rounds)
        c.send(w.haproxy_disconnect())
        self.assertEqual(c.read_frame().type, w.AGENT_DISCONNECT)
        c.close()
        self.finish("255 args / %d+%d messages per frame" % (per_echo, per_unknown))
        ours = 1 + 4 + rounds * (per_echo + per_unknown)
        haproxy = self.delta("sticky_request_messages_total") + self.delta("sticky_response_messages_total")
        self.assertEqual(self.delta("sticky_messages_received_total"), ours + haproxy)
        self.assertEqual(self.delta("sticky_messages_unknown_total"), rounds * per_unknown)
        # HAProxy sends one message per NOTIFY (persist-req, or the persist-res group).
        self.assertEqual(self.delta("sticky_notify_received_total"), 2 + 2 * rounds + haproxy)


class CapabilitiesTest(unittest.TestCase):
    """A HAPROXY-HELLO must carry "capabilities" (SPOE.txt 3.2.4: mandatory); every HAProxy from
    2.6 to 3.x sends it, an empty string in health checks. Without it: AGENT-DISCONNECT status 7."""

    @classmethod
    def setUpClass(cls):
        cls.agent = pa.Agent(None, metrics=True)

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def test_hello_without_capabilities_is_refused_with_status_7(self):
        before = [line for line in self.agent.metric_lines() if 'status="7"' in line]
        for hc in (False, True):
            c = pa.Conn(self.agent.port)
            c.send(w.hello(capabilities=None, healthcheck=hc))
            f = c.read_frame()
            self.assertEqual(f.type, w.AGENT_DISCONNECT)
            self.assertEqual(f.kv()["status-code"], NO_CAPABILITIES, f.kv())
            self.assertTrue(c.closed_by_peer())
            c.close()
        # A capabilities item of another type is not a capabilities list either.
        c = pa.Conn(self.agent.port)
        c.send(w.frame(w.HAPROXY_HELLO, w.kv(("supported-versions", w.string("2.0")),
                                              ("max-frame-size", w.uint32(16380)), ("capabilities", w.uint32(1)))))
        self.assertEqual(c.read_frame().kv()["status-code"], NO_CAPABILITIES)
        c.close()
        after = [line for line in self.agent.metric_lines() if 'status="7"' in line]
        self.assertEqual(float(after[0].rsplit(" ", 1)[1]) - float((before or ["x 0"])[0].rsplit(" ", 1)[1]), 3)

    def test_what_haproxy_sends_is_still_accepted(self):
        # 3.1+ spop-check probe, byte for byte from spop-brief.md (2.6 builds the same content).
        probe = bytes.fromhex(
            "0000004e 01 00000001 0000"
            "12" + b"supported-versions".hex() + "08 03" + b"2.0".hex() +
            "0e" + b"max-frame-size".hex() + "03 fcf006"
            "0c" + b"capabilities".hex() + "08 00"
            "0b" + b"healthcheck".hex() + "11")
        c = pa.Conn(self.agent.port)
        c.send(probe)
        self.assertEqual(c.read_frame().type, w.AGENT_HELLO)
        c.close()
        # Legacy engine (2.6-3.0) defaults, "no option pipelining/async", and 3.1+ connections.
        for caps in ("pipelining,async", "async", "", "pipelining"):
            c = pa.Conn(self.agent.port)
            f = c.handshake(capabilities=caps)
            self.assertEqual(f.kv()["capabilities"], b"pipelining")
            c.send(w.notify(1, 1, w.message("echo", ("a", w.string(caps)))))
            self.assertEqual(c.read_frame().type, w.ACK)
            c.close()


if __name__ == "__main__":
    unittest.main()
