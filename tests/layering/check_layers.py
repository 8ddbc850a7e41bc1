#!/usr/bin/env python3
"""Checks that every file of spoa/ includes only headers of the layers its target links.

Reads the manifest CMake writes (build/layers.txt: target|dir|PURE or EDGE|links|sources, from
sticky_layer() in spoa/CMakeLists.txt) and the sources, and fails, one line per problem, when:
  - a file includes a project header of a layer its target does not link (directly);
  - a file includes a third-party or socket header whose library its target does not link
    (<ev.h> sticky_libev, <hiredis/...> hiredis, <openssl/...> OpenSSL, <nettle/...> Nettle, <msgpack.h> msgpack,
    <yaml-cpp/...> yaml-cpp, <thread> Threads, <sys/socket.h> <netinet/...> <poll.h>... sticky_sockets);
  - a target links a layer or library none of its files includes (the declaration is not exact);
  - a .cc file in a layer directory is not listed in any target's sources;
  - a PURE layer links, even indirectly, libev, hiredis, OpenSSL's TLS or sockets.

Usage: check_layers.py MANIFEST SPOA_DIR
"""
import os
import re
import sys

# Third-party headers (prefix or exact name) -> the CMake target a file needs to link to use them.
THIRD_PARTY = [
    ("ev.h", "sticky_libev"),
    ("hiredis/", "PkgConfig::HIREDIS"),
    ("openssl/ssl.h", "OpenSSL::SSL"),
    ("openssl/bio.h", "OpenSSL::SSL"),
    ("openssl/", "OpenSSL::Crypto"),
    ("nettle/", "PkgConfig::NETTLE"),
    ("msgpack.h", "PkgConfig::MSGPACK"),
    ("msgpack/", "PkgConfig::MSGPACK"),
    ("yaml-cpp/", "yaml-cpp"),
    ("thread", "Threads::Threads"),
    ("pthread.h", "Threads::Threads"),
    ("sys/socket.h", "sticky_sockets"),
    ("sys/un.h", "sticky_sockets"),
    ("sys/epoll.h", "sticky_sockets"),
    ("netinet/", "sticky_sockets"),
    ("netdb.h", "sticky_sockets"),
    ("poll.h", "sticky_sockets"),
]
# What a PURE layer may not reach through any chain of links.
EDGE_ONLY = {"sticky_libev", "PkgConfig::HIREDIS", "OpenSSL::SSL", "sticky_sockets"}
# Linked for the compiler flags, not for headers.
NOT_HEADERS = {"sticky_warnings"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def third_party(header):
    for prefix, lib in THIRD_PARTY:
        if header == prefix or (prefix.endswith("/") and header.startswith(prefix)):
            return lib
    return None


def load_manifest(path):
    targets = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            name, d, kind, links, sources = line.split("|")
            targets[name] = {"dir": d, "pure": kind == "PURE",
                             "links": [x for x in links.split(",") if x],
                             "sources": [x for x in sources.split(",") if x]}
    return targets


def check(manifest, spoa_dir):
    targets = load_manifest(manifest)
    problems = []
    # The library owning each directory (headers and unlisted files belong to it).
    dir_lib = {}
    for name, t in targets.items():
        if not name.startswith("sticky-") and t["dir"] not in dir_lib:
            dir_lib[t["dir"]] = name
    layer_dirs = sorted(dir_lib, key=len, reverse=True)  # store/redis before store

    def layer_of(header):
        for d in layer_dirs:
            if header.startswith(d + "/") and "/" not in header[len(d) + 1:]:
                return dir_lib[d]
        return None

    owner = {}  # (dir, file) -> target
    for name, t in targets.items():
        for s in t["sources"]:
            owner[(t["dir"], s)] = name
    used = {name: set() for name in targets}
    for d, lib in dir_lib.items():
        full = os.path.join(spoa_dir, d)
        for fname in sorted(os.listdir(full)):
            if not fname.endswith((".h", ".cc")):
                continue
            target = owner.get((d, fname))
            if target is None:
                if fname.endswith(".cc"):
                    problems.append(f"{d}/{fname}: not listed in the SOURCES of any target in {d}/CMakeLists.txt")
                    continue
                target = lib
            allowed = set(targets[target]["links"])
            with open(os.path.join(full, fname), errors="replace") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                quote, header = m.group(1), m.group(2)
                line = text.count("\n", 0, m.start()) + 1
                where = f"{d}/{fname}:{line}"
                if quote == '"':
                    layer = layer_of(header)
                    if layer is None:
                        problems.append(f"{where}: \"{header}\" is not a header of any layer (include as \"<layer>/<file>.h\")")
                        continue
                    if layer == target:
                        continue  # its own header
                    if layer not in allowed:
                        problems.append(f"{where}: includes \"{header}\" of {layer}, which {target} does not link")
                    used[target].add(layer)
                else:
                    lib3 = third_party(header)
                    if lib3 is None:
                        continue
                    if lib3 not in allowed:
                        problems.append(f"{where}: includes <{header}> ({lib3}), which {target} does not link")
                    used[target].add(lib3)
    for name, t in targets.items():
        for link in t["links"]:
            if link in NOT_HEADERS or link in used[name]:
                continue
            problems.append(f"{name} links {link} but no file of {t['dir']}/ includes its headers: drop the link")
    # Pure layers: nothing of the edge, through any chain of project links.
    for name, t in targets.items():
        if not t["pure"]:
            continue
        seen, stack, path = set(), [(name, [name])], {}
        while stack:
            cur, chain = stack.pop()
            for link in targets.get(cur, {}).get("links", []):
                if link in seen:
                    continue
                seen.add(link)
                if link in EDGE_ONLY:
                    problems.append(f"{name} is PURE but links {link} (through {' -> '.join(chain + [link])})")
                if link in targets:
                    stack.append((link, chain + [link]))
    return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(sys.argv[1], sys.argv[2])
    for p in problems:
        print(p)
    targets = load_manifest(sys.argv[1])
    if problems:
        print(f"layering: {len(problems)} problem(s)")
        return 1
    print(f"layering: {len(targets)} targets, every include matches the links")
    return 0


if __name__ == "__main__":
    sys.exit(main())
