// DISCONNECT frames (SPOE.txt 3.2.8-3.2.9).
#include "spop/disconnect.h"

#include "spop/frame.h"
#include "spop/typed_data.h"

namespace sticky::spop {

bool parse_disconnect(Bytes payload, DisconnectInfo& out) {
  ByteReader r(payload);
  out = DisconnectInfo{};
  while (!r.empty()) {
    std::string_view key;
    TypedValue v;
    if (take_name(r, key) != DecodeStatus::Ok || take_typed(r, v) != DecodeStatus::Ok) return false;
    if (key == "status-code" && v.is_integer()) out.status_code = v.u;
    else if (key == "message" && v.is_text()) out.message = v.bytes;
  }
  return true;
}

bool write_agent_disconnect(ByteWriter& w, Status status, std::string_view message,
                            std::uint32_t max_frame_size) {
  if (message.size() > 255) message = message.substr(0, 255);
  const std::size_t at = begin_frame(w, FrameType::AgentDisconnect, 0, 0);
  put_name(w, "status-code");
  put_typed(w, TypedValue::uint32(static_cast<std::uint32_t>(status)));
  put_name(w, "message");
  put_typed(w, TypedValue::string(message));
  return finish_frame(w, at, max_frame_size);
}

}  // namespace sticky::spop
