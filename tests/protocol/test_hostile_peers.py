"""Hostile SPOP peers (issue 12): the agent port is reachable by anything on the host.

One agent runs for the whole class; a well-behaved, HAProxy-like client (its own process, so the
attackers' Python never holds its interpreter lock) sends an echo NOTIFY every 5 ms and times each
ACK. Each test subjects the agent to one attack and then asserts that the good client's answers
stayed within a processing-timeout-like bound, that max_connections held, that the agent's
descriptors (/proc/PID/fd) came back to their baseline once the attackers left, that the agent is
alive, and that /metrics counted what happened. Figures are printed on stderr ("HOSTILE ...").

Every loop here is bounded in count and in time; all traffic goes to 127.0.0.1.
Agent binary: $STICKY_AGENT_BIN."""
import errno
import multiprocessing
import os
import resource
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spop_wire as w  # noqa: E402
import test_protocol_abuse as pa  # noqa: E402

MAX_CONN = 6000          # the agent's max_connections in this test
IDLE_TARGET = 10000      # idle connections the test tries to open (bounded by RLIMIT_NOFILE)
RESERVE = 2 * 8          # healthcheck_reserve (8) per worker, 2 workers
HELLO_TIMEOUT = pa.HELLO_TIMEOUT
FRAME_TIMEOUT = pa.FRAME_TIMEOUT
MAX_FRAME = 16380
# The bound on the good client: HAProxy's `timeout processing` is tens of ms (the shipped files use
# 40-50 ms). Measured on a loaded 2-core VM, so the maximum gets slack; the p99 does not.
P99_BOUND = 0.050
MAX_BOUND = 0.200
TIMEOUT, TOO_BIG, NO_CAPABILITIES = 2, 3, 7


