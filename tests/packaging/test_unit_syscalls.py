"""The unit's SystemCallFilter= lets the agent do its whole job. The agent runs under `strace -f -c`
(no seccomp here: strace lists what it calls) behind a real HAProxy with the shipped akamai configs,
sharing through a real redis-server, following HAProxy's runtime API, with a unix listener chowned
to its own group and a TCP listener, serving /metrics, answering requests, reloaded by SIGHUP, then
drained by SIGTERM.
Every system call it made must be in the set the unit allows, as `systemd-analyze syscall-filter`
expands the unit's own SystemCallFilter= lines; one outside it would fail with EPERM in the unit."""
import os
import re
import shutil
import signal
import subprocess
import stat
import sys
import time
import unittest

from packaging_env import PACKAGING_DIR, SOURCE_DIR, run

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
import harness  # noqa: E402
from persist_stack import start_persist, wait_reason  # noqa: E402

UNIT_TEMPLATE = os.path.join(PACKAGING_DIR, "sticky-agent.service.in")


def syscall_groups():
    """{"@group": set of members (syscalls and @groups)} from systemd-analyze."""
    groups, current = {}, None
    for line in run(["systemd-analyze", "syscall-filter", "--no-pager"]).stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], set())
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.add(line.strip())
    return groups


def expand(names, groups):
    out = set()
    for n in names:
        if n.startswith("@"):
            out |= expand(groups[n], groups)
        else:
            out.add(n)
    return out


def allowed_syscalls():
    """The unit's SystemCallFilter= lines applied in order (first an allow list, then ~ removes)."""
    groups = syscall_groups()
    allowed = None
    with open(UNIT_TEMPLATE) as f:
        lines = [l.strip()[len("SystemCallFilter="):] for l in f if l.startswith("SystemCallFilter=")]
    assert lines and not lines[0].startswith("~"), "the unit's filter starts with an allow list"
    for value in lines:
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        allowed = (allowed or set()) - names if deny else (allowed or set()) | names
    return allowed


def strace_summary(path):
    """Syscall names from an `strace -c` table."""
    names, in_table = set(), False
    with open(path) as f:
        for line in f:
            if line.startswith("------"):
                in_table = not in_table if not names else False
                continue
            if in_table:
                fields = line.split()
                if fields and re.fullmatch(r"[a-z0-9_]+", fields[-1]):
                    names.add(fields[-1])
    return names


class UnitSyscalls(unittest.TestCase):
    def test_every_syscall_the_agent_makes_is_allowed(self):
        for tool in ("strace", "systemd-analyze", "redis-server"):
            if not shutil.which(tool):
                self.skipTest(f"{tool} not installed: tests/install-deps.sh installs it")
        allowed = allowed_syscalls()
        self.assertIn("fchown", allowed)
        self.assertNotIn("setuid", allowed)
        with harness.Stack(prefix="sticky-syscalls-") as stack:
            redis = stack.start_redis()
            summary = stack.path("strace.txt")
            wrapper = stack.write("agent-under-strace.sh", "#!/bin/sh\nexec strace -f -c -o {} -- {} \"$@\"\n"
                                  .format(summary, harness.AGENT_BIN))
            os.chmod(wrapper, 0o755)
            sock = stack.path("agent.sock")
            metrics_port = harness.free_port()
            group = str(os.getgid())
            redis_yaml = (f"redis:\n  address: 127.0.0.1:{redis.port}\n  cluster: sys\n  node_id: sys1\n"
                          f"  lookup_deadline: 20ms\n")
            saved = harness.AGENT_BIN
            harness.AGENT_BIN = wrapper
            try:
                agent, port, _ = start_persist(
                    stack, "akamai",
                    agent_args=("--listen", f"unix:{sock}", "--socket-mode", "0660", "--socket-group", group,
                                "--metrics", f"127.0.0.1:{metrics_port}", "--drain-grace", "200ms"),
                    replacements=[("backends:\n", redis_yaml + "backends:\n")])
            finally:
                harness.AGENT_BIN = saved
            self.assertTrue(stat.S_ISSOCK(os.stat(sock).st_mode))
            wait_reason(port, "/", {"True-Client-IP": "127.0.0.9"}, timeout=30)
            for i in range(20):
                harness.get(port, "/", {"True-Client-IP": f"127.0.1.{i}"})
            self.assertIn("sticky_redis_writes_total", harness.agent_metrics(metrics_port))
            with open(f"/proc/{agent.pid}/task/{agent.pid}/children") as f:
                children = f.read().split()
            self.assertEqual(len(children), 1, children)
            # A hot reload as ExecReload= does it: `--check` of the config (a process of its own, under
            # the same filter), then SIGHUP: the config and the files it names re-read.
            check_summary = stack.path("strace-check.txt")
            checked = subprocess.run(["strace", "-f", "-c", "-o", check_summary, "--", saved, "--check",
                                      stack.path("sticky-agent.yaml")], capture_output=True, text=True, timeout=60)
            self.assertEqual(checked.returncode, 0, checked.stderr)
            os.kill(int(children[0]), signal.SIGHUP)
            harness.wait_until(lambda: harness.agent_metrics(metrics_port).get(
                'sticky_config_reloads_total{outcome="applied"}') == 1, timeout=10, what="the reload applied")
            harness.get(port, "/", {"True-Client-IP": "127.0.2.1"})
            # SIGTERM to the agent itself (strace's child), so it drains and exits and strace writes
            # its table; then strace ends on its own.
            os.kill(int(children[0]), signal.SIGTERM)
            deadline = time.monotonic() + 20
            while agent.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertFalse(agent.alive(), "the agent did not stop on SIGTERM")
            used = strace_summary(summary) | strace_summary(check_summary)
        self.assertGreaterEqual(len(used), 20, used)
        # The run did the work it is meant to cover: accepted, polled, chowned, connected, threads.
        for family in (("accept", "accept4"), ("epoll_wait", "epoll_pwait"), ("chown", "fchown", "fchownat"),
                       ("connect",), ("clone", "clone3")):
            self.assertTrue(used & set(family), f"none of {family} in {sorted(used)}")
        print(f"\n{len(used)} distinct system calls, all allowed: {' '.join(sorted(used))}")
        self.assertEqual(sorted(used - allowed), [], "system calls the unit's SystemCallFilter= refuses")


if __name__ == "__main__":
    unittest.main()
