// Frame splitting and header encoding (SPOE.txt section 3.2).
#include "spop/frame.h"

#include "spop/varint.h"

namespace sticky::spop {

static SplitResult fail(Status s, std::string_view detail) {
  SplitResult r;
  r.kind = SplitKind::Error;
  r.error = s;
  r.detail = detail;
  return r;
}

static bool known_incoming_type(std::uint8_t t) {
  return t == static_cast<std::uint8_t>(FrameType::Unset) ||
         t == static_cast<std::uint8_t>(FrameType::HaproxyHello) ||
         t == static_cast<std::uint8_t>(FrameType::HaproxyDisconnect) ||
         t == static_cast<std::uint8_t>(FrameType::Notify);
}

SplitResult split_frame(Bytes in, std::uint32_t max_frame_size) {
  if (in.size() < 4) return {};
  ByteReader r(in);
  const std::uint32_t len = r.take_u32_be();
  if (len > max_frame_size) return fail(Status::TooBig, "frame length above max-frame-size");
  if (len < kMinFrameBody) return fail(Status::Invalid, "frame shorter than its header");
  if (in.size() - 4 < len) return {};

  ByteReader body(in.subspan(4, len));
  SplitResult out;
  const std::uint8_t type = body.take_u8();
  if (!known_incoming_type(type)) return fail(Status::Invalid, "unknown frame type");
  out.frame.type = static_cast<FrameType>(type);
  out.frame.flags = body.take_u32_be();
  if (take_varint(body, out.frame.stream_id) != VarintStatus::Ok)
    return fail(Status::Invalid, "malformed stream-id");
  if (take_varint(body, out.frame.frame_id) != VarintStatus::Ok)
    return fail(Status::Invalid, "malformed frame-id");
  out.frame.payload = body.rest();
  out.kind = SplitKind::Frame;
  out.consumed = 4 + static_cast<std::size_t>(len);
  return out;
}

std::size_t begin_frame(ByteWriter& w, FrameType type, std::uint64_t stream_id,
                        std::uint64_t frame_id) {
  const std::size_t at = w.size();
  w.put_u32_be(0);
  w.put_u8(static_cast<std::uint8_t>(type));
  w.put_u32_be(kFlagFin);  // every frame we send is complete: we never fragment
  put_varint(w, stream_id);
  put_varint(w, frame_id);
  return at;
}

bool finish_frame(ByteWriter& w, std::size_t length_at, std::uint32_t max_body) {
  if (!w.ok()) return false;
  const std::size_t body = w.size() - length_at - 4;
  if (body > max_body) return false;
  w.patch_u32_be(length_at, static_cast<std::uint32_t>(body));
  return true;
}

}  // namespace sticky::spop
