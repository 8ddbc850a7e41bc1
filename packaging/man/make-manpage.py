#!/usr/bin/env python3
"""Builds sticky-agent.8 (roff, gzip -9n) from a short markdown source and the binary's --help.

    make-manpage.py --binary build/spoa/agent/sticky-agent --source sticky-agent.8.md --output sticky-agent.8.gz

The OPTIONS section is the `Options:` part of `sticky-agent --help`, so the page cannot drift from
the binary; the other sections are written by hand in the markdown source. Only the markdown this
source uses is understood: `# SECTION`, paragraphs, 4-space code blocks, `term` lines followed by
`: definition` lines, `code`, *emphasis* and **bold**. Output is reproducible (no date from the
clock: SOURCE_DATE_EPOCH or the source file's mtime; gzip without a name or time stamp).
"""
import argparse
import datetime
import gzip
import os
import re
import subprocess
import sys

# "  --flag METAVAR  text", or with a short alias first: "  -c, --flag METAVAR  text".
OPTION = re.compile(r"^  ((?:-[A-Za-z], )?-{1,2}[A-Za-z][\w-]*)((?: [A-Z][A-Z.:_0-9]*)?)\s+(.*)$")


def roff_escape(text):
    """Plain text to roff: backslashes, minus signs (so options render and search as '-')."""
    return text.replace("\\", "\\e").replace("-", "\\-")


def inline(text):
    """`code` -> bold, **bold** -> bold, *emphasis* -> italic, the rest escaped."""
    out = []
    pos = 0
    for m in re.finditer(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*", text):
        out.append(roff_escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + roff_escape(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + roff_escape(m.group(2)) + "\\fR")
        else:
            out.append("\\fI" + roff_escape(m.group(3)) + "\\fR")
        pos = m.end()
    out.append(roff_escape(text[pos:]))
    return "".join(out)


def line_safe(roff):
    """A text line must not start with '.' or ''' (roff would read it as a request)."""
    return "\\&" + roff if roff.startswith((".", "'")) else roff


def options_from_help(help_text):
    """[(flag, metavar, description)] from the `Options:` block of --help."""
    opts = []
    in_options = False
    for line in help_text.splitlines():
        if line.strip() == "Options:":
            in_options = True
            continue
        if not in_options or not line.strip():
            continue
        m = OPTION.match(line)
        if m:
            opts.append([m.group(1), m.group(2).strip(), m.group(3).strip()])
        elif line.startswith("   ") and opts:
            opts[-1][2] += " " + line.strip()
        else:
            raise SystemExit(f"make-manpage: cannot read this --help line: {line!r}")
    if not opts:
        raise SystemExit("make-manpage: no options found in --help (no 'Options:' block?)")
    return opts


def render_options(opts):
    out = []
    for flag, metavar, desc in opts:
        out.append(".TP")
        head = "\\fB" + roff_escape(flag) + "\\fR"
        if metavar:
            head += " \\fI" + roff_escape(metavar) + "\\fR"
        out.append(head)
        out.append(line_safe(inline(desc)))
    return out


def render(source, opts, version, date):
    out = [f'.TH STICKY\\-AGENT 8 "{date}" "sticky\\-agent {roff_escape(version)}" "System Administration"']
    lines = source.splitlines()
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.append(line_safe(inline(" ".join(para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            flush()
            out.append(".SH " + roff_escape(line[2:].strip()))
        elif line.strip() == "@OPTIONS@":
            flush()
            out.extend(render_options(opts))
        elif line.startswith("    "):
            flush()
            out.append(".PP")
            out.append(".RS 4")
            out.append(".nf")
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if lines[i].strip():
                    out.append(line_safe(roff_escape(lines[i][4:])))
                i += 1
            out.append(".fi")
            out.append(".RE")
            continue
        elif i + 1 < len(lines) and lines[i + 1].startswith(": ") and line.strip():
            flush()
            out.append(".TP")
            out.append(line_safe(inline(line.strip())))
            i += 1
            definition = [lines[i][2:].strip()]
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                definition.append(lines[i].strip())
            out.append(line_safe(inline(" ".join(definition))))
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--output", required=True, help="FILE.8 (plain) or FILE.8.gz (compressed)")
    a = ap.parse_args()

    help_text = subprocess.run([a.binary, "--help"], check=True, capture_output=True, text=True).stdout
    version_line = subprocess.run([a.binary, "--version"], check=True, capture_output=True, text=True).stdout
    m = re.match(r"sticky-agent (\S+)", version_line)
    if not m:
        raise SystemExit(f"make-manpage: unexpected --version output {version_line!r}")
    with open(a.source) as f:
        source = f.read()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", os.stat(a.source).st_mtime))
    date = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d")
    page = render(source, options_from_help(help_text), m.group(1), date).encode()

    tmp = a.output + ".tmp"
    if a.output.endswith(".gz"):
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                   compresslevel=9) as gz:
            gz.write(page)
    else:
        with open(tmp, "wb") as f:
            f.write(page)
    os.replace(tmp, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
