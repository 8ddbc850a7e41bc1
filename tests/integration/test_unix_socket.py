"""The agent on a unix socket that a chrooted, unprivileged HAProxy can use.

HAProxy is started as root with `chroot <dir>` and `user nobody` / `group nogroup`, the Debian
shape (chroot /var/lib/haproxy, user haproxy): it reaches the agent at a path relative to the
chroot, after it has dropped its privileges. The agent sets the socket's mode and group itself
(--socket-mode, --socket-group), so no chmod is needed after it starts."""
import grp
import os
import stat
import subprocess
import unittest

from harness import AGENT_BIN, HAPROXY_BIN, Stack, free_port, get, wait_until

SPOE_CONF = """\
[echo]
spoe-agent echo-agent
    messages echo
    option var-prefix      stk
    option set-on-error    err
    option continue-on-error
    no option send-frag-payload
    timeout hello      500ms
    timeout idle       30s
    timeout processing 500ms
    use-backend sticky_agents

spoe-message echo
    args path=path
    event on-frontend-http-request
"""

HAPROXY_CFG = """\
global
    chroot {dir}
    user nobody
    group nogroup
    nbthread 1

defaults
    mode http
    timeout connect 2s
    timeout client  10s
    timeout server  10s

frontend web
    bind 127.0.0.1:{port}
    filter spoe engine echo config {dir}/spoe.conf
    http-request return status 200 content-type text/plain lf-string "echo=%[var(txn.stk.echo)] err=%[var(txn.stk.err)]\\n"

backend sticky_agents
    mode tcp
    timeout connect 1s
    timeout server  1m
    option spop-check
    server agent1 unix@/sticky.sock check inter 500ms
"""


@unittest.skipUnless(os.geteuid() == 0, "HAProxy must start as root to chroot")
class UnixSocketForChrootedHAProxy(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(prefix="sticky-unix-")
        self.addCleanup(self.stack.close)
        # The chroot's root must be searchable by the unprivileged HAProxy.
        os.chmod(self.stack.dir, 0o755)

    def start_haproxy(self):
        port = free_port()
        self.stack.write("spoe.conf", SPOE_CONF)
        cfg = self.stack.write("haproxy.cfg", HAPROXY_CFG.format(dir=self.stack.dir, port=port))
        check = subprocess.run([HAPROXY_BIN, "-c", "-f", cfg], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.stack.start("haproxy", [HAPROXY_BIN, "-f", cfg, "-db"])
        return port

    def answer(self, port, path):
        try:
            status, _, body = get(port, path)
        except OSError:
            return None
        return status, body.decode()

    def test_chrooted_haproxy_as_nobody_gets_the_agents_answer(self):
        sock = self.stack.path("sticky.sock")
        agent = self.stack.start("agent", [AGENT_BIN, "--listen", f"unix:{sock}", "--threads", "2",
                                           "--socket-mode", "0660", "--socket-group", "nogroup"])
        wait_until(lambda: os.path.exists(sock), what="unix socket")
        st = os.stat(sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, grp.getgrnam("nogroup").gr_gid)
        port = self.start_haproxy()
        got = wait_until(lambda: (lambda a: a if a and "echo=/first" in a[1] else None)(
            self.answer(port, "/first")), timeout=10, what="agent's echo through the chrooted HAProxy")
        self.assertEqual(got[0], 200)
        for i in range(20):
            status, body = self.answer(port, f"/req/{i}")
            self.assertEqual((status, body), (200, f"echo=/req/{i} err=\n"))
        self.assertEqual(agent.stop(), 0, agent.output())

    def test_unknown_group_is_refused_at_start(self):
        sock = self.stack.path("sticky.sock")
        r = subprocess.run([AGENT_BIN, "--listen", f"unix:{sock}", "--socket-group", "no-such-group-xyz"],
                           capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no-such-group-xyz", r.stderr)
        self.assertFalse(os.path.exists(sock))

    def test_without_the_options_the_socket_is_not_writable_by_others(self):
        # The default stays private to the agent's user: the options above are what opens it.
        sock = self.stack.path("sticky.sock")
        self.stack.start("agent", [AGENT_BIN, "--listen", f"unix:{sock}", "--threads", "1"])
        wait_until(lambda: os.path.exists(sock), what="unix socket")
        self.assertEqual(stat.S_IMODE(os.stat(sock).st_mode) & 0o022, 0)


if __name__ == "__main__":
    unittest.main()
