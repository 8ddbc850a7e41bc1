// Fuzz entry point: arbitrary bytes play HAProxy's side of one connection through the codec, and
// everything decoded is re-encoded, so both directions meet hostile input. Invariants that a
// sanitizer cannot see are checked with check(), which aborts so the fuzzer records the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "base/bytes.h"
#include "model/action_list.h"
#include "spop/ack.h"
#include "spop/disconnect.h"
#include "spop/frame.h"
#include "spop/hello.h"
#include "spop/notify.h"
#include "spop/typed_data.h"
#include "spop/varint.h"

using namespace sticky;
using namespace sticky::spop;

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_frame invariant broken: %s\n", what);
  std::abort();
}

bool same_value(const TypedValue& a, const TypedValue& b) {
  return a.type == b.type && a.b == b.b && a.u == b.u && a.bytes == b.bytes;
}

// Encodes v and decodes it back: the codec must reproduce exactly what it decoded.
void check_round_trip(const TypedValue& v) {
  std::uint8_t buf[kDefaultMaxFrameSize + 16];
  ByteWriter w(buf);
  put_typed(w, v);
  check(w.ok(), "a decoded value does not fit a frame-sized buffer");
  ByteReader r(w.written());
  TypedValue back;
  check(take_typed(r, back) == DecodeStatus::Ok, "re-encoded value does not decode");
  check(r.empty(), "re-encoded value has trailing bytes");
  check(same_value(v, back), "re-encoded value decodes differently");
}

// Reads the header of a frame we wrote and checks its length, type and ids.
void check_written_frame(Bytes out, FrameType type, std::uint64_t sid, std::uint64_t fid,
                         std::uint32_t max_frame_size) {
  check(out.size() >= 4 + kMinFrameBody, "written frame shorter than a header");
  ByteReader r(out);
  const std::uint32_t len = r.take_u32_be();
  check(len == r.remaining(), "written frame length does not match its bytes");
  check(len <= max_frame_size, "written frame above the negotiated size");
  check(r.take_u8() == static_cast<std::uint8_t>(type), "written frame has the wrong type");
  check(r.take_u32_be() == kFlagFin, "written frame is not FIN");
  std::uint64_t got_sid = 0, got_fid = 0;
  check(take_varint(r, got_sid) == VarintStatus::Ok && got_sid == sid, "stream-id not echoed");
  check(take_varint(r, got_fid) == VarintStatus::Ok && got_fid == fid, "frame-id not echoed");
}

// Answers one NOTIFY the way a handler would: one action per message and argument, then the ACK.
void answer_notify(const Frame& f, std::uint32_t max_frame_size) {
  static Arg scratch[kMaxArgs];
  static model::ActionList actions;
  actions.clear();
  MessageReader reader(f.payload);
  Message m;
  while (reader.next(m, scratch)) {
    check(m.args.size() <= kMaxArgs, "more arguments than NB-ARGS allows");
    actions.set_string("msg", m.name);
    for (const Arg& a : m.args) {
      check_round_trip(a.value);
      actions.set_var(VarScope::Txn, "arg", a.value);
    }
  }
  static std::uint8_t out[4 + kDefaultMaxFrameSize];
  ByteWriter w(out);
  if (write_ack(w, f.stream_id, f.frame_id, actions.items(), max_frame_size)) {
    check_written_frame(w.written(), FrameType::Ack, f.stream_id, f.frame_id, max_frame_size);
  } else {
    // Too big for the session: the agent falls back to an empty ACK, which always fits.
    ByteWriter w2(out);
    check(write_ack(w2, f.stream_id, f.frame_id, {}, max_frame_size), "empty ACK does not fit");
    check_written_frame(w2.written(), FrameType::Ack, f.stream_id, f.frame_id, max_frame_size);
  }
}

void say_goodbye(Status status, std::string_view message, std::uint32_t max_frame_size) {
  std::uint8_t out[4 + kDefaultMaxFrameSize];
  ByteWriter w(out);
  check(write_agent_disconnect(w, status, message, std::max(max_frame_size, kMinFrameSize)),
        "AGENT-DISCONNECT does not fit");
  check_written_frame(w.written(), FrameType::AgentDisconnect, 0, 0, std::max(max_frame_size, kMinFrameSize));
  DisconnectInfo info;
  check(parse_disconnect(w.written().subspan(11), info), "our DISCONNECT does not parse");
  check(info.status_code == static_cast<std::uint64_t>(status), "status code not round-tripped");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  std::uint32_t max_frame_size = kDefaultMaxFrameSize;
  bool hello_done = false;
  while (true) {
    const SplitResult r = split_frame(in, max_frame_size);
    if (r.kind == SplitKind::NeedMore) break;
    if (r.kind == SplitKind::Error) {
      check(r.error != Status::Normal, "split error without a status");
      say_goodbye(r.error, r.detail, max_frame_size);
      break;
    }
    check(r.consumed >= 4 + kMinFrameBody && r.consumed <= in.size(), "consumed out of range");
    check(r.consumed - 4 <= max_frame_size, "frame above max-frame-size accepted");
    const Frame& f = r.frame;
    // The varint encoding is one-to-one below 2^64, so the ids must re-encode to exactly the
    // bytes they came from; a decoder that wrapped an oversized id would fail here.
    check(4 + 5 + varint_size(f.stream_id) + varint_size(f.frame_id) + f.payload.size() == r.consumed,
          "stream-id/frame-id do not re-encode to their input bytes");
    check(f.payload.data() >= in.data() && f.payload.data() + f.payload.size() <= in.data() + r.consumed,
          "payload outside its frame");
    switch (f.type) {
      case FrameType::HaproxyHello: {
        HaproxyHello hello;
        HelloResult res = parse_haproxy_hello(f.payload, hello);
        Negotiated n;
        if (res.status == Status::Normal) res = negotiate(hello, kDefaultMaxFrameSize, n);
        if (res.status != Status::Normal) {
          say_goodbye(res.status, res.detail, max_frame_size);
          break;
        }
        check(n.max_frame_size >= kMinFrameSize && n.max_frame_size <= hello.max_frame_size &&
                  n.max_frame_size <= kDefaultMaxFrameSize,
              "negotiated size out of bounds");
        std::uint8_t out[4 + kDefaultMaxFrameSize];
        ByteWriter w(out);
        check(write_agent_hello(w, n), "AGENT-HELLO does not fit the negotiated size");
        check_written_frame(w.written(), FrameType::AgentHello, 0, 0, n.max_frame_size);
        max_frame_size = n.max_frame_size;
        hello_done = true;
        break;
      }
      case FrameType::Notify:
        answer_notify(f, hello_done ? max_frame_size : kMinFrameSize);
        break;
      case FrameType::HaproxyDisconnect: {
        DisconnectInfo info;
        if (parse_disconnect(f.payload, info)) say_goodbye(Status::Normal, info.message, max_frame_size);
        else say_goodbye(Status::Invalid, "malformed HAPROXY-DISCONNECT", max_frame_size);
        break;
      }
      default:  // UNSET fragments: refused by the agent, nothing to decode
        say_goodbye(Status::FragNotSupported, "fragmented frames are not supported", max_frame_size);
        break;
    }
    in = in.subspan(r.consumed);
  }
  return 0;
}
