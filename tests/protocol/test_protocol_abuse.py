"""Raw-socket tests of the running agent: the handshake, NOTIFY/ACK, and every kind of bad input.

Each abuse case must end in an AGENT-DISCONNECT with the exact status code and a close, and the
agent must keep serving well-behaved connections afterwards, leak no descriptors, and stop with
exit status 0 on SIGTERM. Agent binary: $STICKY_AGENT_BIN."""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spop_wire as w  # noqa: E402

AGENT_BIN = os.environ.get("STICKY_AGENT_BIN", "/work/main/build/spoa/agent/sticky-agent")
HELLO_TIMEOUT = 5.0  # the agent's default; see WorkerOptions::hello_timeout
FRAME_TIMEOUT = 10.0  # WorkerOptions::frame_timeout: a started frame may stay incomplete this long
IO_TIMEOUT = 3.0

# Status codes of AGENT-DISCONNECT (spop-brief section 3).
NORMAL, TIMEOUT, TOO_BIG, INVALID, NO_VERSION, BAD_VERSION, BAD_FRAME_SIZE, FRAG = 0, 2, 3, 4, 5, 8, 9, 10
NO_CAPABILITIES = 7


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """One sticky-agent process on a free loopback port."""

    def __init__(self, config_text=None, metrics=False):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        args = [AGENT_BIN, "--listen", "127.0.0.1:%d" % self.port, "--threads", "2", "--log-level", "warn"]
        self.metrics_port = free_port() if metrics else None
        if metrics:
            args += ["--metrics", "127.0.0.1:%d" % self.metrics_port]
        self.config = None
        if config_text is not None:
            self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml")
            self.config.write(config_text)
            self.config.flush()
            args += ["--config", self.config.name]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("agent did not start:\n" + self.output())
                time.sleep(0.05)

    def metric_lines(self):
        """The /metrics page, one line per item (the endpoint speaks HTTP/1.0: read to EOF)."""
        with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=IO_TIMEOUT) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data.decode().split("\r\n\r\n", 1)[1].splitlines()

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def stop(self):
        """SIGTERM; returns the exit status, or None if it did not exit within 8 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def close(self):
        self.stop()
        self.log.close()
        if self.config:
            self.config.close()


class Conn:
    """A raw client connection with frame-level reads."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self, timeout=IO_TIMEOUT):
        """The next complete frame; raises AssertionError on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            frame, self.buf = w.split(self.buf)
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no complete frame within %.1fs (have %r)" % (timeout, self.buf))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError("connection closed before a complete frame (have %r)" % self.buf)
            self.buf += chunk

    def closed_by_peer(self, timeout=IO_TIMEOUT):
        """True if the agent closes the connection (EOF or reset) within timeout, sending nothing more."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not chunk:
                return not self.buf
            self.buf += chunk
        return False

    def handshake(self, **hello_args):
        hello_args.setdefault("engine-id", None)
        engine = hello_args.pop("engine-id")
        self.send(w.hello(engine_id=engine or "test-engine", **hello_args))
        f = self.read_frame()
        assert f.type == w.AGENT_HELLO, "expected AGENT-HELLO, got type %d" % f.type
        return f


