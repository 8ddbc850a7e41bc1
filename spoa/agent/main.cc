// sticky-agent: the command line and the wiring of the layers, nothing else. The pieces:
// agent/startup.h (listeners, limits, --check), agent/worker_setup.h (what each worker serves),
// agent/metrics_page.h (/metrics), admin/admin_server.h (the admin API).
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "admin/admin_server.h"
#include "agent/cli.h"
#include "agent/config_reload.h"
#include "agent/health_follower.h"
#include "agent/hsaf_runtime.h"
#include "agent/metrics_page.h"
#include "agent/persist_runtime.h"
#include "agent/redis_config.h"
#include "agent/startup.h"
#include "agent/version.h"
#include "agent/worker_setup.h"
#include "base/log.h"
#include "config/config_file.h"
#include "health/health_poller.h"
#include "io/metrics_http.h"
#include "io/server.h"
#include "store/redis/shared_pins.h"

using namespace sticky;

int main(int argc, char** argv) {
  agent::CliOptions cli;
  std::string error;
  if (!agent::parse_cli(argc, argv, cli, error)) {
    std::fprintf(stderr, "sticky-agent: %s\n", error.c_str());
    return 2;
  }
  if (cli.help) {
    std::fputs(agent::usage_text(), stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("sticky-agent %s (SPOP 2.0)\n", STICKY_AGENT_VERSION);
    return 0;
  }
  if (!cli.check_path.empty()) return agent::check_config(cli);

  config::Config cfg;
  if (!cli.config_path.empty()) {
    config::LoadResult r = config::load_file(cli.config_path);
    for (const auto& w : r.warnings) STICKY_LOG(Warn, "%s", w.c_str());
    if (!r.ok()) {
      for (const auto& e : r.errors) STICKY_LOG(Error, "%s", e.c_str());
      return 1;
    }
    cfg = std::move(r.config);
  }
  log::threshold().store(cli.log_level_set ? static_cast<int>(cli.log_level) : static_cast<int>(cfg.agent.log_level));

  std::vector<std::string> errors, warnings;
  std::unique_ptr<agent::PersistRuntime> persist = agent::PersistRuntime::build(cfg, errors);
  std::unique_ptr<agent::HsafRuntime> hsaf = agent::HsafRuntime::build(cfg, errors, warnings);
  agent::Startup startup;
  const bool resolved = agent::resolve_startup(cli, cfg, startup, errors);
  for (const auto& w : warnings) STICKY_LOG(Warn, "%s", w.c_str());
  if (!persist || !hsaf || !resolved) {
    for (const auto& e : errors) STICKY_LOG(Error, "%s", e.c_str());
    return 1;
  }
  if (startup.server.listen.empty()) {
    STICKY_LOG(Error, "%.*s", static_cast<int>(agent::kNoListener.size()), agent::kNoListener.data());
    return 1;
  }
  if (const std::string w = agent::raise_fd_limit(cfg.agent.max_connections); !w.empty()) STICKY_LOG(Warn, "%s", w.c_str());

  // HAProxy's view of its servers: polled in the background, rebuilt into per-backend views.
  health::HealthPoller poller(agent::health_options(cfg));
  agent::HealthFollower follower(poller, {[&persist](const health::ServerView& v) { persist->follow(v); },
                                          [&hsaf](const health::ServerView& v) { hsaf->follow(v); }});
  poller.start();
  follower.start();

  // SIGHUP reloads the config (agent/config_reload.h) on the thread that waits for signals.
  std::unique_ptr<agent::ConfigReloader> reloader;
  startup.server.on_reload = [&reloader] {
    if (reloader) reloader->reload();
  };
  io::Server server(startup.server);
  if (!server.open(error)) {
    STICKY_LOG(Error, "cannot listen: %s", error.c_str());
    return 1;
  }
  // Redis: one client per worker loop, the subscriber on worker 0 (see store/redis/shared_pins.h).
  std::unique_ptr<store::SharedStore> shared;
  if (cfg.redis) {
    store::RedisOptions ro;
    if (!agent::redis_options_from(*cfg.redis, ro, error)) {
      STICKY_LOG(Error, "%s", error.c_str());
      return 1;
    }
    shared = std::make_unique<store::SharedStore>(std::move(ro), persist->table(), persist->registry(),
                                                  persist->pin_backends(), static_cast<int>(server.workers().size()));
    STICKY_LOG(Info, "sharing pins through redis (cluster '%s', node '%s')", shared->options()->cluster.c_str(),
               shared->options()->node_id.c_str());
  }
  server.setup_workers([&](io::Worker& w) { agent::setup_worker(w, {*persist, *hsaf, shared.get()}); });
  reloader = std::make_unique<agent::ConfigReloader>(cli, cfg, agent::ConfigReloader::Targets{*persist, *hsaf, poller, shared.get()});

  // /healthz: ready once every listener is up, and no longer once a SIGTERM drain has begun.
  std::atomic<bool> ready{false};
  auto healthy = [&ready, &server] { return ready.load() && !server.workers().front()->draining(); };
  std::unique_ptr<io::MetricsHttp> metrics_http;
  if (startup.metrics) {
    io::MetricsHttpOptions metrics_options;
    metrics_options.healthy = healthy;
    const agent::MetricsSources sources{server, *persist, *hsaf, shared.get(), poller, reloader.get()};
    metrics_http = std::make_unique<io::MetricsHttp>(
        *startup.metrics, [sources] { return agent::render_metrics_page(sources); }, metrics_options);
    if (!metrics_http->start(error)) {
      STICKY_LOG(Error, "cannot serve metrics: %s", error.c_str());
      return 1;
    }
  }
  auto admin_server = admin::AdminServer::start(
      {cli.admin_address.empty() ? cfg.agent.admin : cli.admin_address,
       cli.admin_token_file.empty() ? cfg.agent.admin_token_file : cli.admin_token_file,
       {persist.get(), reloader.get(), hsaf.get(), shared.get(), &poller, cfg.haproxy.runtime_api,
        cfg.haproxy.api_timeout},
       healthy},
      error);
  if (!admin_server && !error.empty()) {
    STICKY_LOG(Error, "cannot serve the admin API: %s", error.c_str());
    return 1;
  }
  agent::log_listening(startup.server, server.bound_ports());
  STICKY_LOG(Info, "sticky-agent %s ready: %zu persistence backends, %zu hsaf profiles", STICKY_AGENT_VERSION,
             persist->current()->size(), hsaf->current()->size());
  ready.store(true);
  server.run();
  follower.stop();
  poller.stop();
  return 0;
}
