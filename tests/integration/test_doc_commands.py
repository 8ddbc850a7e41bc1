"""Every `sticky-agent ...` command the docs show (README.md, redis/README.md, the man page source
packaging/man/sticky-agent.8.md, and the comments of haproxy-conf/**/*.yaml|cfg|conf and of the
packaged config and systemd drop-ins under packaging/) is run: the validations (--check, --help, --version) with the shipped
example files in place of FILE/CONFIG/paths must exit 0, and every option any documented command
uses must be one `sticky-agent --help` lists. So the docs cannot drift from the binary again."""
import glob
import os
import re
import subprocess
import unittest

from harness import AGENT_BIN, CONF_DIR, SOURCE_DIR

AGENT_EXAMPLE = os.path.join(CONF_DIR, "agent", "sticky-agent.yaml")
# A matching pair for --haproxy-config (the agent example's backends are not in one haproxy.cfg).
PAIR_AGENT = os.path.join(CONF_DIR, "akamai", "sticky-agent.yaml")
PAIR_HAPROXY = os.path.join(CONF_DIR, "akamai", "haproxy.cfg")

# `sticky-agent` followed by options: ends at a backtick, a shell comment, a pipe or the line's end.
COMMAND = re.compile(r"(?<![\w/.-])sticky-agent((?:[ \t]+(?!#)[^\s`|;&)]+)+)")


PACKAGING_DIR = os.path.join(SOURCE_DIR, "packaging")


def joined_lines(path):
    """(line number, text) with shell continuations (a trailing backslash) joined into one line."""
    with open(path) as f:
        lines = f.read().splitlines()
    n = 0
    while n < len(lines):
        start, text = n + 1, lines[n]
        while text.rstrip().endswith("\\") and n + 1 < len(lines):
            n += 1
            text = text.rstrip()[:-1] + " " + lines[n].strip()
        yield start, text
        n += 1


def doc_lines():
    """(file, line number, text) of every place a command may be written."""
    for path in [os.path.join(SOURCE_DIR, "README.md"), os.path.join(SOURCE_DIR, "redis", "README.md"),
                 os.path.join(PACKAGING_DIR, "man", "sticky-agent.8.md")]:
        for n, line in joined_lines(path):
            yield path, n, line
    commented = [p for ext in ("yaml", "cfg", "conf")
                 for p in sorted(glob.glob(os.path.join(CONF_DIR, "**", f"*.{ext}"), recursive=True))]
    commented += [os.path.join(PACKAGING_DIR, "sticky-agent.yaml")]
    commented += sorted(glob.glob(os.path.join(PACKAGING_DIR, "systemd", "*.conf")))
    for path in commented:
        for n, line in joined_lines(path):
            if "#" in line:
                yield path, n, line[line.index("#"):]  # comments only


def documented_commands():
    out = []
    for path, n, line in doc_lines():
        for m in COMMAND.finditer(line):
            args = m.group(1).split()
            if args and re.match(r"-{1,2}[A-Za-z]", args[0]):  # not "sticky-agent - ..." (the man NAME line)
                out.append((f"{os.path.relpath(path, SOURCE_DIR)}:{n}", args))
    return out


def without_optional(args):
    """The command without its [optional parts] (a synopsis line), as one would first type it."""
    out, depth = [], 0
    for a in args:
        if a.startswith("["):
            depth += 1
        if depth == 0:
            out.append(a)
        if a.rstrip(".").endswith("]"):
            depth = max(0, depth - 1)
    return out


def substitute(args):
    """Shipped example files in place of placeholders and of paths that exist only once installed."""
    args = without_optional(args)
    pair = "--haproxy-config" in args
    out = []
    for i, a in enumerate(args):
        prev = args[i - 1] if i else ""
        if prev in ("--check", "--config"):
            a = PAIR_AGENT if pair else AGENT_EXAMPLE
        elif prev == "--haproxy-config":
            a = PAIR_HAPROXY
        out.append(a)
    return out


def help_options():
    p = subprocess.run([AGENT_BIN, "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", p.stdout))


class DocumentedCommands(unittest.TestCase):
    def test_docs_show_validation_commands(self):
        validations = [c for c in documented_commands() if {"--check", "--help", "--version"} & set(c[1])]
        # README: two --check lines; the agent example's first comment line; the man page's
        # synopsis and example; the packaged config's comment.
        self.assertGreaterEqual(len(validations), 6, documented_commands())
        places = {where.split(":")[0] for where, _ in validations}
        for doc in ("packaging/man/sticky-agent.8.md", "packaging/sticky-agent.yaml"):
            self.assertIn(doc, places)

    def test_the_packaged_config_is_valid(self):
        """/etc/sticky-agent/sticky-agent.yaml as the .deb and `cmake --install` ship it."""
        path = os.path.join(PACKAGING_DIR, "sticky-agent.yaml")
        p = subprocess.run([AGENT_BIN, "--check", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # As shipped it has no backends yet, which the agent rightly warns about; nothing else.
        others = [l for l in p.stderr.splitlines() if "no backends and no hsaf profiles" not in l]
        self.assertEqual(others, [], "the shipped default must check without other warnings")

    def test_every_documented_validation_exits_0_with_the_shipped_files(self):
        ran = 0
        for where, args in documented_commands():
            if not {"--check", "--help", "--version"} & set(args):
                continue
            argv = [AGENT_BIN, *substitute(args)]
            with self.subTest(where=where, command=" ".join(args)):
                p = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=SOURCE_DIR)
                self.assertEqual(p.returncode, 0, f"{where}: sticky-agent {' '.join(args)}\n{p.stdout}{p.stderr}")
                ran += 1
        self.assertGreater(ran, 0)

    def test_every_documented_option_exists(self):
        known = help_options()
        self.assertIn("--check", known)
        for where, args in documented_commands():
            for a in args:
                flag = a.split("=", 1)[0].strip("[].")
                if flag.startswith("--"):
                    self.assertIn(flag, known, f"{where}: sticky-agent {' '.join(args)}")
                elif re.fullmatch(r"-[A-Za-z]", flag) and flag not in ("-h", "-V"):  # cli.cc: --help, --version
                    self.fail(f"{where}: sticky-agent has no short option {flag}: sticky-agent {' '.join(args)}")


if __name__ == "__main__":
    unittest.main()