class Checks(unittest.TestCase):
    """Assertions shared by the test classes."""

    agent = None

    def connect(self):
        c = Conn(self.agent.port)
        self.addCleanup(c.close)
        return c

    def assert_disconnect(self, conn, status, timeout=IO_TIMEOUT):
        f = conn.read_frame(timeout)
        self.assertEqual(f.type, w.AGENT_DISCONNECT, "expected AGENT-DISCONNECT")
        self.assertEqual((f.sid, f.fid, f.flags), (0, 0, w.FIN))
        kv = f.kv()
        self.assertEqual(kv.get("status-code"), status, "message: %r" % kv.get("message"))
        self.assertIsInstance(kv.get("message"), bytes)
        self.assertTrue(conn.closed_by_peer(), "agent did not close after AGENT-DISCONNECT")

    def assert_echo_ack(self, f, sid, fid, echoed):
        self.assertEqual(f.type, w.ACK)
        self.assertEqual((f.sid, f.fid, f.flags), (sid, fid, w.FIN))
        actions = {name: (action, scope, value) for action, scope, name, value in f.actions()}
        self.assertIn("agent", actions)
        action, scope, (vtype, value) = actions["agent"]
        self.assertEqual((action, scope, vtype), (1, 2, w.T_STRING))  # set-var, txn, STRING
        self.assertTrue(value.startswith(b"sticky-agent/"), value)
        self.assertEqual(actions["echo"][2], (w.T_STRING, echoed))

    def assert_serves(self):
        """A fresh, well-behaved connection gets its ACK: the agent survived what came before."""
        self.assertIsNone(self.agent.proc.poll(), "agent exited:\n" + self.agent.output())
        c = Conn(self.agent.port)
        try:
            c.handshake()
            c.send(w.notify(42, 7, w.message("echo", ("a", w.string("still here")))))
            self.assert_echo_ack(c.read_frame(), 42, 7, b"still here")
        finally:
            c.close()


# Each abuse case: (name, bytes to send after connecting, whether to handshake first, status).
def abuse_cases():
    hello = w.hello(engine_id="abuse")
    return [
        ("frame above max-frame-size before HELLO", bytes.fromhex("00010000") + b"\x01" * 32, False, TOO_BIG),
        ("frame above the negotiated max-frame-size", None, "small", TOO_BIG),
        ("unknown frame type", w.frame(4, b"", 1, 1), True, INVALID),
        ("agent frame type sent by the peer", w.frame(w.ACK, b"", 1, 1), True, INVALID),
        ("frame shorter than its header", bytes.fromhex("00000003 030000"), True, INVALID),
        ("bad varint in stream-id", struct.pack(">I", 17) + b"\x03\x00\x00\x00\x01" + b"\xff" * 12, True, INVALID),
        ("NOTIFY before HELLO", w.notify(1, 1, w.message("echo")), False, INVALID),
        ("fragmented NOTIFY without FIN", w.notify(1, 1, w.message("echo"), flags=0), True, FRAG),
        ("continuation fragment", w.frame(0, b"\x00", 1, 1), True, FRAG),
        ("HELLO without supported-versions", w.hello(versions=None), False, NO_VERSION),
        ("HELLO with an unsupported version", w.hello(versions="1.0, 3.0"), False, BAD_VERSION),
        ("HELLO without capabilities", w.hello(capabilities=None), False, NO_CAPABILITIES),
        ("HELLO with max-frame-size 100", w.hello(max_frame_size=100), False, BAD_FRAME_SIZE),
        ("HELLO with non-zero ids", w.frame(w.HAPROXY_HELLO, hello[11:], 1, 0), False, INVALID),
        ("HELLO twice", hello, True, INVALID),
        ("garbage in a NOTIFY's message list", w.frame(w.NOTIFY, b"\x04echo\x02\x01a\x0b\x00", 1, 1), True, INVALID),
        ("NOTIFY argument longer than its frame", w.frame(w.NOTIFY, b"\x04echo\x01\x01a\x08\xf0\x10abc", 1, 1),
         True, INVALID),
        ("malformed HAPROXY-DISCONNECT", w.frame(w.HAPROXY_DISCONNECT, b"\x0bstatus-code", 0, 0), True, INVALID),
    ]


def run_abuse_case(test, sent, handshake, status):
    c = test.connect()
    if handshake == "small":
        f = c.handshake(max_frame_size=1024)
        test.assertEqual(f.kv()["max-frame-size"], 1024)
        sent = w.notify(1, 1, w.message("echo", ("a", w.string("x" * 2000))))
    elif handshake:
        c.handshake()
    c.send(sent)
    test.assert_disconnect(c, status)


