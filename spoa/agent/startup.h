// What start-up derives from the command line and the config besides the runtimes, and the one
// validation both start-up and --check run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/cli.h"
#include "config/config.h"
#include "health/health_poller.h"
#include "io/listen_address.h"
#include "io/server.h"

namespace sticky::agent {

struct Startup {
  io::ServerOptions server;
  std::optional<io::ListenAddress> metrics;
};

// Listeners, socket access, metrics address, threads and limits; appends every problem to `errors`.
// No listener at all (`listen: []` and no --listen) is not one of them: start-up refuses it (an
// agent HAProxy cannot reach would still look healthy), --check only warns (see kNoListener).
bool resolve_startup(const CliOptions& cli, const config::Config& cfg, Startup& out, std::vector<std::string>& errors);

inline constexpr std::string_view kNoListener = "no listener: agent.listen is empty and no --listen was given";

// The health poller's options: the runtime API, and the config's static servers as the fallback.
health::HealthPollerOptions health_options(const config::Config& cfg);

// Raises the soft descriptor limit to the hard one: each connection is one descriptor, and at
// the limit accept() fails. Returns a warning when max_connections cannot fit, else "".
std::string raise_fd_limit(std::uint64_t max_connections);

// One log line per listener (unix path, or address and the port bound).
void log_listening(const io::ServerOptions& options, const std::vector<std::uint16_t>& ports);

// sticky-agent --check CONFIG [--haproxy-config CFG]: everything start-up validates, and the exit code.
int check_config(const CliOptions& cli);

}  // namespace sticky::agent
