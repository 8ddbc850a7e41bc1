"""The layering checker itself: each rule fails on a small tree that breaks it, and a clean tree passes."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layers  # noqa: E402


class Tree:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.lines = []

    def file(self, path, text):
        full = os.path.join(self.root, "spoa", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def target(self, name, d, links=(), sources=(), pure=False):
        self.lines.append(f"{name}|{d}|{'PURE' if pure else 'EDGE'}|{','.join(links)}|{','.join(sources)}")

    def check(self):
        manifest = os.path.join(self.root, "layers.txt")
        with open(manifest, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        return check_layers.check(manifest, os.path.join(self.root, "spoa"))


def clean_tree():
    t = Tree()
    t.file("base/bytes.h", "#pragma once\n#include <cstdint>\n")
    t.file("pure/a.h", '#pragma once\n#include "base/bytes.h"\n')
    t.file("pure/a.cc", '#include "pure/a.h"\n')
    t.file("edge/b.cc", '#include <ev.h>\n#include <sys/socket.h>\n#include "pure/a.h"\n')
    t.file("store/s.h", "#pragma once\n")
    t.file("store/redis/r.h", '#pragma once\n#include "store/s.h"\n#include <hiredis/async.h>\n')
    t.target("sticky_base", "base", pure=True)
    t.target("sticky_pure", "pure", ["sticky_base"], ["a.cc"], pure=True)
    t.target("sticky_edge", "edge", ["sticky_pure", "sticky_libev", "sticky_sockets"], ["b.cc"])
    t.target("sticky_store", "store", pure=True)
    t.target("sticky_redis", "store/redis", ["sticky_store", "PkgConfig::HIREDIS"])
    return t


class CheckLayersTest(unittest.TestCase):
    def test_clean_tree_passes(self):
        self.assertEqual(clean_tree().check(), [])

    def test_header_of_a_layer_not_linked(self):
        t = clean_tree()
        t.file("pure/c.h", '#pragma once\n#include "edge/b.h"\n')
        t.file("edge/b.h", "#pragma once\n")
        problems = t.check()
        self.assertTrue(any('pure/c.h:2: includes "edge/b.h" of sticky_edge' in p for p in problems), problems)

    def test_third_party_header_not_linked(self):
        t = clean_tree()
        t.file("pure/d.h", "#pragma once\n#include <hiredis/hiredis.h>\n")
        problems = t.check()
        self.assertTrue(any("pure/d.h:2: includes <hiredis/hiredis.h> (PkgConfig::HIREDIS)" in p for p in problems),
                        problems)

    def test_socket_header_in_a_layer_without_sockets(self):
        t = clean_tree()
        t.file("pure/e.h", "#pragma once\n#include <netinet/in.h>\n")
        self.assertTrue(any("sticky_sockets" in p and "pure/e.h" in p for p in t.check()))

    def test_nested_layer_is_its_own(self):
        t = clean_tree()
        t.file("store/t.h", '#pragma once\n#include "store/redis/r.h"\n')
        self.assertTrue(any('store/t.h:2: includes "store/redis/r.h" of sticky_redis' in p for p in t.check()))

    def test_unused_link(self):
        t = clean_tree()
        t.lines[1] = "sticky_pure|pure|PURE|sticky_base,OpenSSL::Crypto|a.cc"
        self.assertTrue(any("sticky_pure links OpenSSL::Crypto but no file" in p for p in t.check()))

    def test_unlisted_source(self):
        t = clean_tree()
        t.file("pure/extra.cc", '#include "pure/a.h"\n')
        self.assertTrue(any("pure/extra.cc: not listed" in p for p in t.check()))

    def test_pure_layer_reaching_the_edge_indirectly(self):
        t = clean_tree()
        t.file("pure2/f.cc", '#include "edge/b.h"\n')
        t.file("edge/b.h", "#pragma once\n")
        t.target("sticky_pure2", "pure2", ["sticky_edge"], ["f.cc"], pure=True)
        problems = t.check()
        self.assertTrue(any("sticky_pure2 is PURE but links sticky_libev (through sticky_pure2 -> sticky_edge" in p
                            for p in problems), problems)

    def test_not_a_layer_header(self):
        t = clean_tree()
        t.file("pure/g.h", '#pragma once\n#include "a.h"\n')
        self.assertTrue(any('pure/g.h:2: "a.h" is not a header of any layer' in p for p in t.check()))


if __name__ == "__main__":
    unittest.main()
