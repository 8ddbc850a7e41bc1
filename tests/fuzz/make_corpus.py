#!/usr/bin/env python3
"""Writes the fuzz_frame seed corpus (tests/fuzz/corpus/*.bin): short byte streams as HAProxy
would send them on one connection, plus a few hostile ones. Re-run after changing the list."""
import os
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


def main():
    out_dir = os.path.join(HERE, "corpus")
    os.makedirs(out_dir, exist_ok=True)
    for seed_name, data in SEEDS.items():
        with open(os.path.join(out_dir, seed_name + ".bin"), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out_dir))


if __name__ == "__main__":
    main()
