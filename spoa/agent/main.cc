// sticky-agent: command line, wiring of the layers, and nothing else.
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <ev.h>

#include "admin/admin_server.h"
#include "agent/cli.h"
#include "agent/echo_handler.h"
#include "agent/health_follower.h"
#include "agent/hsaf_handler.h"
#include "agent/hsaf_runtime.h"
#include "agent/persist_handler.h"
#include "agent/persist_metrics.h"
#include "agent/persist_runtime.h"
#include "agent/shared_store.h"
#include "agent/version.h"
#include "base/log.h"
#include "config/config_file.h"
#include "config/haproxy_cfg.h"
#include "health/health_poller.h"
#include "io/metrics_http.h"
#include "io/server.h"
#include "metrics/exporter.h"

using namespace sticky;

namespace {

// Each worker hands its plain policy counters to the shared totals once a second, so the
// request path never touches a shared cache line for metrics.
struct CounterFlush {
  ev_timer timer{};
  std::function<void()> flush;
  struct ev_loop* loop = nullptr;
  ~CounterFlush() {
    if (loop) ev_timer_stop(loop, &timer);
  }
  static void fire(struct ev_loop*, ev_timer* w, int) { static_cast<CounterFlush*>(w->data)->flush(); }
};

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

// What start-up derives from the command line and the config besides the runtimes. Built by
// resolve_startup(), the one validation both start-up and --check run.
struct Startup {
  io::ServerOptions server;
  std::optional<io::ListenAddress> metrics;
};

bool resolve_startup(const agent::CliOptions& cli, const config::Config& cfg, Startup& out,
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

// Raises the soft descriptor limit to the hard one: each connection is one descriptor, and at
// the limit accept() fails. Returns a warning when max_connections cannot fit, else "".
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

int check_config(const agent::CliOptions& cli) {
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
  auto rt = agent::PersistRuntime::build(r.config, errors);
  auto hs = agent::HsafRuntime::build(r.config, errors, warnings);
  Startup startup;
  resolve_startup(cli, r.config, startup, errors);
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

}  // namespace

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
  if (!cli.check_path.empty()) return check_config(cli);

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
  log::Level level = static_cast<log::Level>(static_cast<int>(cfg.agent.log_level));
  if (cli.log_level_set) level = cli.log_level;
  log::threshold().store(static_cast<int>(level));

  std::vector<std::string> errors, warnings;
  std::unique_ptr<agent::PersistRuntime> persist = agent::PersistRuntime::build(cfg, errors);
  std::unique_ptr<agent::HsafRuntime> hsaf_rt = agent::HsafRuntime::build(cfg, errors, warnings);
  Startup startup;
  const bool resolved = resolve_startup(cli, cfg, startup, errors);
  for (const auto& w : warnings) STICKY_LOG(Warn, "%s", w.c_str());
  if (!persist || !hsaf_rt || !resolved) {
    for (const auto& e : errors) STICKY_LOG(Error, "%s", e.c_str());
    return 1;
  }
  if (const std::string w = raise_fd_limit(cfg.agent.max_connections); !w.empty()) STICKY_LOG(Warn, "%s", w.c_str());

  // HAProxy's view of its servers: polled in the background, rebuilt into per-backend views.
  health::HealthPoller poller(health_options(cfg));
  agent::HealthFollower follower(poller, {[&persist](const health::ServerView& view) {
                                   for (std::size_t i = 0; i < persist->size(); ++i) {
                                     auto& b = persist->backend(static_cast<int>(i));
                                     const std::string& name = b.engine->options().name;
                                     if (const auto& set = view.find(name)) persist->publish_servers(name, set);
                                   }
                                   if (auto* sync = persist->table_sync()) sync->follow(view);
                                 },
                                 [&hsaf_rt](const health::ServerView& view) { hsaf_rt->follow(view); }});
  poller.start();
  follower.start();

  const io::ServerOptions& options = startup.server;
  io::Server server(options);
  if (!server.open(error)) {
    STICKY_LOG(Error, "cannot listen: %s", error.c_str());
    return 1;
  }
  // Redis: one client per worker loop, the subscriber on worker 0 (see agent/shared_store.h).
  std::unique_ptr<agent::SharedStore> shared;
  if (cfg.redis) {
    store::RedisOptions ro;
    if (!agent::redis_options_from(*cfg.redis, ro, error)) {
      STICKY_LOG(Error, "%s", error.c_str());
      return 1;
    }
    shared = std::make_unique<agent::SharedStore>(std::move(ro), *persist,
                                                  static_cast<int>(server.workers().size()));
    STICKY_LOG(Info, "sharing pins through redis (cluster '%s', node '%s')", shared->options().cluster.c_str(),
               shared->options().node_id.c_str());
  }

  server.setup_workers([&](io::Worker& w) {
    // Owned first so it is destroyed first: its pending lookups complete while handlers live.
    std::shared_ptr<agent::SharedStoreWorker> store_worker;
    if (shared) {
      store_worker = std::make_shared<agent::SharedStoreWorker>(*shared, w.loop(), w.index());
      w.own(store_worker);
      store_worker->start();
      if (w.index() == 0) shared->start_subscriber(w.loop());
    }

    auto echo = std::make_shared<agent::EchoHandler>(w.index());
    w.handlers().add("echo", echo.get());
    w.own(echo);

    struct ev_loop* loop = w.loop();
    auto state = std::make_shared<agent::PersistWorkerState>(
        *persist, [loop] { return static_cast<std::int64_t>(ev_now(loop) * 1000.0); });
    state->store = store_worker.get();
    auto req = std::make_shared<agent::PersistRequestHandler>(*state);
    auto res = std::make_shared<agent::PersistResponseHandler>(*state);
    w.handlers().add("persist-req", req.get());
    w.handlers().add("persist-res", res.get());
    auto hsaf_handler = std::make_shared<agent::HsafHandler>(
        *hsaf_rt, std::random_device{}() ^ (static_cast<std::uint64_t>(w.index()) << 32));
    w.handlers().add("hsaf", hsaf_handler.get());
    auto flush = std::make_shared<CounterFlush>();
    flush->flush = [s = state.get(), h = hsaf_handler.get(), sw = store_worker.get()] {
      s->publish_counters();
      h->publish_counters();
      if (sw) sw->publish_counters();
    };
    flush->loop = loop;
    ev_timer_init(&flush->timer, &CounterFlush::fire, 1.0, 1.0);
    flush->timer.data = flush.get();
    ev_timer_start(loop, &flush->timer);
    w.own(flush);
    w.own(req);
    w.own(res);
    w.own(state);
    w.own(hsaf_handler);
  });

  // /healthz: ready once every listener is up, and no longer once a SIGTERM drain has begun.
  std::atomic<bool> ready{false};
  auto healthy = [&ready, &server] { return ready.load() && !server.workers().front()->draining(); };
  std::unique_ptr<io::MetricsHttp> metrics_http;
  if (startup.metrics) {
    io::MetricsHttpOptions metrics_options;
    metrics_options.healthy = healthy;
    metrics_http = std::make_unique<io::MetricsHttp>(*startup.metrics, [&server, &persist, &hsaf_rt, &shared, &poller] {
      std::vector<const metrics::Shard*> shards;
      for (const auto& w : server.workers()) shards.push_back(&w->metrics());
      return metrics::render_prometheus(shards, {[&persist](std::string& out) {
                                                    agent::render_persist_metrics(*persist, out);
                                                  },
                                                  [&hsaf_rt](std::string& out) {
                                                    agent::render_hsaf_metrics(*hsaf_rt, out);
                                                  },
                                                  [&shared](std::string& out) {
                                                    if (shared) agent::render_redis_metrics(*shared, out);
                                                  },
                                                  [&poller](std::string& out) {
                                                    agent::render_health_metrics(poller, out);
                                                  },
                                                  [&server](std::string& out) { server.engines().render(out); }});
    }, metrics_options);
    if (!metrics_http->start(error)) {
      STICKY_LOG(Error, "cannot serve metrics: %s", error.c_str());
      return 1;
    }
  }
  auto admin_server = admin::AdminServer::start(
      {cli.admin_address.empty() ? cfg.agent.admin : cli.admin_address,
       cli.admin_token_file.empty() ? cfg.agent.admin_token_file : cli.admin_token_file,
       {persist.get(), hsaf_rt.get(), shared.get(), &poller, cfg.haproxy.runtime_api, cfg.haproxy.api_timeout},
       healthy},
      error);
  if (!admin_server && !error.empty()) {
    STICKY_LOG(Error, "cannot serve the admin API: %s", error.c_str());
    return 1;
  }
  for (std::size_t i = 0; i < options.listen.size(); ++i) {
    const auto& a = options.listen[i];
    if (a.kind == io::ListenAddress::Kind::Unix)
      STICKY_LOG(Info, "listening on unix:%s", a.path.c_str());
    else
      STICKY_LOG(Info, "listening on %s (port %u)", a.text.c_str(), server.bound_ports()[i]);
  }
  STICKY_LOG(Info, "sticky-agent %s ready: %zu persistence backends, %zu hsaf profiles", STICKY_AGENT_VERSION,
             persist->size(), hsaf_rt->size());
  ready.store(true);
  server.run();
  follower.stop();
  poller.stop();
  return 0;
}
