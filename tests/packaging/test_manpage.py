"""The man page built with the agent (build/man/sticky-agent.8.gz): groff reads it without a
warning, man-db finds its NAME line, and it documents every option the binary's --help lists."""
import gzip
import os
import shutil
import unittest

from packaging_env import AGENT_BIN, BUILD_DIR, help_options, run

MANPAGE = os.path.join(BUILD_DIR, "man", "sticky-agent.8.gz")


class ManPage(unittest.TestCase):
    def test_built_compressed_and_renders_without_warnings(self):
        self.assertTrue(os.path.isfile(MANPAGE), f"{MANPAGE} missing: is the sticky-agent-manpage target built?")
        with gzip.open(MANPAGE, "rb") as f:
            roff = f.read()
        self.assertTrue(roff.startswith(b".TH STICKY\\-AGENT 8 "), roff[:80])
        self.assertIsNotNone(shutil.which("groff"), "groff (groff-base) is needed: tests/install-deps.sh")
        p = run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=roff.decode())
        self.assertEqual((p.returncode, p.stderr), (0, ""))

    def test_every_help_option_is_documented(self):
        with gzip.open(MANPAGE, "rt") as f:
            roff = f.read()
        text = run(["groff", "-man", "-Tutf8", "-P-cbou"], input=roff).stdout
        options = help_options()
        self.assertGreaterEqual(len(options), 10, options)
        for opt in options:
            self.assertIn(opt, text, f"--help lists {opt}, the man page does not")
        version = run([AGENT_BIN, "--version"]).stdout.split()[1]
        self.assertIn(f"sticky-agent {version}", text)

    def test_whatis_reads_the_name_line(self):
        if not shutil.which("lexgrog"):
            self.skipTest("lexgrog (man-db) not installed")
        p = run(["lexgrog", MANPAGE])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("sticky-agent - session persistence", p.stdout)


if __name__ == "__main__":
    unittest.main()
