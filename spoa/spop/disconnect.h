// DISCONNECT frames: reading HAProxy's reason and writing ours.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "spop/wire.h"

namespace sticky::spop {

struct DisconnectInfo {
  std::uint64_t status_code = 0;
  std::string_view message;
};

// Parses a HAPROXY-DISCONNECT KV list; returns false if the list is malformed.
bool parse_disconnect(Bytes payload, DisconnectInfo& out);

// Writes a complete AGENT-DISCONNECT frame. The message is cut to 255 bytes (the spec's limit).
bool write_agent_disconnect(ByteWriter& w, Status status, std::string_view message,
                            std::uint32_t max_frame_size);

}  // namespace sticky::spop
