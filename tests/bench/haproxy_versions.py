"""Which HAProxy a benchmark runs, and running one benchmark over every available version.

--haproxy BIN picks the binary (default: HAPROXY_BIN, else Debian's `haproxy`); --matrix runs the
same benchmark once per available version (Debian's, plus the upstream releases vendored in
../shared/vendor, built once by tests/haproxy/build-haproxy.sh) and prints one table.
A child run reports its figures on one line "RESULT {json}" for the matrix to collect.
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
VENDORED = ("3.2.0", "3.4.0")


def add_arguments(ap):
    ap.add_argument("--haproxy", default=os.environ.get("HAPROXY_BIN") or shutil.which("haproxy") or "haproxy",
                    help="HAProxy binary to run (default: $HAPROXY_BIN, else haproxy on PATH)")
    ap.add_argument("--matrix", action="store_true",
                    help="run once per available HAProxy version (Debian's and the vendored 3.x) and print one table")


def version_line(binary):
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True).stdout
    first = out.splitlines()[0]
    # "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/" -> "2.6.12-1+deb12u4"
    parts = first.split()
    return parts[2] if len(parts) > 2 and parts[1] == "version" else first


def use(binary):
    """Points the test harness at `binary` (its start_haproxy reads harness.HAPROXY_BIN)."""
    import harness
    harness.HAPROXY_BIN = binary
    return version_line(binary)


def available():
    """(version, binary) for Debian's haproxy and each vendored release that builds here."""
    found = []
    system = shutil.which("haproxy")
    if system:
        found.append((version_line(system), system))
    for v in VENDORED:
        r = subprocess.run([os.path.join(SOURCE_DIR, "tests", "haproxy", "build-haproxy.sh"), v],
                           capture_output=True, text=True)
        if r.returncode == 0:
            binary = r.stdout.strip().splitlines()[-1]
            found.append((version_line(binary), binary))
        else:
            print(f"matrix: HAProxy {v} skipped: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}",
                  flush=True)
    return found


def report(result):
    """A child run's figures, for the matrix (and readable as is)."""
    print("RESULT " + json.dumps(result), flush=True)


def run_matrix(script, argv):
    """Runs `script` with `argv` (minus --matrix) once per version; returns [(version, result)]."""
    args = [a for a in argv if a != "--matrix"]
    # Drop any --haproxy X the caller gave: the matrix sets it.
    cleaned, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--haproxy":
            skip = True
            continue
        if a.startswith("--haproxy="):
            continue
        cleaned.append(a)
    rows = []
    for version, binary in available():
        print(f"matrix: HAProxy {version} ({binary})", flush=True)
        p = subprocess.run([sys.executable, script, *cleaned, "--haproxy", binary], capture_output=True, text=True)
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            sys.stdout.write(p.stderr)
            rows.append((version, None))
            continue
        result = [json.loads(line[7:]) for line in p.stdout.splitlines() if line.startswith("RESULT ")]
        rows.append((version, result[-1] if result else None))
    return rows


def child_result(argv, binary, env=None, timeout=600):
    """Runs a benchmark's child `argv` against HAProxy `binary` and returns the figures of its
    RESULT line, or None after printing why there is none (the child's output, to stderr)."""
    if not shutil.which(binary):
        print(f"== {binary}: not found, skipped (tests/haproxy/build-haproxy.sh VERSION builds one)")
        return None
    p = subprocess.run(argv, env=dict(env or os.environ, HAPROXY_BIN=binary), capture_output=True, text=True,
                       timeout=timeout)
    line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
    if not line:
        print(f"== {binary}: run failed\n{p.stdout[-3000:]}{p.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(line[7:])