class ProtocolTest(Checks):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def tearDown(self):
        self.assert_serves()

    def test_hello_gets_agent_hello(self):
        c = self.connect()
        f = c.handshake(max_frame_size=16380, capabilities="pipelining,async")
        self.assertEqual((f.sid, f.fid, f.flags), (0, 0, w.FIN))
        kv = f.kv()
        self.assertEqual(kv["version"], b"2.0")
        self.assertLessEqual(kv["max-frame-size"], 16380)
        self.assertGreaterEqual(kv["max-frame-size"], 256)
        self.assertEqual(kv["capabilities"], b"pipelining")

    def test_max_frame_size_never_above_the_offer(self):
        for offer in (256, 1000, 4096):
            c = self.connect()
            self.assertEqual(c.handshake(max_frame_size=offer).kv()["max-frame-size"], offer)

    def test_healthcheck_gets_agent_hello_then_close(self):
        c = self.connect()
        c.send(w.hello(capabilities="", healthcheck=True))
        f = c.read_frame()
        self.assertEqual(f.type, w.AGENT_HELLO)
        self.assertEqual(f.kv()["version"], b"2.0")
        self.assertTrue(c.closed_by_peer(), "agent kept the health-check connection open")

    def test_notify_echo_acks_with_the_same_ids(self):
        c = self.connect()
        c.handshake()
        for sid, fid in ((0, 0), (1, 1), (239, 240), (2288, 4294967295), ((1 << 64) - 1, (1 << 64) - 1)):
            with self.subTest(sid=sid, fid=fid):
                arg = "ids %d/%d" % (sid, fid)
                c.send(w.notify(sid, fid, w.message("echo", ("a", w.string(arg)))))
                self.assert_echo_ack(c.read_frame(), sid, fid, arg.encode())

    def test_echo_renders_each_argument_type(self):
        c = self.connect()
        c.handshake()
        cases = [(w.int64(-1), b"-1"), (w.uint32(4294967295), b"4294967295"), (w.ipv4(192, 0, 2, 1), b"192.0.2.1"),
                 (w.boolean(True), b"true"), (w.null(), b"null"), (w.binary(b"\x00\x01"), b"\x00\x01")]
        for i, (value, rendered) in enumerate(cases):
            with self.subTest(rendered=rendered):
                c.send(w.notify(100 + i, 1, w.message("echo", ("", value))))
                self.assert_echo_ack(c.read_frame(), 100 + i, 1, rendered)

    def test_fifty_pipelined_notifies_in_one_write_all_get_acks(self):
        c = self.connect()
        c.handshake(capabilities="pipelining")
        ids = [(1000 + i * 37, i * 3 + 1) for i in range(50)]
        c.send(b"".join(w.notify(s, f, w.message("echo", ("a", w.string("p%d" % s)))) for s, f in ids))
        seen = {}
        for _ in ids:
            f = c.read_frame()
            self.assertEqual(f.type, w.ACK)
            seen[(f.sid, f.fid)] = f
        self.assertEqual(set(seen), set(ids))
        for (s, fid), f in seen.items():
            self.assert_echo_ack(f, s, fid, b"p%d" % s)

    def test_unknown_message_gets_a_non_empty_ack(self):
        c = self.connect()
        c.handshake()
        c.send(w.notify(9, 3, w.message("no-such-message", ("a", w.string("x")))))
        f = c.read_frame()
        self.assertEqual((f.type, f.sid, f.fid), (w.ACK, 9, 3))
        self.assertTrue(f.actions(), "empty ACK: HAProxy 3.1.x would never wake the stream")

    def test_several_messages_in_one_notify_get_one_ack(self):
        c = self.connect()
        c.handshake()
        c.send(w.notify(5, 6, w.message("ping"), w.message("echo", ("a", w.string("two")))))
        self.assert_echo_ack(c.read_frame(), 5, 6, b"two")

    def test_haproxy_disconnect_gets_agent_disconnect_status_0(self):
        c = self.connect()
        c.handshake()
        c.send(w.haproxy_disconnect(0, "normal"))
        self.assert_disconnect(c, NORMAL)

    def test_haproxy_disconnect_with_an_error_status_is_still_answered_normally(self):
        c = self.connect()
        c.handshake()
        c.send(w.haproxy_disconnect(2, "timeout"))
        self.assert_disconnect(c, NORMAL)

    def test_abuse_cases_get_the_exact_status_then_close(self):
        for name, sent, handshake, status in abuse_cases():
            with self.subTest(name):
                run_abuse_case(self, sent, handshake, status)
                self.assert_serves()

    def test_truncated_frame_then_eof_just_closes(self):
        for cut in (2, 5, 40):
            with self.subTest(cut=cut):
                c = self.connect()
                c.send(w.hello()[:cut])
                c.sock.shutdown(socket.SHUT_WR)
                self.assertTrue(c.closed_by_peer(), "agent kept a half-closed connection")

    def test_truncated_notify_then_eof_just_closes(self):
        c = self.connect()
        c.handshake()
        c.send(w.notify(1, 1, w.message("echo", ("a", w.string("cut"))))[:-3])
        c.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(c.closed_by_peer())

    def test_hello_trickled_one_byte_at_a_time_still_gets_agent_hello(self):
        c = self.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        hello = w.hello(engine_id="slow")
        started = time.monotonic()
        for b in hello:
            c.send(bytes([b]))
            time.sleep(0.02)
        self.assertLess(time.monotonic() - started, HELLO_TIMEOUT, "trickle took longer than the hello timeout")
        f = c.read_frame()
        self.assertEqual(f.type, w.AGENT_HELLO)
        c.send(w.notify(1, 2, w.message("echo", ("a", w.string("slow")))))
        self.assert_echo_ack(c.read_frame(), 1, 2, b"slow")

    def test_frame_left_incomplete_after_traffic_is_closed_after_the_frame_timeout(self):
        # The frame deadline runs from the frame's first byte, not from the last complete frame:
        # after an idle gap longer than the frame timeout, a frame arriving in two pieces is served.
        c = self.connect()
        c.handshake()
        time.sleep(FRAME_TIMEOUT + 1)
        split = w.notify(1, 1, w.message("echo", ("a", w.string("after a quiet spell"))))
        c.send(split[:7])
        time.sleep(0.3)
        c.send(split[7:])
        self.assert_echo_ack(c.read_frame(), 1, 1, b"after a quiet spell")
        # The connection timer is re-armed lazily (only when a deadline moves earlier): after
        # answered traffic it points at the far idle deadline, and a half-sent frame must still
        # bring the much earlier frame deadline into force.
        for i in range(2, 21):
            c.send(w.notify(i, 1, w.message("echo", ("a", w.string("x")))))
            self.assert_echo_ack(c.read_frame(), i, 1, b"x")
        frame = w.notify(99, 1, w.message("echo", ("a", w.string("never finished"))))
        c.send(frame[:7])
        started = time.monotonic()
        self.assert_disconnect(c, TIMEOUT, timeout=FRAME_TIMEOUT + 3)
        elapsed = time.monotonic() - started
        self.assertGreater(elapsed, FRAME_TIMEOUT - 0.5)
        self.assertLess(elapsed, FRAME_TIMEOUT + 3)

    def test_silent_connection_is_closed_after_the_hello_timeout(self):
        c = self.connect()
        started = time.monotonic()
        self.assert_disconnect(c, TIMEOUT, timeout=HELLO_TIMEOUT + 3)
        elapsed = time.monotonic() - started
        self.assertGreater(elapsed, HELLO_TIMEOUT - 0.5)
        self.assertLess(elapsed, HELLO_TIMEOUT + 3)


