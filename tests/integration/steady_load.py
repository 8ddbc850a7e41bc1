"""Steady, bounded HTTP load through HAProxy for the fault tests and benches.

`threads` keep-alive clients send `rate` requests per second in all, for at most `duration`
seconds, each request as a True-Client-IP client chosen by `client_of(thread, n)` (a returning
set, ever-new clients, or both). Every answer is recorded: send time, latency, outcome, the server
that answered (X-Server), the agent's reason (X-Sticky-Reason) and the SPOE error HAProxy saw
(X-Sticky-Err, when the agent did not decide).

A request that fails on a reused keep-alive connection before any byte of the answer came back
(the peer closed it while idle: what a HAProxy in soft-stop does to idle keep-alive connections)
is sent once more on a new connection, as browsers and HTTP libraries do for idempotent requests
(RFC 9112, 9.3.1); such retries are counted apart. Anything else that fails is a failed request.
"""
import http.client
import threading
import time

RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def returning(count, prefix="198.51.100"):
    """client_of: each thread cycles through its share of `count` returning clients."""
    return lambda thread, n: f"{prefix}.{1 + (thread * 61 + n) % count}"


def ever_new(base_octets=(100, 64)):
    """client_of: a client never seen before on every request (100.64.0.0/10 and up)."""
    a, b = base_octets

    def client(thread, n):
        i = thread * 1_000_000 + n
        return f"{a}.{b + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"
    return client


class Load:
    def __init__(self, port, threads=4, rate=100.0, duration=20.0, client_of=None, host="127.0.0.1",
                 timeout=10.0, max_duration=600.0):
        self.port, self.host, self.timeout = port, host, timeout
        self.period = threads / rate
        self.client_of = client_of or returning(64)
        self.records = []  # (sent, latency, outcome, client, server, reason, err)
        self.retried = 0
        self.lock = threading.Lock()
        # A bound whatever the caller asks (10 min for the tests); the soak sets its own.
        self.stop_at = time.monotonic() + min(duration, max_duration)
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _once(self, conn, client):
        conn.request("GET", "/", headers={"True-Client-IP": client})
        r = conn.getresponse()
        r.read()
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
        return r

    def _run(self, i):
        conn, n, nxt = None, 0, time.monotonic()
        while not self.halt.is_set() and time.monotonic() < self.stop_at and n < 10_000_000:
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            nxt = max(nxt + self.period, time.monotonic() - 1.0)  # no catch-up burst after a stall
            client = self.client_of(i, n)
            n += 1
            sent = time.monotonic()
            reused = conn is not None and conn.sock is not None
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                try:
                    r = self._once(conn, client)
                except RETRYABLE:
                    if not reused:
                        raise
                    conn.close()
                    with self.lock:
                        self.retried += 1
                    r = self._once(conn, client)  # http.client reconnects a closed connection
                outcome = "ok" if r.status == 200 else f"HTTP {r.status}"
                rec = (outcome, r.getheader("X-Server"), r.getheader("X-Sticky-Reason"), r.getheader("X-Sticky-Err"))
            except Exception as e:  # noqa: BLE001 (a failed request is the result)
                rec = (f"failed: {type(e).__name__}: {e}", None, None, None)
                conn.close()
                conn = None
            with self.lock:
                self.records.append((sent, time.monotonic() - sent, rec[0], client) + rec[1:])
        if conn is not None:
            conn.close()

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def finish(self):
        self.halt.set()
        for t in self.threads:
            t.join(30)
        return self.snapshot()


def failed(records):
    return [r for r in records if r[2] != "ok"]


def undecided(records):
    """Answers HAProxy gave without the agent: {SPOE error: count}."""
    out = {}
    for r in records:
        if r[2] == "ok" and not r[5]:
            out[r[6]] = out.get(r[6], 0) + 1
    return out


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


def window_latency(records, start, end):
    """(n, p50, p99, max) in ms of requests sent in [start, end)."""
    lat = [r[1] * 1000 for r in records if start <= r[0] < end]
    if not lat:
        return 0, float("nan"), float("nan"), float("nan")
    return len(lat), percentile(lat, 0.5), percentile(lat, 0.99), max(lat)
