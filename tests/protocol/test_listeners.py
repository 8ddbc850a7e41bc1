"""Listeners and the metrics endpoint under the conditions a first-time operator meets.

One agent per address (a second one is refused, a stale unix socket is replaced), a /metrics
endpoint that slow clients cannot stall, accept at the descriptor limit without spinning, room for
HAProxy's health checks at max_connections, and --check refusing what start-up refuses.
Agent binary: $STICKY_AGENT_BIN."""
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spop_wire as w  # noqa: E402
import test_protocol_abuse as pa  # noqa: E402

AGENT_BIN = pa.AGENT_BIN
IO_TIMEOUT = 3.0
RESOURCE_ERROR = 13  # SPOP status "resource allocation error"


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proc:
    """A sticky-agent started with the given arguments, output captured in a temp file."""

    def __init__(self, *args, nofile=None, wait_tcp=None, wait_unix=None):
        self.log = tempfile.TemporaryFile()
        preexec = None
        if nofile is not None:
            soft, hard = nofile if isinstance(nofile, tuple) else (nofile, nofile)

            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        self.proc = subprocess.Popen([AGENT_BIN, *args], stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while wait_tcp or wait_unix:
            try:
                if wait_tcp:
                    socket.create_connection(("127.0.0.1", wait_tcp), timeout=1).close()
                else:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(wait_unix)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("agent did not start:\n" + self.output())
                time.sleep(0.05)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait(self, timeout=10):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def serves(connect):
    """HELLO then an echo NOTIFY on a fresh connection made by connect(); returns the echoed value."""
    s = connect()
    s.settimeout(IO_TIMEOUT)
    try:
        s.sendall(w.hello(engine_id="listeners-test"))
        buf = b""
        frames = []
        s.sendall(w.notify(5, 9, w.message("echo", ("a", w.string("alive")))))
        deadline = time.monotonic() + IO_TIMEOUT
        while len(frames) < 2 and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while True:
                f, buf = w.split(buf)
                if f is None:
                    break
                frames.append(f)
        assert [f.type for f in frames] == [w.AGENT_HELLO, w.ACK], frames
        actions = {name: value for _, _, name, value in frames[1].actions()}
        return actions["echo"][1]
    finally:
        s.close()


def tcp(port):
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)


def unix(path):
    def connect():
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(IO_TIMEOUT)
        s.connect(path)
        return s
    return connect


