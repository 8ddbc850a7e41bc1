#!/usr/bin/env python3
"""Writes the seed corpora: tests/fuzz/corpus/*.bin for fuzz_frame (short byte streams as HAProxy
would send them on one connection, plus a few hostile ones) and tests/fuzz/corpora/<target>/ for
the other targets (see CMakeLists.txt). Re-run after changing a list; crash reproducers go in the
lists too, named regression-*, so they stay in the replay tests."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "protocol"))
import spop_wire as w  # noqa: E402

PROBE = bytes.fromhex(
    "0000004e01000000010000"
    "12" + b"supported-versions".hex() + "0803" + b"2.0".hex() +
    "0e" + b"max-frame-size".hex() + "03fcf006" +
    "0c" + b"capabilities".hex() + "0800" +
    "0b" + b"healthcheck".hex() + "11")

ALL_TYPES = w.message(
    "all-types",
    ("n", w.null()), ("t", w.boolean(True)), ("f", w.boolean(False)),
    ("i32", bytes([w.T_INT32]) + w.varint(-5)), ("u32", w.uint32(4294967295)),
    ("i64", w.int64(-1)), ("u64", bytes([w.T_UINT64]) + w.varint((1 << 64) - 1)),
    ("v4", w.ipv4(192, 0, 2, 1)), ("v6", bytes([w.T_IPV6]) + bytes(range(16))),
    ("s", w.string("hello")), ("e", w.string("")), ("b", w.binary(b"\x00\xff")), ("", w.string("unnamed")))

HELLO = w.hello(capabilities="pipelining,async", engine_id="8a1c4b2e-3f5d-4e6a-9b7c-0d1e2f3a4b5c")

SEEDS = {
    "probe": PROBE,
    "hello-only": HELLO,
    "hello-echo-disconnect": HELLO + w.notify(1, 1, w.message("echo", ("arg", w.string("hi"))))
    + w.haproxy_disconnect(),
    "hello-multi-message": HELLO + w.notify(300, 2288, w.message("check-client", ("ip", w.ipv4(10, 0, 0, 1)),
                                                                 ("port", w.int64(443))),
                                            w.message("echo", ("", w.string("x"))), w.message("ping")),
    "hello-all-types": HELLO + w.notify(7, 9, ALL_TYPES),
    "hello-pipelined": HELLO + b"".join(w.notify(i, i + 1, w.message("echo", ("a", w.int64(i))))
                                        for i in range(0, 2000, 250)),
    "hello-small-frames": w.hello(max_frame_size=256) + w.notify(1, 1, w.message("echo", ("a", w.string("y" * 200)))),
    "hello-large-ids": HELLO + w.notify((1 << 64) - 1, (1 << 32), w.message("echo")),
    "disconnect-status": HELLO + w.haproxy_disconnect(2, "timeout"),
    "bad-version": w.hello(versions="1.0"),
    "no-frame-size": w.hello(max_frame_size=None),
    "notify-no-fin": HELLO + w.notify(1, 1, w.message("echo"), flags=0),
    "fragment": HELLO + w.frame(0, b"\x00", 1, 1),
    "too-big": HELLO + bytes.fromhex("00010000") + b"\x03" * 16,
    # Regression: a frame-id one above 2^64-1 used to decode (wrapped) instead of being refused.
    "regression-varint-wrap": HELLO + bytes.fromhex("00000010 03 00000001 00 fff0fefefefefefefe0f"),
    "garbage-messages": HELLO + w.frame(w.NOTIFY, b"\x04echo\x02\x01a\x0b\x00", 1, 1),
}


# ---- fuzz_notify: the payload of one NOTIFY frame (its LIST-OF-MESSAGES) ----
def ipv6(raw16):
    return bytes([w.T_IPV6]) + raw16


V6_EDGE = bytes.fromhex("20010db8000000000000000000000001")
REQ = w.message("persist-req", ("be", w.string("app")), ("src", w.ipv4(10, 1, 2, 3)),
                ("tcip", w.string("203.0.113.7")), ("xff", w.string("198.51.100.2, 192.168.1.1")),
                ("ck", w.string("")), ("app", w.string("")))
RES = w.message("persist-res", ("be", w.string("app")), ("srv", w.string("s2")), ("pick", w.string("s2")),
                ("key", w.string("3cb007107")), ("ckok", w.int64(0)), ("learn", w.string("")))
NOTIFY_SEEDS = {
    "req-tcip": REQ,
    "req-xff-lines": w.message("persist-req", ("be", w.string("app")), ("src", w.ipv4(192, 168, 7, 7)),
                               ("xff", w.string("192.168.0.9")), ("xff2", w.string("198.51.100.9, 10.1.1.1")),
                               ("xff3", w.string("2001:db8::5"))),
    "req-v6-app-cookie": w.message("persist-req", ("be", w.string("app")), ("src", ipv6(V6_EDGE)),
                                   ("app", w.string("ABCDEF0123456789")), ("tcip", w.string("2001:db8:1::9"))),
    "req-bad-cookie": w.message("persist-req", ("be", w.string("app")), ("src", w.ipv4(172, 16, 0, 1)),
                                ("ck", w.string("A" * 44))),
    "req-plain": w.message("persist-req", ("be", w.string("plain")), ("src", w.ipv4(172, 16, 0, 1))),
    "req-unknown-backend": w.message("persist-req", ("be", w.string("nope")), ("src", w.null())),
    "res-issue": RES,
    "res-learn-redispatch": w.message("persist-res", ("be", w.string("app")), ("srv", w.string("s1")),
                                      ("pick", w.string("s3")), ("key", w.string("5ac100000")),
                                      ("ckok", w.boolean(True)), ("ckiss", w.int64(1749990000)),
                                      ("learn", w.string("SESSION-42"))),
    "res-down-server": w.message("persist-res", ("be", w.string("app")), ("srv", w.string("s4")),
                                 ("pick", w.string("s4"))),
    "res-bad-key": w.message("persist-res", ("be", w.string("app")), ("srv", w.string("s1")),
                             ("key", w.string("9zz"))),
    "req-res-pair": REQ + RES,
    "hsaf-edge": w.message("hsaf", ("profile", w.string("edge")), ("host", w.string("Example.COM")),
                           ("url", w.string("/Img/a.png?v=3&x=1&lang=en"))),
    "hsaf-parent": w.message("hsaf", ("profile", w.string("parent")), ("key", w.string("object-123"))),
    "hsaf-unknown": w.message("hsaf", ("profile", w.string("none")), ("url", w.string("/"))),
    "mixed": REQ + w.message("echo", ("x", w.string("y"))) + RES + w.message("hsaf", ("profile", w.string("edge")),
                                                                          ("url", w.string("/%41%2f..//b"))),
}

# ---- fuzz_cookie: mode byte, then a raw value (even) or fields + mutations (odd) ----
COOKIE_SEEDS = {
    "raw-44": b"\x00" + b"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh",
    "raw-short": b"\x02" + b"abc",
    "raw-bad-chars": b"\x04" + b"!" * 44,
    "valid-key3": b"\x01" + bytes(range(8)) + struct.pack(">II", 1749990000, 600),
    "valid-key9-flip": b"\x03" + bytes(range(8, 16)) + struct.pack(">II", 1700000000, 0) + b"\x05\x01\x2b\x20",
    "valid-truncate": b"\x01" + b"\xff" * 8 + struct.pack(">II", 0xfffffff0, 0xffffffff) + b"\xfd\x2b",
    "valid-extend": b"\x03" + b"\x00" * 16 + b"\xfe\x41",
}

# ---- fuzz_set_cookie: name length byte, name, Set-Cookie header text ----
def set_cookie(header, name=b""):
    return bytes([len(name)]) + name + header


SET_COOKIE_SEEDS = {
    "plain": set_cookie(b"JSESSIONID=ABC123; Path=/; HttpOnly"),
    "quoted": set_cookie(b'JSESSIONID="q v"; Secure'),
    "max-age-zero": set_cookie(b"JSESSIONID=gone; Max-Age=0"),
    "expires-past": set_cookie(b"JSESSIONID=x; Expires=Wed, 21 Oct 2015 07:28:00 GMT"),
    "expires-future": set_cookie(b"JSESSIONID=y; expires=Sun, 06-Nov-2094 08:49:37 GMT; path=/"),
    "asctime": set_cookie(b"PHPSESSID=z; Expires=Sun Nov  6 08:49:37 2094", b"PHPSESSID"),
    "folded": set_cookie(b"a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT, JSESSIONID=two, JSESSIONID=three"),
    "lines": set_cookie(b"a=1\r\nJSESSIONID=L1; Max-Age=abc\nJSESSIONID=L2; Max-Age=-5"),
    "unbalanced": set_cookie(b'JSESSIONID="open; Path=/'),
    "empty": set_cookie(b"JSESSIONID=; Path=/"),
}

# ---- fuzz_identity: source, True-Client-IP, X-Forwarded-For on three lines ----
IDENTITY_SEEDS = {
    "tcip-from-edge": b"10.9.8.7\n203.0.113.5\n",
    "tcip-untrusted": b"198.51.100.1\n203.0.113.5\n",
    "xff-chain": b"192.168.0.1\n\n203.0.113.9, 10.1.2.3, 192.168.4.4",
    "xff-ports": b"127.0.0.1\n\n[2001:db8::7]:443, 203.0.113.9:8080 ,192.168.1.1",
    "xff-all-trusted": b"127.0.0.1\n\n192.168.1.1,192.168.1.2",
    "v6-source": b"2001:db8:ffff::1\n2001:db8::1234\n",
    "mapped-source": b"::ffff:10.1.2.3\n::ffff:203.0.113.1\n",
    "raw-source": b"\x0a\x00\x00\x01\n1.2.3.4\n",
    "cidr": b"2001:db8::/32",
    "cidr-host-bits": b" 10.0.0.1/8 ",
    "cidr-mapped": b"::ffff:10.0.0.0/104",
    "cidr-list": b"# edges\n10.0.0.0/8\n\n2001:db8::/32 # v6\n300.1.1.1\n::/4\n",
    "ip-forms": b"1:2:3:4:5:6:7:8",
    "ip-v4-tail": b"::1.2.3.4",
}

# ---- fuzz_record: msgpack StickyRecord (format 1), hand-encoded ----
def mp_str(s):
    s = s.encode() if isinstance(s, str) else s
    if len(s) < 32:
        return bytes([0xa0 | len(s)]) + s
    return b"\xd9" + bytes([len(s)]) + s


def mp_bin(b):
    return b"\xc4" + bytes([len(b)]) + b


def mp_int(v):
    if 0 <= v < 128:
        return bytes([v])
    if 0 <= v < (1 << 64):
        return b"\xcf" + struct.pack(">Q", v)
    return b"\xd3" + struct.pack(">q", v)


def mp_map(pairs):
    return bytes([0x80 | len(pairs)]) + b"".join(mp_str(k) + v for k, v in pairs)


RECORD = [("fv", mp_int(1)), ("b", mp_str("app")), ("t", mp_int(3)), ("k", mp_bin(b"\xcb\x00\x71\x07")),
          ("s", mp_str("s2")), ("c", mp_int(1750000000000)), ("l", mp_int(1750000001000)),
          ("e", mp_int(1750001800000)), ("o", mp_str("lb1")), ("n", mp_int(7))]
RECORD_SEEDS = {
    "record": mp_map(RECORD),
    "record-reordered": mp_map(list(reversed(RECORD))),
    "record-unknown-field": mp_map(RECORD + [("zz", b"\x92\x91\xc0\x80")]),
    "record-negative-times": mp_map(RECORD[:5] + [("c", mp_int(-1)), ("l", mp_int(-2)), ("e", mp_int(-(1 << 63)))]
                                    + RECORD[8:]),
    "record-long-server": mp_map(RECORD[:4] + [("s", mp_str("x" * 200))] + RECORD[5:]),
    "record-missing": mp_map(RECORD[:3]),
    "record-duplicate": mp_map(RECORD + [("b", mp_str("again"))]),
    "record-future-format": mp_map([("fv", mp_int(2))] + RECORD[1:]),
    "not-a-map": b"\x93\x01\x02\x03",
    "map16-huge": b"\xde\xff\xff",
    "fields": b"\x03app\x05\x04\xcb\x00\x71\x07\x02s1\x03lb2" + bytes(range(32)),
}

# ---- fuzz_config: YAML agent configs ----
ROOT = os.path.join(HERE, "..", "..")


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


CONFIG_SEEDS = {
    "documented": read("haproxy-conf/agent/sticky-agent.yaml"),
    "demo": read("haproxy-conf/demo/sticky-agent.yaml"),
    "minimal": b"backends:\n  - name: app\n    servers: [{name: s1}]\n",
    "errors": b"agent:\n  threads: 5000\n  max_frame_size: big\nbackends:\n  - name: app\n    ttl: 0s\n"
              b"    source: {mask_v4: 33}\n    identity: [sorce, source, source]\n",
    "hsaf": b"hsaf:\n  - name: cache\n    tiers: [{min: 1, max: 7}, {min: 9, max: 5}]\n"
            b"    regions: [{name: a, backend: b1}]\n    input: {query: params}\n",
    "yaml-tricks": b"a: &x {b: *x}\n? [1, 2]\n: !!binary AAAA\n--- !tag\n...\n",
    "not-a-map": b"- 1\n- [2, {3: 4}]\n",
    "durations": b"haproxy: {poll_interval: 1d, api_timeout: 0ms}\nredis: {address: '[::1]:6379', "
                 b"lookup_deadline: 9999999999999999999h, queue_max_bytes: 1t}\n",
    # Regression: `listen:` followed by a comment is an empty list (valid: start-up wants --listen then).
    "regression-empty-listen": b"agent:\n  listen: # stic[\"@k",
}

# ---- fuzz_servers_state: HAProxy's reply, the captured fixtures and a few broken ones ----
FIXTURES = "tests/unit/health/fixtures"
STATE_HEADER = (b"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
                b"srv_iweight\n")
SERVERS_STATE_SEEDS = {name[:-4]: read(os.path.join(FIXTURES, name))
                       for name in sorted(os.listdir(os.path.join(ROOT, FIXTURES))) if name.endswith(".txt")}
SERVERS_STATE_SEEDS.update({
    "minimal": STATE_HEADER + b"3 app 1 s1 10.0.0.1 2 0 100 100\n3 app 2 s2 10.0.0.2 0 8 1 1\n",
    "interleaved": STATE_HEADER + b"3 a 1 s1 x 2 0 1 1\n4 b 1 s1 x 2 1 1 1\n3 a 2 s2 x 3 16 1 1\n",
    "duplicate": STATE_HEADER + b"3 a 1 s1 x 2 0 1 1\n3 a 1 s1 x 2 0 1 1\n",
    "field-count": STATE_HEADER + b"3 a 1 s1 x 2 0 1\n",
    "bad-number": STATE_HEADER + b"3 a 1 s1 x 9 0 1 1\n",
    "not-a-dump": b"Unknown command. Please enter one of the following commands only :\n",
    "version-2": b"2\n# be_name\n",
    "crlf": STATE_HEADER.replace(b"\n", b"\r\n") + b"3 app 1 s1 x 2 0 4294967295 1\r\n",
})

CORPORA = {
    "notify": NOTIFY_SEEDS,
    "cookie": COOKIE_SEEDS,
    "set_cookie": SET_COOKIE_SEEDS,
    "identity": IDENTITY_SEEDS,
    "record": RECORD_SEEDS,
    "config": CONFIG_SEEDS,
    "servers_state": SERVERS_STATE_SEEDS,
}


def write_dir(out_dir, seeds):
    os.makedirs(out_dir, exist_ok=True)
    for seed_name, data in seeds.items():
        with open(os.path.join(out_dir, seed_name + ".bin"), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), os.path.relpath(out_dir, ROOT)))


def main():
    write_dir(os.path.join(HERE, "corpus"), SEEDS)
    for target, seeds in CORPORA.items():
        write_dir(os.path.join(HERE, "corpora", target), seeds)


if __name__ == "__main__":
    main()
