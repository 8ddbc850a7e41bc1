"""Test harness: real haproxy, real sticky-agent, real redis-server on free loopback ports.

Every process is started in a private temp dir and stopped (then killed if needed) when the
stack closes, even when a test fails. Nothing here talks to anything but 127.0.0.1.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SOURCE_DIR = os.environ.get(
    "STICKY_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
AGENT_BIN = os.environ.get(
    "STICKY_AGENT_BIN", os.path.join(SOURCE_DIR, "build", "spoa", "agent", "sticky-agent"))
HAPROXY_BIN = os.environ.get("HAPROXY_BIN", shutil.which("haproxy") or "haproxy")
REDIS_BIN = os.environ.get("REDIS_BIN", shutil.which("redis-server") or "redis-server")
CONF_DIR = os.path.join(SOURCE_DIR, "haproxy-conf")


def free_port():
    """A TCP port that was free a moment ago (bind 0, read it back, release it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached after {timeout}s (last: {last!r})")


def settled(read, quiet=1.5, timeout=10.0, what="value"):
    """read() once it has stopped changing for `quiet` seconds: the agent publishes its per-worker
    counters to /metrics about once a second, so a single read may still miss recent requests."""
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return value
    raise TimeoutError(f"{what} still changing after {timeout}s (last: {value!r})")


class Proc:
    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stops the process and returns its exit code (killing it if it overstays)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.log.close()
        return self.p.returncode

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Stack:
    """A set of processes sharing one temp dir. Use as a context manager."""

    def __init__(self, prefix="sticky-it-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs.clear()
        if os.environ.get("STICKY_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def start(self, name, argv, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = Proc(name, argv, full_env, self.path(name + ".log"))
        self.procs.append(p)
        return p

    def start_agent(self, *args, name="agent", port=None, wait=True):
        port = port or free_port()
        argv = [AGENT_BIN, "--listen", f"127.0.0.1:{port}", "--threads", "2", *args]
        p = self.start(name, argv)
        p.port = port
        if wait:
            wait_port(port)
        return p

    def start_haproxy(self, cfg, env, wait_ports=(), name="haproxy", args=()):
        env = dict(env)
        env.setdefault("STICKY_RUN_DIR", self.dir)
        env.setdefault("STICKY_CONF_DIR", CONF_DIR)
        check = subprocess.run([HAPROXY_BIN, "-c", "-f", cfg], env={**os.environ, **env},
                               capture_output=True, text=True)
        if check.returncode != 0 or "[WARNING]" in check.stdout + check.stderr:
            # Shipped configs must be clean: a warning usually means a rule silently ignored.
            raise RuntimeError(f"haproxy -c not clean for {cfg}:\n{check.stdout}{check.stderr}")
        p = self.start(name, [HAPROXY_BIN, "-f", cfg, "-db", *args], env)
        p.cfg, p.env = cfg, env  # what a reload (-sf) starts again
        for port in wait_ports:
            wait_port(port)
        return p

    def start_redis(self, name="redis", port=None, extra=()):
        port = port or free_port()
        argv = [REDIS_BIN, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, *extra]
        p = self.start(name, argv)
        p.port = port
        wait_port(port)
        return p


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, source=None):
        # `source`: a local address to connect from (any 127.x.y.z works on loopback), so one
        # test can play clients from many subnets.
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                               source_address=(source, 0) if source else None)

    def get(self, path="/", headers=None):
        self.conn.request("GET", path, headers=headers or {})
        r = self.conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def close(self):
        self.conn.close()


def get(port, path="/", headers=None, source=None):
    """One request on a fresh connection (from `source` if given)."""
    h = Http(port, source=source)
    try:
        return h.get(path, headers)
    finally:
        h.close()


def parse_metrics(body):
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def agent_metrics(port, host="127.0.0.1"):
    h = Http(port, host=host, timeout=5)
    try:
        return parse_metrics(h.get("/metrics")[2])
    finally:
        h.close()


def runtime_api(sock_path, command, timeout=5.0):
    """Sends one command to HAProxy's stats socket and returns its answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode()


def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
