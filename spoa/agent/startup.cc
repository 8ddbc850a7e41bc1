// Start-up resolution and --check (see startup.h).
#include "agent/startup.h"

#include <sys/resource.h>

#include <cstdio>

#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "base/log.h"
#include "config/config_file.h"
#include "config/haproxy_cfg.h"

namespace sticky::agent {

health::HealthPollerOptions health_options(const config::Config& cfg) {
  health::HealthPollerOptions o;
  o.runtime_api = cfg.haproxy.runtime_api;
  o.poll_interval = cfg.haproxy.poll_interval;
  o.api_timeout = cfg.haproxy.api_timeout;
  auto add_static = [&o](const std::string& backend, const std::vector<config::StaticServer>& servers) {
    if (servers.empty()) return;
    model::ServerSet set;
    set.backend = backend;
    for (const auto& s : servers) set.servers.push_back({s.name, s.weight, model::ServerState::Up});
    o.static_servers.push_back(std::move(set));
  };
  for (const auto& b : cfg.backends) add_static(b.name, b.servers);
  for (const auto& h : cfg.hsaf)
    for (const auto& [backend, servers] : h.servers) add_static(backend, servers);
  o.log = [](std::string_view what) {
    STICKY_LOG(Warn, "haproxy runtime API: %.*s", static_cast<int>(what.size()), what.data());
  };
  return o;
}

bool resolve_startup(const CliOptions& cli, const config::Config& cfg, Startup& out,
                     std::vector<std::string>& errors) {
  const std::size_t before = errors.size();
  std::string error;
  out.server.listen = cli.listen;
  if (out.server.listen.empty()) {
    for (const auto& text : cfg.agent.listen) {
      io::ListenAddress a;
      if (io::parse_listen_address(text, a, error)) out.server.listen.push_back(a);
      else errors.push_back("agent.listen: " + error);
    }
  }
  for (std::size_t i = 0; i < out.server.listen.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (out.server.listen[i].text == out.server.listen[j].text)
        errors.push_back("listen address '" + out.server.listen[i].text + "' is given twice");
  auto pick = [](const std::string& flag, const std::string& key) { return flag.empty() ? key : flag; };
  if (!io::parse_socket_access(pick(cli.socket_mode, cfg.agent.socket_mode),
                               pick(cli.socket_owner, cfg.agent.socket_owner),
                               pick(cli.socket_group, cfg.agent.socket_group), out.server.unix_access, error))
    errors.push_back("unix sockets: " + error);
  const std::string metrics_address = pick(cli.metrics_address, cfg.agent.metrics);
  if (!metrics_address.empty()) {
    io::ListenAddress ma;
    if (!io::parse_listen_address(metrics_address, ma, error)) errors.push_back("metrics address: " + error);
    else if (ma.kind != io::ListenAddress::Kind::Tcp)
      errors.push_back("metrics address: expected HOST:PORT, got '" + metrics_address + "'");
    else out.metrics = ma;
  }
  out.server.threads = cli.threads > 0 ? cli.threads : static_cast<int>(cfg.agent.threads);
  out.server.worker.max_frame_size = cfg.agent.max_frame_size;
  out.server.worker.max_connections = cfg.agent.max_connections;
  out.server.drain_grace =
      static_cast<double>(cli.drain_grace_ms >= 0 ? cli.drain_grace_ms : cfg.agent.drain_grace.count()) / 1000.0;
  return errors.size() == before;
}

std::string raise_fd_limit(std::uint64_t max_connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return "";
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  // Listeners, Redis links, the runtime API, metrics clients and logs need some too.
  constexpr std::uint64_t kSpare = 64;
  if (rl.rlim_cur != RLIM_INFINITY && max_connections + kSpare > rl.rlim_cur)
    return "agent.max_connections is " + std::to_string(max_connections) + " but the descriptor limit is " +
           std::to_string(rl.rlim_cur) + " (ulimit -n / LimitNOFILE=): connections beyond about " +
           std::to_string(rl.rlim_cur > kSpare ? rl.rlim_cur - kSpare : 0) +
           " will wait in the backlog; raise the limit to at least " + std::to_string(max_connections + kSpare);
  return "";
}

int check_config(const CliOptions& cli) {
  const std::string& path = cli.check_path;
  config::LoadResult r = config::load_file(path);
  // Names only: the cross-check with haproxy.cfg means something even when the rest is invalid.
  if (!cli.haproxy_config_path.empty()) {
    config::CrossCheck x = config::cross_check_files(cli.haproxy_config_path, path);
    r.warnings.insert(r.warnings.end(), x.warnings.begin(), x.warnings.end());
    r.errors.insert(r.errors.end(), x.errors.begin(), x.errors.end());
  }
  for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : r.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
  if (!r.ok()) return 1;
  std::vector<std::string> errors, warnings;
  auto rt = PersistRuntime::build(r.config, errors);
  auto hs = HsafRuntime::build(r.config, errors, warnings);
  Startup startup;
  resolve_startup(cli, r.config, startup, errors);
  // A warning only: `listen: []` with --listen on the service's command line is valid, and the
  // unit's ExecReload= runs --check without that flag.
  if (errors.empty() && startup.server.listen.empty())
    warnings.push_back(std::string(kNoListener) + ": start-up needs --listen (give it here too to check it)");
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : errors) std::fprintf(stderr, "error: %s\n", e.c_str());
  if (!errors.empty()) return 1;
  std::printf("%s: valid (%zu backends, %zu hsaf profiles)\n", path.c_str(), r.config.backends.size(),
              r.config.hsaf.size());
  if (!cli.haproxy_config_path.empty())
    std::printf("%s: every backend with filter spoe is known to the agent, and every agent backend is there\n",
                cli.haproxy_config_path.c_str());
  return 0;
}

void log_listening(const io::ServerOptions& options, const std::vector<std::uint16_t>& ports) {
  for (std::size_t i = 0; i < options.listen.size(); ++i) {
    const auto& a = options.listen[i];
    if (a.kind == io::ListenAddress::Kind::Unix)
      STICKY_LOG(Info, "listening on unix:%s", a.path.c_str());
    else
      STICKY_LOG(Info, "listening on %s (port %u)", a.text.c_str(), ports[i]);
  }
}

}  // namespace sticky::agent
