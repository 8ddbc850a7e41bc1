// Command-line options of the sticky-agent binary.
#pragma once

#include <string>
#include <vector>

#include "base/log.h"
#include "io/listen_address.h"

namespace sticky::agent {

struct CliOptions {
  std::vector<io::ListenAddress> listen;  // empty = from config, else 127.0.0.1:12345
  int threads = -1;                       // -1 = from config (0 there = number of cores)
  std::string config_path;
  std::string check_path;                 // --check: validate this config and exit
  std::string haproxy_config_path;        // --haproxy-config (with --check): cross-check its backends
  std::string metrics_address;            // HOST:PORT for the Prometheus text endpoint
  std::string admin_address;              // --admin HOST:PORT; empty = agent.admin in the config
  std::string admin_token_file;           // --admin-token-file; empty = agent.admin_token_file
  // Unix listeners: mode (octal), owner and group; empty = agent.socket_* in the config.
  std::string socket_mode;
  std::string socket_owner;
  std::string socket_group;
  log::Level log_level = log::Level::Info;
  bool log_level_set = false;
  long long drain_grace_ms = -1;          // --drain-grace; -1 = agent.drain_grace in the config
  bool help = false;
  bool version = false;
};

// Parses argv. On error returns false with a one-line reason in `error` (exit code 2).
bool parse_cli(int argc, const char* const* argv, CliOptions& out, std::string& error);

const char* usage_text();

}  // namespace sticky::agent
