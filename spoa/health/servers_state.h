// Pure parser for HAProxy's `show servers state` reply (format version 1) into per-backend server lists.
//
// Columns are located by the header line, not by position, so columns HAProxy appends in later
// versions do not break us. Meaning of the state columns (HAProxy 2.6 management guide, and
// SRV_ADMF_* in its server-t.h):
//   srv_op_state:    0 stopped, 1 starting, 2 running, 3 stopping (soft-stop, e.g. disable-on-404)
//   srv_admin_state: bit mask; 0x01 forced maint, 0x02 maint inherited from a tracked server,
//                    0x04 disabled in the config (always set together with 0x01), 0x08 forced drain,
//                    0x10 inherited drain, 0x20 maint after DNS resolution failure, 0x40 FQDN set via
//                    the socket (not a maintenance state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/server_set.h"

namespace sticky::health {

// HAProxy's own "is in maintenance" mask (SRV_ADMF_MAINT): FMAINT | IMAINT | RMAINT. CMAINT is left
// out exactly as HAProxy does: `set server ... state ready` clears FMAINT and the server serves again.
inline constexpr std::uint32_t kAdminMaintMask = 0x01 | 0x02 | 0x20;
inline constexpr std::uint32_t kAdminDrainMask = 0x08 | 0x10;  // FDRAIN | IDRAIN

enum class OpState : std::uint32_t { Stopped = 0, Starting = 1, Running = 2, Stopping = 3 };

enum class StateParseError : std::uint8_t {
  None,
  Empty,               // no bytes at all
  NotAStateDump,       // first line is not a version number (e.g. "Unknown command", "Permission denied")
  UnsupportedVersion,  // a version other than 1
  MissingHeader,       // no "# be_id be_name ..." line after the version
  MissingColumn,       // header lacks one of the columns we read
  FieldCount,          // a data line with a different number of fields than the header
  BadNumber,           // a state or weight field that is not a number in range
  DuplicateServer,     // the same backend/server twice
};

std::string_view state_parse_error_name(StateParseError e);

struct BackendServers {
  std::string backend;
  std::vector<model::Server> servers;  // in HAProxy's order
};

struct ServersStateResult {
  StateParseError error = StateParseError::None;
  std::size_t line = 0;  // 1-based line of the problem, 0 when not line-specific
  std::string detail;    // what was found, for the log
  std::vector<BackendServers> backends;  // in order of first appearance; empty on error
  bool ok() const { return error == StateParseError::None; }
};

// Maintenance wins over everything (an admin decision), then a stopped server is Down, then drain
// (forced, inherited, or HAProxy soft-stopping) keeps pinned clients only; anything else is Up.
model::ServerState server_state_from_bits(OpState op, std::uint32_t admin);

// Parses the whole reply. Any malformed line rejects the whole reply: a partial view could mark
// healthy servers as gone.
ServersStateResult parse_servers_state(std::string_view text);

}  // namespace sticky::health
