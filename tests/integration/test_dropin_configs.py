"""The shipped drop-in configs are what they claim: a few lines added to an existing haproxy.cfg
pass `haproxy -c`, and every shipped agent config passes `sticky-agent --check`."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import AGENT_BIN, CONF_DIR, HAPROXY_BIN

EXISTING = """global
    log stdout format raw local0
defaults
    mode http
    timeout connect 5s
    timeout client  30s
    timeout server  30s
frontend origin
    bind 127.0.0.1:18443
    default_backend app
backend app
    balance roundrobin
    server s1 192.0.2.10:8080 check
    server s2 192.0.2.11:8080 check
"""


def split_snippet(text):
    """Returns ({'frontend origin': [lines], 'backend app': [lines]}, trailing standalone sections)."""
    blocks, current, rest = {}, None, []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"#\s+(frontend|backend) (\S+)\s*$", line)
        if m:
            current = f"{m.group(1)} {m.group(2)}"
            blocks[current] = []
        elif line.startswith("        ") and current and not line.strip().startswith("#"):
            blocks[current].append(line)
        elif re.match(r"^(backend|frontend|listen) ", line):
            rest = lines[i:]
            break
        i += 1
    return blocks, "\n".join(rest) + "\n"


class DropIn(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sticky-dropin-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_snippet(self, mode, snippet="haproxy-snippet.cfg", spoe_name="spoe-sticky.conf"):
        with open(os.path.join(CONF_DIR, mode, snippet)) as f:
            blocks, rest = split_snippet(f.read())
        self.assertIn("backend app", blocks)
        spoe = os.path.join(self.dir, spoe_name)
        shutil.copy(os.path.join(CONF_DIR, mode, spoe_name), spoe)
        edges = os.path.join(self.dir, "akamai-edges.txt")
        shutil.copy(os.path.join(CONF_DIR, "akamai", "akamai-edges.txt"), edges)
        cfg = EXISTING
        for section, lines in blocks.items():
            body = "\n".join(lines).replace("/etc/haproxy/" + spoe_name, spoe)
            body = body.replace("/etc/haproxy/akamai-edges.txt", edges)
            cfg = re.sub("^" + re.escape(section) + "\n", lambda m: m.group(0) + body + "\n", cfg,
                         flags=re.M)
        cfg += rest.replace("/etc/haproxy/" + spoe_name, spoe).replace("/etc/haproxy/akamai-edges.txt", edges)
        path = os.path.join(self.dir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        r = subprocess.run([HAPROXY_BIN, "-c", "-f", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, cfg + r.stdout + r.stderr)
        self.assertNotIn("WARNING", r.stdout + r.stderr, r.stdout + r.stderr)
        return cfg

    def test_cookie_snippet_added_to_an_existing_config_is_valid(self):
        cfg = self.check_snippet("cookie")
        self.assertIn("use-server %[var(txn.stk.srv)]", cfg)

    def test_akamai_fast_path_snippet_added_to_an_existing_config_is_valid(self):
        cfg = self.check_snippet("akamai", "haproxy-snippet-fast.cfg", "spoe-sticky-fast.conf")
        self.assertIn("stick match var(txn.stk_fid)", cfg)

    def test_fast_path_snippet_says_what_the_complete_example_does(self):
        """The snippet users copy and the complete config the tests run must keep the same rules."""
        def rules(path):
            with open(os.path.join(CONF_DIR, "akamai", path)) as f:
                text = f.read()
            keep = ("stick", "http-request set-var(txn.stk", "http-request send-spoe", "http-request track",
                    "http-request sc-set", "acl stk_", "http-response send-spoe", "use-server", "use_backend")
            return [re.sub(r'"?\$\{[A-Z_]+\}[\w/.-]*"?|/etc/haproxy/[\w.-]+', "FILE", line.strip())
                    for line in text.splitlines() if line.strip().startswith(keep)]
        snippet = rules("haproxy-snippet-fast.cfg")
        self.assertGreaterEqual(len(snippet), 15)
        self.assertEqual(snippet, rules("haproxy-fast.cfg"))

    def test_akamai_snippet_added_to_an_existing_config_is_valid(self):
        cfg = self.check_snippet("akamai")
        self.assertIn("timeout http-keep-alive 301s", cfg)


class AgentConfigs(unittest.TestCase):
    def check(self, path, expect_ok=True):
        return subprocess.run([AGENT_BIN, "--check", path], capture_output=True, text=True, timeout=10)

    def test_every_shipped_agent_config_is_valid(self):
        tmp = tempfile.mkdtemp(prefix="sticky-check-")
        try:
            for mode in ("cookie", "akamai", "hsaf", "agent"):
                src_dir = os.path.join(CONF_DIR, mode)
                dst_dir = os.path.join(tmp, mode)
                shutil.copytree(src_dir, dst_dir)
                path = os.path.join(dst_dir, "sticky-agent.yaml")
                with open(path) as f:
                    text = f.read()
                # Secrets are generated per deployment; the repo ships none for these examples.
                for name in set(re.findall(r"[\w./-]+\.key", text)):
                    key = os.path.join(dst_dir, name)
                    if not os.path.exists(key):
                        os.makedirs(os.path.dirname(key), exist_ok=True)
                        with open(key, "w") as k:
                            k.write(os.urandom(24).hex())
                r = self.check(path)
                self.assertEqual(r.returncode, 0, f"{mode}: {r.stdout}{r.stderr}")
                self.assertIn("valid", r.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_errors_name_file_line_and_problem(self):
        tmp = tempfile.mkdtemp(prefix="sticky-check-")
        try:
            path = os.path.join(tmp, "bad.yaml")
            with open(path, "w") as f:
                f.write("agent:\n  threads: 0\n  thread: 4\nbackends:\n  - name: app\n    ttl: 0s\n"
                        "    identity: [source, source]\n")
            r = self.check(path)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"bad\.yaml:3:.*unknown key 'thread'.*did you mean 'threads'")
            self.assertRegex(r.stderr, r"bad\.yaml:6:.*ttl")
            self.assertRegex(r.stderr, r"bad\.yaml:7:.*source")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
