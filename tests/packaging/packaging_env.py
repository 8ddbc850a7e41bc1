"""Paths the packaging tests share: the source tree, the build tree they package, the binary."""
import os
import shutil
import subprocess

SOURCE_DIR = os.environ.get(
    "STICKY_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("STICKY_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
AGENT_BIN = os.environ.get("STICKY_AGENT_BIN", os.path.join(BUILD_DIR, "spoa", "agent", "sticky-agent"))
CMAKE = os.environ.get("CMAKE_COMMAND", shutil.which("cmake") or "cmake")
VERSION = os.environ.get("STICKY_VERSION", "")
PACKAGING_DIR = os.path.join(SOURCE_DIR, "packaging")


def run(argv, timeout=120, **kw):
    """Runs argv and returns the CompletedProcess (text, both streams captured)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def help_options():
    """Every --option `sticky-agent --help` lists."""
    import re
    out = run([AGENT_BIN, "--help"]).stdout
    return sorted(set(re.findall(r"(?m)^  (?:-[A-Za-z], )?(--[a-z][a-z-]*)", out)))


def unit_exec_start(unit_path):
    """The ExecStart= command line of a unit file, split into words."""
    with open(unit_path) as f:
        for line in f:
            if line.startswith("ExecStart="):
                return line[len("ExecStart="):].split()
    raise AssertionError(f"{unit_path}: no ExecStart=")
