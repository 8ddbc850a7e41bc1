"""An application server, in a thread of the test, that misbehaves on demand and counts what it
received, so a test can tell a replayed request from one sent once.

Modes (set `mode` at any time; a request reads the mode when it has been received in full):
  ok     200, X-Server: NAME, keep-alive
  close  the request is read in full, then the connection closed without a byte of answer
  junk   the request is read in full, then something that is not HTTP, then close
  hang   the request is read in full, then nothing until the peer gives up (bounded: 30 s)
`stop()` plays a dead server: the listening socket and every open connection closed, new
connections refused.
Loopback only."""
import collections
import socket
import threading
import time


class FaultyBackend:
    def __init__(self, name, host="127.0.0.1"):
        assert host.startswith("127."), "loopback only"
        self.name = name
        self.mode = "ok"
        self.received = collections.Counter()  # method -> requests received in full
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self.addr = f"{host}:{self._sock.getsockname()[1]}"
        self._stopped = False
        self._conns = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def count(self, method):
        with self._lock:
            return self.received[method]

    def stop(self):
        self._stopped = True
        # shutdown, not only close: close() would leave the socket listening while accept() blocks on it.
        with self._lock:
            conns = list(self._conns)
        for s in [self._sock] + conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._sock.close()

    def _accept(self):
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(30)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return  # a health check, or the peer closed between requests
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method = lines[0].split(" ", 1)[0]
                length = 0
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "content-length":
                        length = int(v.strip())
                while len(buf) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                buf = buf[length:]
                with self._lock:
                    self.received[method] += 1
                mode = self.mode
                if mode == "close":
                    return
                if mode == "junk":
                    conn.sendall(b"SSH-2.0-not-http\r\n")
                    return
                if mode == "hang":
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and conn.recv(65536):
                        pass
                    return
                body = (self.name + "\n").encode()
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                             f"X-Server: {self.name}\r\n\r\n".encode() + body)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()
