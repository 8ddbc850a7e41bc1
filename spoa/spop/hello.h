// The handshake: reading HAPROXY-HELLO, choosing what we agree to, writing AGENT-HELLO.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "spop/wire.h"

namespace sticky::spop {

struct HaproxyHello {
  std::string_view supported_versions;  // e.g. "2.0"
  bool has_versions = false;
  std::uint64_t max_frame_size = 0;
  bool has_max_frame_size = false;
  std::string_view capabilities;        // e.g. "pipelining,async"; "" in health checks
  bool has_capabilities = false;        // mandatory (SPOE.txt 3.2.4): every HAProxy sends it
  std::string_view engine_id;           // absent in health checks; kept for logs and metrics
  bool healthcheck = false;
};

struct HelloResult {
  Status status = Status::Normal;
  std::string_view detail;
};

// Parses the KV list of a HAPROXY-HELLO. Unknown keys are skipped, as the spec asks.
HelloResult parse_haproxy_hello(Bytes payload, HaproxyHello& out);

struct Negotiated {
  std::uint32_t max_frame_size = kDefaultMaxFrameSize;  // never above HAProxy's offer
  bool pipelining = false;  // both sides listed it
};

// Chooses the session parameters. Fails with the protocol's status when HAProxy offers no
// version we speak (only 2.0 exists), a frame size below the protocol floor, or no
// "capabilities" item (status 7: mandatory, and sent by every HAProxy, health checks included).
HelloResult negotiate(const HaproxyHello& hello, std::uint32_t agent_max_frame_size,
                      Negotiated& out);

// True if `list` (comma separated, spaces allowed) contains `item` as a whole entry.
bool list_contains(std::string_view list, std::string_view item);

// Writes a complete AGENT-HELLO frame (length prefix included). We advertise exactly
// "pipelining": async and fragmentation are gone from HAProxy 3.1+ and unsafe before.
bool write_agent_hello(ByteWriter& w, const Negotiated& n);

}  // namespace sticky::spop
