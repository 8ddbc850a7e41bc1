// Writing ACK frames: the agent's answer to one NOTIFY, as a list of variable actions.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/bytes.h"
#include "spop/typed_data.h"
#include "spop/wire.h"

namespace sticky::spop {

struct Action {
  ActionType type = ActionType::SetVar;
  VarScope scope = VarScope::Txn;
  std::string_view name;  // without scope and prefix: HAProxy adds "<scope>.<var-prefix>."
  TypedValue value;       // ignored for UnsetVar
};

// Writes a complete ACK frame echoing stream-id and frame-id exactly. Returns false if it does
// not fit in the writer or exceeds max_frame_size (HAProxy drops connections on oversized ACKs).
bool write_ack(ByteWriter& w, std::uint64_t stream_id, std::uint64_t frame_id,
               std::span<const Action> actions, std::uint32_t max_frame_size);

}  // namespace sticky::spop
