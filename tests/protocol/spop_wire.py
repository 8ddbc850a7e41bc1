"""SPOP 2.0 frame encoding and decoding for tests (stdlib only), written from spop-brief.md."""
import struct

HAPROXY_HELLO, HAPROXY_DISCONNECT, NOTIFY = 1, 2, 3
AGENT_HELLO, AGENT_DISCONNECT, ACK = 101, 102, 103
FIN = 1

T_NULL, T_BOOL, T_INT32, T_UINT32, T_INT64, T_UINT64, T_IPV4, T_IPV6, T_STRING, T_BINARY = range(10)


def varint(v):
    """The "peers" varint: below 240 one byte, else 4 bits then 7 bits per byte."""
    if v < 0:
        v &= (1 << 64) - 1
    if v < 240:
        return bytes([v])
    out = [(v & 0xFF) | 0xF0]
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v & 0xFF) | 0x80)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def take_varint(buf, pos):
    """Returns (value, new_pos); raises ValueError if cut or longer than 10 bytes."""
    if pos >= len(buf):
        raise ValueError("varint cut")
    value = buf[pos]
    pos += 1
    if value < 240:
        return value, pos
    shift = 4
    for _ in range(9):
        if pos >= len(buf):
            raise ValueError("varint cut")
        b = buf[pos]
        pos += 1
        value += b << shift
        if b < 128:
            return value, pos
        shift += 7
    raise ValueError("varint overlong")


def name(s):
    if isinstance(s, str):
        s = s.encode()
    return varint(len(s)) + s


def string(s):
    return bytes([T_STRING]) + name(s)


def binary(b):
    return bytes([T_BINARY]) + name(b)


def uint32(v):
    return bytes([T_UINT32]) + varint(v)


def int64(v):
    return bytes([T_INT64]) + varint(v)


def boolean(v):
    return bytes([T_BOOL | (0x10 if v else 0)])


def ipv4(a, b, c, d):
    return bytes([T_IPV4, a, b, c, d])


def null():
    return b"\x00"


def kv(*pairs):
    return b"".join(name(k) + v for k, v in pairs)


def frame(ftype, payload=b"", sid=0, fid=0, flags=FIN):
    body = bytes([ftype]) + struct.pack(">I", flags) + varint(sid) + varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def hello(versions="2.0", max_frame_size=16380, capabilities="pipelining", engine_id=None,
          healthcheck=False):
    """A HAPROXY-HELLO; pass None to leave a key out."""
    items = []
    if versions is not None:
        items.append(("supported-versions", string(versions)))
    if max_frame_size is not None:
        items.append(("max-frame-size", uint32(max_frame_size)))
    if capabilities is not None:
        items.append(("capabilities", string(capabilities)))
    if engine_id is not None:
        items.append(("engine-id", string(engine_id)))
    if healthcheck:
        items.append(("healthcheck", boolean(True)))
    return frame(HAPROXY_HELLO, kv(*items))


def message(msg_name, *args):
    """One LIST-OF-MESSAGES entry; args are (name, encoded typed value) pairs."""
    return name(msg_name) + bytes([len(args)]) + b"".join(name(n) + v for n, v in args)


def notify(sid, fid, *messages, flags=FIN):
    return frame(NOTIFY, b"".join(messages), sid, fid, flags)


def haproxy_disconnect(status=0, msg="normal"):
    return frame(HAPROXY_DISCONNECT, kv(("status-code", uint32(status)), ("message", string(msg))))


def take_typed(buf, pos):
    """Returns ((type, value), new_pos) for one typed value."""
    t = buf[pos] & 0x0F
    flags = buf[pos] & 0xF0
    pos += 1
    if t == T_NULL:
        return (t, None), pos
    if t == T_BOOL:
        return (t, bool(flags & 0x10)), pos
    if t in (T_INT32, T_UINT32, T_INT64, T_UINT64):
        v, pos = take_varint(buf, pos)
        return (t, v), pos
    if t == T_IPV4:
        return (t, bytes(buf[pos:pos + 4])), pos + 4
    if t == T_IPV6:
        return (t, bytes(buf[pos:pos + 16])), pos + 16
    if t in (T_STRING, T_BINARY):
        n, pos = take_varint(buf, pos)
        if pos + n > len(buf):
            raise ValueError("string runs past the frame")
        return (t, bytes(buf[pos:pos + n])), pos + n
    raise ValueError("unknown type %d" % t)


class Frame:
    def __init__(self, ftype, flags, sid, fid, payload):
        self.type, self.flags, self.sid, self.fid, self.payload = ftype, flags, sid, fid, payload

    def kv(self):
        """The payload as a dict of KV items (HELLO, DISCONNECT)."""
        out, pos, p = {}, 0, self.payload
        while pos < len(p):
            n, pos = take_varint(p, pos)
            key = p[pos:pos + n].decode()
            pos += n
            (_, v), pos = take_typed(p, pos)
            out[key] = v
        return out

    def actions(self):
        """The payload of an ACK as a list of (action, scope, name, (type, value) or None)."""
        out, pos, p = [], 0, self.payload
        while pos < len(p):
            action, nb = p[pos], p[pos + 1]
            scope = p[pos + 2]
            pos += 3
            n, pos = take_varint(p, pos)
            var = p[pos:pos + n].decode()
            pos += n
            value = None
            if nb == 3:
                value, pos = take_typed(p, pos)
            out.append((action, scope, var, value))
        return out


def split(buf):
    """Returns (Frame, rest) for the frame at the head of buf, or (None, buf) if incomplete."""
    if len(buf) < 4:
        return None, buf
    (n,) = struct.unpack(">I", buf[:4])
    if len(buf) < 4 + n:
        return None, buf
    body = buf[4:4 + n]
    ftype = body[0]
    (flags,) = struct.unpack(">I", body[1:5])
    sid, pos = take_varint(body, 5)
    fid, pos = take_varint(body, pos)
    return Frame(ftype, flags, sid, fid, bytes(body[pos:])), buf[4 + n:]
