"""Private network namespaces for the integration tests: veth links to the root namespace and a silent cut.

Only the test's own addresses are ever configured: one 10.213.N.0/24 that no route or address on the
machine uses yet, split into /30 links (root end .4i+1, namespace end .4i+2). Everything is removed by
close(), which is safe to call twice and after a half-finished set-up.
"""
import os
import random
import re
import secrets
import shutil
import subprocess

IP = shutil.which("ip") or "/usr/sbin/ip"
TC = shutil.which("tc") or "/usr/sbin/tc"

_probe_result = None


def _run(argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def unavailable_reason():
    """None when namespaces, veth pairs and the fifo qdisc used for the cut all work here, else why not.
    Probed once per process with a throwaway namespace."""
    global _probe_result
    if _probe_result is not None:
        return _probe_result or None
    if os.geteuid() != 0:
        _probe_result = "needs root (ip netns, veth, tc)"
    elif not os.path.exists(IP) or not os.path.exists(TC):
        _probe_result = "iproute2 (ip, tc) is not installed"
    else:
        ns = Namespace("probe")
        try:
            link = ns.add_link()
            link.cut()
            link.restore()
            _probe_result = ""
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            _probe_result = f"ip netns / veth / tc not usable here: {e}"
        finally:
            ns.close()
    return _probe_result or None


def remove_stale(tag):
    """Deletes namespaces this module made for `tag` in processes that no longer exist (a run killed
    before its clean-up); their veth pairs go with them. Never touches any other namespace."""
    listing = _run([IP, "netns", "list"], check=False).stdout
    for name in re.findall(rf"^(sticky-{re.escape(tag)}-(\d+)-[0-9a-f]{{6}})\b", listing, re.M):
        ns_name, pid = name
        if not os.path.exists(f"/proc/{pid}"):
            _run([IP, "netns", "del", ns_name], check=False)


def _subnet_in_use(third_octet):
    prefix = f"10.213.{third_octet}."
    routes = _run([IP, "-4", "route", "show", "table", "all"], check=False).stdout
    addrs = _run([IP, "-4", "-o", "addr", "show"], check=False).stdout
    return prefix in routes or prefix in addrs or "10.213.0.0/16" in routes or "10.0.0.0/8" in routes


class Link:
    """One veth pair: `root_if` (root namespace, `root_addr`) <-> `ns_if` (the namespace, `ns_addr`)."""

    def __init__(self, ns, root_if, ns_if, root_addr, ns_addr):
        self.ns, self.root_if, self.ns_if = ns, root_if, ns_if
        self.root_addr, self.ns_addr = root_addr, ns_addr
        self.is_cut = False

    def cut(self):
        """Silent partition: both ends queue into a zero-byte fifo, so every packet either way (data, ACK,
        SYN, FIN) is dropped with no RST, no ICMP and no carrier change. Neighbour entries are permanent,
        so no ARP failure turns it into a fast 'no route to host' either: peers only see silence."""
        _run([TC, "qdisc", "replace", "dev", self.root_if, "root", "bfifo", "limit", "0"])
        _run(self.ns.argv([TC, "qdisc", "replace", "dev", self.ns_if, "root", "bfifo", "limit", "0"]))
        self.is_cut = True

    def restore(self):
        _run([TC, "qdisc", "del", "dev", self.root_if, "root"], check=False)
        _run(self.ns.argv([TC, "qdisc", "del", "dev", self.ns_if, "root"]), check=False)
        self.is_cut = False

    def dropped_packets(self):
        """Packets the cut has dropped at the two ends (evidence that traffic really was cut)."""
        total = 0
        for argv in ([TC, "-s", "qdisc", "show", "dev", self.root_if],
                     self.ns.argv([TC, "-s", "qdisc", "show", "dev", self.ns_if])):
            out = _run(argv, check=False).stdout
            for line in out.splitlines():
                if "dropped" in line:
                    total += int(line.split("dropped", 1)[1].split(",", 1)[0].strip())
        return total


class Namespace:
    """A network namespace with a unique name (tag, pid, random suffix) and up to 64 links."""

    def __init__(self, tag):
        self.tag = tag
        self.name = f"sticky-{tag}-{os.getpid()}-{secrets.token_hex(3)}"
        self.links = []
        self.created = False
        self.octet = None
        self._id = secrets.token_hex(3)  # interface names: 15 chars max, unique in the root namespace

    def argv(self, argv):
        """`argv` run inside the namespace (ip netns exec execs it: the pid is the program's own)."""
        return [IP, "netns", "exec", self.name, *argv]

    def _ensure(self):
        if self.created:
            return
        remove_stale(self.tag)
        _run([IP, "netns", "add", self.name])
        self.created = True
        _run(self.argv([IP, "link", "set", "lo", "up"]))
        candidates = list(range(16, 240))
        random.shuffle(candidates)
        for octet in candidates[:40]:
            if not _subnet_in_use(octet):
                self.octet = octet
                break
        if self.octet is None:
            raise RuntimeError("no free 10.213.N.0/24 for the test links")

    def add_link(self):
        self._ensure()
        i = len(self.links)
        root_if, ns_if = f"stk{self._id}r{i}", f"stk{self._id}n{i}"
        root_addr, ns_addr = f"10.213.{self.octet}.{4 * i + 1}", f"10.213.{self.octet}.{4 * i + 2}"
        _run([IP, "link", "add", root_if, "type", "veth", "peer", "name", ns_if])
        link = Link(self, root_if, ns_if, root_addr, ns_addr)
        self.links.append(link)
        _run([IP, "link", "set", ns_if, "netns", self.name])
        _run([IP, "addr", "add", f"{root_addr}/30", "dev", root_if])
        _run(self.argv([IP, "addr", "add", f"{ns_addr}/30", "dev", ns_if]))
        _run([IP, "link", "set", root_if, "up"])
        _run(self.argv([IP, "link", "set", ns_if, "up"]))
        root_mac = _run([IP, "-o", "link", "show", root_if]).stdout.split("link/ether", 1)[1].split()[0]
        ns_mac = _run(self.argv([IP, "-o", "link", "show", ns_if])).stdout.split("link/ether", 1)[1].split()[0]
        _run([IP, "neigh", "replace", ns_addr, "lladdr", ns_mac, "dev", root_if, "nud", "permanent"])
        _run(self.argv([IP, "neigh", "replace", root_addr, "lladdr", root_mac, "dev", ns_if, "nud", "permanent"]))
        return link

    def close(self):
        """Deletes the links and the namespace. Stop the processes running in it first."""
        for link in self.links:
            _run([IP, "link", "del", link.root_if], check=False)  # takes its peer with it
        self.links.clear()
        if self.created:
            _run([IP, "netns", "del", self.name], check=False)
            self.created = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
