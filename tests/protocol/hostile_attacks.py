"""Hostile SPOP peers against an agent that a real HAProxy is using, shared by the ctest
(test_hostile_peers.py, quick) and the bench (tests/bench/faults/hostile_peers.py, bigger).

- HttpProbe: HAProxy's traffic, from a process of its own (the attackers' Python never holds its
  interpreter lock): keep-alive GETs through HAProxy as a few True-Client-IP clients, each timed,
  each answer classified: decided by the agent (X-Sticky-Reason), answered by HAProxy alone after
  the SPOE processing timeout (X-Sticky-Err 1), any other SPOE error, or a failed request.
- Sampler: the agent's descriptors and RSS every 50 ms.
- The attacks: idle connections that never say HELLO, slowloris, a HELLO flood, frames of exactly
  max-frame-size, wide NOTIFYs. Each returns what it saw, for the caller to assert or print.

Every loop is bounded in count and time; all traffic goes to 127.0.0.0/8 (source addresses
127.0.0.x let the bench open more connections than one source's ephemeral ports)."""
import errno
import http.client
import multiprocessing
import os
import resource
import select
import socket
import struct
import threading
import time

import spop_wire as w

TIMEOUT, TOO_BIG = 2, 3


def raise_nofile(want):
    """Raises this process's soft RLIMIT_NOFILE towards `want`; returns the soft limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_fds_besides(pid, ports):
    """`pid`'s descriptors other than its connected TCP sockets on any of `ports` (listeners still
    count): the SPOP connections HAProxy opens and pools as it likes, and the metrics scrapes."""
    conns = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) in ports and fields[3] != "0A":
                        conns.add(fields[9])
        except OSError:
            pass
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if not (link.startswith("socket:[") and link[8:-1] in conns):
            n += 1
    return n


# -- HAProxy's traffic ----------------------------------------------------------------------------

def _probe_main(port, ctl, period, clients):
    """Child process: GETs through HAProxy every `period` s until told to stop (at most 15 min).
    ctl messages: "dump" -> ("ok", records since the last dump), "pause", "resume", "stop".
    A record: (latency s, outcome) with outcome "decided", "late" (SPOE err 1), "err=N" or the error."""
    records, paused, conn, i = [], False, None, 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and i < 5_000_000:
        if ctl.poll(0.2 if paused else 0):
            req = ctl.recv()
            if req == "stop":
                break
            if req == "pause":
                paused = True
            elif req == "resume":
                paused = False
            ctl.send(("ok", records))
            records = []
            continue
        if paused:
            continue
        i += 1
        t0 = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/", headers={"True-Client-IP": "198.51.100.%d" % (1 + i % clients)})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                outcome = "HTTP %d" % r.status
            elif r.getheader("X-Sticky-Reason"):
                outcome = "decided"
            else:
                err = r.getheader("X-Sticky-Err")
                outcome = "late" if err == "1" else "err=%s" % err
        except Exception as e:  # noqa: BLE001 (a failed request is the result)
            outcome = "failed: %r" % e
            if conn is not None:
                conn.close()
            conn = None
        records.append((time.perf_counter() - t0, outcome))
        time.sleep(period)
    ctl.close()


class HttpProbe:
    def __init__(self, port, period=0.005, clients=16):
        ctx = multiprocessing.get_context("fork")
        self.ctl, child = ctx.Pipe()
        self.proc = ctx.Process(target=_probe_main, args=(port, child, period, clients), daemon=True)
        self.proc.start()
        child.close()

    def _ask(self, what):
        self.ctl.send(what)
        if not self.ctl.poll(15):
            raise AssertionError("the HTTP probe did not answer")
        return self.ctl.recv()[1]

    def dump(self):
        return self._ask("dump")

    def pause(self):
        return self._ask("pause")

    def resume(self):
        return self._ask("resume")

    def stop(self):
        try:
            self.ctl.send("stop")
        except OSError:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def summarize(records):
    """{n, p50, p99, max (ms), outcomes{...}} of HttpProbe records."""
    lat = [r[0] for r in records]
    outcomes = {}
    for _, o in records:
        outcomes[o] = outcomes.get(o, 0) + 1
    return {"n": len(lat), "p50": percentile(lat, 0.5) * 1e3, "p99": percentile(lat, 0.99) * 1e3,
            "max": max(lat) * 1e3 if lat else float("nan"), "outcomes": outcomes}


# -- the agent's resources -------------------------------------------------------------------------

class Sampler(threading.Thread):
    """Peak descriptors and RSS of `pid`, sampled every 50 ms until stopped (bounded: 10 min)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_fds, self.peak_rss_kb = pid, 0, 0
        self.stopped = threading.Event()
        self.start()

    def run(self):
        deadline = time.monotonic() + 600
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                self.peak_fds = max(self.peak_fds, proc_fds(self.pid))
                self.peak_rss_kb = max(self.peak_rss_kb, proc_rss_kb(self.pid))
            except OSError:
                pass
            self.stopped.wait(0.05)

    def stop(self):
        self.stopped.set()
        self.join(5)


# -- attacks ---------------------------------------------------------------------------------------

