"""`sticky-agent --check CONFIG --haproxy-config HAPROXY.CFG`: the shipped akamai pair is clean; a
backend renamed on one side is reported on both sides as file:line, and the exit code says so."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import AGENT_BIN, CONF_DIR


def check(agent_yaml, haproxy_cfg):
    p = subprocess.run([AGENT_BIN, "--check", agent_yaml, "--haproxy-config", haproxy_cfg],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


class CheckAgainstHaproxyConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sticky-check-")
        for name in os.listdir(os.path.join(CONF_DIR, "akamai")):
            shutil.copy(os.path.join(CONF_DIR, "akamai", name), self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_shipped_akamai_configs_agree(self):
        rc, out = check(os.path.join(CONF_DIR, "akamai", "sticky-agent.yaml"),
                        os.path.join(CONF_DIR, "akamai", "haproxy.cfg"))
        self.assertEqual(rc, 0, out)
        self.assertNotIn("error", out)
        self.assertNotIn("warning", out)

    def test_renamed_backend_is_reported_in_both_files_with_lines(self):
        agent = os.path.join(self.dir, "sticky-agent.yaml")
        with open(agent) as f:
            text = f.read()
        self.assertIn("- name: app\n", text)
        with open(agent, "w") as f:
            f.write(text.replace("- name: app\n", "- name: web\n"))
        haproxy = os.path.join(self.dir, "haproxy.cfg")
        with open(haproxy) as f:
            lines = f.read().splitlines()
        filter_line = next(i for i, l in enumerate(lines, 1) if l.strip().startswith("filter spoe"))
        name_line = next(i for i, l in enumerate(text.splitlines(), 1) if "- name: app" in l)

        rc, out = check(agent, haproxy)
        self.assertEqual(rc, 1, out)
        self.assertIn(f"{haproxy}:{filter_line}: backend 'app' runs the SPOE filter", out)
        self.assertIn("it knows 'web'", out)
        self.assertIn(f"{agent}:{name_line}: backend 'web' is not a backend or listen section", out)

    def test_without_the_flag_the_mismatch_goes_unnoticed(self):
        # What --haproxy-config adds: the agent config alone is valid with any backend name.
        agent = os.path.join(self.dir, "sticky-agent.yaml")
        with open(agent) as f:
            text = f.read()
        with open(agent, "w") as f:
            f.write(text.replace("- name: app\n", "- name: web\n"))
        p = subprocess.run([AGENT_BIN, "--check", agent], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(re.search(r"valid \(1 backends", p.stdout), p.stdout)


if __name__ == "__main__":
    unittest.main()
