// See restart_settings.h.
#include "agent/restart_settings.h"

namespace sticky::agent {

std::vector<std::string> restart_needed(const config::Config& running, const config::Config& next,
                                        const CliOptions& cli) {
  std::vector<std::string> out;
  const config::AgentSection& a = running.agent;
  const config::AgentSection& b = next.agent;
  auto check = [&out](bool changed, bool fixed_by_cli, const char* name) {
    if (changed && !fixed_by_cli) out.emplace_back(name);
  };
  check(a.listen != b.listen, !cli.listen.empty(), "agent.listen");
  check(a.socket_mode != b.socket_mode, !cli.socket_mode.empty(), "agent.socket_mode");
  check(a.socket_owner != b.socket_owner, !cli.socket_owner.empty(), "agent.socket_owner");
  check(a.socket_group != b.socket_group, !cli.socket_group.empty(), "agent.socket_group");
  check(a.threads != b.threads, cli.threads > 0, "agent.threads");
  check(a.max_frame_size != b.max_frame_size, false, "agent.max_frame_size");
  check(a.max_connections != b.max_connections, false, "agent.max_connections");
  check(a.drain_grace != b.drain_grace, cli.drain_grace_ms >= 0, "agent.drain_grace");
  check(a.metrics != b.metrics, !cli.metrics_address.empty(), "agent.metrics");
  check(a.admin != b.admin, !cli.admin_address.empty(), "agent.admin");
  check(a.admin_token_file != b.admin_token_file, !cli.admin_token_file.empty(), "agent.admin_token_file");
  check(running.haproxy.runtime_api != next.haproxy.runtime_api, false, "haproxy.runtime_api");
  check(running.haproxy.poll_interval != next.haproxy.poll_interval, false, "haproxy.poll_interval");
  check(running.haproxy.api_timeout != next.haproxy.api_timeout, false, "haproxy.api_timeout");
  // Changed settings of a `redis:` section are applied live (SharedStore::reconfigure); adding or
  // removing the section changes what every worker's store is, which only a start builds.
  check(running.redis.has_value() != next.redis.has_value(), false, "redis");
  return out;
}

config::Config with_startup_settings(config::Config next, const config::Config& running) {
  const config::LogLevel level = next.agent.log_level;  // the one agent setting a reload applies
  next.agent = running.agent;
  next.agent.log_level = level;
  next.haproxy = running.haproxy;
  if (next.redis.has_value() != running.redis.has_value()) next.redis = running.redis;
  return next;
}

}  // namespace sticky::agent