def open_idle(port, target, sources=("127.0.0.1",), limit_s=60.0):
    """Opens up to `target` connections that send nothing. Returns (sockets, why it stopped)."""
    socks, failures, why = [], 0, "target reached"
    deadline = time.monotonic() + limit_s
    per_source = -(-target // len(sources))
    while len(socks) < target and time.monotonic() < deadline and failures < 50:
        s = socket.socket()
        try:
            s.settimeout(2)
            src = sources[min(len(socks) // per_source, len(sources) - 1)]
            if src != "127.0.0.1":
                s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            socks.append(s)
        except OSError as e:
            s.close()
            failures += 1
            why = os.strerror(e.errno) if e.errno else repr(e)
            if e.errno in (errno.EMFILE, errno.ENFILE, errno.EADDRNOTAVAIL):
                break
    if len(socks) >= target:
        why = "target reached"
    return socks, why


def read_endings(socks, limit_s=15.0):
    """What each idle socket received before its close: (timed out with status 2, closed silently,
    anything else or still open). Polls every socket with recv (select() stops at 1024 fds)."""
    timed_out = silent = other = 0
    pending = {s.fileno(): [s, b""] for s in socks}
    deadline = time.monotonic() + limit_s
    while pending and time.monotonic() < deadline:
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
                silent += 1
            elif f is not None and f.type == w.AGENT_DISCONNECT and f.kv().get("status-code") == TIMEOUT:
                timed_out += 1
            else:
                other += 1
        if pending:
            time.sleep(0.05)
    return timed_out, silent, other + len(pending)


def slowloris(port, n, hello_timeout, frame_timeout, conn_cls):
    """`n` peers sending their HELLO one byte every 0.5 s, and `n` more that finished a HELLO and
    send a NOTIFY the same way. Returns (pre-HELLO drop times, in-NOTIFY drop times, statuses, bytes
    sent by each group at most)."""
    pre, post = [], []
    for _ in range(n):
        c = conn_cls(port)
        pre.append([c, w.hello(engine_id="slowloris"), 0, None, None])
    for i in range(n):
        c = conn_cls(port)
        c.handshake(**{"engine-id": "slowloris"})
        post.append([c, w.notify(i + 1, 1, w.message("echo", ("a", w.string("s" * 60)))), 0, None, None])
    everyone = pre + post
    for c in everyone:
        c[0].sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c[0].sock.setblocking(False)
    statuses = []
    deadline = time.monotonic() + max(hello_timeout, frame_timeout) + 10
    try:
        while time.monotonic() < deadline and any(c[4] is None for c in everyone):
            tick = time.monotonic() + 0.5
            for c in everyone:
                if c[4] is None and c[2] < len(c[1]):
                    if c[3] is None:
                        c[3] = time.monotonic()
                    try:
                        c[0].sock.send(c[1][c[2]:c[2] + 1])
                        c[2] += 1
                    except OSError:
                        pass
            while time.monotonic() < tick:
                live = [c for c in everyone if c[4] is None]
                if not live:
                    break
                poller = select.poll()
                for c in live:
                    poller.register(c[0].sock.fileno(), select.POLLIN)
                ready = {fd for fd, _ in poller.poll(max(0, tick - time.monotonic()) * 1000)}
                for c in live:
                    if c[0].sock.fileno() not in ready:
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
        for c in everyone:
            c[0].close()
    return ([c[4] for c in pre], [c[4] for c in post], statuses,
            (max(c[2] for c in pre), max(c[2] for c in post)))


def hello_flood(port, seconds, max_count):
    """connect + HELLO + close as fast as one Python thread can, for `seconds`. Returns the count."""
    hello = w.hello(engine_id="flood")
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline and count < max_count:
        s = socket.socket()
        try:
            s.settimeout(2)
            s.connect(("127.0.0.1", port))
            s.sendall(hello)
            count += 1
        except OSError:
            pass
        finally:
            s.close()
    return count


def hello_flood_niced(port, seconds, max_count, niceness=10):
    """hello_flood from a child process at a lower CPU priority, so on a small machine the attacker's
    own Python does not starve HAProxy and the probe (what is judged is the agent, not the box)."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()

    def run():
        os.nice(niceness)
        child.send(hello_flood(port, seconds, max_count))
    p = ctx.Process(target=run, daemon=True)
    p.start()
    count = parent.recv() if parent.poll(seconds + 30) else 0
    p.join(5)
    return count


def exact_frame(size, build):
    """The frame from build(n, pad) whose LEN field is exactly `size`: n filler bytes, and `pad`
    (None or 0-3) a second small filler for the lengths a varint boundary would skip."""
    est = max(0, size - len(build(0, None)) + 4)
    for n in range(max(0, est - 8), est + 9):
        for pad in (None, 0, 1, 2, 3):
            f = build(n, pad)
            if struct.unpack(">I", f[:4])[0] == size:
                return f
    raise AssertionError("no frame of length %d" % size)


def notify_of_len(size, sid=1, fid=1):
    def build(n, pad):
        args = [("a", w.string("x" * n))] + ([("b", w.string("y" * pad))] if pad is not None else [])
        return w.notify(sid, fid, w.message("echo", *args))
    return exact_frame(size, build)


def hello_of_len(size):
    payload = w.hello(engine_id="big-hello")[11:]  # after LEN, type, flags and the two ids

    def build(n, pad):
        extra = w.name("pad2") + w.string("q" * pad) if pad is not None else b""
        return w.frame(w.HAPROXY_HELLO, payload + w.name("pad") + w.string("p" * n) + extra)
    return exact_frame(size, build)


def wide_values():
    """One value of every type, for arguments cycling through them."""
    return [w.string("first"), w.int64(-1), w.uint32(7), w.ipv4(10, 0, 0, 1), w.boolean(True), w.null(),
            w.binary(b"\x00\xff"), bytes([w.T_IPV6]) + bytes(16)]
