// ACK encoding (SPOE.txt 3.2.11 and 3.4).
#include "spop/ack.h"

#include "spop/frame.h"

namespace sticky::spop {

bool write_ack(ByteWriter& w, std::uint64_t stream_id, std::uint64_t frame_id,
               std::span<const Action> actions, std::uint32_t max_frame_size) {
  const std::size_t at = begin_frame(w, FrameType::Ack, stream_id, frame_id);
  for (const Action& a : actions) {
    w.put_u8(static_cast<std::uint8_t>(a.type));
    if (a.type == ActionType::SetVar) {
      w.put_u8(3);
      w.put_u8(static_cast<std::uint8_t>(a.scope));
      put_name(w, a.name);
      put_typed(w, a.value);
    } else {
      w.put_u8(2);
      w.put_u8(static_cast<std::uint8_t>(a.scope));
      put_name(w, a.name);
    }
  }
  return finish_frame(w, at, max_frame_size);
}

}  // namespace sticky::spop