class LifecycleTest(Checks):
    """Abuse on a fresh agent, then: no descriptor leaked, still alive, clean SIGTERM."""

    def test_no_fd_leak_and_clean_sigterm_after_abuse(self):
        agent = Agent()
        type(self).agent = agent
        try:
            self.assert_serves()
            time.sleep(0.2)
            baseline = agent.fd_count()
            for _ in range(3):
                for name, sent, handshake, status in abuse_cases():
                    with self.subTest(name):
                        run_abuse_case(self, sent, handshake, status)
                for cut in (3, 30):  # truncated, then EOF
                    c = self.connect()
                    c.send(w.hello()[:cut])
                    c.sock.shutdown(socket.SHUT_WR)
                    self.assertTrue(c.closed_by_peer())
                    c.close()
                self.assert_serves()
            deadline = time.monotonic() + 5
            while agent.fd_count() != baseline and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(agent.fd_count(), baseline, "descriptors leaked: %s" %
                             sorted(os.readlink("/proc/%d/fd/%s" % (agent.proc.pid, fd))
                                    for fd in os.listdir("/proc/%d/fd" % agent.proc.pid)))
            self.assertIsNone(agent.proc.poll(), "agent died:\n" + agent.output())
            started = time.monotonic()
            self.assertEqual(agent.stop(), 0, "agent output:\n" + agent.output())
            self.assertLess(time.monotonic() - started, 5.0)
        finally:
            agent.close()

    def test_connections_over_max_connections_are_closed_at_once_and_room_comes_back(self):
        # The agent counts its connections across workers; the probe the Agent() start-up makes
        # is closed by then, so exactly max_connections (3) handshakes succeed.
        agent = Agent("agent:\n  max_connections: 3\n")
        type(self).agent = agent
        try:
            time.sleep(0.2)  # let the start-up probe's close be seen
            held = []
            for _ in range(3):
                c = self.connect()
                c.handshake()
                held.append(c)
            extra = self.connect()
            self.assertTrue(extra.closed_by_peer(), "a 4th connection was kept open")
            held[0].close()
            time.sleep(0.2)  # the agent notices the close on its next loop turn
            self.assert_serves()
        finally:
            agent.close()

    def test_connected_haproxy_engines_are_listed_by_engine_id(self):
        # After a reload the old HAProxy keeps its engine-id while it drains: the gauge shows when
        # it is gone. Health checks are not engines' connections.
        agent = Agent(metrics=True)
        type(self).agent = agent
        try:
            def engine_lines():
                return sorted(l for l in agent.metric_lines() if l.startswith("sticky_haproxy_engine"))

            old = [self.connect(), self.connect()]
            for c in old:
                c.handshake(**{"engine-id": "engine-old"})
            new = self.connect()
            new.handshake(**{"engine-id": "engine-new"})
            probe = self.connect()
            probe.send(w.hello(engine_id="engine-probe", healthcheck=True))
            self.assertEqual(probe.read_frame().type, w.AGENT_HELLO)
            self.assertEqual(engine_lines(), [
                'sticky_haproxy_engine_connections{engine_id="engine-new"} 1',
                'sticky_haproxy_engine_connections{engine_id="engine-old"} 2',
                "sticky_haproxy_engines 2"])
            for c in old:
                c.close()
            deadline = time.monotonic() + IO_TIMEOUT
            while time.monotonic() < deadline and len(engine_lines()) != 2:
                time.sleep(0.05)
            self.assertEqual(engine_lines(), [
                'sticky_haproxy_engine_connections{engine_id="engine-new"} 1', "sticky_haproxy_engines 1"])
        finally:
            agent.close()

    def test_sigterm_with_an_idle_connection_sends_disconnect_and_exits_0(self):
        agent = Agent()
        type(self).agent = agent
        try:
            c = self.connect()
            c.handshake()
            agent.proc.send_signal(signal.SIGTERM)
            # The open connection is still served for the drain grace (agent.drain_grace,
            # default 3 s) before the DISCONNECT: waiting only IO_TIMEOUT raced with it.
            self.assert_disconnect(c, NORMAL, timeout=3.0 + IO_TIMEOUT)
            self.assertEqual(agent.proc.wait(timeout=8), 0, agent.output())
        finally:
            agent.close()


if __name__ == "__main__":
    unittest.main()
