// Blocking client for one command on HAProxy's runtime API (stats socket), bounded by a deadline.
// Meant for the health poller's own thread, never for a worker's event loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace sticky::health {

struct RuntimeApiReply {
  bool ok = false;
  std::string text;   // the whole reply up to EOF
  std::string error;  // why it failed: "connect unix:/x: No such file or directory", "timeout after 1000ms", ...
};

// Connects to `endpoint` ("unix:/path", "/path", "host:port" or "[v6]:port"), sends `command`
// followed by a newline, and reads until HAProxy closes the connection. The whole exchange must
// finish within `timeout`; a reply longer than `max_bytes` is an error rather than a silent cut.
RuntimeApiReply runtime_api_query(std::string_view endpoint, std::string_view command,
                                  std::chrono::milliseconds timeout, std::size_t max_bytes = 16u << 20);

}  // namespace sticky::health