def raise_nofile(want):
    """Raises this process's soft RLIMIT_NOFILE towards `want`; returns the soft limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def good_client(port, ctl):
    """The HAProxy-like client: one connection, one echo NOTIFY at a time, each ACK timed.

    `ctl` (a pipe end): "dump" returns the latencies since the last dump, "stop" ends. Any
    failure is reported as ("error", text) on the next request."""
    samples, error = [], None
    deadline = time.monotonic() + 900  # bounded in time and count whatever the test does
    try:
        c = pa.Conn(port)
        c.handshake(**{"engine-id": "good-haproxy"})
    except Exception as e:  # noqa: BLE001
        error = "handshake: %r" % e
    sid = 0
    while time.monotonic() < deadline and sid < 2_000_000:
        if ctl.poll(0 if error is None else 0.1):
            req = ctl.recv()
            if req == "stop":
                break
            ctl.send(("error", error) if error else ("ok", samples))
            samples = []
            continue
        if error:
            continue
        sid += 1
        try:
            t0 = time.perf_counter()
            c.send(w.notify(sid, 1, w.message("echo", ("a", w.string("good %d" % sid)))))
            f = c.read_frame(timeout=5)
            samples.append(time.perf_counter() - t0)
            if (f.type, f.sid, f.fid) != (w.ACK, sid, 1):
                error = "unexpected frame type %d ids %d/%d for %d" % (f.type, f.sid, f.fid, sid)
        except Exception as e:  # noqa: BLE001
            error = "NOTIFY %d: %r" % (sid, e)
        time.sleep(0.005)
    ctl.close()


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def exact_frame(size, build):
    """The frame from build(n) whose LEN field is exactly `size` (n = filler bytes)."""
    n = max(0, size - len(build(0)) + 4)
    for _ in range(16):
        f = build(n)
        length = struct.unpack(">I", f[:4])[0]
        if length == size:
            return f
        n += size - length
    raise AssertionError("no frame of length %d" % size)


def notify_of_len(size, sid=1, fid=1):
    return exact_frame(size, lambda n: w.notify(sid, fid, w.message("echo", ("a", w.string("x" * n)))))


def hello_of_len(size):
    payload = w.hello(engine_id="big-hello")[11:]  # after LEN, type, flags and the two ids
    return exact_frame(size, lambda n: w.frame(w.HAPROXY_HELLO, payload + w.name("pad") + w.string("p" * n)))


class SlowStartAgent(pa.Agent):
    """pa.Agent with a longer start-up allowance (60 s): the sticky table is allocated before the
    listeners open, and on this loaded 2-core box that took more than pa.Agent's 10 s."""

    def __init__(self, config_text):  # noqa: super().__init__ is not called on purpose
        self.port, self.metrics_port = pa.free_port(), pa.free_port()
        self.log = tempfile.TemporaryFile()
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml")
        self.config.write(config_text or "agent: {}\n")
        self.config.flush()
        self.proc = subprocess.Popen(
            [pa.AGENT_BIN, "--listen", "127.0.0.1:%d" % self.port, "--threads", "2", "--log-level", "warn",
             "--metrics", "127.0.0.1:%d" % self.metrics_port, "--config", self.config.name],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.metrics_port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.output()
                    self.close()
                    raise RuntimeError("agent did not start:\n" + out)
                time.sleep(0.05)


def start_agent(config_text):
    return SlowStartAgent(config_text)


class FdSampler(threading.Thread):
    """Samples the agent's descriptor count and RSS every 50 ms until stopped (bounded: 10 min)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_fds, self.peak_rss_kb = pid, 0, 0
        self.stopped = threading.Event()

    def run(self):
        deadline = time.monotonic() + 600
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                self.peak_fds = max(self.peak_fds, len(os.listdir("/proc/%d/fd" % self.pid)))
                with open("/proc/%d/status" % self.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
            except OSError:
                pass
            self.stopped.wait(0.05)

    def stop(self):
        self.stopped.set()
        self.join(5)


class HostilePeersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nofile = raise_nofile(IDLE_TARGET + 512)
        cls.agent = start_agent("agent:\n  max_connections: %d\n" % MAX_CONN)
        ctx = multiprocessing.get_context("fork")
        cls.ctl, child = ctx.Pipe()
        cls.good = ctx.Process(target=good_client, args=(cls.agent.port, child), daemon=True)
        cls.good.start()
        child.close()
        time.sleep(0.5)
        cls.baseline_fds = None

    @classmethod
    def tearDownClass(cls):
        try:
            cls.ctl.send("stop")
        except OSError:
            pass
        cls.good.join(5)
        if cls.good.is_alive():
            cls.good.kill()
        status = cls.agent.stop()
        cls.agent.close()
        assert status == 0, "agent did not exit 0 on SIGTERM: %r" % status

    # -- helpers -----------------------------------------------------------------------------

    def latencies(self):
        self.ctl.send("dump")
        if not self.ctl.poll(10):
            self.fail("the good client did not answer")
        kind, data = self.ctl.recv()
        self.assertEqual(kind, "ok", "good client failed: %s" % data)
        return data

    def metrics(self):
        out = {}
        for line in self.agent.metric_lines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    def delta(self, before, after, key):
        return after.get(key, 0) - before.get(key, 0)

    def fds(self):
        return self.agent.fd_count()

    def wait_fds_baseline(self, limit=20.0):
        """Seconds until the agent's descriptors are back to the baseline (asserted)."""
        started = time.monotonic()
        while self.fds() > self.baseline and time.monotonic() - started < limit:
            time.sleep(0.05)
        self.assertLessEqual(self.fds(), self.baseline, "descriptors not back to the baseline: %s" %
                             sorted(os.readlink("/proc/%d/fd/%s" % (self.agent.proc.pid, fd))
                                    for fd in os.listdir("/proc/%d/fd" % self.agent.proc.pid))[:40])
        return time.monotonic() - started

    def setUp(self):
        self.assertIsNone(self.agent.proc.poll(), "agent died:\n" + self.agent.output())
        # The previous test's connections are gone (each test waits for that itself).
        time.sleep(0.2)
        self.baseline = self.fds()
        self.before = self.metrics()
        self.latencies()  # discard what came before this attack
        self.sampler = FdSampler(self.agent.proc.pid)
        self.sampler.start()
        self.t0 = time.monotonic()

    def finish(self, name, extra=""):
        """Common end of an attack: latency bound, descriptors back, agent alive; returns metrics."""
        lat = self.latencies()
        self.sampler.stop()
        back = self.wait_fds_baseline()
        after = self.metrics()
        self.assertIsNone(self.agent.proc.poll(), "agent died:\n" + self.agent.output())
        self.assertGreater(len(lat), 20, "the good client was barely served")
        p50, p99, worst = percentile(lat, 0.5), percentile(lat, 0.99), max(lat)
        sys.stderr.write(
            "\nHOSTILE %s: good client n=%d p50=%.2fms p99=%.2fms max=%.2fms; agent fds baseline=%d "
            "peak=%d back in %.2fs; peak RSS %.1f MB; %.1fs%s\n" %
            (name, len(lat), p50 * 1e3, p99 * 1e3, worst * 1e3, self.baseline, self.sampler.peak_fds, back,
             self.sampler.peak_rss_kb / 1024, time.monotonic() - self.t0, extra))
        self.assertLess(p99, P99_BOUND, "good client p99 %.1f ms" % (p99 * 1e3))
        self.assertLess(worst, MAX_BOUND, "good client max %.1f ms" % (worst * 1e3))
        self.assertLessEqual(after["sticky_connections_open"], MAX_CONN)
        return after

    # -- attacks -----------------------------------------------------------------------------

    def test_idle_connections_that_never_say_hello(self):
        target = min(IDLE_TARGET, self.nofile - 256)
        socks, failures, why = [], 0, "target reached"
        deadline = time.monotonic() + 60
        while len(socks) < target and time.monotonic() < deadline and failures < 50:
            s = socket.socket()
            try:
                s.settimeout(2)
                s.connect(("127.0.0.1", self.agent.port))
                s.setblocking(False)
                socks.append(s)
            except OSError as e:
                s.close()
                failures += 1
                why = os.strerror(e.errno) if e.errno else repr(e)
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.EADDRNOTAVAIL):
                    break
        opened = len(socks)
        open_time = time.monotonic() - self.t0
        try:
            # Until every accepted one has met its hello timeout; then read what each received.
            time.sleep(HELLO_TIMEOUT + 2.5)
            timed_out = refused = other = 0
            pending = {s.fileno(): [s, b""] for s in socks}
            read_deadline = time.monotonic() + 15
            while pending and time.monotonic() < read_deadline:
                for fd in list(pending):
                    s, buf = pending[fd]
                    try:
                        chunk = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        chunk = b""
                    if chunk:
                        pending[fd][1] = buf + chunk
                        continue
                    del pending[fd]
                    f, _ = w.split(buf)
                    if f is None and not buf:
                        refused += 1  # closed at once (or a reserve slot that never said HELLO)
                    elif f is not None and f.type == w.AGENT_DISCONNECT and f.kv().get("status-code") == TIMEOUT:
                        timed_out += 1
                    else:
                        other += 1
                if pending:
                    time.sleep(0.05)
        finally:
            for s in socks:
                s.close()
        after = self.finish("idle x%d" % opened, " (opened in %.2fs, stopped: %s, RLIMIT_NOFILE %d; %d timed out "
                                                 "with status 2, %d refused)" %
                            (open_time, why, self.nofile, timed_out, refused))
        self.assertEqual(other, 0)
        self.assertEqual(timed_out + refused, opened, "%d connections never ended" % (opened - timed_out - refused))
        self.assertEqual(self.delta(self.before, after, "sticky_timeouts_hello_total"), timed_out)
        self.assertEqual(self.delta(self.before, after, "sticky_connections_refused_limit_total"), refused)
        # The cap held: never more than max_connections (the good client holds one) plus the
        # health-check reserve, and a few for the metrics scrapes.
        self.assertLessEqual(self.sampler.peak_fds, self.baseline + MAX_CONN - 1 + RESERVE + 4)
        if opened > MAX_CONN + RESERVE:
            self.assertGreater(refused, 0)

    def test_slowloris_one_byte_every_half_second(self):
        # Before the HELLO (dropped by the hello timeout, counted from accept) and after it, inside
        # a NOTIFY (dropped by the frame timeout, counted from the frame's first byte).
        n = 20
        pre, post = [], []
        for _ in range(n):
            c = pa.Conn(self.agent.port)
            pre.append([c, w.hello(engine_id="slowloris"), 0, time.monotonic(), None])
        for i in range(n):
            c = pa.Conn(self.agent.port)
            c.handshake(**{"engine-id": "slowloris"})
            post.append([c, w.notify(i, 1, w.message("echo", ("a", w.string("s" * 60)))), 0, None, None])
        for c in pre + post:
            c[0].sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c[0].sock.setblocking(False)
        statuses = []
        deadline = time.monotonic() + FRAME_TIMEOUT + 10
        try:
            while time.monotonic() < deadline and any(c[4] is None for c in pre + post):
                tick = time.monotonic() + 0.5
                for c in pre + post:
                    if c[4] is None and c[2] < len(c[1]):
                        if c[3] is None:
                            c[3] = time.monotonic()
                        try:
                            c[0].sock.send(c[1][c[2]:c[2] + 1])
                            c[2] += 1
                        except OSError:
                            pass
                while time.monotonic() < tick:
                    live = [c for c in pre + post if c[4] is None]
                    if not live:
                        break
                    ready, _, _ = select.select([c[0].sock for c in live], [], [], max(0, tick - time.monotonic()))
                    for c in live:
                        if c[0].sock not in ready:
                            continue
                        try:
                            chunk = c[0].sock.recv(4096)
                        except BlockingIOError:
                            continue
                        except ConnectionResetError:
                            chunk = b""
                        c[0].buf += chunk
                        f, _ = w.split(c[0].buf)
                        if f is not None or not chunk:
                            c[4] = time.monotonic() - c[3]
                            statuses.append(f.kv().get("status-code") if f is not None and
                                            f.type == w.AGENT_DISCONNECT else None)
        finally:
            for c in pre + post:
                c[0].close()
        pre_t = [c[4] for c in pre]
        post_t = [c[4] for c in post]
        after = self.finish("slowloris x%d+%d" % (n, n),
                            " (pre-HELLO dropped after %.2f-%.2fs having sent %d bytes; in a NOTIFY dropped after "
                            "%.2f-%.2fs having sent %d bytes)" %
                            (min(pre_t), max(pre_t), max(c[2] for c in pre), min(post_t), max(post_t),
                             max(c[2] for c in post)))
        self.assertNotIn(None, pre_t + post_t, "a slowloris was never dropped")
        self.assertEqual(statuses, [TIMEOUT] * (2 * n))
        for t in pre_t:
            self.assertTrue(HELLO_TIMEOUT - 0.5 < t < HELLO_TIMEOUT + 1.5, t)
        for t in post_t:
            self.assertTrue(FRAME_TIMEOUT - 0.5 < t < FRAME_TIMEOUT + 1.5, t)
        self.assertEqual(self.delta(self.before, after, "sticky_timeouts_hello_total"), n)
        self.assertEqual(self.delta(self.before, after, "sticky_timeouts_frame_total"), n)

    def test_hello_flood(self):
        hello = w.hello(engine_id="flood")
        count, deadline = 0, time.monotonic() + 5
        while time.monotonic() < deadline and count < 30000:
            s = socket.socket()
            try:
                s.settimeout(2)
                s.connect(("127.0.0.1", self.agent.port))
                s.sendall(hello)
                count += 1
            except OSError:
                pass
            finally:
                s.close()
        rate = count / 5.0
        # Every HELLO is read and answered even though its sender is gone.
        settle = time.monotonic() + 10
        while time.monotonic() < settle:
            m = self.metrics()
            if self.delta(self.before, m, "sticky_hello_received_total") >= count:
                break
            time.sleep(0.1)
        after = self.finish("hello flood x%d" % count, " (%.0f connect+HELLO+close per second)" % rate)
        self.assertGreater(count, 1000)
        self.assertEqual(self.delta(self.before, after, "sticky_connections_accepted_total"), count)
        self.assertEqual(self.delta(self.before, after, "sticky_hello_received_total"), count)
        self.assertEqual(self.delta(self.before, after, "sticky_connections_closed_total"), count)
        # No engine left behind by the flood: only the good client's is connected.
        self.assertEqual(after.get('sticky_haproxy_engine_connections{engine_id="flood"}', 0), 0)
        self.assertEqual(after["sticky_haproxy_engines"], 1)

    def test_frames_of_max_frame_size_and_one_byte_more(self):
        too_big = 0
        # The HELLO itself: LEN = our max-frame-size passes, one more is refused before any parsing.
        c = pa.Conn(self.agent.port)
        c.send(hello_of_len(MAX_FRAME))
        self.assertEqual(c.read_frame().type, w.AGENT_HELLO)
        # NOTIFYs of exactly the negotiated size, pipelined (2.5 MB), then one byte more.
        big = [notify_of_len(MAX_FRAME, sid=i) for i in range(150)]
        self.assertEqual({struct.unpack(">I", f[:4])[0] for f in big}, {MAX_FRAME})
        writer = threading.Thread(target=c.send, args=(b"".join(big),))
        writer.start()
        for i in range(150):
            f = c.read_frame(timeout=10)
            self.assertEqual((f.type, f.sid), (w.ACK, i))
        writer.join(10)
        c.send(notify_of_len(MAX_FRAME + 1, sid=999))
        f = c.read_frame()
        self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, TOO_BIG))
        c.close()
        too_big += 1
        c = pa.Conn(self.agent.port)
        c.send(hello_of_len(MAX_FRAME + 1))
        f = c.read_frame()
        self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, TOO_BIG))
        c.close()
        too_big += 1
        # A smaller offer from HAProxy is the limit from then on.
        for offer in (256, 1024):
            c = pa.Conn(self.agent.port)
            self.assertEqual(c.handshake(max_frame_size=offer).kv()["max-frame-size"], offer)
            c.send(notify_of_len(offer, sid=7))
            f = c.read_frame()
            self.assertEqual((f.type, f.sid), (w.ACK, 7))
            c.send(notify_of_len(offer + 1, sid=8))
            f = c.read_frame()
            self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, TOO_BIG))
            c.close()
            too_big += 1
        after = self.finish("max-frame-size")
        self.assertEqual(self.delta(self.before, after, 'sticky_protocol_errors_by_status_total{status="3"}'),
                         too_big)

    def test_255_arguments_and_many_messages_per_frame(self):
        c = pa.Conn(self.agent.port)
        c.handshake(**{"engine-id": "wide"})
        values = [w.string("first"), w.int64(-1), w.uint32(7), w.ipv4(10, 0, 0, 1), w.boolean(True), w.null(),
                  w.binary(b"\x00\xff"), bytes([w.T_IPV6]) + bytes(16)]
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
        echo_frame = w.notify(3, 1, w.message("echo") * per_echo)
        unknown_frame = w.notify(4, 1, w.message("") * per_unknown)
        self.assertLessEqual(max(len(echo_frame), len(unknown_frame)) - 4, MAX_FRAME)
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
        after = self.finish("255 args / %d+%d messages per frame" % (per_echo, per_unknown))
        self.assertEqual(self.delta(self.before, after, "sticky_messages_received_total"),
                         1 + 4 + rounds * (per_echo + per_unknown))
        self.assertEqual(self.delta(self.before, after, "sticky_messages_unknown_total"), rounds * per_unknown)
        self.assertEqual(self.delta(self.before, after, "sticky_notify_received_total"), 2 + 2 * rounds + 0)


class CapabilitiesTest(unittest.TestCase):
    """A HAPROXY-HELLO must carry "capabilities" (SPOE.txt 3.2.4: mandatory); every HAProxy from
    2.6 to 3.x sends it, an empty string in health checks. Without it: AGENT-DISCONNECT status 7."""

    @classmethod
    def setUpClass(cls):
        cls.agent = start_agent(None)

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def test_hello_without_capabilities_is_refused_with_status_7(self):
        before = [l for l in self.agent.metric_lines() if 'status="7"' in l]
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
        after = [l for l in self.agent.metric_lines() if 'status="7"' in l]
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