class OneAgentPerAddress(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sticky-listen-")

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def start(self, *args, **kw):
        p = Proc(*args, **kw)
        self.addCleanup(p.stop)
        return p

    def assert_refused(self, addr, first):
        second = Proc("--listen", addr, "--threads", "2")
        try:
            code = second.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("a second agent on %s kept running" % addr)
        out = second.output()
        second.stop()
        self.assertNotEqual(code, 0, out)
        self.assertIn(addr, out)
        self.assertIn("already", out)
        self.assertIn("pid %d" % first.pid, out)
        return out

    def test_second_agent_on_the_same_tcp_port_is_refused_and_the_first_keeps_serving(self):
        port = pa.free_port()
        addr = "127.0.0.1:%d" % port
        first = self.start("--listen", addr, "--threads", "2", wait_tcp=port)
        self.assert_refused(addr, first)
        # Every connection still lands on the first agent (a second SO_REUSEPORT socket would take half).
        for _ in range(20):
            self.assertEqual(serves(tcp(port)), b"alive")
        self.assertIsNone(first.proc.poll())

    def test_second_agent_on_the_same_unix_path_is_refused_and_the_socket_stays(self):
        path = os.path.join(self.dir, "sticky.sock")
        first = self.start("--listen", "unix:" + path, "--threads", "2", wait_unix=path)
        inode = os.stat(path).st_ino
        self.assert_refused("unix:" + path, first)
        self.assertEqual(os.stat(path).st_ino, inode, "the second agent replaced the first's socket")
        self.assertEqual(serves(unix(path)), b"alive")

    def test_stale_unix_socket_of_a_killed_agent_is_replaced(self):
        path = os.path.join(self.dir, "sticky.sock")
        first = Proc("--listen", "unix:" + path, "--threads", "2", wait_unix=path)
        first.proc.send_signal(signal.SIGKILL)
        first.wait()
        first.stop()
        self.assertTrue(os.path.exists(path), "kill -9 leaves the socket file behind")
        self.start("--listen", "unix:" + path, "--threads", "2", wait_unix=path)
        self.assertEqual(serves(unix(path)), b"alive")

    def test_a_regular_file_at_the_unix_path_is_never_removed(self):
        path = os.path.join(self.dir, "not-a-socket")
        with open(path, "w") as f:
            f.write("keep me")
        p = Proc("--listen", "unix:" + path)
        self.assertNotEqual(p.wait(10), 0)
        p.stop()
        with open(path) as f:
            self.assertEqual(f.read(), "keep me")


class MetricsNeverBlock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = pa.free_port()
        cls.metrics_port = pa.free_port()
        cls.agent = Proc("--listen", "127.0.0.1:%d" % cls.port, "--threads", "2",
                         "--metrics", "127.0.0.1:%d" % cls.metrics_port, wait_tcp=cls.port)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.metrics_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def scrape(self, timeout=5.0):
        """GET /metrics on a fresh connection: (seconds taken, body)."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=timeout) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        elapsed = time.monotonic() - started
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200"), head)
        return elapsed, body

    def test_twenty_slow_clients_do_not_delay_a_scrape(self):
        slow = []
        try:
            for _ in range(20):
                s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=5)
                s.sendall(b"GET /metr")
                slow.append(s)
            time.sleep(0.2)
            elapsed, body = self.scrape(timeout=5)
            print("\n/metrics latency with 20 slow clients: %.1f ms" % (elapsed * 1000), file=sys.stderr)
            self.assertLess(elapsed, 1.0)
            self.assertIn(b"sticky_connections_accepted", body)
        finally:
            for s in slow:
                s.close()

    def test_a_client_trickling_its_request_is_dropped_at_the_timeout(self):
        started = time.monotonic()
        s = socket.create_connection(("127.0.0.1", self.metrics_port), timeout=1)
        closed_after = None
        try:
            for b in b"GET /metrics HTTP/1.0\r\nX-Slow: " + b"a" * 100:
                try:
                    s.sendall(bytes([b]))
                    s.settimeout(0.5)
                    if s.recv(1) == b"":
                        closed_after = time.monotonic() - started
                        break
                except socket.timeout:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    closed_after = time.monotonic() - started
                    break
                if time.monotonic() - started > 15:
                    break
        finally:
            s.close()
        self.assertIsNotNone(closed_after, "the trickling client was never dropped")
        self.assertGreater(closed_after, 1.5)
        self.assertLess(closed_after, 6.0)

    def test_a_hundred_concurrent_scrapes_are_all_answered(self):
        results, errors = [], []

        def one():
            try:
                results.append(self.scrape(timeout=10)[0])
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(e))

        threads = [threading.Thread(target=one) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 100)

    def test_an_oversized_request_is_refused(self):
        with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=5) as s:
            try:
                s.sendall(b"GET /metrics HTTP/1.0\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return
            data = b""
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except ConnectionResetError:
                pass
        self.assertFalse(data.startswith(b"HTTP/1.0 200"), data[:100])


class AcceptAtTheDescriptorLimit(unittest.TestCase):
    def test_accept_backs_off_at_emfile_and_recovers(self):
        port = pa.free_port()
        metrics_port = pa.free_port()
        agent = Proc("--listen", "127.0.0.1:%d" % port, "--threads", "2", "--metrics",
                     "127.0.0.1:%d" % metrics_port, "--log-level", "warn", nofile=64, wait_tcp=port)
        self.addCleanup(agent.stop)
        clients = []
        try:
            for _ in range(150):
                clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            time.sleep(0.5)
            before = cpu_seconds(agent.pid)
            time.sleep(2.0)
            used = (cpu_seconds(agent.pid) - before) / 2.0
            print("\nagent CPU at the fd limit: %.1f%% of a core" % (used * 100), file=sys.stderr)
            self.assertLess(used, 0.20)
            self.assertIsNone(agent.proc.poll(), agent.output())
        finally:
            for c in clients:
                c.close()
        # Default max_connections (10000) cannot fit in 64 descriptors: said once at start-up.
        self.assertIn("agent.max_connections is 10000 but the descriptor limit is 64", agent.output())
        lines = [l for l in agent.output().splitlines() if "open files" in l]
        self.assertGreater(len(lines), 0, "the descriptor shortage was not logged")
        self.assertLess(len(lines), 10, "\n".join(lines[:20]))
        time.sleep(1.0)
        self.assertEqual(serves(tcp(port)), b"alive")
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        counted = [l for l in data.decode().splitlines() if l.startswith("sticky_accept_fd_exhausted_total ")]
        self.assertEqual(len(counted), 1, data.decode()[-2000:])
        self.assertGreater(float(counted[0].split()[1]), 0)


    def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(self):
        port = pa.free_port()
        agent = Proc("--listen", "127.0.0.1:%d" % port, "--threads", "2", nofile=(64, 4096), wait_tcp=port)
        self.addCleanup(agent.stop)
        with open("/proc/%d/limits" % agent.pid) as f:
            line = [l for l in f if l.startswith("Max open files")][0]
        self.assertEqual(line.split()[3:5], ["4096", "4096"], line)
        held = []
        try:
            for _ in range(100):  # more than the 64 it was started with
                c = pa.Conn(port)
                held.append(c)
                c.handshake()
        finally:
            for c in held:
                c.close()


class HealthChecksAtTheConnectionCap(unittest.TestCase):
    def start_capped_agent(self, threads):
        """An agent with max_connections 3 and /metrics: (agent, port, metrics port)."""
        cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml")
        self.addCleanup(cfg.close)
        cfg.write("agent:\n  max_connections: 3\n")
        cfg.flush()
        port, metrics_port = pa.free_port(), pa.free_port()
        agent = Proc("--listen", "127.0.0.1:%d" % port, "--threads", str(threads), "--config", cfg.name,
                     "--metrics", "127.0.0.1:%d" % metrics_port, wait_tcp=port)
        self.addCleanup(agent.stop)
        time.sleep(0.2)  # the start-up probe's close is seen
        return agent, port, metrics_port

    def test_health_check_is_answered_at_max_connections_and_others_are_refused(self):
        agent, port, metrics_port = self.start_capped_agent(threads=2)
        held = []
        for _ in range(3):
            c = pa.Conn(port)
            self.addCleanup(c.close)
            c.handshake()
            held.append(c)
        for _ in range(3):  # every check at the cap gets its AGENT-HELLO, then the close
            probe = pa.Conn(port)
            self.addCleanup(probe.close)
            probe.send(w.hello(engine_id="checker", healthcheck=True))
            self.assertEqual(probe.read_frame().type, w.AGENT_HELLO)
            self.assertTrue(probe.closed_by_peer())
        extra = pa.Conn(port)
        self.addCleanup(extra.close)
        extra.send(w.hello(engine_id="too-many"))
        f = extra.read_frame()
        self.assertEqual(f.type, w.AGENT_DISCONNECT)
        self.assertEqual(f.kv().get("status-code"), RESOURCE_ERROR)
        self.assertTrue(extra.closed_by_peer())
        silent = pa.Conn(port)  # over the cap and saying nothing: closed soon, without a frame
        self.addCleanup(silent.close)
        self.assertTrue(silent.closed_by_peer(timeout=IO_TIMEOUT))
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        values = dict(l.rsplit(" ", 1) for l in data.decode().splitlines() if l and not l.startswith("#"))
        self.assertEqual(float(values["sticky_healthchecks_over_limit_total"]), 3)
        self.assertGreaterEqual(float(values["sticky_connections_refused_limit_total"]), 2)
        held[0].close()
        time.sleep(0.3)
        self.assertEqual(serves(tcp(port)), b"alive")

    def test_silent_connections_at_the_cap_make_room_for_one_that_says_hello(self):
        # Anything on the host can fill max_connections with connections that never speak; the
        # oldest silent one (older than 100 ms) is closed for a newcomer, which HAProxy always is
        # (it says HELLO at once). One worker: the eviction is per worker.
        agent, port, metrics_port = self.start_capped_agent(threads=1)
        silent = []
        for _ in range(3):
            c = pa.Conn(port)
            self.addCleanup(c.close)
            silent.append(c)
            time.sleep(0.05)
        time.sleep(0.2)  # all older than 100 ms
        for i in range(2):
            newcomer = pa.Conn(port)
            self.addCleanup(newcomer.close)
            newcomer.handshake(**{"engine-id": "haproxy"})
            newcomer.send(w.notify(1, 1, w.message("echo", ("a", w.string("in")))))
            self.assertEqual(newcomer.read_frame().type, w.ACK)
            # The oldest silent connection went, without a frame; the younger ones stay.
            self.assertTrue(silent[i].closed_by_peer(timeout=1.0), "silent connection %d still open" % i)
        self.assertFalse(silent[2].closed_by_peer(timeout=0.3))
        # Ready connections are never evicted: with the cap held by them, a newcomer is refused.
        for c in silent[2:]:
            c.close()
        time.sleep(0.2)
        third = pa.Conn(port)
        self.addCleanup(third.close)
        third.handshake()
        extra = pa.Conn(port)
        self.addCleanup(extra.close)
        extra.send(w.hello(engine_id="too-many"))
        f = extra.read_frame()
        self.assertEqual((f.type, f.kv().get("status-code")), (w.AGENT_DISCONNECT, RESOURCE_ERROR))
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        values = dict(l.rsplit(" ", 1) for l in data.decode().splitlines() if l and not l.startswith("#"))
        self.assertEqual(float(values["sticky_connections_evicted_pre_hello_total"]), 2)


class CheckRunsTheStartupValidation(unittest.TestCase):
    def run_agent(self, *args):
        return subprocess.run([AGENT_BIN, *args], capture_output=True, text=True, timeout=10)

    def test_check_refuses_what_startup_refuses(self):
        cases = [
            ("agent:\n  listen: localhost:12345\n", "localhost:12345"),
            ("agent:\n  listen: 127.0.0.1:12345\n  metrics: localhost:9100\n", "localhost:9100"),
            ("agent:\n  listen: unix:/tmp/x.sock\n  socket_group: no-such-group-xyz\n", "no-such-group-xyz"),
            ("agent:\n  listen: unix:/tmp/x.sock\n  socket_mode: '0999'\n", "0999"),
            ("agent:\n  listen: [127.0.0.1:12345, 127.0.0.1:12345]\n", "given twice"),
        ]
        for text, needle in cases:
            with self.subTest(text), tempfile.NamedTemporaryFile("w", suffix=".yaml") as cfg:
                cfg.write(text)
                cfg.flush()
                start = self.run_agent("--config", cfg.name)
                self.assertNotEqual(start.returncode, 0, start.stderr)
                check = self.run_agent("--check", cfg.name)
                self.assertNotEqual(check.returncode, 0, check.stdout + check.stderr)
                self.assertNotIn("valid (", check.stdout)
                errors = [l for l in start.stderr.splitlines() if needle in l]
                self.assertTrue(errors, start.stderr)
                # The same sentence, whatever the log prefix of start-up.
                message = re.sub(r"^\S+Z error ", "", errors[0])
                self.assertIn(message, check.stderr)

    def test_no_listener_stops_start_up_and_is_a_warning_of_check(self):
        # `listen:` then nothing (or `[]`) is valid YAML for an empty list. Without --listen the
        # agent would start and look healthy while HAProxy could never reach it, so start-up
        # refuses; --check only warns, because `listen: []` with --listen on the service's command
        # line is valid and the unit's ExecReload= runs --check without it.
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as cfg:
            cfg.write("agent:\n  listen: # filled in by a template that did not run\n")
            cfg.flush()
            start = self.run_agent("--config", cfg.name)
            self.assertEqual(start.returncode, 1, start.stderr)
            self.assertIn("no listener: agent.listen is empty and no --listen was given", start.stderr)
            check = self.run_agent("--check", cfg.name)
            self.assertEqual(check.returncode, 0, check.stderr)
            self.assertIn("warning: no listener: agent.listen is empty and no --listen was given: start-up "
                          "needs --listen", check.stderr)
            quiet = self.run_agent("--check", cfg.name, "--listen", "127.0.0.1:12345")
            self.assertEqual(quiet.returncode, 0, quiet.stderr)
            self.assertNotIn("no listener", quiet.stderr)

    def test_check_applies_the_command_line_options_as_start_up_does(self):
        # --listen replaces agent.listen at start-up, so it must for --check too; the socket options
        # given on the command line are validated like the config keys.
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as cfg:
            cfg.write("agent:\n  listen: localhost:12345\n")
            cfg.flush()
            self.assertNotEqual(self.run_agent("--check", cfg.name).returncode, 0)
            ok = self.run_agent("--check", cfg.name, "--listen", "127.0.0.1:12345")
            self.assertEqual(ok.returncode, 0, ok.stderr)
            bad = self.run_agent("--check", cfg.name, "--listen", "unix:/tmp/x.sock", "--socket-mode", "99")
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("socket mode must be octal permission bits such as 0660, got '99'", bad.stderr)
            bad = self.run_agent("--check", cfg.name, "--listen", "unix:/tmp/x.sock", "--socket-owner", "nosuchuserxyz")
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("socket owner 'nosuchuserxyz': no such user", bad.stderr)

if __name__ == "__main__":
    unittest.main()
